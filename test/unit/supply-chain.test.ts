// Host-side supply-chain records from fixture files (test/fixtures/supply-chain/: an SPDX SBOM shaped like
// sbom.sh's, version-info.json as inventory.sh writes it, a STIG score): the SBOM's digest, the provenance
// statement (in-toto Statement v1 + SLSA provenance v1, checked against a schema written from those specs'
// field lists, closed so a misspelt field fails), its lock digests, and the release notes table.
import { expect } from 'chai';
import { Ajv } from 'ajv';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Plan } from '../../src/plan/plan.ts';
import { lockOfPlan, provenanceStatement, redactedVariables, amazonPluginVersion, type Statement } from '../../src/report/provenance.ts';
import { readVersionInfo, releaseNotes } from '../../src/report/release-notes.ts';
import { readSbom } from '../../src/report/sbom.ts';
import { readStigScore } from '../../src/report/stig.ts';
import { writeLock, type BuildLock } from '../../src/lock/lock.ts';
import { samplePlan } from '../support/plan.ts';
import { REPO } from '../support/sandbox.ts';

const FIXTURES = join(REPO, 'test', 'fixtures', 'supply-chain');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const AMIS = [{ region: 'us-west-2', ami: 'ami-0aaa1111bbbb22223' }, { region: 'us-east-1', ami: 'ami-0ccc3333dddd44445' }];

// in-toto attestation spec v1: Statement (statement.md), ResourceDescriptor (resource_descriptor.md);
// SLSA provenance v1: buildDefinition, runDetails, builder, metadata.
const resourceDescriptor = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    uri: { type: 'string' },
    digest: { type: 'object', minProperties: 1, additionalProperties: { type: 'string', minLength: 1 } },
    content: { type: 'string' },
    downloadLocation: { type: 'string' },
    mediaType: { type: 'string' },
    annotations: { type: 'object' },
  },
  anyOf: [{ required: ['uri'] }, { required: ['digest'] }, { required: ['content'] }],
};
const statementSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['_type', 'subject', 'predicateType', 'predicate'],
  properties: {
    _type: { const: 'https://in-toto.io/Statement/v1' },
    subject: { type: 'array', minItems: 1, items: { ...resourceDescriptor, required: ['digest'] } },
    predicateType: { const: 'https://slsa.dev/provenance/v1' },
    predicate: {
      type: 'object',
      additionalProperties: false,
      required: ['buildDefinition', 'runDetails'],
      properties: {
        buildDefinition: {
          type: 'object',
          additionalProperties: false,
          required: ['buildType', 'externalParameters'],
          properties: {
            buildType: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*:' },
            externalParameters: { type: 'object' },
            internalParameters: { type: 'object' },
            resolvedDependencies: { type: 'array', items: resourceDescriptor },
          },
        },
        runDetails: {
          type: 'object',
          additionalProperties: false,
          required: ['builder'],
          properties: {
            builder: {
              type: 'object',
              additionalProperties: false,
              required: ['id'],
              properties: {
                id: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*:' },
                version: { type: 'object', additionalProperties: { type: 'string' } },
                builderDependencies: { type: 'array', items: resourceDescriptor },
              },
            },
            metadata: {
              type: 'object',
              additionalProperties: false,
              properties: {
                invocationId: { type: 'string' },
                startedOn: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' },
                finishedOn: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' },
              },
            },
            byproducts: { type: 'array', items: resourceDescriptor },
          },
        },
      },
    },
  },
};
const validStatement = new Ajv({ allErrors: true, strict: false }).compile(statementSchema);

