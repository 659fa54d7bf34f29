// `make rehearse <minor> join=true`, after the build: the image's root filesystem boots as a node in a qemu VM
// (a real kernel that loads the image's modules-load lists; systemd starts containerd and the kubelet as on EC2),
// runs /etc/eks/bootstrap.sh against a local control plane built from the same pinned source, turns Ready, runs
// a pod and serves a ClusterIP Service through kube-proxy in IPVS mode (and nftables mode where the image lists
// it). Each step's failure is reported in a sentence that names its cause (the registry's 401, the kubelet's
// error, an x509 refusal, kube-proxy's missing module), and everything it started is stopped on the way out.
//
// Where the node deviates from what an EC2 instance does, and why (the README lists these too):
// - the disk is the rehearsal's Debian root with Debian's 6.1 kernel and its modules (RHEL's kernel cannot boot
//   here); a oneshot unit sets qemu's fixed addresses (RHEL uses NetworkManager); SSH host keys are made at boot;
// - 169.254.169.254:80 is redirected to the IMDS stand-in by one nft rule the rehearsal adds to its copy of the disk;
// - bootstrap.sh runs with AWS_ENDPOINT_URL pointing the AWS CLI stand-in at the emulator;
// - the rehearsal logs in with a key of its own (cleanup.sh removed Packer's, as it should);
// - the CNI configuration is the reference bridge plugin, written where the VPC CNI writes its own;
// - kube-proxy is the same binary EKS's DaemonSet image runs, started as a transient systemd unit, and the test
//   pod names its node (there is no scheduler).
import { readFileSync } from 'node:fs';
import { repoPath } from '../../paths.ts';
import type { NodeVm } from './vm.ts';
import type { LaunchedNode } from './node-identity.ts';
import { joinSummary, writeJoinOutput, type JoinResult, type ProxyModeResult } from './report.ts';
import { podManifest, POD_NAME, POD_PORT, serviceManifest, SERVICE_NAME, SERVICE_PORT, WORKLOAD_NAMESPACE } from './workload.ts';

/** The API calls the join makes, with the admin identity. */
export interface KubeApi {
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body: unknown): Promise<T>;
}

/** A node as the API returns it (only what the join reads). */
interface NodeObject {
  metadata: { name: string };
  status?: {
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    nodeInfo?: { kubeletVersion: string; containerRuntimeVersion: string };
  };
}
interface PodObject {
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}
interface EventList {
  items: { reason?: string; message?: string; involvedObject?: { name?: string } }[];
}

/**
 * Polls `probe` until it returns a value, or the deadline passes (then `explain` says why). `failFast` looks for a
 * failure that will not heal (the kubelet exited, an x509 refusal, the registry's 401) and ends the wait at once.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  options: { timeoutMs: number; intervalMs?: number; explain?: () => Promise<string>; failFast?: () => Promise<string | undefined> },
): Promise<T> {
  let expired = false;
  const timer = setTimeout(() => (expired = true), options.timeoutMs);
  try {
    for (;;) {
      const value = await probe().catch(() => undefined);
      if (value !== undefined) return value;
      const fatal = await options.failFast?.().catch(() => undefined);
      if (fatal) throw new JoinFailure(`${what} failed: ${fatal}`);
      if (expired)
        throw new JoinFailure(
          `${what} did not happen within ${Math.round(options.timeoutMs / 1000)} s${options.explain ? `: ${await options.explain().catch((e: Error) => e.message)}` : ''}`,
        );
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 2000));
    }
  } finally {
    clearTimeout(timer);
  }
}

/** A join step that failed for a reason the user must see. */
export class JoinFailure extends Error {}

export interface JoinNodeInput {
  vm: NodeVm;
  api: KubeApi;
  node: LaunchedNode;
  clusterName: string;
  apiserverEndpoint: string;
  /** The CA bootstrap.sh is given (the cluster's, or another for the wrong-CA case). */
  caB64: string;
  /** The emulator, for the AWS CLI stand-in's DescribeInstances. */
  awsEndpoint: string;
  podCidr: string;
  podImage: string;
  /** Modes to prove, in order (the plan's kube_proxy_modes). */
  modes: ('ipvs' | 'nftables')[];
  outDir: string;
  log: (line: string) => void;
}

const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

