// The join rehearsal's control plane on this machine: etcd, kube-apiserver and kube-controller-manager, built
// from upstream source (the caller passes their paths), with TLS from pki.ts and node authentication through the
// IAM authenticator stand-in (token-webhook.ts). Everything listens on 127.0.0.1 only: under qemu's user network
// the guest's 10.0.2.2 arrives at the host's 127.0.0.1, so the node dials https://10.0.2.2:<port> and the API
// server advertises 10.0.2.2 as the `kubernetes` Service's endpoint (what pods reach through kube-proxy).
//
// Configured as an EKS control plane is where a node can tell: service CIDR 10.100.0.0/16, authorization
// Node,RBAC with the NodeRestriction admission plugin, webhook token authentication for nodes, service-account
// tokens signed by the cluster's key, and a controller manager that creates service accounts and EndpointSlices,
// runs node lifecycle and signs approved CSRs with the cluster CA. etcd speaks plain HTTP on 127.0.0.1 only.
//
// Each process runs in its own process group (the adapter's startDetached) with its log in the work directory;
// stop() ends the groups (TERM, then KILL after a grace period) and is idempotent; a process exiting during
// start fails start() at once with that process's log tail; and each carries a parent-death signal, so even a
// SIGKILL of this process leaves no etcd or API server behind.
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { processRunner, signalGroup, startDetached, type Runner, type RunResult } from '../../process/run.ts';
import { freePort } from '../emulator.ts';
import { DEFAULT_SERVICE_CIDR, type ClusterPki, type KeyPair } from './pki.ts';

export interface ControlPlaneBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  /** Optional: kubectl for ControlPlane.kubectl(); the API is reachable without it (ControlPlane.api). */
  kubectl?: string;
}

export interface ControlPlaneOptions {
  /** Holds etcd's data, the kubeconfigs and the logs; created if missing. */
  workDir: string;
  binaries: ControlPlaneBinaries;
  pki: ClusterPki;
  /** kube-apiserver's --authentication-token-webhook-config-file (TokenWebhook.writeKubeconfig). */
  tokenWebhookKubeconfig: string;
  clusterName: string;
  /** The address the node reaches the API server at, advertised as the kubernetes Service's endpoint. */
  advertiseAddress?: string;
  serviceCidr?: string;
  /** How long start() waits for readiness before failing; default 180 s (a cold start on 2 busy cores). */
  readyTimeoutMs?: number;
  /** kube-apiserver's port on 127.0.0.1, when the caller must name the endpoint before it starts; default a free one. */
  apiPort?: number;
  log?: (line: string) => void;
  runner?: Runner;
}

export interface ApiAnswer {
  status: number;
  body: unknown;
  text: string;
}

export interface ControlPlane {
  /** What the node is given: https://<advertiseAddress>:<port> (bootstrap.sh --apiserver-endpoint). */
  endpoint: string;
  /** The same API server from this machine: https://127.0.0.1:<port>. */
  localEndpoint: string;
  port: number;
  /** The cluster CA, base64 of its PEM (bootstrap.sh --b64-cluster-ca). */
  caB64: string;
  /** A kubeconfig with the admin (system:masters) certificate, server localEndpoint. */
  adminKubeconfig: string;
  logs: { etcd: string; apiserver: string; controllerManager: string };
  /** Process ids (each its own process group), for tests that check nothing is left behind. */
  pids: number[];
  /** Seconds from start() to a ready API server with a working controller manager. */
  secondsToReady: number;
  /** One API request with the admin certificate. */
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  /** kubectl with the admin kubeconfig; throws unless binaries.kubectl was given. */
  kubectl(args: string[]): Promise<RunResult>;
  /** Ends every process of the control plane; idempotent. */
  stop(): Promise<void>;
}

const GRACE_MS = 10_000;

interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

function tail(file: string, lines = 25): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function kubeconfig(file: string, server: string, caFile: string, client: KeyPair, user: string): void {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'rehearsal', cluster: { server, 'certificate-authority': caFile } }],
    users: [{ name: user, user: { 'client-certificate': client.certFile, 'client-key': client.keyFile } }],
    contexts: [{ name: user, context: { cluster: 'rehearsal', user } }],
    'current-context': user,
  };
  writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

