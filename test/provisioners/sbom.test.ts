// sbom.sh in a throw-away Debian root after the steps that install things (base-os, rootfs, AWS CLI, containerd,
// CNI plugins, Kubernetes binaries, SSM agent), downloading the stand-in artifacts of fixtures.ts. Stubbed only
// what a Debian root cannot do: dnf and rpm (rehearsal/stubs/; rpm answers --queryformat for what dnf "installed",
// every package 1.0-1.el9.x86_64 from Red Hat). The document is checked against the vendored SPDX 2.3 schema.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { purlOf, spdxProblems, type SpdxDocument, type SpdxPackage } from '../support/spdx.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { BUCKET, contractEnv, sandboxSuite, VERSIONS } from './fixtures.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const SBOM = '/var/lib/eks-build/sbom.spdx.json';

describe('provisioners: SBOM (sbom.sh)', function () {
  this.timeout(180_000);
  const { f, fresh, ok } = sandboxSuite();

  async function installEverything(sb: Sandbox, env: Record<string, string>): Promise<void> {
    // What the SSM agent RPM lays down (the dnf stub installs it).
    sb.addPayload('amazon-ssm-agent', { 'usr/lib/systemd/system/amazon-ssm-agent.service': '[Unit]\nDescription=stand-in\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n' });
    for (const step of ['base-os.sh', 'rootfs.sh', 'aws-cli.sh', 'containerd.sh', 'cni-plugins.sh', 'kubernetes.sh', 'ssm-agent.sh']) await ok(sb, step, env);
  }
  const byName = (doc: SpdxDocument, name: string): SpdxPackage => {
    const found = doc.packages.filter((p) => p.name === name);
    expect(found, name).to.have.length(1);
    return found[0];
  };

  it('lists every RPM package and every installed binary at the plan versions, with SHA-256, download location and purl; schema-valid', async () => {
    const sb = fresh();
    const env = contractEnv(f());
    await installEverything(sb, env);
    await ok(sb, 'sbom.sh', env);
    const doc = JSON.parse(sb.read(SBOM)) as SpdxDocument;
    expect(spdxProblems(doc)).to.deep.equal([]);

    // kubelet: the plan's version, the digest of what the bucket served, where it came from.
    const eks = join(f().www, 's3', BUCKET, VERSIONS.kubernetes, VERSIONS.buildDate, 'bin/linux/amd64');
    const kubelet = byName(doc, 'kubelet');
    expect(kubelet.versionInfo).to.equal(VERSIONS.kubernetes);
    expect(kubelet.checksums).to.deep.equal([{ algorithm: 'SHA256', checksumValue: sha256(join(eks, 'kubelet')) }]);
    expect(kubelet.downloadLocation).to.equal(`${f().baseUrl}/s3/${BUCKET}/${VERSIONS.kubernetes}/${VERSIONS.buildDate}/bin/linux/amd64/kubelet`);
    expect(byName(doc, 'ecr-credential-provider').checksums![0].checksumValue).to.equal(sha256(join(eks, 'ecr-credential-provider')));
    expect(byName(doc, 'aws-iam-authenticator').versionInfo).to.equal(VERSIONS.kubernetes);

    // containerd and runc: the plan's versions, GitHub release locations and purls.
    const asset = `containerd-${VERSIONS.containerd}-linux-amd64.tar.gz`;
    const containerd = byName(doc, 'containerd');
    expect(containerd.versionInfo).to.equal(VERSIONS.containerd);
    expect(containerd.downloadLocation).to.equal(`${f().baseUrl}/gh/containerd/containerd/releases/download/v${VERSIONS.containerd}/${asset}`);
    expect(purlOf(containerd)).to.equal(`pkg:github/containerd/containerd@v${VERSIONS.containerd}`);
    expect(containerd.checksums![0].checksumValue).to.equal(sha256(sb.path('/usr/bin/containerd')));
    const archive = join(f().www, 'gh', `containerd/containerd/releases/download/v${VERSIONS.containerd}`, asset);
    expect(containerd.sourceInfo).to.equal(`extracted from ${asset} (sha256 ${sha256(archive)})`);
    for (const name of ['ctr', 'containerd-shim-runc-v2']) expect(byName(doc, name).versionInfo).to.equal(VERSIONS.containerd);
    const runc = byName(doc, 'runc');
    expect(runc.versionInfo).to.equal(VERSIONS.runc);
    expect(runc.checksums![0].checksumValue).to.equal(sha256(join(f().www, 'gh', `opencontainers/runc/releases/download/v${VERSIONS.runc}/runc.amd64`)));

    // Every CNI plugin the tarball carried.
    const plugins = doc.packages.filter((p) => p.name.startsWith('cni-plugin-')).map((p) => p.name.replace('cni-plugin-', ''));
    expect(plugins).to.have.members(['bandwidth', 'bridge', 'host-local', 'loopback', 'portmap', 'ptp', 'tuning']);

    // The AWS CLI: the version it reports and the digest of the installer that was verified.
    const cli = byName(doc, 'aws-cli');
    expect(cli.versionInfo).to.equal('2.22.35');
    expect(cli.checksums![0].checksumValue).to.equal(sha256(join(f().www, 'awscli', 'awscli-exe-linux-x86_64.zip')));
    expect(cli.downloadLocation).to.equal('https://awscli.amazonaws.com/awscli-exe-linux-x86_64.zip');

    // RPM packages: each one dnf installed (base-os.sh and the SSM agent), with a pkg:rpm purl for RHEL 9.5.
    const installed = sb.calls('dnf').flatMap((c) => c.slice(3)).filter((a) => !a.startsWith('-')).map((a) => a.replace(/^.*\//, '').replace(/\.rpm$/, ''));
    expect(installed).to.include.members(['conntrack-tools', 'ipvsadm', 'amazon-ssm-agent']);
    for (const name of installed) {
      const rpm = byName(doc, name);
      expect(rpm.versionInfo, name).to.equal('1.0-1.el9');
      expect(rpm.supplier, name).to.equal('Organization: Red Hat, Inc.');
      expect(purlOf(rpm), name).to.equal(`pkg:rpm/redhat/${encodeURIComponent(name)}@1.0-1.el9?arch=x86_64&distro=rhel-9.5`);
    }
    const ssm = byName(doc, 'amazon-ssm-agent');
    expect(ssm.checksums).to.deep.equal([{ algorithm: 'SHA256', checksumValue: sha256(join(f().www, 's3', 'amazon-ssm-us-west-2', 'latest', 'linux_amd64', 'amazon-ssm-agent.rpm')) }]);
    expect(ssm.downloadLocation).to.equal(`${f().baseUrl}/s3/amazon-ssm-us-west-2/latest/linux_amd64/amazon-ssm-agent.rpm`);

    // The image contains every package.
    const contained = doc.relationships.filter((r) => r.spdxElementId === 'SPDXRef-image' && r.relationshipType === 'CONTAINS').map((r) => r.relatedSpdxElement);
    expect(contained).to.have.length(doc.packages.length - 1);
  });

  it('names the mirror as the download location when PULL_CNI_FROM_GITHUB=false', async () => {
    const sb = fresh();
    const env = contractEnv(f(), { PULL_CNI_FROM_GITHUB: 'false', GITHUB_BASE_URL: 'http://127.0.0.1:9/unreachable' });
    await installEverything(sb, env);
    await ok(sb, 'sbom.sh', env);
    const doc = JSON.parse(sb.read(SBOM)) as SpdxDocument;
    expect(spdxProblems(doc)).to.deep.equal([]);
    const mirror = `${f().baseUrl}/s3/${BUCKET}`;
    expect(byName(doc, 'runc').downloadLocation).to.equal(`${mirror}/github/opencontainers/runc/releases/download/v${VERSIONS.runc}/runc.amd64`);
    expect(byName(doc, 'cni-plugin-bridge').downloadLocation).to.equal(`${mirror}/github/containernetworking/plugins/releases/download/${VERSIONS.cni}/cni-plugins-linux-amd64-${VERSIONS.cni}.tgz`);
    expect(byName(doc, 'aws-cli').downloadLocation).to.equal(`${mirror}/awscli/awscli-exe-linux-x86_64.zip`);
    expect(byName(doc, 'amazon-ssm-agent').downloadLocation).to.equal(`${mirror}/amazon-ssm-agent/latest/linux_amd64/amazon-ssm-agent.rpm`);
    expect(doc.packages.map((p) => p.downloadLocation).filter((l) => l.includes('unreachable'))).to.deep.equal([]);
  });

  it('fails naming what is missing when a binary was not installed, and writes no SBOM', async () => {
    const sb = fresh();
    const env = contractEnv(f());
    for (const step of ['base-os.sh', 'rootfs.sh', 'aws-cli.sh', 'containerd.sh', 'kubernetes.sh']) await ok(sb, step, env);
    const result = await sb.runStep('sbom.sh', env);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include('/opt/cni/bin holds no plugins');
    expect(sb.exists(SBOM)).to.equal(false);
    expect(sb.exists(`${SBOM}.partial`)).to.equal(false);
  });
});
