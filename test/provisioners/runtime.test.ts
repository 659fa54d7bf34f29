// rootfs.sh, containerd.sh, cni-plugins.sh and kubernetes.sh in a throw-away Debian root, downloading
// stand-in release artifacts from loopback servers (fixtures.ts). Nothing here is stubbed except the
// tools a Debian root lacks and these steps do not call; systemctl and systemd-analyze are real.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_BUCKET, contractEnv, sandboxSuite, VERSIONS } from './fixtures.ts';

describe('provisioners: rootfs, container runtime, CNI, Kubernetes binaries', function () {
  this.timeout(120_000);
  const { f, fresh, ok } = sandboxSuite();

  it('lays rootfs/ onto / (templates excluded) with the units, sysctls, modules-load and NetworkManager files', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    for (const file of ['/etc/systemd/system/containerd.service', '/etc/systemd/system/kubelet.service', '/etc/modules-load.d/containerd.conf',
      '/etc/sysctl.d/90-eks-worker.conf', '/etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf', '/etc/logrotate.d/eks-worker',
      '/etc/ssh/sshd_config.d/10-eks-hardening.conf', '/etc/crypto-policies/policies/modules/EKS-SSH.pmod', '/etc/eks/image-credential-provider/config.json']) {
      expect(sb.exists(file), file).to.equal(true);
    }
    expect(sb.exists('/etc/containerd/config-1.7.toml.tmpl')).to.equal(false);
    expect(sb.read('/etc/modules-load.d/containerd.conf').split('\n').filter(Boolean)).to.deep.equal(['overlay', 'br_netfilter']);
    const sysctl = sb.read('/etc/sysctl.d/90-eks-worker.conf');
    for (const line of ['net.ipv4.ip_forward = 1', 'net.bridge.bridge-nf-call-iptables = 1', 'net.bridge.bridge-nf-call-ip6tables = 1',
      'vm.overcommit_memory = 1', 'kernel.panic = 10', 'kernel.panic_on_oops = 1', 'net.ipv4.ip_local_reserved_ports = 10248-10250,10256,30000-32767']) {
      expect(sysctl).to.include(line);
    }
    expect(sysctl).to.match(/^fs\.inotify\.max_user_watches = \d+$/m).and.match(/^fs\.inotify\.max_user_instances = \d+$/m);
    // logrotate (real) accepts the file.
    const logrotate = await sb.exec(['logrotate', '-d', '/etc/logrotate.d/eks-worker']);
    expect(logrotate.status, logrotate.output).to.equal(0);
    // The ECR credential provider covers every ECR domain, FIPS and the isolated partitions included.
    const ecr = JSON.parse(sb.read('/etc/eks/image-credential-provider/config.json'));
    expect(ecr.providers[0].matchImages).to.include.members(['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn',
      '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov', '*.dkr.ecr.*.cloud.adc-e.uk', '*.dkr.ecr.*.csp.hci.ic.gov']);
  });

  it('installs containerd 1.7 and runc from GitHub releases, writes a systemd-cgroup config with the pause image, enables containerd', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const env = contractEnv(f());
    const result = await ok(sb, 'containerd.sh', env);
    expect(result.stderr).to.include(`verified containerd-${VERSIONS.containerd}-linux-amd64.tar.gz`).and.include('verified runc.amd64');
    for (const bin of ['/usr/bin/containerd', '/usr/bin/containerd-shim-runc-v2', '/usr/bin/ctr', '/usr/sbin/runc']) expect(sb.exists(bin), bin).to.equal(true);
    const config = sb.read('/etc/containerd/config.toml');
    expect(config).to.match(/^version = 2$/m).and.match(/^SystemdCgroup = true$/m);
    expect(config).to.include(`sandbox_image = "${env.PAUSE_IMAGE}"`);
    expect((await sb.exec(['systemctl', 'is-enabled', 'containerd.service'])).stdout.trim()).to.equal('enabled');
    expect(f().requests).to.include(`/gh/containerd/containerd/releases/download/v${VERSIONS.containerd}/containerd-${VERSIONS.containerd}-linux-amd64.tar.gz.sha256sum`);
    // The unit is valid for systemd (real systemd-analyze inside the root).
    const verify = await sb.exec(['systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/containerd.service']);
    expect(verify.status, verify.output).to.equal(0);
  });

  it('refuses containerd 2.x on RHEL 8 and writes the version 3 config for 2.x on RHEL 9', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const refused = await sb.runStep('containerd.sh', contractEnv(f(), { RHEL_VERSION: '8', CONTAINERD_VERSION: VERSIONS.containerd2 }));
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.include(`CONTAINERD_VERSION=${VERSIONS.containerd2} needs glibc 2.34`);
    expect(sb.exists('/usr/bin/containerd')).to.equal(false);
    const env = contractEnv(f(), { RHEL_VERSION: '9', CONTAINERD_VERSION: VERSIONS.containerd2 });
    await ok(sb, 'containerd.sh', env);
    const config = sb.read('/etc/containerd/config.toml');
    expect(config).to.match(/^version = 3$/m).and.match(/^SystemdCgroup = true$/m);
    expect(config).to.include(`sandbox = "${env.PAUSE_IMAGE}"`);
  });

  it('takes containerd, runc and CNI plugins from the binary bucket mirror when PULL_CNI_FROM_GITHUB=false', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const env = contractEnv(f(), { PULL_CNI_FROM_GITHUB: 'false', GITHUB_BASE_URL: 'http://127.0.0.1:9/unreachable' });
    const before = f().requests.length;
    await ok(sb, 'containerd.sh', env);
    await ok(sb, 'cni-plugins.sh', env);
    const made = f().requests.slice(before);
    expect(made).to.include(`/s3/amazon-eks/github/opencontainers/runc/releases/download/v${VERSIONS.runc}/runc.sha256sum`);
    expect(made).to.include(`/s3/amazon-eks/github/containernetworking/plugins/releases/download/${VERSIONS.cni}/cni-plugins-linux-amd64-${VERSIONS.cni}.tgz`);
    expect(made.filter((p) => p.startsWith('/gh/'))).to.deep.equal([]);
  });

  it('installs the CNI plugins into /opt/cni/bin', async () => {
    const sb = fresh();
    await ok(sb, 'cni-plugins.sh');
    for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap', 'bandwidth']) expect(sb.exists(`/opt/cni/bin/${plugin}`), plugin).to.equal(true);
  });

  it('installs kubelet, ecr-credential-provider and aws-iam-authenticator after verifying each, leaving kubelet disabled', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const result = await ok(sb, 'kubernetes.sh');
    for (const name of ['kubelet', 'ecr-credential-provider', 'aws-iam-authenticator']) expect(result.stderr).to.include(`verified ${name} (sha256`);
    expect(sb.exists('/usr/bin/kubelet')).to.equal(true);
    expect(sb.exists('/usr/bin/aws-iam-authenticator')).to.equal(true);
    expect(sb.exists('/etc/eks/image-credential-provider/ecr-credential-provider')).to.equal(true);
    const enabled = await sb.exec(['systemctl', 'is-enabled', 'kubelet.service']);
    expect(enabled.stdout.trim()).to.equal('disabled');
    const verify = await sb.exec(['systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/kubelet.service']);
    expect(verify.status, verify.output).to.equal(0);
  });

  it('fails naming the artifact when a checksum is wrong, with nothing installed', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const result = await sb.runStep('kubernetes.sh', contractEnv(f(), { BINARY_BUCKET_NAME: BAD_BUCKET }));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.match(/checksum mismatch for aws-iam-authenticator: expected 0{64}, got [0-9a-f]{64}/);
    for (const path of ['/usr/bin/kubelet', '/usr/bin/aws-iam-authenticator', '/etc/eks/image-credential-provider/ecr-credential-provider']) {
      expect(sb.exists(path), path).to.equal(false);
    }
    expect(sb.exists('/var/lib/eks-build/scratch/kubernetes/aws-iam-authenticator')).to.equal(false);
  });

  describe('with a lock file (PINNED_SHA256_FILE)', () => {
    const published = (name: string) => readFileSync(join(f().www, 's3', 'amazon-eks', VERSIONS.kubernetes, VERSIONS.buildDate, 'bin/linux/amd64', `${name}.sha256`), 'utf8').split(' ')[0];
    const pinned = (digests: Record<string, string>) => Object.entries(digests).map(([file, digest]) => `${digest}  ${file}\n`).join('');
    const run = async (content: string) => {
      const sb = fresh();
      await ok(sb, 'rootfs.sh');
      writeFileSync(sb.path('/var/lib/eks-build/generated/pinned-sha256.txt'), content);
      return { sb, result: await sb.runStep('kubernetes.sh', contractEnv(f(), { PINNED_SHA256_FILE: '/var/lib/eks-build/generated/pinned-sha256.txt' })) };
    };
    const names = ['kubelet', 'ecr-credential-provider', 'aws-iam-authenticator'];

    it('installs what matches the pinned digests', async () => {
      const { result } = await run(pinned(Object.fromEntries(names.map((n) => [n, published(n)]))));
      expect(result.status, result.output).to.equal(0);
      expect(result.stderr).to.include('verified kubelet (sha256').and.to.include('pinned by the lock');
    });

    it('refuses an artifact whose published checksum differs from the lock, installing nothing', async () => {
      const { sb, result } = await run(pinned({ ...Object.fromEntries(names.map((n) => [n, published(n)])), kubelet: 'a'.repeat(64) }));
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.match(/published checksum of kubelet \([0-9a-f]{64}\) differs from the lock's pinned a{64}/);
      expect(sb.exists('/usr/bin/kubelet')).to.equal(false);
    });

    it('refuses an artifact the lock does not list', async () => {
      const { result } = await run(pinned({ kubelet: published('kubelet') }));
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include("is not in the lock's pinned checksums");
    });
  });
});
