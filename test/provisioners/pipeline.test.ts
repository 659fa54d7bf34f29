// Every step of provisioners/steps.json, in order, in one throw-away Debian root: the image the build
// leaves behind must pass validate.sh, version-info.json must be valid JSON with the installed versions,
// cleanup must leave no host keys and an empty machine-id, and validate must fail when something is left.
// Stubbed (see the stubs' headers): dnf, rpm, grubby, semanage/restorecon/matchpathcon, modprobe/lsmod,
// update-crypto-policies; and the stand-ins of rehearsal/stand-ins/ (containerd, ctr with its image store, the AWS
// CLI) with the rehearsal's instance metadata stand-in (a role, the launch key). The reboot step finds no reboot
// requested (kernel unchanged, RHEL 9).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, Sandbox, WORK_DIR } from '../support/sandbox.ts';
import { MetadataStandIn } from '../../src/rehearse/imds.ts';
import { contractEnv, fixtures, IPVS_MODULES, sandboxOptions, VERSIONS, type Fixtures } from './fixtures.ts';
import { artifactsFor } from '../../src/stage/artifacts.ts';

interface Step { script: string; expect_disconnect?: boolean; pause_before?: string; downloads?: string[]; variants?: string[] }
// The standard variant's steps (the STIG variant's whole build runs in test/stig/pipeline.test.ts).
const steps = (JSON.parse(readFileSync(join(REPO, 'provisioners', 'steps.json'), 'utf8')) as Step[]).filter(
  (s) => !s.variants || s.variants.includes('standard'),
);

