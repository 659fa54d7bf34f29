// The join phase of a rehearsal: starts what a node meets on AWS (its instance in the emulator, instance metadata,
// the IAM authenticator, a control plane built from the minor's pinned source), boots the image's disk as the
// node and runs joinNode (join.ts). Stops everything it started, whatever happens.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ec2Client, type AwsConnection } from '../../aws/clients.ts';
import { regionFacts } from '../../data/partitions.ts';
import { repoPath } from '../../paths.ts';
import type { Plan } from '../../plan/plan.ts';
import { runSync } from '../../process/run.ts';
import type { BuiltComponents } from '../../upstream/index.ts';
import { MetadataStandIn } from '../imds.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';
import { joinNode, type KubeApi } from './join.ts';
import { nodeModuleReport } from './modules-report.ts';
import { applyFault, type JoinFault } from './faults.ts';
import { nodeKernel, nodeVmFiles, prepareNodeDisk, type ExtraFile } from './node-disk.ts';
import { launchNodeInstance } from './node-identity.ts';
import type { ClusterPki } from './pki.ts';
import { joinSummary, writeJoinOutput, type JoinResult } from './report.ts';
import { TokenWebhook } from './token-webhook.ts';
import { bootNode, freePort, type NodeVm } from './vm.ts';

/** The node's address for the host under qemu's user network (the host's 127.0.0.1). */
const HOST_FROM_GUEST = '10.0.2.2';
/** The pod network of the bridge CNI configuration standing in for the VPC CNI. */
export const POD_CIDR = '10.85.0.0/16';
/** The node role's name in the IMDS stand-in (its access key is what the authenticator maps to the node). */
const NODE_ROLE = 'eks-rehearsal-node-role';
const NODE_ACCESS_KEY = 'ASIAREHEARSALSTANDIN';

export interface RehearseJoinInput {
  /** The image's root filesystem (read only). */
  rootfs: string;
  /** Where the join's outputs go. */
  outDir: string;
  work: string;
  plan: Plan;
  amiId: string;
  pki: ClusterPki;
  builds: BuiltComponents;
  podImage: string;
  connection: AwsConnection;
  /** The emulator's endpoint as the node reaches it. */
  awsEndpoint: string;
  log: (line: string) => void;
  /** A broken node the join must refuse (the rehearsal's tests; faults.ts). */
  fault?: JoinFault;
}

function binary(builds: BuiltComponents, component: string, name: string): string {
  const path = builds[component]?.binaries[name];
  if (!path) throw new Error(`the join needs ${name} from the ${component} build (make upstream)`);
  return path;
}

/** uid and gid of a user in the image's /etc/passwd. */
function ids(rootfs: string, user: string): { uid: number; gid: number } {
  const line = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`the image has no user ${user} to log in as`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function kubeProxyFiles(plan: Plan, endpoint: string, pki: ClusterPki, builds: BuiltComponents, nodeName: string): ExtraFile[] {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cluster', cluster: { server: endpoint, 'certificate-authority-data': b64(pki.ca.certFile) } }],
    users: [{ name: 'kube-proxy', user: { 'client-certificate-data': b64(pki.kubeProxy.certFile), 'client-key-data': b64(pki.kubeProxy.keyFile) } }],
    contexts: [{ name: 'kube-proxy', context: { cluster: 'cluster', user: 'kube-proxy' } }],
    'current-context': 'kube-proxy',
  };
  const template = readFileSync(repoPath('rehearsal', 'join', 'kube-proxy.yaml'), 'utf8');
  const config = (mode: string) => template.replaceAll('@NODE_NAME@', nodeName).replaceAll('@POD_CIDR@', POD_CIDR).replaceAll('@MODE@', mode);
  return [
    { path: '/var/lib/rehearsal/kube-proxy', content: readFileSync(binary(builds, 'kubernetes', 'kube-proxy')), mode: 0o755 },
    { path: '/var/lib/rehearsal/kube-proxy.kubeconfig', content: JSON.stringify(kubeconfig), mode: 0o600 },
    ...plan.kube_proxy_modes.map((mode) => ({ path: `/var/lib/rehearsal/kube-proxy-${mode}.yaml`, content: config(mode) })),
  ];
}

