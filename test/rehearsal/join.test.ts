// `make rehearse <minor> join=true` for real: the built image boots under qemu with Debian's kernel, runs
// bootstrap.sh with the real kubelet and containerd (built from the minor's pinned source), registers with a
// control plane built from the same source, runs a pod and serves a ClusterIP Service through kube-proxy in IPVS
// mode (and nftables mode, which RHEL 9 images list). Stand-ins left: the AWS CLI and SSM agent installers
// (AWS-signed), the IAM authenticator (a webhook checking the token's format), EC2 itself (moto) and IMDS.
// Then the broken nodes of join/faults.ts must fail, each naming its cause.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAULT_EXPECTATIONS, JOIN_FAULTS } from '../../src/rehearse/join/faults.ts';
import { rehearse, type RehearsalResult } from '../../src/rehearse/rehearse.ts';
import { processRunner } from '../../src/process/run.ts';
import { capture, captureAsync } from '../support/spawn.ts';
import { joinLeftovers, rehearsalLeftovers } from '../support/leftovers.ts';
import { repoPath } from '../../src/paths.ts';
import { make } from '../support/make.ts';
import { requireTool } from '../support/tools.ts';

interface NodeList {
  items: {
    metadata: { name: string };
    status: { nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string }; conditions: { type: string; status: string }[] };
  }[];
}
interface PodList {
  items: { metadata: { name: string }; spec: { nodeName: string }; status: { phase: string; podIP: string } }[];
}
interface ServiceList {
  items: { metadata: { name: string }; spec: { clusterIP: string } }[];
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, 'utf8')) as T;

/** What a joined node's outputs must show: the plan's versions Ready, the pod Running, the Service served per mode. */
function expectJoined(joinDir: string, plan: { kubernetes_version: string; variables: { containerd_version: string }; kube_proxy_modes: string[] }): void {
  const nodes = readJson<NodeList>(join(joinDir, 'nodes.json')).items;
  expect(nodes).to.have.length(1);
  const node = nodes[0];
  expect(node.status.nodeInfo.kubeletVersion).to.equal(`v${plan.kubernetes_version}`);
  expect(node.status.nodeInfo.containerRuntimeVersion).to.equal(`containerd://${plan.variables.containerd_version}`);
  expect(node.status.conditions.find((c) => c.type === 'Ready')?.status).to.equal('True');
  const pod = readJson<PodList>(join(joinDir, 'pods.json')).items.find((p) => p.metadata.name === 'rehearsal-web');
  expect(pod?.status.phase).to.equal('Running');
  expect(pod?.spec.nodeName).to.equal(node.metadata.name);
  const service = readJson<ServiceList>(join(joinDir, 'services.json')).items.find((s) => s.metadata.name === 'rehearsal-web');
  const clusterIP = service?.spec.clusterIP ?? '(none)';
  // ipvsadm -Ln: the Service's virtual server, round robin, with the pod as its real server.
  const ipvs = readFileSync(join(joinDir, 'kube-proxy-ipvs.txt'), 'utf8');
  const virtual = ipvs.indexOf(`TCP  ${clusterIP}:80 rr`);
  expect(virtual, ipvs).to.be.greaterThan(-1);
  expect(ipvs.slice(virtual).split('\n')[1]).to.match(new RegExp(`-> ${pod?.status.podIP.replaceAll('.', '\\.')}:8080\\s+Masq`));
  if (plan.kube_proxy_modes.includes('nftables')) {
    const nft = readFileSync(join(joinDir, 'kube-proxy-nftables.txt'), 'utf8');
    // A DNAT to the pod's endpoint (kube-proxy 1.35 writes `dnat to IP:PORT`, 1.36 a numgen map of `IP . PORT`).
    const ip = (pod?.status.podIP ?? '(none)').replaceAll('.', '\\.');
    expect(nft)
      .to.include(clusterIP)
      .and.to.match(new RegExp(`dnat (ip )?to (${ip}:8080|.*${ip} \\. 8080)`));
  }
  const modules = readJson<{ loaded: string[]; missing: string[] }>(join(joinDir, 'modules.json'));
  expect(modules.loaded).to.include.members(['ip_vs', 'ip_vs_rr', 'nf_conntrack', 'overlay', 'br_netfilter']);
  expect(modules.missing).to.deep.equal([]);
  expect(readFileSync(join(joinDir, 'kubelet.log'), 'utf8')).to.include('Started kubelet');
  expect(readFileSync(join(joinDir, 'summary.txt'), 'utf8')).to.match(/^Join joined: node \S+ Ready in \d+ s .*ipvs: [\d.]+:80 → [\d.]+:8080/);
}