async function must(vm: NodeVm, command: string, what: string, timeoutMs = 120_000): Promise<string> {
  const result = await vm.ssh(command, { timeoutMs });
  if (result.exitCode !== 0)
    throw new JoinFailure(`${what} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().split('\n').slice(-6).join(' | ')}`);
  return result.stdout;
}

/** The kubelet's journal lines that say why it cannot register or run pods. */
async function kubeletComplaints(vm: NodeVm): Promise<string> {
  const out = await vm.ssh(
    "sudo journalctl -u kubelet --no-pager -o cat | grep -E 'x509|Unauthorized|unauthorized|failed to run Kubelet|RuntimeConfig|container runtime|401|failed' | tail -n 4",
    { timeoutMs: 30_000 },
  );
  return out.stdout.trim().replaceAll('\n', ' | ') || 'the kubelet logged nothing that explains it (see kubelet.log)';
}

/** Plain words before the kubelet's own line, where that line alone leaves the user guessing. */
const KUBELET_FATAL_MEANING: [RegExp, string][] = [
  [/unknown service runtime\.v1\.RuntimeService/, 'the container runtime does not serve the CRI v1 API this kubelet speaks (containerd 1.6 or later does)'],
  [/x509: certificate signed by unknown authority/, "the kubelet does not trust the API server's certificate (is --b64-cluster-ca the cluster's CA?)"],
];

/** A kubelet error that will not heal: its own exit, or a server certificate it cannot trust. */
async function kubeletFatal(vm: NodeVm): Promise<string | undefined> {
  const out = await vm.ssh(
    "sudo journalctl -u kubelet --no-pager -o cat | grep -m 1 -E 'x509: certificate signed by unknown authority|failed to run Kubelet|command failed' | cut -c1-600",
    { timeoutMs: 30_000 },
  );
  const line = out.stdout.trim();
  if (!line) return undefined;
  const meaning = KUBELET_FATAL_MEANING.find(([pattern]) => pattern.test(line))?.[1];
  return meaning ? `${meaning}: ${line}` : line;
}

/** The pod's sandbox refused by the registry: a pull without credentials that the registry answers 401. */
async function sandboxRefused(api: KubeApi): Promise<string | undefined> {
  const events = await api.get<EventList>(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/events`);
  const refused = events.items.find(
    (e) =>
      e.involvedObject?.name === POD_NAME &&
      e.reason === 'FailedCreatePodSandBox' &&
      /401|[Uu]nauthorized|authorization failed|no basic auth/.test(e.message ?? ''),
  );
  return refused ? `${refused.reason}: ${refused.message}` : undefined;
}

async function proxyComplaints(vm: NodeVm, unit: string): Promise<string> {
  const out = await vm.ssh(`sudo journalctl -u ${unit} --no-pager -o cat | grep -E '^E|error|Error|fail' | tail -n 3`, { timeoutMs: 30_000 });
  return out.stdout.trim().replaceAll('\n', ' | ') || 'kube-proxy logged no error';
}

/** The node's events and the pod's waiting reason: why a pod did not start (a 401 from the registry shows here). */
async function podComplaints(api: KubeApi): Promise<string> {
  const events = await api.get<EventList>(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/events`);
  const mine = events.items.filter((e) => e.involvedObject?.name === POD_NAME && /Fail|Back|Err/.test(e.reason ?? ''));
  return (
    mine
      .map((e) => `${e.reason}: ${e.message}`)
      .slice(-3)
      .join(' | ') || 'no failure events'
  );
}

const nodeReady = (node: NodeObject) => node.status?.conditions?.find((c) => c.type === 'Ready');