describe('supply chain: SBOM digest, provenance, release notes', () => {
  let dir: string;
  let plan: Plan;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'supply-chain-'));
    for (const f of ['sbom.spdx.json', 'version-info.json']) copyFileSync(join(FIXTURES, f), join(dir, f));
    plan = await samplePlan();
    plan.git_commit = 'a'.repeat(40);
    writeFileSync(join(dir, 'plan.json'), JSON.stringify(plan));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const statementOf = (env: NodeJS.ProcessEnv = {}) =>
    provenanceStatement({ plan, dir, amis: AMIS, sbom: readSbom(dir), env, finishedOn: new Date('2026-01-02T03:30:00Z') });
  const dependency = (s: Statement, name: string) => s.predicate.buildDefinition.resolvedDependencies.find((d) => d.name === name);

  it('reads the SBOM: its SHA-256 over the file as downloaded, its binaries with digests and the archive they came from', () => {
    const sbom = readSbom(dir)!;
    expect(sbom.sha256).to.equal(sha256(join(FIXTURES, 'sbom.spdx.json')));
    expect(sbom.packages).to.equal(5);
    expect(sbom.rpmPackages).to.equal(1);
    expect(sbom.binaries.map((b) => b.name)).to.deep.equal(['kubelet', 'containerd', 'ctr']);
    expect(sbom.binaries[1].archive).to.deep.equal({ name: 'containerd-1.7.27-linux-amd64.tar.gz', sha256: '3'.repeat(64) });
    expect(readSbom(mkdtempSync(join(tmpdir(), 'no-sbom-')))).to.equal(undefined);
  });

  it('writes a Statement v1 with a SLSA v1 predicate: AMI ids per region as subjects, source AMI, Kubernetes build, artifacts from the SBOM, commit and Packer', () => {
    const { statement, notes } = statementOf();
    expect(validStatement(statement), JSON.stringify(validStatement.errors)).to.equal(true);
    expect(notes).to.deep.equal([]);
    expect(statement.subject).to.deep.equal([
      { name: 'ami-0aaa1111bbbb22223', digest: { arn: 'arn:aws:ec2:us-west-2::image/ami-0aaa1111bbbb22223' }, annotations: { region: 'us-west-2', amiName: 'test-render' } },
      { name: 'ami-0ccc3333dddd44445', digest: { arn: 'arn:aws:ec2:us-east-1::image/ami-0ccc3333dddd44445' }, annotations: { region: 'us-east-1', amiName: 'test-render' } },
    ]);
    expect(dependency(statement, 'source-ami')!.digest).to.deep.equal({ arn: 'arn:aws:ec2:us-west-2::image/ami-0123456789abcdef0' });
    expect(dependency(statement, 'kubernetes')!.annotations).to.include({ version: '1.28.15', buildDate: '2025-11-05' });
    expect(dependency(statement, 'kubelet')!.digest).to.deep.equal({ sha256: '1'.repeat(64) });
    // containerd and ctr came out of one archive: one dependency, the archive's digest.
    const archive = dependency(statement, 'containerd-1.7.27-linux-amd64.tar.gz')!;
    expect(archive.digest).to.deep.equal({ sha256: '3'.repeat(64) });
    expect(archive.uri).to.equal('https://github.com/containerd/containerd/releases/download/v1.7.27/containerd-1.7.27-linux-amd64.tar.gz');
    expect(archive.annotations!.contains).to.deep.equal(['containerd', 'ctr']);
    expect(dependency(statement, 'rhel-eks-ami')!.digest).to.deep.equal({ gitCommit: 'a'.repeat(40) });
    expect(statement.predicate.runDetails.builder.version).to.include({ packer: '1.6.6', 'rhel-eks-ami': 'a'.repeat(40) });
    expect(statement.predicate.runDetails.byproducts.find((b) => b.name === 'sbom.spdx.json')!.digest).to.deep.equal({ sha256: sha256(join(dir, 'sbom.spdx.json')) });
    expect((statement.predicate.buildDefinition.externalParameters.variables as Record<string, unknown>).kubernetes_version).to.equal('1.28.15');
  });

  it('names the lock\'s digests and sources when the build replayed a lock, and says so when the lock changed since', () => {
    const lockFile = join(dir, 'build.lock.json');
    const lock: BuildLock = {
      lockVersion: 1, createdAt: '2026-01-01T00:00:00Z', createdBy: 'test', kubernetes: { version: '1.28.15', buildDate: '2025-11-05', minor: '1.28' },
      arch: 'x86_64', binaryArch: 'amd64', versions: { cni_plugin_version: 'v1.6.2', containerd_version: '1.7.27', runc_version: '1.2.6' },
      mirror: { bucket: 'my-mirror', region: 'us-gov-east-1' }, sourceAmi: { id: 'ami-0123456789abcdef0', name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', owner: '309956199498', region: 'us-west-2' },
      artifacts: [
        { name: 'kubelet', file: 'kubelet', origin: { kind: 's3', bucket: 'amazon-eks', region: 'us-west-2', key: '1.28.15/2025-11-05/bin/linux/amd64/kubelet' }, url: 'https://s3.us-west-2.amazonaws.com/amazon-eks/1.28.15/2025-11-05/bin/linux/amd64/kubelet', checksumUrl: 'https://s3.us-west-2.amazonaws.com/amazon-eks/1.28.15/2025-11-05/bin/linux/amd64/kubelet.sha256', key: '1.28.15/2025-11-05/bin/linux/amd64/kubelet', checksumKey: '1.28.15/2025-11-05/bin/linux/amd64/kubelet.sha256', sha256: 'c'.repeat(64), size: 10 },
        { name: 'runc', file: 'runc.amd64', origin: { kind: 'github', owner: 'opencontainers', repo: 'runc', tag: 'v1.2.6', asset: 'runc.amd64' }, url: 'https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.amd64', checksumUrl: 'https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum', key: 'github/opencontainers/runc/releases/download/v1.2.6/runc.amd64', checksumKey: 'github/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum', sha256: 'd'.repeat(64), size: 20 },
      ],
    };
    writeLock(lockFile, lock);
    plan.lock = { path: lockFile, sha256: sha256(lockFile) };
    const { statement, notes } = statementOf();
    expect(validStatement(statement), JSON.stringify(validStatement.errors)).to.equal(true);
    expect(notes).to.deep.equal([]);
    expect(dependency(statement, 'kubelet')).to.deep.include({ uri: lock.artifacts[0].url, digest: { sha256: 'c'.repeat(64) } });
    expect(dependency(statement, 'runc.amd64')).to.deep.include({ uri: lock.artifacts[1].url, digest: { sha256: 'd'.repeat(64) } });
    expect(dependency(statement, 'runc.amd64')!.annotations).to.include({ source: 'lock', mirrorKey: lock.artifacts[1].key });
    expect(statement.predicate.buildDefinition.externalParameters.lock).to.deep.equal(plan.lock);
    // Edited after the build: not trusted, the SBOM speaks instead.
    writeFileSync(lockFile, readFileSync(lockFile, 'utf8').replace('"test"', '"edited"'));
    expect(lockOfPlan(plan).lock).to.equal(undefined);
    const after = statementOf();
    expect(after.notes[0]).to.match(/changed since the build/);
    expect(dependency(after.statement, 'kubelet')!.digest).to.deep.equal({ sha256: '1'.repeat(64) });
  });

  it('never carries a credential: secret-looking variables are left out and the environment is not read', () => {
    const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    (plan.variables as unknown as Record<string, unknown>).ami_description = 'made with AKIAIOSFODNN7EXAMPLE';
    const { statement, notes } = statementOf({ AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: secret, AWS_SESSION_TOKEN: 'tok', GITHUB_TOKEN: 'ghp_x' });
    const text = JSON.stringify(statement);
    expect(text).to.not.include('AKIAIOSFODNN7EXAMPLE').and.not.include(secret).and.not.include('ghp_x');
    expect(notes).to.deep.equal(['left out of the provenance as possibly secret: ami_description']);
    expect(redactedVariables({ github_token: 'x', volume_size: 20 })).to.deep.equal({ values: { volume_size: 20 }, redacted: ['github_token'] });
  });

  it('identifies the GitHub workflow run as builder and invocation in CI, and reads the amazon plugin version', () => {
    const { statement } = statementOf({ GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'org/repo', GITHUB_WORKFLOW_REF: 'org/repo/.github/workflows/build-amis.yml@refs/heads/main', GITHUB_RUN_ID: '42', GITHUB_RUN_ATTEMPT: '2' });
    expect(statement.predicate.runDetails.builder.id).to.equal('https://github.com/org/repo/.github/workflows/build-amis.yml@refs/heads/main');
    expect(statement.predicate.runDetails.metadata.invocationId).to.equal('42-2/test-render');
    expect(amazonPluginVersion('/root/.config/packer/plugins/github.com/hashicorp/amazon/packer-plugin-amazon_v1.2.9_x5.0_linux_amd64\n/root/.config/packer/plugins/github.com/hashicorp/amazon/packer-plugin-amazon_v1.10.0_x5.0_linux_amd64\n')).to.equal('1.10.0');
  });

  it('writes the release notes table from version-info.json, plan.json, the SBOM and the STIG score', () => {
    copyFileSync(join(FIXTURES, 'stig-score.json'), join(dir, 'stig-score.json'));
    const text = releaseNotes({ plan, amis: AMIS, versionInfo: readVersionInfo(dir), sbom: readSbom(dir), stig: readStigScore(dir) });
    const rows = Object.fromEntries(text.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| |')).map((l) => l.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, ''))).map(([k, v]) => [k, v]));
    expect(rows).to.deep.include({
      'RHEL release': '9.6 (Red Hat Enterprise Linux release 9.6 (Plow))',
      Kernel: '5.14.0-570.17.1.el9_6.x86_64',
      kubelet: 'v1.28.15',
      containerd: 'v1.7.27',
      runc: '1.2.6',
      'CNI plugins': 'v1.6.2 (bridge, host-local, loopback, portmap)',
      'kube-proxy modes': 'ipvs, nftables',
      'STIG score': '87.50 (threshold 80)',
      'Source AMI': 'ami-0123456789abcdef0 (RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3)',
      SBOM: `sha256 ${sha256(join(FIXTURES, 'sbom.spdx.json'))} (SPDX 2.3, 5 packages)`,
      AMIs: 'us-west-2: ami-0aaa1111bbbb22223, us-east-1: ami-0ccc3333dddd44445',
    });
    expect(text).to.match(/^## test-render\n/);
    // A standard build without a scan says so rather than inventing a score.
    const standard = releaseNotes({ plan, amis: AMIS, versionInfo: readVersionInfo(dir), sbom: readSbom(dir) });
    expect(standard).to.include('| STIG score | not scanned (variant standard) |');
  });
});
