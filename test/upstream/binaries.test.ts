// The real upstream binaries, built from the module proxy's source (or taken from the cache: a cold build runs
// once per machine, the CI's first run builds them): each answers its version as the release does, the
// release-shaped files check out with the published checksum tools, and the cache is hit without running Go.
import { expect } from 'chai';
import { closeSync, cpSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { processRunner, type Runner } from '../../src/process/run.ts';
import { configure } from '../../src/variables/configure.ts';
import { MARKER } from '../../src/upstream/cache.ts';
import { ensureUpstream, layOutRelease, upstreamForBuild, type UpstreamBuild, type Wanted } from '../../src/upstream/index.ts';
import { requireTool } from '../support/tools.ts';
import { capture } from '../support/spawn.ts';

/** A Runner that counts what it starts: a cache hit must start nothing. */
function countingRunner(): Runner & { spawns: number } {
  const runner = {
    spawns: 0,
    capture: (command: string, args: string[], options?: Parameters<Runner['capture']>[2]) => {
      runner.spawns++;
      return processRunner.capture(command, args, options);
    },
    stream: (command: string, args: string[], options?: Parameters<Runner['stream']>[2]) => {
      runner.spawns++;
      return processRunner.stream(command, args, options);
    },
  };
  return runner;
}

const run = (file: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) => {
  const result = capture(file, args, { env: options.env ?? {}, input: options.input ?? '' });
  return { status: result.status, out: result.output };
};

/** Whether an ELF executable asks for a dynamic loader (PT_INTERP): the release builds of these do not. */
function dynamicallyLinked(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(64);
    readSync(fd, header, 0, 64, 0);
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const table = Buffer.alloc(phentsize * phnum);
    readSync(fd, table, 0, table.length, phoff);
    return Array.from({ length: phnum }, (_, i) => table.readUInt32LE(i * phentsize)).includes(3);
  } finally {
    closeSync(fd);
  }
}