function instanceNetworkFiles(imdsPort: number): ExtraFile[] {
  const fill = (file: string) =>
    readFileSync(repoPath('rehearsal', 'join', file), 'utf8')
      .replaceAll('@IMDS_ADDRESS@', HOST_FROM_GUEST)
      .replaceAll('@IMDS_PORT@', String(imdsPort));
  return [
    { path: '/usr/local/libexec/rehearsal-instance-network', content: fill('rehearsal-instance-network.sh'), mode: 0o755 },
    { path: '/etc/systemd/system/rehearsal-instance-network.service', content: fill('rehearsal-instance-network.service') },
    { path: '/etc/systemd/system/sysinit.target.wants/rehearsal-instance-network.service', symlink: '/etc/systemd/system/rehearsal-instance-network.service' },
  ];
}

export async function rehearseJoin(input: RehearseJoinInput): Promise<JoinResult> {
  const { plan, log } = input;
  const region = plan.aws_region;
  const facts = regionFacts(region);
  if (!facts) throw new Error(`unknown region ${region}`);
  let metadata: MetadataStandIn | undefined;
  let webhook: TokenWebhook | undefined;
  let controlPlane: ControlPlane | undefined;
  let vm: NodeVm | undefined;
  try {
    mkdirSync(input.work, { recursive: true });
    mkdirSync(input.outDir, { recursive: true });
    const key = join(input.work, 'node_ed25519');
    runSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'eks-ami-rehearsal-join', '-f', key]);
    const node = await launchNodeInstance(ec2Client(region, input.connection), { amiId: input.amiId, region, dnsSuffix: facts.dnsSuffix });
    log(`Launched ${node.identity.instanceId} of ${input.amiId} in the emulator: the node will register as ${node.nodeName}`);
    metadata = await new MetadataStandIn({ host: '127.0.0.1', publicKey: '', role: NODE_ROLE, instance: node.identity }).start();
    // The kubelet presents a token on every request: each refusal is news, an acceptance only the first time.
    const reviewed = new Set<string>();
    const reviewLog = (line: string) => {
      const accepted = line.includes('accepted');
      if (accepted && reviewed.has(line.replace(/issued \S+/, ''))) return;
      reviewed.add(line.replace(/issued \S+/, ''));
      log(line);
    };
    webhook = await new TokenWebhook({ host: '127.0.0.1', tls: input.pki.tokenWebhook, nodes: { [NODE_ACCESS_KEY]: node.nodeName }, log: reviewLog }).start();
    const webhookKubeconfig = join(input.work, 'token-webhook.kubeconfig');
    webhook.writeKubeconfig(webhookKubeconfig, input.pki.ca.certFile);
    const clusterName = 'rehearsal';
    // The control plane starts while the node's disk is made and the node boots: neither needs the other before
    // bootstrap.sh, and the node's kube-proxy only needs the endpoint, so the port is chosen first.
    const imdsPort = Number(new URL(metadata.endpoint).port);
    const apiPort = await freePort();
    const endpoint = `https://${HOST_FROM_GUEST}:${apiPort}`;
    const controlPlaneStarted = startControlPlane({
      workDir: join(input.work, 'control-plane'),
      binaries: {
        etcd: binary(input.builds, 'etcd', 'etcd'),
        kubeApiserver: binary(input.builds, 'kubernetes', 'kube-apiserver'),
        kubeControllerManager: binary(input.builds, 'kubernetes', 'kube-controller-manager'),
      },
      pki: input.pki,
      tokenWebhookKubeconfig: webhookKubeconfig,
      clusterName,
      advertiseAddress: HOST_FROM_GUEST,
      apiPort,
      log,
    }).then((started) => {
      controlPlane = started;
      log(`Control plane ready in ${started.secondsToReady.toFixed(0)} s at ${started.localEndpoint} (the node dials ${started.endpoint})`);
      return started;
    });

    const nodeBooted = (async () => {
      // Debian's kernel with the rehearsal's small initramfs (virtio disk and network drivers: the root has no udev).
      const kernel = await nodeKernel();
      const faulted = input.fault
        ? await applyFault(input.fault, {
            rootfs: input.rootfs,
            work: join(input.work, 'fault'),
            kernelRelease: kernel.release,
            pauseImage: plan.pause_image,
            log,
          })
        : undefined;
      if (input.fault) log(`Fault: ${input.fault} (the join must fail naming its cause)`);
      const rootfs = faulted?.rootfs ?? input.rootfs;
      const user = plan.variables.ssh_username;
      const { uid, gid } = ids(rootfs, user);
      const disk = await prepareNodeDisk({
        rootfs,
        out: join(input.work, 'node.img'),
        kernel,
        extraFiles: [
          ...nodeVmFiles(),
          ...instanceNetworkFiles(imdsPort),
          { path: `/home/${user}/.ssh/authorized_keys`, content: readFileSync(`${key}.pub`), mode: 0o600, uid, gid, append: true },
          ...kubeProxyFiles(plan, endpoint, input.pki, input.builds, node.nodeName),
          ...(faulted?.extraFiles ?? []),
        ],
      });
      log(`Node disk: ${disk.usedMiB} MiB used of ${disk.sizeMiB} MiB, made in ${(disk.durationMs / 1000).toFixed(1)} s`);
      const bootStarted = Date.now();
      vm = await bootNode({ disk: disk.path, kernel, consoleLog: join(input.outDir, 'console.log'), sshKey: key, sshUser: user });
      const up = await vm.waitForSsh(new Promise((resolve) => setTimeout(resolve, 240_000).unref())).then(
        () => undefined,
        (error: Error) => error,
      );
      return { kernel, faulted, bootStarted, vm, up, upSeconds: (Date.now() - bootStarted) / 1000 };
    })();
    // Both run to their end (each leaves something to stop in finally) before either's failure is reported.
    const [started, booted] = await Promise.allSettled([controlPlaneStarted, nodeBooted]);
    if (started.status === 'rejected') throw started.reason;
    if (booted.status === 'rejected') throw booted.reason;
    const { kernel, faulted, bootStarted, up, upSeconds } = booted.value;
    const nodeVm = booted.value.vm;
    if (up) return failedBeforeJoin(node.nodeName, `the node did not boot to SSH: ${up.message}`, bootStarted, input);
    log(`Node up (SSH) ${upSeconds.toFixed(0)} s after qemu started`);
    const modules = await nodeModuleReport(nodeVm);
    writeJoinOutput(input.outDir, 'modules.json', modules);
    log(
      `Node booted (kernel ${kernel.release}); systemd-modules-load loaded ${modules.loaded.length} of the image's listed modules${modules.missing.length ? `, not: ${modules.missing.join(', ')}` : ''}`,
    );

    const cp = started.value;
    const api: KubeApi = {
      get: async (path) => answer(await cp.api('GET', path), `GET ${path}`),
      post: async (path, body) => answer(await cp.api('POST', path, body), `POST ${path}`),
    };
    return await joinNode({
      vm: nodeVm,
      api,
      node,
      clusterName,
      apiserverEndpoint: cp.endpoint,
      caB64: faulted?.caB64 ?? cp.caB64,
      awsEndpoint: input.awsEndpoint,
      podCidr: POD_CIDR,
      podImage: input.podImage,
      modes: plan.kube_proxy_modes.filter((m): m is 'ipvs' | 'nftables' => m === 'ipvs' || m === 'nftables'),
      outDir: input.outDir,
      log,
    });
  } finally {
    await vm?.poweroff({ timeoutMs: 60_000 }).catch(() => vm?.kill());
    await controlPlane?.stop();
    await webhook?.stop();
    await metadata?.stop();
  }
}

function failedBeforeJoin(nodeName: string, failure: string, started: number, input: RehearseJoinInput): JoinResult {
  const result: JoinResult = { ok: false, nodeName, modes: [], failure, totalSeconds: (Date.now() - started) / 1000 };
  writeJoinOutput(input.outDir, 'summary.txt', `${joinSummary(result)}\n`);
  return result;
}

function answer<T>(reply: { status: number; body: unknown; text: string }, what: string): T {
  if (reply.status < 200 || reply.status > 299) throw new Error(`${what}: HTTP ${reply.status} ${reply.text.slice(0, 200)}`);
  return reply.body as T;
}
