// base-os.sh, os-update.sh, cgroups.sh, reboot.sh in a throw-away Debian root, for RHEL 8, 9 and 10.
// Stubbed (a Debian root cannot do them): dnf and rpm (RHEL package manager), grubby (RHEL boot
// entries; the stub keeps one entry whose kernel/args the test controls). systemctl is real.
import { expect } from 'chai';
import { contractEnv, sandboxSuite } from './fixtures.ts';

describe('provisioners: base OS, update, cgroups, reboot', function () {
  this.timeout(120_000);
  const { f, fresh, ok } = sandboxSuite();

  it('installs the worker packages in one dnf transaction, never skipping signature checks', async () => {
    const sb = fresh();
    const result = await sb.runStep('base-os.sh', contractEnv(f()));
    expect(result.status, result.output).to.equal(0);
    const dnf = sb.calls('dnf');
    expect(dnf).to.have.length(1);
    expect(dnf[0].slice(1, 3)).to.deep.equal(['install', '-y']);
    for (const pkg of ['conntrack-tools', 'ipvsadm', 'ipset', 'socat', 'ethtool', 'jq', 'nfs-utils', 'chrony', 'container-selinux', 'pigz', 'unzip', 'tar', 'policycoreutils-python-utils', 'nftables', 'iptables-nft']) {
      expect(dnf[0], pkg).to.include(pkg);
    }
    expect(sb.calls().flat().join(' ')).not.to.match(/nogpgcheck|gpgcheck=0/);
    expect(result.stderr).to.match(/\[base-os\] finished in \d+s/);
  });

  it('uses the RHEL 8 iptables package name on RHEL 8', async () => {
    const sb = fresh();
    const result = await sb.runStep('base-os.sh', contractEnv(f(), { RHEL_VERSION: '8' }));
    expect(result.status, result.output).to.equal(0);
    expect(sb.calls('dnf')[0]).to.include('iptables').and.not.include('iptables-nft');
  });

  it('RHEL 10: iptables-nft plus kernel-modules-extra (the netfilter compat modules kubelet and the VPC CNI load), nothing deprecated beyond ipset', async () => {
    const sb = fresh();
    const result = await sb.runStep('base-os.sh', contractEnv(f(), { RHEL_VERSION: '10' }));
    expect(result.status, result.output).to.equal(0);
    const dnf = sb.calls('dnf');
    expect(dnf).to.have.length(1);
    // nft_compat and xt_CT live in kernel-modules-extra from RHEL 10.2; iptables-nft loads them for kubelet's
    // and the VPC CNI's rules. ipset stays for kube-proxy's IPVS mode (deprecated in RHEL 10, still shipped).
    for (const pkg of ['iptables-nft', 'kernel-modules-extra', 'kernel-modules', 'nftables', 'ipset', 'ipvsadm', 'container-selinux', 'policycoreutils-python-utils']) {
      expect(dnf[0], pkg).to.include(pkg);
    }
    expect(dnf[0].filter((a) => /^iptables(-nft)?-services$|^iptables$/.test(a)), 'no iptables services and no RHEL 8 package name').to.deep.equal([]);
    // RHEL 9 has those modules in kernel-modules; it gets no extra package.
    sb.destroy();
    const sb9 = fresh();
    expect((await sb9.runStep('base-os.sh', contractEnv(f(), { RHEL_VERSION: '9' }))).status).to.equal(0);
    expect(sb9.calls('dnf')[0]).to.include('iptables-nft').and.not.include('kernel-modules-extra');
  });

  it('fails naming the variable when one is missing or invalid', async () => {
    const sb = fresh();
    const env = contractEnv(f());
    delete (env as Record<string, string>).RHEL_VERSION;
    const missing = await sb.runStep('base-os.sh', env);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.include('RHEL_VERSION is not set');
    const wrong = await sb.runStep('base-os.sh', contractEnv(f(), { RHEL_VERSION: '7' }));
    expect(wrong.status).to.not.equal(0);
    expect(wrong.stderr).to.include('RHEL_VERSION=7 is not allowed; expected one of: 8 9 10');
    const env2 = contractEnv(f());
    delete (env2 as Record<string, string>).WORK_DIR;
    const r = await sb.runStep('base-os.sh', env2);
    expect(r.status).to.not.equal(0);
    expect(r.stderr).to.include('WORK_DIR is not set');
  });

  it('asks for a reboot when the update changes the default kernel, and reboot.sh acts on it', async () => {
    const sb = fresh();
    sb.setStubState('new-kernel', '/boot/vmlinuz-5.14.0-503.99.1.el9_5.x86_64\n');
    const update = await sb.runStep('os-update.sh', contractEnv(f()));
    expect(update.status, update.output).to.equal(0);
    expect(sb.calls('dnf')[0].slice(1)).to.deep.equal(['upgrade', '-y', '--refresh']);
    expect(sb.read('/var/lib/eks-build/reboot-required')).to.include('default kernel changed');
    // The Debian chroot has no running systemd, so "systemctl reboot" fails there (and so does the step); on
    // the instance it reboots and Packer (expect_disconnect) reconnects after pause_before.
    const reboot = await sb.runStep('reboot.sh', contractEnv(f()));
    expect(reboot.stderr).to.include('rebooting: default kernel changed');
    expect(reboot.stderr).to.match(/System has not been booted with systemd|Failed to connect to bus/);
    expect(reboot.status).to.not.equal(0);
    // The marker stays until a step sees that the instance really restarted.
    expect(sb.exists('/var/lib/eks-build/reboot-required')).to.equal(true);
  });

  it('removes the reboot marker only once the next step sees a new boot, and stops the build when there was none', async () => {
    const sb = fresh();
    sb.setStubState('new-kernel', '/boot/vmlinuz-5.14.0-503.99.1.el9_5.x86_64\n');
    await ok(sb, 'os-update.sh');
    await sb.runStep('reboot.sh', contractEnv(f()));
    // Same boot (the kernel's boot id unchanged): the next step refuses to go on.
    const same = await sb.runStep('rootfs.sh', contractEnv(f()));
    expect(same.status).to.not.equal(0);
    expect(same.stderr).to.match(/reboot\.sh asked for a reboot \(default kernel changed[^)]*\) but the instance has not restarted \(boot id [0-9a-f-]+ unchanged\)/);
    expect(sb.exists('/var/lib/eks-build/reboot-required')).to.equal(true);
    // A new boot: the kernel reports another boot id (bind-mounted in the step's own mount namespace only).
    sb.setStubState('boot-id', '5f0e4b9c-0d1e-4c1a-9a55-1f2e3d4c5b6a\n');
    const script = '/var/lib/eks-build/rootfs.sh';
    const booted = await sb.exec(['bash', '-c', 'mount --bind /.stubs/state/boot-id /proc/sys/kernel/random/boot_id && exec bash "$0"', script], contractEnv(f()));
    expect(booted.status, booted.output).to.equal(0);
    expect(booted.stderr).to.match(/reboot confirmed \(boot id [0-9a-f-]+ -> 5f0e4b9c-0d1e-4c1a-9a55-1f2e3d4c5b6a\)/);
    expect(sb.exists('/var/lib/eks-build/reboot-required')).to.equal(false);
    expect(sb.exists('/var/lib/eks-build/reboot-pending')).to.equal(false);
  });

  it('does not ask for a reboot when the kernel is unchanged', async () => {
    const sb = fresh();
    const update = await sb.runStep('os-update.sh', contractEnv(f()));
    expect(update.status, update.output).to.equal(0);
    expect(sb.exists('/var/lib/eks-build/reboot-required')).to.equal(false);
    const reboot = await sb.runStep('reboot.sh', contractEnv(f()));
    expect(reboot.status, reboot.output).to.equal(0);
    expect(reboot.stderr).to.include('no reboot needed');
  });

  it('adds the cgroup v2 kernel argument on RHEL 8 (and asks for a reboot) but not on RHEL 9', async () => {
    const sb8 = fresh();
    const r8 = await sb8.runStep('cgroups.sh', contractEnv(f(), { RHEL_VERSION: '8' }));
    expect(r8.status, r8.output).to.equal(0);
    expect(sb8.calls('grubby').map((c) => c.slice(1))).to.deep.include(['--update-kernel=ALL', '--args=systemd.unified_cgroup_hierarchy=1']);
    expect(sb8.read('/var/lib/eks-build/reboot-required')).to.include('systemd.unified_cgroup_hierarchy=1');
    // Idempotent: a second run sees the argument and changes nothing.
    const again = await sb8.runStep('cgroups.sh', contractEnv(f(), { RHEL_VERSION: '8' }));
    expect(again.status, again.output).to.equal(0);
    expect(sb8.calls('grubby').filter((c) => c.some((a) => a.startsWith('--args=')))).to.have.length(1);
    sb8.destroy();
    const sb9 = fresh();
    const r9 = await sb9.runStep('cgroups.sh', contractEnv(f(), { RHEL_VERSION: '9' }));
    expect(r9.status, r9.output).to.equal(0);
    expect(sb9.calls('grubby')).to.deep.equal([]);
    expect(sb9.exists('/var/lib/eks-build/reboot-required')).to.equal(false);
  });

  it('leaves the kernel arguments alone on RHEL 10, which only boots cgroup v2', async () => {
    const sb = fresh();
    const result = await sb.runStep('cgroups.sh', contractEnv(f(), { RHEL_VERSION: '10' }));
    expect(result.status, result.output).to.equal(0);
    expect(result.stderr).to.include('RHEL 10 boots cgroup v2 by default');
    expect(sb.calls('grubby')).to.deep.equal([]);
    expect(sb.exists('/var/lib/eks-build/reboot-required')).to.equal(false);
  });
});
