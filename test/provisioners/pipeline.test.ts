// Every step of provisioners/steps.json, in order, in one throw-away Debian root: the image the build
// leaves behind must pass validate.sh, version-info.json must be valid JSON with the installed versions,
// cleanup must leave no host keys and an empty machine-id, and validate must fail when something is left.
// Stubbed (see the stubs' headers): dnf, rpm, grubby, semanage/restorecon/matchpathcon, modprobe/lsmod,
// update-crypto-policies. The reboot step finds no reboot requested (kernel unchanged, RHEL 9).
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, Sandbox, WORK_DIR } from '../support/sandbox.ts';
import { contractEnv, fixtures, IPVS_MODULES, sandboxOptions, VERSIONS, type Fixtures } from './fixtures.ts';

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

  before(async () => {
    f = await fixtures();
    sb = Sandbox.create(sandboxOptions(f));
    sb.addPayload('amazon-ssm-agent', {
      'usr/lib/systemd/system/amazon-ssm-agent.service': '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
    });
    // History and logs as a build leaves them, for cleanup to remove.
    await sb.exec(['bash', '-c', 'echo "ls" > /root/.bash_history; mkdir -p /var/lib/cloud/instances/i-0 /var/cache/dnf/x; echo log > /var/log/cloud-init.log; echo id > /etc/machine-id']);
    const env = contractEnv(f);
    for (const step of steps) {
      if (step.script === 'validate.sh') break;
      const result = await sb.runStep(step.script, env);
      expect(result.status, `${step.script}: ${result.output}`).to.equal(0);
      if (step.downloads?.includes('version-info.json')) versionInfo = JSON.parse(sb.read(`${WORK_DIR}/version-info.json`));
    }
  });
  after(() => sb?.destroy());

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
    const result = await sb.runStep('validate.sh', contractEnv(f));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('must not exist: /etc/ssh/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key.pub');
    expect(sb.exists(WORK_DIR), 'WORK_DIR is kept when validation fails').to.equal(true);
    await sb.exec(['bash', '-c', 'rm -f /etc/ssh/ssh_host_*']);
  });

  it('validate fails when kubelet was enabled or a sysctl is overridden at boot', async () => {
    await sb.exec(['systemctl', 'enable', 'kubelet.service']);
    await sb.exec(['bash', '-c', 'echo "net.ipv4.ip_forward = 0" > /etc/sysctl.d/99-stig.conf']);
    const result = await sb.runStep('validate.sh', contractEnv(f));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('kubelet.service must be installed and not enabled');
    expect(result.stderr).to.include("sysctl net.ipv4.ip_forward must be 1 at boot (configured: '0')");
    await sb.exec(['systemctl', 'disable', 'kubelet.service']);
    await sb.exec(['rm', '/etc/sysctl.d/99-stig.conf']);
  });

  it('validate passes on the finished image and removes WORK_DIR', async () => {
    const result = await sb.runStep('validate.sh', contractEnv(f));
    expect(result.status, result.output).to.equal(0);
    expect(result.stderr).to.match(/all \d+ checks passed/);
    expect(sb.exists(WORK_DIR)).to.equal(false);
  });
});
