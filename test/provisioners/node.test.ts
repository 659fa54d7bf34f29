// kernel-modules.sh, rhel-network.sh, selinux-labels.sh, ssh-hardening.sh, aws-cli.sh and ssm-agent.sh in a
// throw-away Debian root. Stubbed, because a Debian root on this host cannot do them: modprobe/lsmod (no
// kernel modules here; the qemu test proves the IPVS list loads on a real kernel), semanage/restorecon/
// matchpathcon (no SELinux; matchpathcon -n answers from the semanage rules recorded, -V from the labels the
// restorecon stand-in gave each file), update-crypto-policies
// (RHEL only), dnf (RHEL only; installing the SSM RPM lays a small payload with its unit).
// Real: systemctl mask/enable/preset, sshd -t, gpg signature checks, curl over HTTPS to a test CA, unzip.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contractEnv, IPVS_MODULES, sandboxSuite } from './fixtures.ts';

describe('provisioners: kernel modules, RHEL networking, SELinux, sshd, AWS CLI, SSM agent', function () {
  this.timeout(120_000);
  const { f, fresh, ok } = sandboxSuite();
  const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

  it('writes ipvs.conf from IPVS_MODULES, loads every module with modprobe and checks them with lsmod', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const modules = IPVS_MODULES.split(' ');
    await ok(sb, 'kernel-modules.sh');
    expect(sb.read('/etc/modules-load.d/ipvs.conf').split('\n').filter((l) => l && !l.startsWith('#'))).to.deep.equal(modules);
    expect(sb.calls('modprobe').map((c) => c[1])).to.deep.equal(['overlay', 'br_netfilter', ...modules]);
    expect(sb.calls('lsmod')).to.have.length(1);
  });

  it('rejects an IPVS_MODULES entry that is not a module name', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const result = await sb.runStep('kernel-modules.sh', contractEnv(f(), { IPVS_MODULES: 'ip_vs ip_vs_rr;reboot' }));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include("IPVS_MODULES contains 'ip_vs_rr;reboot'");
    expect(sb.calls('modprobe')).to.deep.equal([]);
  });

  it('masks nm-cloud-setup (service and timer linked to /dev/null) and keeps CNI interfaces unmanaged', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    await ok(sb, 'rhel-network.sh');
    expect(sb.linkTarget('/etc/systemd/system/nm-cloud-setup.service')).to.equal('/dev/null');
    expect(sb.linkTarget('/etc/systemd/system/nm-cloud-setup.timer')).to.equal('/dev/null');
    // NetworkManager is not in a Debian root: the keyfile's device list is evaluated here by the rules of
    // NetworkManager.conf(5) ("Device List Format": a matching except: entry wins over positive matches).
    const line = /^unmanaged-devices=(.*)$/m.exec(sb.read('/etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf'))![1];
    const glob = (pattern: string, name: string) => new RegExp(`^${pattern.replace(/[.]/g, '\\.').replace(/\*/g, '.*')}$`).test(name);
    const specs = line.split(';').filter(Boolean);
    const unmanaged = (name: string) => {
      const matches = (spec: string) => spec.startsWith('interface-name:') && glob(spec.slice('interface-name:'.length), name);
      if (specs.some((s) => s.startsWith('except:') && matches(s.slice('except:'.length)))) return false;
      return specs.some((s) => !s.startsWith('except:') && matches(s));
    };
    // The VPC CNI's interfaces and the secondary ENIs it hot-plugs are left alone; the primary ENI is managed.
    for (const name of ['veth1a2b3c', 'eni0a1b2c3d', 'vlan.eth.1', 'eth1', 'eth2', 'eth15']) expect(unmanaged(name), name).to.equal(true);
    for (const name of ['eth0', 'lo']) expect(unmanaged(name), name).to.equal(false);
  });

  it('masks firewalld, so a later install (the STIG remediation) with its enabling preset cannot start it', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    await ok(sb, 'rhel-network.sh');
    expect(sb.linkTarget('/etc/systemd/system/firewalld.service')).to.equal('/dev/null');
    // The package arrives later with its unit and a preset that enables it, as RHEL's firewalld does.
    sb.addPayload('firewalld', {
      'usr/lib/systemd/system/firewalld.service': '[Unit]\nDescription=firewalld stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
      'usr/lib/systemd/system-preset/90-default.preset': 'enable firewalld.service\n',
    });
    await sb.exec(['dnf', 'install', '-y', 'firewalld']);
    await sb.exec(['systemctl', 'preset', 'firewalld.service']);
    expect((await sb.exec(['systemctl', 'is-enabled', 'firewalld.service'])).stdout.trim()).to.equal('masked');
    expect((await sb.exec(['systemctl', 'enable', 'firewalld.service'])).status).to.not.equal(0);
  });

  it('labels the installed binaries and units with semanage + restorecon and checks them with matchpathcon', async () => {
    const sb = fresh();
    for (const step of ['rootfs.sh', 'aws-cli.sh', 'containerd.sh', 'cni-plugins.sh', 'kubernetes.sh']) await ok(sb, step);
    await ok(sb, 'selinux-labels.sh');
    const rules = sb.calls('semanage').map((c) => c.slice(1).join(' '));
    expect(rules).to.include('fcontext -a -t kubelet_exec_t /usr/bin/kubelet');
    expect(rules).to.include('fcontext -a -t container_runtime_exec_t /usr/bin/containerd');
    expect(rules).to.include('fcontext -a -t container_runtime_exec_t /usr/sbin/runc');
    expect(rules).to.include('fcontext -a -t bin_t /opt/cni/bin(/.*)?');
    expect(rules).to.include('fcontext -a -t systemd_unit_file_t /etc/systemd/system/kubelet.service');
    expect(sb.calls('restorecon').map((c) => c.at(-1))).to.include.members(['/usr/bin/kubelet', '/opt/cni/bin', '/etc/systemd/system/containerd.service']);
    // The directories the build created are relabelled recursively.
    const recursive = sb.calls('restorecon').filter((c) => c.includes('-R')).map((c) => c.at(-1));
    expect(recursive).to.include.members(['/etc/containerd', '/etc/kubernetes', '/var/lib/kubelet', '/etc/eks', '/opt/cni']);
    // Actual labels checked, not only the policy's expectation.
    expect(sb.calls('matchpathcon').filter((c) => c[1] === '-V').length).to.be.greaterThan(0);
    // Idempotent: rules that exist are modified (-m), not duplicated.
    await ok(sb, 'selinux-labels.sh');
    expect(sb.calls('semanage').filter((c) => c[2] === '-m').length).to.be.greaterThan(0);
  });

  it('fails when a file\'s actual label is not the policy\'s (a binary moved into place after restorecon)', async () => {
    const sb = fresh();
    for (const step of ['rootfs.sh', 'aws-cli.sh', 'containerd.sh', 'cni-plugins.sh', 'kubernetes.sh']) await ok(sb, step);
    await ok(sb, 'selinux-labels.sh');
    // The matchpathcon stand-in's -V compares the label restorecon gave this very file (path and inode) with the
    // policy's. A file made elsewhere and moved into place is another inode: on SELinux it keeps the label it was
    // created with (the classic mislabel), so it is not what restorecon labelled.
    const verified = await sb.exec(['matchpathcon', '-V', '/usr/bin/kubelet']);
    expect(verified.stdout.trim()).to.equal('/usr/bin/kubelet verified.');
    await sb.exec(['bash', '-c', 'cp /usr/bin/kubelet /root/k && mv -f /root/k /usr/bin/kubelet']);
    const replaced = await sb.exec(['matchpathcon', '-V', '/usr/bin/kubelet']);
    expect(replaced.status).to.equal(1);
    expect(replaced.stdout).to.include('/usr/bin/kubelet has context system_u:object_r:unlabeled_t:s0, should be system_u:object_r:kubelet_exec_t:s0');
    // validate.sh's check (lib/selinux.sh) reports it.
    const check = await sb.exec(['bash', '-c', 'WORK_DIR=/var/lib/eks-build; . $WORK_DIR/lib/common.sh; . $WORK_DIR/lib/selinux.sh; selinux_verify_actual']);
    expect(check.status).to.equal(1);
    expect(check.stdout).to.include('/usr/bin/kubelet has context');
    expect(check.stdout).to.not.include('verified');
  });

  it('points chrony at the Amazon Time Sync Service (IPv4 and IPv6) by making RHEL\'s chrony.conf read /etc/chrony.d, once', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const before = sb.read('/etc/chrony.conf');
    expect(before, "the sandbox's chrony.conf is RHEL's: no drop-in directory").to.not.match(/confdir|include/);
    await ok(sb, 'time-sync.sh');
    const after = sb.read('/etc/chrony.conf');
    expect(after.startsWith(before), 'the original configuration is kept').to.equal(true);
    expect(after.match(/^confdir \/etc\/chrony\.d$/gm)).to.have.length(1);
    const servers = sb.read('/etc/chrony.d/amazon-time-sync.conf').split('\n').filter((l) => l.startsWith('server '));
    expect(servers.map((l) => l.split(' ')[1])).to.deep.equal(['169.254.169.123', 'fd00:ec2::123']);
    await ok(sb, 'time-sync.sh');
    expect(sb.read('/etc/chrony.conf')).to.equal(after);
  });

  it('applies the EKS-SSH crypto subpolicy on top of the base policy and keeps a valid sshd config (sshd -t)', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    sb.setStubState('crypto-policy', 'FIPS:OSPP\n');
    await ok(sb, 'ssh-hardening.sh');
    expect(sb.calls('update-crypto-policies').map((c) => c.slice(1))).to.deep.include(['--set', 'FIPS:EKS-SSH']);
    const pmod = sb.read('/etc/crypto-policies/policies/modules/EKS-SSH.pmod');
    expect(pmod).to.match(/^cipher@SSH = AES-256-GCM AES-128-GCM AES-256-CTR AES-128-CTR$/m).and.match(/^mac@SSH = HMAC-SHA2-512 HMAC-SHA2-256$/m);
    // The real sshd reads the drop-in: effective settings from sshd -T.
    const effective = await sb.exec(['sshd', '-T', '-C', 'user=ec2-user,host=localhost,addr=127.0.0.1']);
    expect(effective.status, effective.output).to.equal(0);
    expect(effective.stdout).to.match(/^permitrootlogin no$/m).and.match(/^passwordauthentication no$/m);
  });

  it('adds the sshd_config.d include first when sshd_config lacks it', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    await sb.exec(['sed', '-i', '/^Include/d', '/etc/ssh/sshd_config']);
    await ok(sb, 'ssh-hardening.sh');
    expect(sb.read('/etc/ssh/sshd_config').split('\n')[0]).to.equal('Include /etc/ssh/sshd_config.d/*.conf');
  });

  it('installs AWS CLI v2 only after its PGP signature checks out', async () => {
    const sb = fresh();
    const result = await ok(sb, 'aws-cli.sh');
    expect(result.stderr).to.include('verified the PGP signature of the AWS CLI v2 installer');
    const version = await sb.exec(['aws', '--version']);
    expect(version.stdout).to.match(/^aws-cli\/2\./);
  });

  it('refuses an AWS CLI installer signed by another key', async () => {
    const sb = fresh({ libOverrides: {} });
    const result = await sb.runStep('aws-cli.sh', contractEnv(f()));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('PGP signature check failed for the AWS CLI v2 installer');
    // gpg's verdict, in words: the committed (real AWS) key did not make this signature.
    expect(result.stderr).to.match(/PGP signature check failed for the AWS CLI v2 installer: signed by key [0-9A-F]{16}, not by the key in aws-cli-v2\.asc/);
    expect(sb.exists('/usr/local/bin/aws')).to.equal(false);
  });

  it('says BAD signature when the installer was altered after signing', async () => {
    const sb = fresh();
    // An altered download: the same signature over different bytes (the test serves the real signature).
    const zip = join(f().www, 'awscli', 'awscli-exe-linux-x86_64.zip');
    const original = readFileSync(zip);
    writeFileSync(zip, Buffer.concat([original, Buffer.from('tampered')]));
    try {
      const result = await sb.runStep('aws-cli.sh', contractEnv(f()));
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include('PGP signature check failed for the AWS CLI v2 installer: BAD signature: the file does not match what aws-cli-v2.asc signed');
    } finally {
      writeFileSync(zip, original);
    }
  });

  it('from the mirror (PULL_CNI_FROM_GITHUB=false) the AWS CLI and the SSM agent come from the binary bucket only', async () => {
    const sb = fresh();
    sb.addPayload('amazon-ssm-agent', { 'usr/lib/systemd/system/amazon-ssm-agent.service': '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' });
    // Upstream is unreachable, as from an air-gapped subnet; a different region has no amazon-ssm bucket here.
    const env = contractEnv(f(), { PULL_CNI_FROM_GITHUB: 'false', AWSCLI_BASE_URL: 'http://127.0.0.1:9/unreachable', AWS_REGION: 'us-gov-west-1' });
    const before = f().requests.length;
    await ok(sb, 'aws-cli.sh', env);
    await ok(sb, 'ssm-agent.sh', env);
    expect(f().requests.slice(before)).to.deep.equal([
      '/s3/amazon-eks/awscli/awscli-exe-linux-x86_64.zip',
      '/s3/amazon-eks/awscli/awscli-exe-linux-x86_64.zip.sig',
      '/s3/amazon-eks/amazon-ssm-agent/latest/linux_amd64/amazon-ssm-agent.rpm',
      '/s3/amazon-eks/amazon-ssm-agent/latest/linux_amd64/amazon-ssm-agent.rpm.sig',
    ]);
    expect((await sb.exec(['aws', '--version'])).stdout).to.match(/^aws-cli\/2\./);
  });

  it('replaying a lock, a validly signed AWS CLI or SSM agent that is not the pinned one is refused', async () => {
    const sb = fresh();
    const zip = readFileSync(join(f().www, 'awscli', 'awscli-exe-linux-x86_64.zip'));
    const pinned = (digest: string) => {
      mkdirSync(sb.path('/var/lib/eks-build/generated'), { recursive: true });
      writeFileSync(sb.path('/var/lib/eks-build/generated/pinned-sha256.txt'), `${digest}  awscli-exe-linux-x86_64.zip\n`);
      return contractEnv(f(), { PINNED_SHA256_FILE: '/var/lib/eks-build/generated/pinned-sha256.txt' });
    };
    const refused = await sb.runStep('aws-cli.sh', pinned('1'.repeat(64)));
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.include('verified the PGP signature of the AWS CLI v2 installer');
    expect(refused.stderr).to.include(`awscli-exe-linux-x86_64.zip does not match the lock: pinned sha256 ${'1'.repeat(64)}, got ${sha256(zip)}`);
    expect(sb.exists('/usr/local/bin/aws')).to.equal(false);
    const missing = await sb.runStep('ssm-agent.sh', pinned(sha256(zip)));
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.include("amazon-ssm-agent.rpm is not in the lock's pinned checksums");
    const result = await ok(sb, 'aws-cli.sh', pinned(sha256(zip)));
    expect(result.stderr).to.include(`verified awscli-exe-linux-x86_64.zip (sha256 ${sha256(zip)}, pinned by the lock)`);
  });

  it('installs the SSM agent RPM after checking its signature, and enables it', async () => {
    const sb = fresh();
    sb.addPayload('amazon-ssm-agent', {
      'usr/lib/systemd/system/amazon-ssm-agent.service': '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
    });
    const result = await ok(sb, 'ssm-agent.sh');
    expect(result.stderr).to.include('verified the PGP signature of the SSM agent package');
    expect(sb.calls('dnf')[0].slice(1)).to.deep.equal(['install', '-y', '/var/lib/eks-build/scratch/ssm-agent/amazon-ssm-agent.rpm']);
    expect((await sb.exec(['systemctl', 'is-enabled', 'amazon-ssm-agent.service'])).stdout.trim()).to.equal('enabled');
  });
});