describe('make rehearse … join=true (qemu node, control plane from source)', function () {
  this.timeout(1_800_000);
  before(() => {
    for (const tool of ['packer', 'systemd-nspawn', 'qemu-system-x86_64', 'mke2fs', 'openssl', 'go', 'gcc']) requireTool(tool, 'the join rehearsal');
  });

  describe('the newest EKS minor, 1.36 (containerd 2), then broken nodes', () => {
    let result: RehearsalResult;
    const lines: string[] = [];
    before(async () => {
      result = await rehearse(['1.36', 'join=true'], processRunner, (line) => lines.push(line), { joinFaults: [...JOIN_FAULTS] });
    });

    it("builds, then joins: Ready with the plan's kubelet and containerd, a Running pod, the Service through IPVS and nftables", () => {
      expect(result.exitCode, lines.slice(-30).join('\n')).to.equal(0);
      expect(result.join?.ok, result.join?.failure).to.equal(true);
      expectJoined(join(result.rehearsalDir!, 'join'), result.pipeline!.plan);
      expect(lines.some((l) => /^Join joined: /.test(l))).to.equal(true);
    });

    for (const fault of JOIN_FAULTS) {
      const expected = FAULT_EXPECTATIONS[fault];
      it(expected.joins ? `joins a node with '${fault}' but warns about it` : `refuses a node with the fault '${fault}', naming its cause`, () => {
        const verdict = result.joinFaults?.[fault];
        expect(verdict?.ok, `${fault}: ${verdict?.failure ?? 'joined'}`).to.equal(expected.joins);
        const said = expected.joins ? (verdict?.warnings ?? []).join(' ') : (verdict?.failure ?? '');
        expect(said).to.match(expected.says);
      });
    }

    it('does not warn about the kubelet and containerd 2 the plan names', () => {
      expect(result.join?.warnings ?? []).to.deep.equal([]);
    });

    it('leaves no VM, control plane or network namespace behind', () => {
      expect(joinLeftovers()).to.deep.equal([]);
      expect(capture('ip', ['netns', 'list']).stdout).not.to.include(`eks-rehearsal-${process.pid}`);
    });
  });

  describe('Ctrl-C while the node joins', () => {
    it('stops the node, its SSH connection, the control plane and the rehearsal, exits 130 and leaves nothing behind', async () => {
      let output = '';
      // A latch: resolved by the output that shows bootstrap.sh starting on the booted node, not by polling.
      let joining!: () => void;
      const joiningSeen = new Promise<void>((resolve) => (joining = resolve));
      let pid = 0;
      const run = captureAsync(repoPath('node_modules/.bin/tsx'), ['scripts/rehearse.ts', '1.36', 'join=true'], {
        cwd: repoPath(),
        detached: true,
        onStart: (started) => (pid = started),
        onOutput: (all) => {
          output = all;
          if (all.includes('bootstrap.sh rehearsal --apiserver-endpoint')) joining();
        },
      });
      const exited = run.then((result) => result.status);
      await Promise.race([joiningSeen, exited]);
      expect(output, output.slice(-2000)).to.include('bootstrap.sh rehearsal --apiserver-endpoint');
      const running = joinLeftovers();
      for (const part of [/qemu-system-x86_64/, /kube-apiserver /, /\/etcd /, /ssh -M -N/])
        expect(
          running.some((line) => part.test(line)),
          `${part} should be running when the signal comes: ${running.join(' | ')}`,
        ).to.equal(true);
      const rehearsalPid = Number(/eks-rehearsal-(\d+)/.exec(output)?.[1]);
      // The whole process group, as a terminal's Ctrl-C signals it.
      process.kill(-pid, 'SIGINT');
      expect(await exited, output.slice(-2000)).to.equal(130);
      expect(joinLeftovers()).to.deep.equal([]);
      expect(rehearsalLeftovers(rehearsalPid)).to.deep.equal([]);
    });
  });

  describe('a minor that still runs containerd 1.7: make rehearse 1.35 containerd_version=1.7.27 join=true', () => {
    it('joins with containerd 1.7.27 through the CLI, and says so in its last line', () => {
      const run = make(['rehearse', '1.35', 'containerd_version=1.7.27', 'join=true']);
      expect(run.status, run.output.slice(-4000)).to.equal(0);
      const dir = /Rehearsal results: (\S+)\/\{rootfs/.exec(run.output)?.[1] ?? '';
      const plan = readJson<{ kubernetes_version: string; variables: { containerd_version: string }; kube_proxy_modes: string[] }>(
        join(dir, '..', 'plan.json'),
      );
      expect(plan.kubernetes_version).to.equal('1.35.4');
      expectJoined(join(dir, 'join'), plan);
      expect(run.output).to.match(/Join joined: .*containerd:\/\/1\.7\.27/);
      expect(joinLeftovers()).to.deep.equal([]);
    });
  });
});