describe('provisioners: the whole build in order, inventory, cleanup, validate', function () {
  this.timeout(180_000);
  let f: Fixtures;
  let sb: Sandbox;
  let versionInfo: Record<string, any>;
  let imds: MetadataStandIn;
  let env: Record<string, string>;
  /** Everything the steps logged, for what they really downloaded. */
  let logs = '';
  const LAUNCH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeLaunchKeyOfPackerForTheTest packer_5f0e4b9c';
  const OWN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBaseImageKeyThatMustStay admin@example';

  before(async () => {
    f = await fixtures();
    imds = await new MetadataStandIn({ host: '127.0.0.1', publicKey: LAUNCH_KEY, role: 'eks-build-role' }).start();
    sb = Sandbox.create(sandboxOptions(f));
    // The SSH user's keys as cloud-init leaves them: the base image's own key and Packer's launch key.
    await sb.exec(['bash', '-c', `useradd -m ec2-user && install -d -o ec2-user -m 0700 /home/ec2-user/.ssh && printf '%s\\n%s\\n' '${OWN_KEY}' '${LAUNCH_KEY}' > /home/ec2-user/.ssh/authorized_keys`]);
    sb.addPayload('amazon-ssm-agent', {
      'usr/lib/systemd/system/amazon-ssm-agent.service': '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
    });
    // History and logs as a build leaves them, for cleanup to remove.
    await sb.exec(['bash', '-c', 'echo "ls" > /root/.bash_history; mkdir -p /var/lib/cloud/instances/i-0 /var/cache/dnf/x; echo log > /var/log/cloud-init.log; echo id > /etc/machine-id']);
    // Steps run through sudo from the SSH user's session, as Packer's execute_command does.
    env = contractEnv(f, { IMDS_ENDPOINT: imds.endpoint, SUDO_USER: 'ec2-user' });
    for (const step of steps) {
      if (step.script === 'validate.sh') break;
      const result = await sb.runStep(step.script, env);
      expect(result.status, `${step.script}: ${result.output}`).to.equal(0);
      logs += result.output;
      if (step.downloads?.includes('version-info.json')) versionInfo = JSON.parse(sb.read(`${WORK_DIR}/version-info.json`));
    }
  });
  after(async () => {
    sb?.destroy();
    await imds?.stop();
  });

  it('records what was installed in version-info.json', () => {
    expect(versionInfo, 'the inventory step ran').to.be.an('object');
    expect(versionInfo.kubernetes.kubelet).to.equal(`Kubernetes v${VERSIONS.kubernetes}`);
    expect(versionInfo.containerd).to.include(`v${VERSIONS.containerd}`);
    expect(versionInfo.runc).to.equal(`runc version ${VERSIONS.runc}`);
    expect(versionInfo.cni_plugins.version).to.equal(VERSIONS.cni);
    expect(versionInfo.cni_plugins.plugins).to.include.members(['bridge', 'loopback', 'portmap']);
    expect(versionInfo.loaded_modules).to.include.members(IPVS_MODULES.split(' '));
    expect(versionInfo.packages).to.have.property('ipvsadm');
    expect(versionInfo.aws_cli).to.match(/^aws-cli\/2\./);
    expect(versionInfo.kernel.running).to.be.a('string').and.not.equal('');
    // The release actually installed, from /etc/redhat-release (the sandbox's "Red Hat Enterprise Linux release 9.5").
    expect(versionInfo.rhel_release).to.equal('9.5');
    expect(versionInfo.redhat_release).to.equal('Red Hat Enterprise Linux release 9.5 (Plow)');
  });

  it('downloads exactly the artifacts data/artifacts.json lists for the build, each with its checksum or signature file', () => {
    // What `make stage` stages is what the steps install: the manifest resolved for the sandbox's configuration
    // against the files the real steps fetched ("downloaded <url> (<n> bytes)" lines of lib/fetch.sh).
    const manifest = artifactsFor({
      kubernetesVersion: env.KUBERNETES_VERSION,
      buildDate: env.KUBERNETES_BUILD_DATE,
      binaryArch: env.BINARY_ARCH as 'amd64',
      cniPluginVersion: env.CNI_PLUGIN_VERSION,
      containerdVersion: env.CONTAINERD_VERSION,
      runcVersion: env.RUNC_VERSION,
      rhelVersion: Number(env.RHEL_VERSION),
      variant: 'standard',
      sourceBucket: { name: env.BINARY_BUCKET_NAME, region: env.BINARY_BUCKET_REGION },
      ssmRegion: env.AWS_REGION,
    });
    const downloaded = [...logs.matchAll(/downloaded (\S+) \([0-9]+ bytes\)/g)].map((m) => m[1].slice(m[1].lastIndexOf('/') + 1));
    expect(downloaded, 'each file once').to.have.length(new Set(downloaded).size);
    expect(downloaded).to.have.members(manifest.flatMap((a) => [a.file, a.checksumFile]));
  });

  it('cleanup removed Packer\'s launch key from the SSH user\'s authorized_keys and kept the image\'s own', () => {
    expect(sb.read('/home/ec2-user/.ssh/authorized_keys')).to.equal(`${OWN_KEY}\n`);
  });

  it('cleanup leaves no SSH host keys, an empty machine-id, no cloud-init state, history or build files', () => {
    const hostKeys = sb.exec(['bash', '-c', 'ls /etc/ssh/ssh_host_* 2>/dev/null | wc -l']);
    return hostKeys.then((r) => {
      expect(r.stdout.trim()).to.equal('0');
      expect(sb.read('/etc/machine-id')).to.equal('');
      expect(sb.exists('/var/lib/cloud/instances')).to.equal(false);
      expect(sb.exists('/root/.bash_history')).to.equal(false);
      expect(sb.exists('/var/log/cloud-init.log')).to.equal(false);
      expect(sb.exists(`${WORK_DIR}/scratch`)).to.equal(false);
      expect(sb.exists(`${WORK_DIR}/version-info.json`)).to.equal(false);
    });
  });

  it('validate fails, naming it, when an SSH host key is left behind', async () => {
    await sb.exec(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/ssh_host_ed25519_key']);
    const result = await sb.runStep('validate.sh', env);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('must not exist: /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub');
    expect(sb.exists(WORK_DIR), 'WORK_DIR is kept when validation fails').to.equal(true);
    await sb.exec(['bash', '-c', 'rm -f /etc/ssh/ssh_host_*']);
  });

  it('validate fails when kubelet was enabled or a sysctl is overridden at boot', async () => {
    await sb.exec(['systemctl', 'enable', 'kubelet.service']);
    await sb.exec(['bash', '-c', 'echo "net.ipv4.ip_forward = 0" > /etc/sysctl.d/99-stig.conf']);
    const result = await sb.runStep('validate.sh', env);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('kubelet.service must be installed and not enabled');
    expect(result.stderr).to.include("sysctl net.ipv4.ip_forward must be 1 at boot (configured: '0')");
    await sb.exec(['systemctl', 'disable', 'kubelet.service']);
    await sb.exec(['rm', '/etc/sysctl.d/99-stig.conf']);
  });

  it('validate fails when the pause image is missing from containerd\'s store or not pinned', async () => {
    const ctr = (args: string) => sb.withContainerd(args);
    const pause = env.PAUSE_IMAGE;
    expect((await ctr(`ctr -n k8s.io images rm ${pause}`)).status).to.equal(0);
    const missing = await sb.runStep('validate.sh', env);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.include(`${pause} must be in containerd's store (namespace k8s.io)`);
    // Re-imported from the image's export (as bootstrap.sh would) but not labelled: still a failure.
    expect((await ctr('ctr -n k8s.io images import /etc/eks/pause-image.tar')).status).to.equal(0);
    const unpinned = await sb.runStep('validate.sh', env);
    expect(unpinned.status).to.not.equal(0);
    expect(unpinned.stderr).to.include(`${pause} must be labelled io.cri-containerd.pinned=pinned`);
    expect((await ctr(`ctr -n k8s.io images label ${pause} io.cri-containerd.pinned=pinned`)).status).to.equal(0);
  });

  it('validate passes on the finished image and removes WORK_DIR', async () => {
    const result = await sb.runStep('validate.sh', env);
    expect(result.status, result.output).to.equal(0);
    expect(result.stderr).to.match(/all \d+ checks passed/);
    expect(sb.exists(WORK_DIR)).to.equal(false);
  });
});

describe('provisioners: inventory.sh fails rather than record an error as a version', function () {
  this.timeout(60_000);
  let sb: Sandbox | undefined;
  afterEach(() => sb?.destroy());

  it('stops naming the command when a binary cannot report its version, and writes no version-info.json', async () => {
    const f = await fixtures();
    sb = Sandbox.create(sandboxOptions(f));
    const fake = (path: string, body: string) => `install -D -m 0755 /dev/stdin ${path} <<'EOF'\n#!/bin/sh\n${body}\nEOF`;
    await sb.exec(['bash', '-c', [
      'mkdir -p /opt/cni/bin /etc/modules-load.d && printf "overlay\\nbr_netfilter\\n" > /etc/modules-load.d/containerd.conf',
      'dnf install -y amazon-ssm-agent',
      fake('/usr/bin/kubelet', 'echo "/usr/bin/kubelet: error while loading shared libraries: libfoo.so.1" >&2; exit 127'),
      fake('/usr/bin/containerd', 'echo "containerd github.com/containerd/containerd v1.7.27"'),
      fake('/usr/sbin/runc', 'echo "runc version 1.2.6"'),
      fake('/usr/local/bin/aws', 'echo "aws-cli/2.22.35"'),
    ].join('\n')]);
    const result = await sb.runStep('inventory.sh', contractEnv(f));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include("'/usr/bin/kubelet --version' failed while taking the inventory: /usr/bin/kubelet: error while loading shared libraries");
    expect(sb.exists(`${WORK_DIR}/version-info.json`)).to.equal(false);
    expect(sb.exists(`${WORK_DIR}/version-info.json.partial`)).to.equal(false);
  });
});