describe('upstream components: the real binaries (built from Go source, cached)', () => {
  const builds: Record<string, UpstreamBuild> = {};
  let containerd17: UpstreamBuild;
  let wanted: Wanted[];

  before(async function () {
    // A cold build of everything: ~40 min of CPU on two cores, once per machine; warm, well under a second.
    this.timeout(60 * 60_000);
    requireTool('go', 'building the upstream components from the Go module proxy');
    const config = await configure(['k8s=1.36'], {});
    wanted = upstreamForBuild(config.values, config.minor);
    for (const w of wanted) builds[w.component] = await ensureUpstream(w.component, w.version);
    containerd17 = await ensureUpstream('containerd', '1.7.27');
  });

  const bin = (component: string, name: string): string => {
    const file = builds[component]?.binaries[name];
    if (!file) throw new Error(`no ${name} in the ${component} build`);
    return file;
  };

  it('kubelet, kube-proxy, kube-apiserver and kube-controller-manager answer --version with the plan’s Kubernetes version', () => {
    for (const name of ['kubelet', 'kube-proxy', 'kube-apiserver', 'kube-controller-manager']) {
      expect(run(bin('kubernetes', name), ['--version']).out, name).to.equal('Kubernetes v1.36.3\n');
    }
  });

  it('agnhost (the rehearsal’s test pod) reports its e2e image version, not "development"', () => {
    const out = run(bin('kubernetes', 'agnhost'), ['--version']).out;
    expect(out).to.match(/version \d+\.\d+\.\d+\n$/);
  });

  it('containerd 2.x names its module and version as the release does, with ctr and the shim alike', () => {
    expect(run(bin('containerd', 'containerd'), ['--version']).out).to.match(/^containerd github\.com\/containerd\/containerd\/v2 v2\.2\.9 \S+\n$/);
    expect(run(bin('containerd', 'ctr'), ['--version']).out).to.equal('ctr github.com/containerd/containerd/v2 v2.2.9\n');
    expect(run(bin('containerd', 'containerd-shim-runc-v2'), ['-v']).out).to.match(/Version:\s+v2\.2\.9\n/);
  });

  it('containerd 1.7 is github.com/containerd/containerd v1.7.27', () => {
    expect(run(containerd17.binaries.containerd ?? '', ['--version']).out).to.match(/^containerd github\.com\/containerd\/containerd v1\.7\.27 \S+\n$/);
  });

  it('runc says its version and that libseccomp is linked in', () => {
    const out = run(bin('runc', 'runc'), ['--version']).out;
    expect(out).to.match(/^runc version 1\.3\.6\n/);
    expect(out).to.match(/\nlibseccomp: \d+\.\d+\.\d+\n/);
  });

  it('runc, containerd, its shim, the CNI plugins and kubelet are static, as the releases are (RHEL 8’s glibc is old)', () => {
    const files = [
      bin('runc', 'runc'),
      bin('containerd', 'containerd'),
      bin('containerd', 'containerd-shim-runc-v2'),
      bin('cni-plugins', 'bridge'),
      bin('kubernetes', 'kubelet'),
    ];
    expect(files.filter(dynamicallyLinked).map((f) => relative(dirname(dirname(f)), f))).to.deep.equal([]);
  });

  it('the bridge plugin speaks the CNI VERSION command and prints its release when run bare', () => {
    const version = run(bin('cni-plugins', 'bridge'), [], { env: { CNI_COMMAND: 'VERSION' }, input: '{"cniVersion":"1.0.0"}' });
    expect(version.status).to.equal(0);
    expect((JSON.parse(version.out) as { supportedVersions: string[] }).supportedVersions).to.include.members(['0.4.0', '1.0.0']);
    expect(run(bin('cni-plugins', 'bridge'), []).out).to.match(/^CNI bridge plugin v1\.6\.2\n/);
    expect(Object.keys(builds['cni-plugins']?.binaries ?? {})).to.include.members(['bridge', 'host-local', 'loopback', 'portmap']);
  });

  it('crictl, etcd, ecr-credential-provider and aws-iam-authenticator report the plan’s versions', () => {
    expect(run(bin('crictl', 'crictl'), ['--version']).out).to.equal('crictl version 1.34.0\n');
    expect(run(bin('etcd', 'etcd'), ['--version']).out).to.match(/^etcd Version: 3\.6\.16\n/);
    expect(run(bin('ecr-credential-provider', 'ecr-credential-provider'), ['--version']).out).to.match(/v1\.36\.2\n$/);
    const authenticator = JSON.parse(run(bin('aws-iam-authenticator', 'aws-iam-authenticator'), ['version']).out) as { Version: string };
    expect(authenticator.Version).to.equal('v0.7.5');
  });

  describe('release-shaped files', () => {
    let bucket: string;
    let work: string;
    before(() => {
      bucket = mkdtempSync(join(tmpdir(), 'upstream-bucket-'));
      work = mkdtempSync(join(tmpdir(), 'upstream-work-'));
      layOutRelease(bucket, work, { kubernetesVersion: '1.36.3', buildDate: '2026-07-22', binaryArch: 'amd64' }, builds);
    });
    after(() => {
      rmSync(bucket, { recursive: true, force: true });
      rmSync(work, { recursive: true, force: true });
    });

    /** sha256sum -c in the checksum file's directory, as the provisioners verify. */
    const check = (checksumFile: string) => capture('sha256sum', ['-c', basename(checksumFile)], { cwd: join(bucket, dirname(checksumFile)) });

    it('lays the EKS binaries with <name>.sha256 files the checksum tool accepts', () => {
      for (const name of ['kubelet', 'ecr-credential-provider', 'aws-iam-authenticator']) {
        const result = check(`1.36.3/2026-07-22/bin/linux/amd64/${name}.sha256`);
        expect(result.stdout, name).to.equal(`${name}: OK\n`);
      }
    });

    it('packs containerd as the release does (bin/ members), under the static name RHEL 8 gets too', () => {
      const dir = 'github/containerd/containerd/releases/download/v2.2.9';
      for (const asset of ['containerd-2.2.9-linux-amd64.tar.gz', 'containerd-static-2.2.9-linux-amd64.tar.gz']) {
        expect(check(`${dir}/${asset}.sha256sum`).stdout).to.equal(`${asset}: OK\n`);
        const members = capture('tar', ['-tzf', join(bucket, dir, asset)])
          .stdout.split('\n')
          .filter(Boolean);
        expect(members).to.include.members(['bin/containerd', 'bin/containerd-shim-runc-v2', 'bin/ctr']);
      }
    });

    it('publishes runc.amd64 with runc.sha256sum, and the CNI plugins tgz with its .sha256', () => {
      expect(check('github/opencontainers/runc/releases/download/v1.3.6/runc.sha256sum').stdout).to.equal('runc.amd64: OK\n');
      const cniDir = 'github/containernetworking/plugins/releases/download/v1.6.2';
      expect(check(`${cniDir}/cni-plugins-linux-amd64-v1.6.2.tgz.sha256`).stdout).to.equal('cni-plugins-linux-amd64-v1.6.2.tgz: OK\n');
      const members = capture('tar', ['-tzf', join(bucket, cniDir, 'cni-plugins-linux-amd64-v1.6.2.tgz')]).stdout;
      expect(members.split('\n')).to.include.members(['./bridge', './host-local', './loopback', './portmap']);
    });

    it('gives the same bytes when laid out again (stable checksums for the lock)', () => {
      const again = mkdtempSync(join(tmpdir(), 'upstream-bucket-'));
      try {
        layOutRelease(again, work, { kubernetesVersion: '1.36.3', buildDate: '2026-07-22', binaryArch: 'amd64' }, builds);
        const sums = (root: string) => capture('sh', ['-c', 'find . -name "*.sha256*" | sort | xargs cat'], { cwd: root }).stdout;
        expect(sums(again)).to.equal(sums(bucket));
      } finally {
        rmSync(again, { recursive: true, force: true });
      }
    });
  });

  describe('the cache', () => {
    it('is hit on the second call: cached, no process started, well under a second', async () => {
      const runner = countingRunner();
      for (const w of wanted) {
        const again = await ensureUpstream(w.component, w.version, { runner });
        expect(again.cached, w.component).to.equal(true);
        expect(again.binaries).to.deep.equal(builds[w.component]?.binaries);
        expect(again.seconds, w.component).to.be.below(1);
      }
      expect(runner.spawns).to.equal(0);
    });

    it('rebuilds an entry without its completion marker instead of using it', async function () {
      this.timeout(20 * 60_000);
      const crictl = builds.crictl;
      if (!crictl) throw new Error('no crictl build');
      const root = mkdtempSync(join(tmpdir(), 'upstream-cache-'));
      try {
        const env = { ...process.env, EKS_AMI_UPSTREAM_CACHE: root };
        const [moduleDir = '', key = ''] = relative(join(crictl.dir, '..', '..'), crictl.dir).split('/');
        const half = join(root, moduleDir, key);
        cpSync(crictl.dir, half, { recursive: true });
        unlinkSync(join(half, MARKER));
        const runner = countingRunner();
        const rebuilt = await ensureUpstream('crictl', '1.34.0', { env, runner });
        expect(rebuilt.dir).to.equal(half);
        expect(rebuilt.cached).to.equal(false);
        expect(runner.spawns).to.be.above(0);
        expect(readdirSync(half)).to.include(MARKER);
        expect(run(rebuilt.binaries.crictl ?? '', ['--version']).out).to.equal('crictl version 1.34.0\n');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  });
});
