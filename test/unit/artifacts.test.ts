// The artifact manifest (data/artifacts.json) against the steps that install its artifacts: every artifact has
// a step of the build that installs it, every step that downloads installs something the manifest declares, and
// each signed artifact's key is committed. The sandbox run (test/provisioners/pipeline.test.ts) checks the same
// against what the real steps download.
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactManifest, declaredArtifactNames, INSTANCE_MANIFEST_COLUMNS, resolveArtifacts, type ManifestQuery } from '../../src/data/artifacts.ts';
import { repoPath } from '../../src/paths.ts';
import { withArtifactTable } from '../../src/data/artifact-docs.ts';

interface Step {
  script: string;
  variants?: string[];
}
const steps = JSON.parse(readFileSync(repoPath('provisioners', 'steps.json'), 'utf8')) as Step[];
const variants = variantsOfSteps();

function variantsOfSteps(): string[] {
  return [...new Set(steps.flatMap((s) => s.variants ?? []).concat('standard'))];
}

const query = (q: Partial<ManifestQuery> = {}): ManifestQuery => ({
  kubernetesVersion: '1.33.1',
  buildDate: '2025-06-01',
  binaryArch: 'amd64',
  cniPluginVersion: 'v1.6.2',
  containerdVersion: '2.1.4',
  runcVersion: '1.2.6',
  sourceBucket: { name: 'amazon-eks', region: 'us-west-2' },
  ssmRegion: 'us-west-2',
  ...q,
});

describe('artifact manifest (data/artifacts.json)', () => {
  it('every artifact is installed by a step that runs in every variant the artifact is for', () => {
    for (const variant of variants) {
      const scripts = steps.filter((s) => !s.variants || s.variants.includes(variant)).map((s) => s.script);
      for (const a of resolveArtifacts(query({ variant }))) {
        expect(scripts, `${a.name} (${variant})`).to.include(`${a.installedBy}.sh`);
      }
    }
  });

  it('every step that downloads (sources lib/fetch.sh and fetches) installs an artifact of the manifest', () => {
    const installers = new Set(artifactManifest.artifacts.map((a) => `${a.installedBy}.sh`));
    const downloading = steps
      .map((s) => s.script)
      .filter((script) =>
        /\b(download(_from_bucket|_upstream_or_mirror)?|bucket_read|fetch_artifacts?)\s+["$a-z]/.test(
          readFileSync(repoPath('provisioners', script), 'utf8').replace(/^\s*#.*$/gm, ''),
        ),
      );
    expect(downloading.length, 'the steps that download were found').to.be.greaterThan(0);
    for (const script of downloading) expect([...installers], script).to.include(script);
  });

  it('names no kubectl and no kube-proxy: nodes need neither binary', () => {
    // kubectl is an operator's tool; EKS runs kube-proxy as a DaemonSet image, not a binary on the node.
    expect(artifactManifest.artifacts.map((a) => a.name))
      .to.not.include('kubectl')
      .and.not.include('kube-proxy');
  });

  it("docs/provisioner-contract.md's artifact table is the manifest's (run 'make docs' after changing data/artifacts.json)", () => {
    const doc = readFileSync(repoPath('docs', 'provisioner-contract.md'), 'utf8');
    expect(withArtifactTable(doc) === doc, "docs/provisioner-contract.md is out of date: run 'make docs'").to.equal(true);
    for (const name of declaredArtifactNames()) expect(doc).to.match(new RegExp(`^  ${name} +\\S+\\.sh: `, 'm'));
  });

  it("docs/provisioner-contract.md names the manifest's bucket binaries and mirror layout", () => {
    const doc = readFileSync(repoPath('docs', 'provisioner-contract.md'), 'utf8').replace(/\s+/g, ' ');
    const listed = /\(binaries: ([^;)]+)[;)]/.exec(doc)?.[1].split(', ');
    expect(listed, 'the "(binaries: …)" list').to.deep.equal(artifactManifest.artifacts.filter((a) => a.source.kind === 'eks').map((a) => a.name));
    const optional = artifactManifest.artifacts.filter((a) => a.optional).map((a) => a.name);
    // The doc says "the last is optional": the manifest's one optional artifact must be the last listed.
    expect(doc).to.match(/\(binaries: [^)]*; the last is optional\)/);
    expect(optional).to.deep.equal([listed!.at(-1)]);
    for (const [kind, layout] of Object.entries(artifactManifest.mirrorLayout)) {
      if (kind === 'eks' || kind === 's3') continue;
      const prefix = layout.slice(0, layout.indexOf('/') + 1);
      expect(doc, kind).to.include(` ${prefix}`);
    }
    // The instance manifest's columns, as the doc lists them and lib/fetch.sh reads them.
    expect(doc).to.include(`(one tab-separated line per artifact: ${INSTANCE_MANIFEST_COLUMNS.join(', ')})`);
    const fetchLib = readFileSync(repoPath('provisioners', 'lib', 'fetch.sh'), 'utf8');
    const read = /IFS=\$'\\t' read -r _ ([A-Z_ \\\n]+)<<</.exec(fetchLib)?.[1].replace(/\\\n/g, ' ').trim().split(/\s+/);
    expect(
      read?.map((v) => v.replace(/^ARTIFACT_/, '').toLowerCase()),
      'artifact_entry reads the columns in order',
    ).to.deep.equal(INSTANCE_MANIFEST_COLUMNS.slice(1));
    const ssm = artifactManifest.artifacts.find((a) => a.source.kind === 's3')!.source as { mirrorPrefix: string; key: string };
    expect(doc).to.include(`${ssm.mirrorPrefix}/${ssm.key.replace('{binaryArch}', '<BINARY_ARCH>')}`);
  });

  it('each signed artifact names a key committed in provisioners/lib/keys', () => {
    for (const a of artifactManifest.artifacts) {
      if (a.checksum.kind === 'pgp-signature') expect(existsSync(join(repoPath('provisioners', 'lib', 'keys'), a.checksum.keyFile)), a.name).to.equal(true);
    }
  });

  it('resolves for both architectures and every RHEL major, one file name per artifact, no placeholder left', () => {
    for (const binaryArch of ['amd64', 'arm64'] as const) {
      for (const rhelVersion of [8, 9, 10]) {
        const resolved = resolveArtifacts(query({ binaryArch, rhelVersion }));
        const files = resolved.map((a) => a.file);
        expect(new Set(files).size, `${binaryArch} RHEL ${rhelVersion}`).to.equal(files.length);
        expect(JSON.stringify(resolved)).to.not.match(/\{[a-zA-Z]+\}/);
      }
    }
    // The manifest's one alternative: RHEL 8 with containerd 2.x gets the static build.
    expect(resolveArtifacts(query({ rhelVersion: 8 })).find((a) => a.name === 'containerd')!.file).to.equal('containerd-static-2.1.4-linux-amd64.tar.gz');
    expect(resolveArtifacts(query({ rhelVersion: 8, containerdVersion: '1.7.27' })).find((a) => a.name === 'containerd')!.file).to.equal(
      'containerd-1.7.27-linux-amd64.tar.gz',
    );
  });
});
