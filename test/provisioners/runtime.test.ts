// rootfs.sh, containerd.sh, cni-plugins.sh and kubernetes.sh in a throw-away Debian root, downloading
// stand-in release artifacts from loopback servers (fixtures.ts). Nothing here is stubbed except the
// tools a Debian root lacks and these steps do not call; systemctl and systemd-analyze are real.
import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BAD_BUCKET, contractEnv, NO_AUTHENTICATOR_BUCKET, sandboxSuite, VERSIONS } from './fixtures.ts';

/** containerd's default spec (from ctr oci spec) with the open-file limits of the upstream EKS node, used by the config. */
function expectBaseRuntimeSpec(text: string, config: string): void {
  const spec = JSON.parse(text);
  expect(spec.ociVersion).to.be.a('string');
  expect(spec.linux.namespaces, "ctr oci spec's defaults are kept").to.deep.include({ type: 'network' });
  expect(spec.process.rlimits.filter((r: { type: string }) => r.type === 'RLIMIT_NOFILE')).to.deep.equal([{ type: 'RLIMIT_NOFILE', soft: 65536, hard: 1048576 }]);
  expect(config).to.match(/^base_runtime_spec = "\/etc\/containerd\/base-runtime-spec\.json"$/m);
}

describe('provisioners: rootfs, container runtime, CNI, Kubernetes binaries', function () {
  this.timeout(120_000);
  const { f, fresh, ok } = sandboxSuite();

  it('lays rootfs/ onto / (templates excluded) with the units, sysctls, modules-load and NetworkManager files', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    for (const file of ['/etc/systemd/system/containerd.service', '/etc/systemd/system/kubelet.service', '/etc/modules-load.d/containerd.conf',
      '/etc/sysctl.d/90-eks-worker.conf', '/etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf', '/etc/logrotate.d/eks-worker',
      '/etc/ssh/sshd_config.d/10-eks-hardening.conf', '/etc/crypto-policies/policies/modules/EKS-SSH.pmod', '/etc/eks/image-credential-provider/config.json',
      '/etc/eks/ecr-accounts.txt', '/etc/systemd/system/cni-cache-reset.service', '/etc/chrony.d/amazon-time-sync.conf']) {
      expect(sb.exists(file), file).to.equal(true);
    }
    expect(sb.exists('/etc/containerd/config-1.7.toml.tmpl')).to.equal(false);
    expect(sb.read('/etc/modules-load.d/containerd.conf').split('\n').filter(Boolean)).to.deep.equal(['overlay', 'br_netfilter']);
    const sysctl = sb.read('/etc/sysctl.d/90-eks-worker.conf');
    for (const line of ['net.ipv4.ip_forward = 1', 'net.bridge.bridge-nf-call-iptables = 1', 'net.bridge.bridge-nf-call-ip6tables = 1',
      'vm.overcommit_memory = 1', 'kernel.panic = 10', 'kernel.panic_on_oops = 1']) {
      expect(sysctl).to.include(line);
    }
    expect(sysctl).to.match(/^fs\.inotify\.max_user_watches = \d+$/m).and.match(/^fs\.inotify\.max_user_instances = \d+$/m);
    // The host ports EKS add-ons bind (domain facts), nothing else: the NodePort range lies below the ephemeral one.
    const reserved = /^net\.ipv4\.ip_local_reserved_ports = (.*)$/m.exec(sysctl)?.[1].split(',');
    expect(reserved).to.deep.equal(['2703', '9808', '9809', '10249', '10250', '10256', '61678', '61679']);
    // logrotate (real) accepts the file.
    const logrotate = await sb.exec(['logrotate', '-d', '/etc/logrotate.d/eks-worker']);
    expect(logrotate.status, logrotate.output).to.equal(0);
    // The ECR credential provider covers every ECR domain, FIPS and the isolated partitions included.
    const ecr = JSON.parse(sb.read('/etc/eks/image-credential-provider/config.json'));
    expect(ecr.providers[0].matchImages).to.include.members(['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr-fips.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn',
      '*.dkr.ecr.*.c2s.ic.gov', '*.dkr.ecr.*.sc2s.sgov.gov', '*.dkr.ecr.*.cloud.adc-e.uk', '*.dkr.ecr.*.csp.hci.ic.gov',
      '*.dkr-ecr.*.on.aws', '*.dkr-ecr-fips.*.on.aws', '*.dkr-ecr.*.on.amazonwebservices.com.cn', '*.dkr.ecr.*.amazonaws.eu', 'public.ecr.aws']);
    // The ECR account table bootstrap.sh reads comes from the build's generated/ files (data/partitions.json).
    expect(sb.read('/etc/eks/ecr-accounts.txt')).to.match(/^us-isof-east-1 171035529773$/m).and.match(/^eusc-de-east-1 877088126301$/m);
    // The CNI cache reset is a valid unit (real systemd-analyze) ordered before containerd and kubelet.
    const unit = sb.read('/etc/systemd/system/cni-cache-reset.service');
    expect(unit).to.match(/^Before=.*\bcontainerd\.service\b/m).and.match(/^ExecStart=\/usr\/bin\/rm -rf \/var\/lib\/cni\/results$/m);
    const verify = await sb.exec(['systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/cni-cache-reset.service']);
    expect(verify.status, verify.output).to.equal(0);
  });

  it('enables the CNI cache reset, which clears /var/lib/cni/results when run (the real rm, as systemd runs it)', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    expect((await sb.exec(['systemctl', 'is-enabled', 'cni-cache-reset.service'])).stdout.trim()).to.equal('enabled');
    await sb.exec(['bash', '-c', 'mkdir -p /var/lib/cni/results /var/lib/cni/networks && echo {} > /var/lib/cni/results/k8s-pod-network-abc-eth0']);
    const exec = /^ExecStart=(.*)$/m.exec(sb.read('/etc/systemd/system/cni-cache-reset.service'))![1];
    expect((await sb.exec(['bash', '-c', exec])).status).to.equal(0);
    expect(sb.exists('/var/lib/cni/results')).to.equal(false);
    expect(sb.exists('/var/lib/cni/networks'), 'only the results cache goes').to.equal(true);
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
    expect(config).to.match(/^imports = \["\/etc\/containerd\/config\.d\/\*\.toml"\]$/m);
    expect(sb.exists('/etc/containerd/config.d')).to.equal(true);
    expectBaseRuntimeSpec(sb.read('/etc/containerd/base-runtime-spec.json'), config);
    expect((await sb.exec(['systemctl', 'is-enabled', 'containerd.service'])).stdout.trim()).to.equal('enabled');
    expect(f().requests).to.include(`/gh/containerd/containerd/releases/download/v${VERSIONS.containerd}/containerd-${VERSIONS.containerd}-linux-amd64.tar.gz.sha256sum`);
    // The unit is valid for systemd (real systemd-analyze inside the root).
    const verify = await sb.exec(['systemd-analyze', 'verify', '--man=no', '/etc/systemd/system/containerd.service']);
    expect(verify.status, verify.output).to.equal(0);
  });

  it('installs containerd 2.x on RHEL 8 from the static release build, and the version 3 config with the same limits', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const env = contractEnv(f(), { RHEL_VERSION: '8', CONTAINERD_VERSION: VERSIONS.containerd2 });
    const result = await ok(sb, 'containerd.sh', env);
    const asset = `containerd-static-${VERSIONS.containerd2}-linux-amd64.tar.gz`;
    expect(result.stderr).to.include(`verified ${asset}`);
    expect(f().requests).to.include(`/gh/containerd/containerd/releases/download/v${VERSIONS.containerd2}/${asset}.sha256sum`);
    // The fixture's static stand-in says so when asked for its version: the static build is what got installed.
    expect((await sb.exec(['/usr/bin/containerd', '--version'])).stdout).to.include('static-stand-in');
    const config = sb.read('/etc/containerd/config.toml');
    expect(config).to.match(/^version = 3$/m).and.match(/^SystemdCgroup = true$/m);
    expect(config).to.include(`sandbox = "${env.PAUSE_IMAGE}"`);
    expect(config).to.match(/^imports = \["\/etc\/containerd\/config\.d\/\*\.toml"\]$/m);
    expectBaseRuntimeSpec(sb.read('/etc/containerd/base-runtime-spec.json'), config);
  });

  it('installs the dynamic 2.x build on RHEL 9 and 10, and refuses containerd 1.7 on RHEL 10', async () => {
    for (const rhel of ['9', '10']) {
      const sb = fresh();
      await ok(sb, 'rootfs.sh');
      const result = await ok(sb, 'containerd.sh', contractEnv(f(), { RHEL_VERSION: rhel, CONTAINERD_VERSION: VERSIONS.containerd2 }));
      expect(result.stderr, rhel).to.include(`verified containerd-${VERSIONS.containerd2}-linux-amd64.tar.gz`);
      expect((await sb.exec(['/usr/bin/containerd', '--version'])).stdout).to.include('dynamic-stand-in');
      sb.destroy();
    }
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const refused = await sb.runStep('containerd.sh', contractEnv(f(), { RHEL_VERSION: '10', CONTAINERD_VERSION: VERSIONS.containerd }));
    expect(refused.status).to.not.equal(0);
    expect(refused.stderr).to.include(`CONTAINERD_VERSION=${VERSIONS.containerd}: RHEL 10 images get containerd 2.x only`);
    expect(sb.exists('/usr/bin/containerd')).to.equal(false);
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

  it('installs kubelet and the credential provider without aws-iam-authenticator when the bucket has none for the build', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const result = await ok(sb, 'kubernetes.sh', contractEnv(f(), { BINARY_BUCKET_NAME: NO_AUTHENTICATOR_BUCKET }));
    expect(result.stderr).to.match(/aws-iam-authenticator is not in the bucket for this build \(anonymous read: HTTP 404 not found\); it is optional/);
    expect(sb.exists('/usr/bin/kubelet')).to.equal(true);
    expect(sb.exists('/etc/eks/image-credential-provider/ecr-credential-provider')).to.equal(true);
    expect(sb.exists('/usr/bin/aws-iam-authenticator')).to.equal(false);
  });

  it('says why a required download failed: the bucket answered 404 to the anonymous read', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    const result = await sb.runStep('kubernetes.sh', contractEnv(f(), { KUBERNETES_BUILD_DATE: '2000-01-01' }));
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include(`download failed: s3://amazon-eks/${VERSIONS.kubernetes}/2000-01-01/bin/linux/amd64/kubelet (anonymous read: HTTP 404 not found)`);
    const github = await sb.runStep('cni-plugins.sh', contractEnv(f(), { CNI_PLUGIN_VERSION: 'v0.0.1' }));
    expect(github.status).to.not.equal(0);
    expect(github.stderr).to.match(/download failed: http:\/\/127\.0\.0\.1:\d+\/gh\/containernetworking\/plugins\/releases\/download\/v0\.0\.1\/cni-plugins-linux-amd64-v0\.0\.1\.tgz: HTTP 404 not found/);
  });

  it('fetches only what the build\'s artifact manifest gives the step, and fails clearly without the manifest', async () => {
    const sb = fresh();
    const env = contractEnv(f());
    await ok(sb, 'cni-plugins.sh', env);
    // Another step's artifact: refused before any download (lib/fetch.sh checks the manifest's step column).
    const fetchAs = (step: string, name: string) =>
      sb.exec(['bash', '-c', `set -euo pipefail; source /var/lib/eks-build/lib/common.sh; source /var/lib/eks-build/lib/fetch.sh; begin_step ${step}; fetch_artifact ${name} /tmp/${name}`], env);
    const foreign = await fetchAs('cni-plugins', 'kubelet');
    expect(foreign.status).to.not.equal(0);
    expect(foreign.stderr).to.include('kubelet is installed by kubernetes.sh (data/artifacts.json), not by cni-plugins.sh');
    expect(sb.exists('/tmp/kubelet')).to.equal(false);
    const unknown = await fetchAs('kubernetes', 'kubectl');
    expect(unknown.stderr).to.include('kubectl is not in /var/lib/eks-build/generated/artifacts.tsv: data/artifacts.json declares no such artifact for this build');
    // Without the render step's manifest the step stops at once, saying who writes it.
    await sb.exec(['rm', '/var/lib/eks-build/generated/artifacts.tsv']);
    const missing = await sb.exec(['bash', '/var/lib/eks-build/cni-plugins.sh'], env);
    expect(missing.status).to.not.equal(0);
    expect(missing.stderr).to.include('/var/lib/eks-build/generated/artifacts.tsv is missing: the render step writes it');
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
