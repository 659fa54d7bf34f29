// `make rehearse 1.36` for real: moto_server, a real `packer build` with the amazon-ebs builder, and the real
// provisioners over SSH in a Debian container (systemd-nspawn) in its own network namespace, installing the real
// upstream binaries built from source (src/upstream/) and pulling the pause image with real containerd from the
// ECR stand-in registry. Stubbed inside the container, and only there: dnf/rpm, semanage/restorecon/matchpathcon,
// grubby, modprobe/lsmod, update-crypto-policies (rehearsal/stubs/, each recording its calls); the AWS CLI and SSM
// agent installers are signed stand-ins.
import { expect } from 'chai';
import { capture, captureAsync } from '../support/spawn.ts';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declaredArtifactNames } from '../../src/data/artifacts.ts';
import { repoPath } from '../../src/paths.ts';
import { make } from '../support/make.ts';
import { requireTool } from '../support/tools.ts';
import { rehearsalLeftovers } from '../support/leftovers.ts';
import { purlOf, spdxProblems, type SpdxDocument } from '../support/spdx.ts';

function planDirFrom(output: string, root = repoPath()): string {
  const match = /Rehearsal results: (\S+)\/\{rootfs/.exec(output);
  if (!match) throw new Error(`no rehearsal results line in:\n${output.slice(-3000)}`);
  return join(root, match[1], '..');
}

/** The image names in an OCI archive's index (what `ctr images export` wrote and `ctr images import` reads). */
function exportedImages(archive: string): string[] {
  const index = JSON.parse(capture('tar', ['-xOf', archive, 'index.json']).stdout) as { manifests: { annotations?: Record<string, string> }[] };
  return index.manifests.map((m) => m.annotations?.['io.containerd.image.name'] ?? '').filter(Boolean);
}

describe('make rehearse (moto + packer build + nspawn target)', function () {
  this.timeout(900_000);
  before(() => {
    for (const tool of ['packer', 'systemd-nspawn', 'mmdebstrap', 'ip', 'python3']) requireTool(tool, 'the offline rehearsal');
  });

  describe('the default build', () => {
    let output = '';
    let dir = '';
    let root = '';
    before(() => {
      const result = make(['rehearse', '1.36']);
      output = result.output;
      expect(result.status, output.slice(-4000)).to.equal(0);
      dir = planDirFrom(output);
      root = join(dir, 'rehearsal', 'rootfs');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('registers AMIs in the emulator and leaves the manifest and plan', () => {
      expect(output).to.match(/Emulator AMI us-west-2: ami-[0-9a-f]+/);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      expect(manifest.builds[0].artifact_id).to.match(/^us-west-2:ami-/);
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
      expect(plan.kubernetes_version).to.equal('1.36.3'); // the minor's pinned source, the newest seeded build, not the older decoy
      expect(JSON.parse(readFileSync(join(dir, 'version-info.json'), 'utf8')).kubernetes.kubelet).to.equal('Kubernetes v1.36.3');
    });

    it('leaves a schema-valid SBOM with kubelet and containerd at the plan versions, provenance naming the AMIs, release notes', () => {
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
      const sbom = JSON.parse(readFileSync(join(dir, 'sbom.spdx.json'), 'utf8')) as SpdxDocument;
      expect(spdxProblems(sbom)).to.deep.equal([]);
      const versionOf = (name: string) => sbom.packages.filter((p) => p.name === name).map((p) => p.versionInfo);
      expect(versionOf('kubelet')).to.deep.equal([plan.kubernetes_version]);
      expect(versionOf('containerd')).to.deep.equal([plan.variables.containerd_version]);
      // The image's packages: what dnf installed, from the RPM database (rpm stub).
      for (const pkg of ['ipvsadm', 'conntrack-tools', 'amazon-ssm-agent']) expect(sbom.packages.some((p) => p.name === pkg && purlOf(p)?.startsWith(`pkg:rpm/redhat/${pkg}@`)), pkg).to.equal(true);
      const amis = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).builds[0].artifact_id.split(',').map((pair: string) => pair.split(':')[1]);
      const [statement] = readFileSync(join(dir, 'provenance.intoto.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      expect(statement._type).to.equal('https://in-toto.io/Statement/v1');
      expect(statement.subject.map((s: { name: string }) => s.name)).to.deep.equal(amis);
      expect(output).to.match(/SBOM\s+sha256 [0-9a-f]{64}/);
      expect(readFileSync(join(dir, 'release-notes.md'), 'utf8')).to.contain(`| kubelet | v${plan.kubernetes_version} |`);
    });

    it('lays the IPVS modules-load file, the sysctls and masked nm-cloud-setup', () => {
      const ipvs = readFileSync(join(root, 'etc/modules-load.d/ipvs.conf'), 'utf8');
      const wanted = JSON.parse(readFileSync(repoPath('data/ipvs.json'), 'utf8')).modules as string[];
      expect(ipvs.split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal(wanted);
      const sysctl = readFileSync(join(root, 'etc/sysctl.d/90-eks-worker.conf'), 'utf8');
      expect(sysctl).to.match(/^net\.ipv4\.ip_forward\s*=\s*1$/m).and.to.match(/^net\.bridge\.bridge-nf-call-iptables\s*=\s*1$/m);
      for (const unit of ['nm-cloud-setup.service', 'nm-cloud-setup.timer']) expect(readlinkSync(join(root, 'etc/systemd/system', unit))).to.equal('/dev/null');
    });

    it('installs a verified kubelet (disabled until bootstrap), bootstrap.sh and the max-pods table', () => {
      expect(capture(join(root, 'usr/bin/kubelet'), ['--version']).stdout.trim()).to.equal('Kubernetes v1.36.3');
      expect(output).to.match(/verified kubelet \(sha256 [0-9a-f]{64}\)/);
      expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/kubelet.service'))).to.equal(false);
      expect(existsSync(join(root, 'etc/eks/bootstrap.sh'))).to.equal(true);
      expect(readFileSync(join(root, 'etc/eks/eni-max-pods.txt'), 'utf8')).to.match(/^m5\.large 29 /m);
    });

    it('configures containerd with the systemd cgroup driver and the regional pause image', () => {
      const config = readFileSync(join(root, 'etc/containerd/config.toml'), 'utf8');
      expect(config).to.match(/SystemdCgroup = true/).and.to.contain('602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10');
    });

    // Real containerd pulled it from the ECR stand-in; validate.sh asked the running containerd that it is in the
    // store and pinned (a failed check fails the build). Its export for bootstrap.sh names it in its index.
    it('has the pause image pinned in containerd\'s store and exported for bootstrap.sh (public copy: no instance role here)', () => {
      const pause = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10';
      expect(exportedImages(join(root, 'etc/eks/pause-image.tar'))).to.deep.equal([pause]);
      expect(output).to.include('[validate] starting containerd.service for this step');
      // Without iam_instance_profile the commercial build takes the public ECR copy and says so.
      expect(output).to.include('WARNING: this build instance has no instance role').and.to.include('public.ecr.aws/eks-distro/kubernetes/pause:3.10');
      // containerd was started through its unit for the step (a real systemd here) and stopped again.
      expect(output).to.include('starting containerd.service for this step').and.to.include('stopped containerd again');
    });

    it('masks firewalld, reserves the add-on host ports, resets the CNI cache at boot, points chrony at Amazon Time Sync', () => {
      expect(readlinkSync(join(root, 'etc/systemd/system/firewalld.service'))).to.equal('/dev/null');
      expect(readFileSync(join(root, 'etc/sysctl.d/90-eks-worker.conf'), 'utf8')).to.match(/^net\.ipv4\.ip_local_reserved_ports = 2703,9808,9809,10249,10250,10256,61678,61679$/m);
      // The enablement symlink points inside the target's root (absolute), so read it rather than follow it here.
      expect(readlinkSync(join(root, 'etc/systemd/system/multi-user.target.wants/cni-cache-reset.service'))).to.equal('/etc/systemd/system/cni-cache-reset.service');
      expect(readFileSync(join(root, 'etc/chrony.conf'), 'utf8')).to.match(/^confdir \/etc\/chrony\.d$/m);
      expect(readFileSync(join(root, 'etc/chrony.d/amazon-time-sync.conf'), 'utf8')).to.include('169.254.169.123').and.to.include('fd00:ec2::123');
      expect(JSON.parse(readFileSync(join(dir, 'version-info.json'), 'utf8')).rhel_release).to.equal('9.5');
    });

    it('removes the launch key Packer logged in with from the SSH user\'s authorized_keys', () => {
      expect(readFileSync(join(root, 'home/ec2-user/.ssh/authorized_keys'), 'utf8')).to.not.include('eks-ami-rehearsal');
    });

    it('leaves no host keys, an empty machine-id and no build directory', () => {
      expect(readdirSync(join(root, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))).to.deep.equal([]);
      expect(readFileSync(join(root, 'etc/machine-id'), 'utf8')).to.equal('');
      expect(existsSync(join(root, 'var/lib/eks-build'))).to.equal(false);
    });

    it('records what the stubs were asked', () => {
      const calls = readFileSync(join(dir, 'rehearsal', 'stub-calls.log'), 'utf8');
      expect(calls).to.match(/^dnf\tinstall\t/m).and.to.match(/^modprobe\tip_vs_rr$/m).and.to.match(/^semanage\tfcontext\t/m);
      expect(calls).not.to.match(/--nogpgcheck/);
    });
  });

  describe('the STIG variant in GovCloud', () => {
    // Also stubbed for this variant: fips-mode-setup and oscap (no FIPS kernel or RHEL system to scan here); the
    // target models the FIPS kernel flag after the FIPS reboot (rehearsal/target/fips-kernel.sh).
    let output = '';
    let dir = '';
    before(function () {
      requireTool('oscap', 'the STIG variant rehearsal (Debian: openscap-scanner, ssg-nondebian)');
      // Air-gapped, as GovCloud STIG builds usually are: everything from a mirror in the partition, upstream unreachable.
      // GovCloud has no public copy of the pause image: the build instance needs a role (iam_instance_profile).
      const result = make(['rehearse', '1.36', 'variant=stig', 'aws_region=us-gov-west-1', 'binary_bucket_name=gov-mirror', 'binary_bucket_region=us-gov-west-1', 'pull_cni_from_github=false', 'iam_instance_profile=EC2Role']);
      output = result.output;
      expect(result.status, output.slice(-4000)).to.equal(0);
      dir = planDirFrom(output);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('pulls the FIPS-endpoint pause image with an ECR token from the instance role, and pins it', () => {
      expect(output).to.include('getting an ECR token for 013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com with the instance role EC2Role');
      const root = join(dir, 'rehearsal', 'rootfs');
      expect(exportedImages(join(root, 'etc/eks/pause-image.tar'))).to.deep.equal(['013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/eks/pause:3.10']);
      expect(output).to.include('pulled 013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/eks/pause:3.10');
      // Both reboots were confirmed by a new boot id before the marker went.
      expect(output.match(/reboot confirmed \(boot id/g)).to.have.length(2);
    });

    it('enables FIPS, reboots, remediates with the tailoring, reboots, scans, and reports the score', () => {
      const calls = readFileSync(join(dir, 'rehearsal', 'stub-calls.log'), 'utf8');
      expect(calls).to.match(/^fips-mode-setup\t--enable$/m).and.to.match(/^fips-mode-setup\t--check$/m);
      expect(calls).to.match(/^oscap\txccdf\teval(?=.*\t--remediate\t)(?=.*ssg-rhel9-stig-tailoring\.xml).*\tssg-rhel9-ds\.xml$|^oscap\txccdf\teval(?=.*\t--remediate\t)(?=.*ssg-rhel9-stig-tailoring\.xml).*\/ssg-rhel9-ds\.xml$/m);
      expect(output.match(/\[reboot\] rebooting/g)).to.have.length(2);
      expect(output).to.match(/STIG score\s+80\.00 \(80 pass, 20 fail\)/);
      for (const file of ['stig-arf.xml', 'stig-report.html', 'stig-score.json']) expect(existsSync(join(dir, file)), file).to.equal(true);
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
      expect(plan).to.include({ partition: 'aws-us-gov', variant: 'stig', fips_endpoints: true });
      expect(plan.variables.encrypted).to.equal(true);
    });

    it('needs nothing but the mirror: every download from gov-mirror, upstream never reached', () => {
      for (const key of ['awscli/awscli-exe-linux-x86_64.zip', 'amazon-ssm-agent/latest/linux_amd64/amazon-ssm-agent.rpm', 'github/opencontainers/runc/releases/download/']) {
        expect(output).to.match(new RegExp(`/gov-mirror/${key.replace(/[.]/g, '\\.')}`), key);
      }
      expect(output).to.not.include('upstream-is-unreachable');
      expect(output).to.not.include('amazon-ssm-us-gov-west-1');
      expect(output).to.match(/verified the PGP signature of the AWS CLI v2 installer/).and.to.match(/verified the PGP signature of the SSM agent package/);
    });
  });

  describe('stage=true: the real make stage code mirrors the emulator\'s upstream, and the build replays its lock', () => {
    // Upstream is the emulator (amazon-eks with the stand-ins, the GitHub and AWS CLI stand-ins as HTTP paths in
    // it, amazon-ssm-us-west-2); src/stage/run.ts stages into air-gapped-mirror and writes the lock; the build
    // reads only the mirror and checks every download against the lock. Two regions, so two AMIs to name.
    let output = '';
    let dir = '';
    let lockFile = '';
    before(() => {
      const result = make(['rehearse', '1.36', 'stage=true', 'binary_bucket_name=air-gapped-mirror', 'ami_regions=us-east-1']);
      output = result.output;
      expect(result.status, output.slice(-4000)).to.equal(0);
      dir = planDirFrom(output);
      lockFile = join(dir, 'rehearsal', 'build.lock.json');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('replays the lock it staged: every artifact from the mirror, each checked against the lock\'s digest', () => {
      const lockText = readFileSync(lockFile, 'utf8');
      const lock = JSON.parse(lockText);
      const plan = JSON.parse(readFileSync(join(dir, 'plan.json'), 'utf8'));
      // The kept lock is the very file the build replayed.
      expect(plan.lock.sha256).to.equal(createHash('sha256').update(lockText).digest('hex'));
      expect(plan.variables).to.include({ binary_bucket_name: 'air-gapped-mirror', pull_cni_from_github: false, kubernetes_version: '1.36.3' });
      expect(lock.mirror.bucket).to.equal('air-gapped-mirror');
      // Staged is installed and installed is staged: the lock holds every artifact of data/artifacts.json (the
      // stand-in bucket has the optional ones too), the instance verified each against the lock's SHA-256, and
      // verified nothing else.
      expect(lock.artifacts.map((a: { name: string }) => a.name)).to.have.members(declaredArtifactNames());
      for (const a of lock.artifacts as { name: string; file: string; sha256: string }[]) {
        expect(output, a.file).to.include(`verified ${a.file} (sha256 ${a.sha256}, pinned by the lock)`);
      }
      expect(new Set(output.match(/verified \S+ \(sha256 [0-9a-f]{64}, pinned by the lock\)/g)).size).to.equal(lock.artifacts.length);
      expect(output).to.match(/\/air-gapped-mirror\/github\/containerd\/containerd\/releases\/download\//).and.to.match(/\/air-gapped-mirror\/amazon-ssm-agent\/latest\/linux_amd64\/amazon-ssm-agent\.rpm/);
      expect(output).to.not.include('upstream-is-unreachable');
    });

    it('writes provenance naming the AMI ids of the manifest and exactly the lock\'s digests', () => {
      // Read independently of the implementation: the lock's file → SHA-256 and source, the manifest's AMIs.
      const lock = JSON.parse(readFileSync(lockFile, 'utf8')) as { artifacts: { file: string; sha256: string; url: string }[]; sourceAmi: { id: string }; kubernetes: { version: string; buildDate: string } };
      const pairs = (JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')).builds[0].artifact_id as string).split(',').map((pair) => pair.split(':'));
      expect(pairs).to.have.length(2);
      const [statement] = readFileSync(join(dir, 'provenance.intoto.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
      type Descriptor = { name?: string; uri?: string; digest?: Record<string, string>; annotations?: Record<string, unknown> };
      expect(statement.subject.map((s: Descriptor) => [s.name, s.digest?.arn])).to.have.deep.members(pairs.map(([region, ami]) => [ami, `arn:aws:ec2:${region}::image/${ami}`]));
      const deps = statement.predicate.buildDefinition.resolvedDependencies as Descriptor[];
      const withSha256 = deps.filter((d) => d.digest?.sha256);
      expect(withSha256.map((d) => [d.name, d.digest!.sha256, d.uri])).to.have.deep.members(lock.artifacts.map((a) => [a.file, a.sha256, a.url]));
      expect(deps.find((d) => d.name === 'source-ami')?.digest?.arn).to.equal(`arn:aws:ec2:us-west-2::image/${lock.sourceAmi.id}`);
      expect(deps.find((d) => d.name === 'kubernetes')?.annotations).to.include({ version: lock.kubernetes.version, buildDate: lock.kubernetes.buildDate });
      expect(output).to.not.match(/Provenance .*artifacts listed from the SBOM/);
    });

    it('refuses a lock file and a contradicting pull_cni_from_github before anything starts', () => {
      const withLock = make(['rehearse', '1.36', `lock=${lockFile}`]);
      expect(withLock.status, withLock.output).to.equal(2);
      expect(withLock.output).to.match(/lock=.* is not allowed: no lock file in a rehearsal/).and.to.include('stage=true');
      const contradicting = make(['rehearse', '1.36', 'stage=true', 'pull_cni_from_github=true']);
      expect(contradicting.status, contradicting.output).to.equal(2);
      expect(contradicting.output).to.include('pull_cni_from_github=true is not allowed');
      const badValue = make(['rehearse', '1.36', 'stage=yes']);
      expect(badValue.status, badValue.output).to.equal(2);
      expect(badValue.output).to.include('stage="yes" is not allowed');
      for (const result of [withLock, contradicting, badValue]) expect(result.output).to.not.include('Starting the AWS emulator');
    });
  });

  it('fails the STIG build when the score is under stig_min_score, naming the scan step', () => {
    const result = make(['rehearse', '1.36', 'variant=stig', 'stig_min_score=90']);
    expect(result.status).to.not.equal(0);
    expect(result.output).to.contain('in step stig-scan.sh').and.to.match(/below|under/i);
    rmSync(planDirFrom(result.output), { recursive: true, force: true });
  });

  it('fails naming the step when a provisioner fails, leaving nothing running', () => {
    // A copy of the project with one broken step (node_modules and the root cache shared, read-only use).
    const copy = mkdtempSync(join(tmpdir(), 'eks-rehearsal-broken-'));
    try {
      for (const entry of ['Makefile', 'package.json', 'package-lock.json', 'tsconfig.json', 'src', 'scripts', 'packer', 'provisioners', 'rootfs', 'rehearsal', 'data', 'docs']) {
        // Timestamps kept, so make sees node_modules as up to date and never runs npm ci through the symlink.
        cpSync(repoPath(entry), join(copy, entry), { recursive: true, preserveTimestamps: true });
      }
      for (const shared of ['node_modules', '.cache']) symlinkSync(repoPath(shared), join(copy, shared));
      const step = join(copy, 'provisioners', 'cni-plugins.sh');
      writeFileSync(step, readFileSync(step, 'utf8').replace('begin_step cni-plugins', 'begin_step cni-plugins\ndie "simulated failure"'));
      const result = capture('make', ['--no-print-directory', 'rehearse', '1.36'], { cwd: copy, timeout: 300_000 });
      const output = result.stdout + result.stderr;
      expect(result.status, output.slice(-3000)).to.not.equal(0);
      expect(output).to.contain('packer build failed with exit code 1 in step cni-plugins.sh');
      expect(output).to.contain('simulated failure');
      const pid = Number(/eks-rehearsal-(\d+)/.exec(output)?.[1]);
      expect(rehearsalLeftovers(pid)).to.deep.equal([]);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  it('Ctrl-C during packer build stops Packer, the target and the emulator, leaving no process or mount behind', async () => {
    // Its own process group, signalled as a whole, as a terminal's Ctrl-C would be.
    let output = '';
    const seen = (text: string) => output.includes(text);
    // A latch: resolved by the output that shows Packer provisioning, not by polling it.
    let provisioning!: () => void;
    const provisioningSeen = new Promise<void>((resolve) => (provisioning = resolve));
    let pid = 0;
    const run = captureAsync(repoPath('node_modules/.bin/tsx'), ['scripts/rehearse.ts', '1.36'], {
      cwd: repoPath(),
      detached: true,
      onStart: (started) => (pid = started),
      onOutput: (all) => {
        output = all;
        if (seen('Provisioning with shell script')) provisioning();
      },
    });
    const exited = run.then((result) => result.status);
    // Whichever comes first: provisioning, or the rehearsal ending before it (a failure). Mocha's timeout guards a hang.
    await Promise.race([provisioningSeen, exited]);
    expect(seen('Provisioning with shell script'), output.slice(-2000)).to.equal(true);
    // The node process behind tsx is the one that owns the rehearsal; signal the whole group as a terminal would.
    const rehearsalPid = Number(/eks-rehearsal-(\d+)/.exec(output)?.[1]);
    process.kill(-pid, 'SIGINT');
    const code = await exited;
    expect(code, output.slice(-2000)).to.not.equal(0);
    expect(output).to.contain('Terminating the source AWS instance');
    expect(rehearsalLeftovers(rehearsalPid)).to.deep.equal([]);
    rmSync(planDirFrom(output), { recursive: true, force: true });
  });
});