export async function joinNode(input: JoinNodeInput): Promise<JoinResult> {
  const { vm, api, node, log } = input;
  const started = Date.now();
  const result: JoinResult = { ok: false, nodeName: node.nodeName, modes: [], totalSeconds: 0 };
  try {
    log(`bootstrap.sh ${input.clusterName} --apiserver-endpoint ${input.apiserverEndpoint} --b64-cluster-ca …`);
    const bootstrapStarted = Date.now();
    const bootstrap = await vm.ssh(
      `sudo env AWS_ENDPOINT_URL=${sh(input.awsEndpoint)} /etc/eks/bootstrap.sh ${sh(input.clusterName)} --apiserver-endpoint ${sh(input.apiserverEndpoint)} --b64-cluster-ca ${sh(input.caB64)}`,
      { timeoutMs: 300_000 },
    );
    writeJoinOutput(input.outDir, 'bootstrap.log', `${bootstrap.stdout}${bootstrap.stderr}`);
    if (bootstrap.exitCode !== 0)
      throw new JoinFailure(`bootstrap.sh failed (exit ${bootstrap.exitCode}): ${bootstrap.stderr.trim().split('\n').slice(-3).join(' | ')}`);

    await until(`node ${node.nodeName} registering`, () => api.get<NodeObject>(`/api/v1/nodes/${node.nodeName}`), {
      timeoutMs: 150_000,
      explain: () => kubeletComplaints(vm),
      failFast: () => kubeletFatal(vm),
    });
    log(`node ${node.nodeName} registered; writing the CNI configuration where the VPC CNI would`);
    const conflist = readFileSync(repoPath('rehearsal', 'join', '10-rehearsal-bridge.conflist'), 'utf8').replaceAll('@POD_CIDR@', input.podCidr);
    await must(vm, `sudo install -D -m 0644 /dev/stdin /etc/cni/net.d/10-rehearsal-bridge.conflist <<'EOF'\n${conflist}EOF`, 'writing the CNI configuration');

    const ready = await until(
      `node ${node.nodeName} turning Ready`,
      async () => {
        const found = await api.get<NodeObject>(`/api/v1/nodes/${node.nodeName}`);
        return nodeReady(found)?.status === 'True' ? found : undefined;
      },
      {
        timeoutMs: 120_000,
        explain: async () => {
          const found = await api.get<NodeObject>(`/api/v1/nodes/${node.nodeName}`);
          const condition = nodeReady(found);
          return `Ready is ${condition?.status ?? 'unknown'} (${condition?.reason ?? ''}: ${condition?.message ?? ''}); kubelet: ${await kubeletComplaints(vm)}`;
        },
      },
    );
    result.secondsToReady = (Date.now() - bootstrapStarted) / 1000;
    result.kubeletVersion = ready.status?.nodeInfo?.kubeletVersion;
    result.containerRuntimeVersion = ready.status?.nodeInfo?.containerRuntimeVersion;
    log(`node Ready in ${result.secondsToReady.toFixed(0)} s: kubelet ${result.kubeletVersion}, ${result.containerRuntimeVersion}`);
    // containerd 1.7 lacks the CRI RuntimeConfig call; kubelet 1.36 still falls back to its own cgroupDriver.
    const fallback = await vm.ssh("sudo journalctl -u kubelet --no-pager -o cat | grep -m 1 -c 'should be updated to support RuntimeConfig'", {
      timeoutMs: 30_000,
    });
    if (fallback.stdout.trim() === '1') {
      result.warnings = [
        `kubelet ${result.kubeletVersion} runs with ${result.containerRuntimeVersion} only by falling back to its own cgroupDriver: the runtime does not implement the CRI RuntimeConfig call (Kubernetes supports containerd 1.x up to 1.35)`,
      ];
      log(`WARNING: ${result.warnings[0]}`);
    }

    await api.post(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/services`, serviceManifest());
    await api.post(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/pods`, podManifest(node.nodeName, input.podImage));
    const pod = await until(
      `pod ${POD_NAME} running and ready`,
      async () => {
        const found = await api.get<PodObject>(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/pods/${POD_NAME}`);
        const isReady = found.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        return found.status?.phase === 'Running' && isReady ? found : undefined;
      },
      { timeoutMs: 180_000, explain: () => podComplaints(api), failFast: () => sandboxRefused(api) },
    );
    result.pod = { name: POD_NAME, phase: pod.status?.phase ?? 'Unknown', ip: pod.status?.podIP };
    log(`pod ${POD_NAME} Running at ${result.pod.ip}`);

    const service = await api.get<{ spec: { clusterIP: string } }>(`/api/v1/namespaces/${WORKLOAD_NAMESPACE}/services/${SERVICE_NAME}`);
    for (const mode of input.modes) {
      const verdict = await proveMode(input, mode, service.spec.clusterIP, result.pod.ip ?? '');
      result.modes.push(verdict);
      if (verdict.failure) throw new JoinFailure(`kube-proxy ${mode}: ${verdict.failure}`);
    }
    result.ok = true;
  } catch (error) {
    if (!(error instanceof JoinFailure)) throw error;
    result.failure = error.message;
  } finally {
    result.totalSeconds = (Date.now() - started) / 1000;
    await collect(input).catch((error: Error) => log(`could not collect every join output: ${error.message}`));
    writeJoinOutput(input.outDir, 'summary.txt', `${joinSummary(result)}\n`);
  }
  return result;
}

/** Runs kube-proxy in one mode and proves the Service answers from the pod through it. */
async function proveMode(input: JoinNodeInput, mode: 'ipvs' | 'nftables', clusterIP: string, podIP: string): Promise<ProxyModeResult> {
  const { vm, log } = input;
  const service = `${clusterIP}:${SERVICE_PORT}`;
  const endpoint = `${podIP}:${POD_PORT}`;
  const unit = `rehearsal-kube-proxy-${mode}`;
  const config = `/var/lib/rehearsal/kube-proxy-${mode}.yaml`;
  log(`kube-proxy in ${mode} mode`);
  const started = await vm.ssh(`sudo systemd-run --unit=${unit} --collect /var/lib/rehearsal/kube-proxy --config=${config}`, { timeoutMs: 30_000 });
  if (started.exitCode !== 0) return { mode, service, failure: `could not start kube-proxy: ${started.stderr.trim()}` };
  const state = mode === 'ipvs' ? 'sudo ipvsadm -Ln' : 'sudo nft list table ip kube-proxy';
  const programmed = await until(
    `kube-proxy (${mode}) programming ${service} → ${endpoint}`,
    async () => {
      const out = await vm.ssh(state, { timeoutMs: 30_000 });
      return out.exitCode === 0 && out.stdout.includes(clusterIP) && out.stdout.includes(podIP) ? out.stdout : undefined;
    },
    {
      timeoutMs: 90_000,
      explain: () => proxyComplaints(vm, unit),
      // kube-proxy exits when it cannot run in the mode asked (it does not fall back to another).
      failFast: async () =>
        (await vm.ssh(`systemctl is-active --quiet ${unit}`, { timeoutMs: 30_000 })).exitCode !== 0
          ? `kube-proxy exited: ${await proxyComplaints(vm, unit)}`
          : undefined,
    },
  ).catch((error: Error) => error);
  if (programmed instanceof Error) return { mode, service, failure: programmed.message };
  writeJoinOutput(input.outDir, mode === 'ipvs' ? 'kube-proxy-ipvs.txt' : 'kube-proxy-nftables.txt', programmed);
  const reply = await vm.ssh(`curl --silent --show-error --max-time 10 http://${service}/hostname`, { timeoutMs: 30_000 });
  const answeredBy = reply.stdout.trim();
  const verdict: ProxyModeResult =
    reply.exitCode === 0 && answeredBy === POD_NAME
      ? { mode, service, endpoint, answeredBy }
      : {
          mode,
          service,
          failure: `GET http://${service}/hostname from the node answered '${answeredBy}' (exit ${reply.exitCode}: ${reply.stderr.trim()}), not ${POD_NAME}`,
        };
  // Leave the node as kube-proxy found it, so the next mode starts clean.
  await vm.ssh(`sudo systemctl stop ${unit}; sudo /var/lib/rehearsal/kube-proxy --config=${config} --cleanup >/dev/null 2>&1 || true`, { timeoutMs: 60_000 });
  return verdict;
}

/** nodes.json, pods.json, services.json (the API's lists, as kubectl -o json prints them) and the node's logs. */
async function collect(input: JoinNodeInput): Promise<void> {
  const { api, vm, outDir } = input;
  for (const [file, path] of [
    ['nodes.json', '/api/v1/nodes'],
    ['pods.json', `/api/v1/namespaces/${WORKLOAD_NAMESPACE}/pods`],
    ['services.json', `/api/v1/namespaces/${WORKLOAD_NAMESPACE}/services`],
  ] as const) {
    writeJoinOutput(outDir, file, await api.get(path));
  }
  for (const unit of ['kubelet', 'containerd']) {
    const out = await vm.ssh(`sudo journalctl -u ${unit} --no-pager -o short-precise`, { timeoutMs: 60_000 });
    writeJoinOutput(outDir, `${unit}.log`, out.stdout);
  }
}