/** Start etcd, kube-apiserver and kube-controller-manager and wait until they are ready (or fail, cleaning up). */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlane> {
  const { workDir, binaries, pki } = options;
  const started = Date.now();
  const say = options.log ?? (() => {});
  const runner = options.runner ?? processRunner;
  const advertise = options.advertiseAddress ?? '10.0.2.2';
  const serviceCidr = options.serviceCidr ?? DEFAULT_SERVICE_CIDR;
  for (const [name, path] of Object.entries(binaries)) {
    if (path && !existsSync(path)) throw new Error(`control plane: ${name} binary ${path} does not exist (run 'make upstream k8s=<minor>' to build it)`);
  }
  mkdirSync(join(workDir, 'etcd'), { recursive: true, mode: 0o700 });
  const logs = {
    etcd: join(workDir, 'etcd.log'),
    apiserver: join(workDir, 'kube-apiserver.log'),
    controllerManager: join(workDir, 'kube-controller-manager.log'),
  };
  const managed: Managed[] = [];
  // Only PATH reaches the children: none of this process's AWS settings belong in a control plane's environment.
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };

  const launch = (name: string, command: string, args: string[], logFile: string): Managed => {
    const fd = openSync(logFile, 'a');
    try {
      // setpriv (util-linux) execs the binary with PR_SET_PDEATHSIG=KILL: should this process die without stop()
      // (Ctrl-C with no handler, a crash, kill -9), the kernel kills the control plane with it. Same pid, so
      // stop()'s process-group signals reach the binary itself.
      const child = startDetached('setpriv', ['--pdeathsig', 'KILL', '--', command, ...args], { env, stdio: ['ignore', fd, fd] });
      const exited = new Promise<number | null>((resolve) => {
        child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
        child.once('error', () => resolve(127));
      });
      const entry = { name, child, logFile, exited };
      managed.push(entry);
      return entry;
    } finally {
      closeSync(fd);
    }
  };

  let stopping: Promise<void> | undefined;
  const killGroup = (m: Managed, signal: NodeJS.Signals) => signalGroup(m.child.pid, signal);

  // process.exit() without stop(): kill the groups at once (the death signal covers a killed process).
  const onExit = () => managed.forEach((m) => killGroup(m, 'SIGKILL'));
  process.once('exit', onExit);
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      process.off('exit', onExit);
      for (const m of [...managed].reverse()) {
        killGroup(m, 'SIGTERM');
        const timer = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), GRACE_MS).unref());
        if ((await Promise.race([m.exited, timer])) === 'late') {
          killGroup(m, 'SIGKILL');
          await m.exited;
        }
        // The group may hold more than the leader (none of ours fork, but a kill of the group is cheap insurance).
        killGroup(m, 'SIGKILL');
      }
    })();
    return stopping;
  };

  try {
    const [etcdClient, etcdPeer, apiPort, cmPort] = await distinctFreePorts(4, options.apiPort);
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    launch(
      'etcd',
      binaries.etcd,
      [
        '--name=rehearsal',
        `--data-dir=${join(workDir, 'etcd')}`,
        `--listen-client-urls=${etcdUrl}`,
        `--advertise-client-urls=${etcdUrl}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=rehearsal=http://127.0.0.1:${etcdPeer}`,
        '--log-level=warn',
      ],
      logs.etcd,
    );
    const localEndpoint = `https://127.0.0.1:${apiPort}`;
    launch(
      'kube-apiserver',
      binaries.kubeApiserver,
      [
        `--etcd-servers=${etcdUrl}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--advertise-address=${advertise}`,
        `--tls-cert-file=${pki.apiserver.certFile}`,
        `--tls-private-key-file=${pki.apiserver.keyFile}`,
        `--client-ca-file=${pki.ca.certFile}`,
        `--service-cluster-ip-range=${serviceCidr}`,
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        `--authentication-token-webhook-config-file=${options.tokenWebhookKubeconfig}`,
        '--authentication-token-webhook-version=v1',
        // Short, so a refused node token is re-reviewed promptly in failure tests.
        '--authentication-token-webhook-cache-ttl=10s',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${pki.serviceAccount.publicKeyFile}`,
        `--service-account-signing-key-file=${pki.serviceAccount.privateKeyFile}`,
        `--kubelet-client-certificate=${pki.apiserverKubeletClient.certFile}`,
        `--kubelet-client-key=${pki.apiserverKubeletClient.keyFile}`,
        '--kubelet-preferred-address-types=InternalIP,Hostname',
        '--allow-privileged=true',
        '--profiling=false',
        `--cert-dir=${join(workDir, 'apiserver-certs')}`,
        '--v=1',
      ],
      logs.apiserver,
    );
    const adminKubeconfig = join(workDir, 'admin.kubeconfig');
    kubeconfig(adminKubeconfig, localEndpoint, pki.ca.certFile, pki.admin, 'rehearsal-admin');
    const cmKubeconfig = join(workDir, 'controller-manager.kubeconfig');
    kubeconfig(cmKubeconfig, localEndpoint, pki.ca.certFile, pki.controllerManager, 'system:kube-controller-manager');

    const ca = readFileSync(pki.ca.certFile);
    const admin = { cert: readFileSync(pki.admin.certFile), key: readFileSync(pki.admin.keyFile) };
    const api = (method: string, path: string, body?: unknown) => apiRequest(localEndpoint, ca, admin, method, path, body);
    const fatal = (): Promise<never> =>
      Promise.race(managed.map((m) => m.exited.then((code) => ({ m, code })))).then(({ m, code }) => {
        throw new Error(`${m.name} exited (code ${code}) while the control plane was starting; the end of ${m.logFile}:\n${tail(m.logFile)}`);
      });
    const deadline = options.readyTimeoutMs ?? 180_000;
    const within = <T>(what: string, until: Promise<T>): Promise<T> => {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => {
            const logTails = managed.map((m) => `--- ${m.name} (${m.logFile}):\n${tail(m.logFile, 10)}`).join('\n');
            reject(new Error(`control plane: ${what} not within ${Math.round(deadline / 1000)} s\n${logTails}`));
          },
          deadline - (Date.now() - started),
        );
      });
      return Promise.race([until, late, fatal()]).finally(() => clearTimeout(timer));
    };

    await within(
      'kube-apiserver /readyz',
      latch(() => api('GET', '/readyz').then((a) => a.status === 200)),
    );
    say(`kube-apiserver ready at ${localEndpoint} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    launch(
      'kube-controller-manager',
      binaries.kubeControllerManager,
      [
        `--kubeconfig=${cmKubeconfig}`,
        `--authentication-kubeconfig=${cmKubeconfig}`,
        `--authorization-kubeconfig=${cmKubeconfig}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${cmPort}`,
        `--cert-dir=${join(workDir, 'controller-manager-certs')}`,
        '--use-service-account-credentials=true',
        `--service-account-private-key-file=${pki.serviceAccount.privateKeyFile}`,
        `--root-ca-file=${pki.ca.certFile}`,
        `--cluster-signing-cert-file=${pki.ca.certFile}`,
        `--cluster-signing-key-file=${pki.ca.keyFile}`,
        `--service-cluster-ip-range=${serviceCidr}`,
        `--cluster-name=${options.clusterName}`,
        '--allocate-node-cidrs=false',
        '--leader-elect=false',
        '--profiling=false',
        '--v=1',
      ],
      logs.controllerManager,
    );
    // The controller manager is working once its service-account controller has made the default namespace's
    // service account (every pod needs one): a behaviour, not just a health endpoint.
    await within(
      'the default service account (kube-controller-manager)',
      latch(() => api('GET', '/api/v1/namespaces/default/serviceaccounts/default').then((a) => a.status === 200)),
    );
    const secondsToReady = (Date.now() - started) / 1000;
    say(`control plane ready after ${secondsToReady.toFixed(1)} s`);

    return {
      endpoint: `https://${advertise}:${apiPort}`,
      localEndpoint,
      port: apiPort,
      caB64: ca.toString('base64'),
      adminKubeconfig,
      logs,
      pids: managed.map((m) => m.child.pid!).filter(Boolean),
      secondsToReady,
      api,
      kubectl: async (args) => {
        if (!binaries.kubectl) throw new Error('control plane: no kubectl binary was given; use api() instead');
        return runner.capture(binaries.kubectl, [`--kubeconfig=${adminKubeconfig}`, ...args], { env });
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Resolves when `ready` first answers true. Checks back-to-back, each after the previous answer (a connection
 * refused comes back at once, so a short pause between checks keeps a starting API server from being flooded);
 * the caller bounds it with a deadline and with the processes' exits.
 */
async function latch(ready: () => Promise<boolean>): Promise<void> {
  for (;;) {
    const ok = await ready().catch(() => false);
    if (ok) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 200).unref());
  }
}

/** `count` distinct free ports; `apiPort`, when given, is the third (kube-apiserver's) and no other repeats it. */
async function distinctFreePorts(count: number, apiPort?: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count - (apiPort === undefined ? 0 : 1)) {
    const port = await freePort();
    if (port !== apiPort) ports.add(port);
  }
  const chosen = [...ports];
  if (apiPort !== undefined) chosen.splice(2, 0, apiPort);
  return chosen;
}

function apiRequest(endpoint: string, ca: Buffer, client: { cert: Buffer; key: Buffer }, method: string, path: string, body?: unknown): Promise<ApiAnswer> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      `${endpoint}${path}`,
      {
        method,
        ca,
        cert: client.cert,
        key: client.key,
        headers: { Accept: 'application/json', ...(payload ? { 'Content-Type': 'application/json' } : {}) },
        timeout: 15_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // /readyz and friends answer plain text
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within 15 s`)));
    req.once('error', reject);
    req.end(payload);
  });
}
