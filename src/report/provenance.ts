// Provenance per build: an in-toto Statement v1 carrying a SLSA provenance v1 predicate, written as
// build/<ami_name>/provenance.intoto.jsonl (one statement, one line; sign it with your own tooling, e.g. as a
// DSSE envelope). Field names follow in-toto attestation spec v1 (Statement, ResourceDescriptor, DigestSet) and
// SLSA provenance v1 (buildDefinition, runDetails). docs/provenance.md describes the build type.
//  - subject: the AMI in every region. An AMI has no content digest a user could recompute; in-toto's DigestSet
//    allows an immutable non-cryptographic id for VM images, in the form it shows: {"arn": "arn:…:image/ami-…"}.
//  - resolvedDependencies: the source AMI; the Kubernetes build (version, date); every downloaded artifact with
//    its SHA-256 and source, from the lock when the build replayed one, else from the SBOM (digests of what the
//    instance installed, and of the archive a binary came from where the SBOM names it); this repository's commit.
//  - externalParameters: the plan's build variables (plan.json carries no credentials; redactedVariables drops
//    anything that looks like one all the same). Nothing is read from the environment but GitHub's run ids.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, PLAN_FILE, VERSION_INFO_FILE } from '../layout.ts';
import type { Plan } from '../plan/plan.ts';
import { readLock, type BuildLock } from '../lock/lock.ts';
import { SBOM_FILE, type Sbom } from './sbom.ts';
import type { AmiByRegion } from './summary.ts';

export const PROVENANCE_FILE = 'provenance.intoto.jsonl';
export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** What this build type means (externalParameters = build variables): docs/provenance.md. */
export const BUILD_TYPE = 'urn:x-rhel-eks-ami:buildtype:packer-amazon-ebs:v1';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: typeof SLSA_PROVENANCE_V1;
  predicate: {
    buildDefinition: {
      buildType: string;
      externalParameters: Record<string, unknown>;
      internalParameters: Record<string, unknown>;
      resolvedDependencies: ResourceDescriptor[];
    };
    runDetails: {
      builder: { id: string; version: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
      metadata: { invocationId: string; startedOn: string; finishedOn: string };
      byproducts: ResourceDescriptor[];
    };
  };
}

export interface ProvenanceInput {
  plan: Plan;
  /** The build directory (plan.json, manifest.json, the downloads). */
  dir: string;
  amis: AmiByRegion[];
  sbom?: Sbom;
  /** The amazon plugin's version (current Packer), when known; Packer 1.6.6 has it built in. */
  amazonPlugin?: string;
  env: NodeJS.ProcessEnv;
  finishedOn: Date;
}

const imageArn = (partition: string, region: string, ami: string) => `arn:${partition}:ec2:${region}::image/${ami}`;
const sha256File = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Names and values that must never reach a provenance statement: credentials, tokens, secrets, passwords. */
const SECRET_NAME = /secret|password|passwd|token|credential|private_?key|access_?key|session/i;
const SECRET_VALUE = /\b(AKIA|ASIA)[0-9A-Z]{16}\b|-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The build variables with anything secret-looking left out (names listed under `redacted`). */
export function redactedVariables(variables: Record<string, unknown>): { values: Record<string, unknown>; redacted: string[] } {
  const values: Record<string, unknown> = {};
  const redacted: string[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (SECRET_NAME.test(name) || SECRET_VALUE.test(JSON.stringify(value))) redacted.push(name);
    else values[name] = value;
  }
  return { values, redacted };
}

/** The lock the build replayed, when the file is still the one the plan recorded (same SHA-256). */
export function lockOfPlan(plan: Plan): { lock?: BuildLock; note?: string } {
  if (!plan.lock) return {};
  if (!existsSync(plan.lock.path)) return { note: `lock ${plan.lock.path} is gone; artifacts listed from the SBOM` };
  if (sha256File(plan.lock.path) !== plan.lock.sha256) return { note: `lock ${plan.lock.path} changed since the build; artifacts listed from the SBOM` };
  return { lock: readLock(plan.lock.path) };
}

function artifactsFromLock(lock: BuildLock): ResourceDescriptor[] {
  return lock.artifacts.map((a) => ({
    name: a.file,
    uri: a.url,
    digest: { sha256: a.sha256 },
    annotations: { artifact: a.name, origin: a.origin.kind, mirrorKey: a.key, verifiedBy: a.verifiedBy ?? 'sha256-file', size: a.size, source: 'lock' },
  }));
}

/** From the SBOM: one entry per downloaded artifact (binaries of one archive collapse into the archive). */
function artifactsFromSbom(sbom: Sbom): ResourceDescriptor[] {
  const out = new Map<string, ResourceDescriptor>();
  for (const b of sbom.binaries) {
    if (b.archive) {
      const entry = out.get(b.archive.name) ?? { name: b.archive.name, uri: b.downloadLocation, digest: { sha256: b.archive.sha256 }, annotations: { version: b.version, contains: [] as string[], source: 'sbom' } };
      (entry.annotations!.contains as string[]).push(b.name);
      out.set(b.archive.name, entry);
    } else {
      out.set(b.name, { name: b.name, uri: b.downloadLocation, digest: { sha256: b.sha256 }, annotations: { version: b.version, source: 'sbom' } });
    }
  }
  return [...out.values()];
}

/** Without lock or SBOM: where the plan says each artifact comes from, with no digest (none was recorded). */
function artifactsFromPlan(plan: Plan): ResourceDescriptor[] {
  const v = plan.variables;
  return [
    { name: 'kubelet', uri: `s3://${plan.binary_bucket.name}/${plan.binary_bucket.kubelet_key}` },
    { name: 'containerd', uri: `pkg:github/containerd/containerd@v${v.containerd_version}` },
    { name: 'runc', uri: `pkg:github/opencontainers/runc@v${v.runc_version}` },
    { name: 'cni-plugins', uri: `pkg:github/containernetworking/plugins@${v.cni_plugin_version}` },
  ].map((d) => ({ ...d, annotations: { source: 'plan (no digest recorded)' } }));
}

function sourceCommit(plan: Plan): ResourceDescriptor | undefined {
  const match = /^([0-9a-f]{40})(-dirty)?$/.exec(plan.git_commit);
  if (!match) return undefined;
  return { name: 'rhel-eks-ami', digest: { gitCommit: match[1] }, annotations: { dirty: Boolean(match[2]) } };
}

function byproduct(dir: string, name: string, mediaType: string): ResourceDescriptor[] {
  const file = join(dir, name);
  return existsSync(file) ? [{ name, digest: { sha256: sha256File(file) }, mediaType }] : [];
}

function builderId(env: NodeJS.ProcessEnv): string {
  if (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_WORKFLOW_REF) return `${env.GITHUB_SERVER_URL}/${env.GITHUB_WORKFLOW_REF}`;
  return 'urn:x-rhel-eks-ami:builder:make';
}

export function provenanceStatement(input: ProvenanceInput): { statement: Statement; notes: string[] } {
  const { plan, dir, amis, sbom } = input;
  const notes: string[] = [];
  const { lock, note } = lockOfPlan(plan);
  if (note) notes.push(note);
  const artifacts = lock ? artifactsFromLock(lock) : sbom ? artifactsFromSbom(sbom) : artifactsFromPlan(plan);
  if (!lock && !sbom) notes.push('no lock and no SBOM: artifacts listed without digests');
  const { values, redacted } = redactedVariables(plan.variables as unknown as Record<string, unknown>);
  if (redacted.length) notes.push(`left out of the provenance as possibly secret: ${redacted.join(', ')}`);
  const commit = sourceCommit(plan);
  const statement: Statement = {
    _type: STATEMENT_TYPE,
    subject: amis.map(({ region, ami }) => ({
      name: ami,
      digest: { arn: imageArn(plan.partition, region, ami) },
      annotations: { region, amiName: plan.ami_name },
    })),
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { kubernetesMinor: plan.kubernetes_minor, variables: values, ...(plan.lock ? { lock: plan.lock } : {}) },
        internalParameters: {
          provisionerEnvironment: plan.provisioner_environment,
          variableSources: plan.variable_sources,
          packerModern: plan.packer.modern,
          kubeProxyModes: plan.kube_proxy_modes,
        },
        resolvedDependencies: [
          {
            name: 'source-ami',
            digest: { arn: imageArn(plan.partition, plan.aws_region, plan.source_ami_id) },
            annotations: { imageName: plan.source_ami_name, owner: plan.source_ami_owner, rhelRelease: plan.rhel_release },
          },
          {
            name: 'kubernetes',
            uri: `s3://${plan.binary_bucket.name}/${plan.kubernetes_version}/${plan.kubernetes_build_date}/`,
            annotations: { version: plan.kubernetes_version, buildDate: plan.kubernetes_build_date, bucketRegion: plan.binary_bucket.region },
          },
          ...artifacts,
          ...(commit ? [commit] : []),
        ],
      },
      runDetails: {
        builder: {
          id: builderId(input.env),
          version: {
            'rhel-eks-ami': plan.git_commit,
            packer: plan.packer.version,
            'packer-plugin-amazon': plan.packer.modern ? (input.amazonPlugin ?? 'unknown') : `built into Packer ${plan.packer.version}`,
          },
        },
        metadata: {
          invocationId: input.env.GITHUB_RUN_ID ? `${input.env.GITHUB_RUN_ID}-${input.env.GITHUB_RUN_ATTEMPT ?? '1'}/${plan.ami_name}` : plan.ami_name,
          startedOn: plan.created_at,
          finishedOn: input.finishedOn.toISOString(),
        },
        byproducts: [
          ...byproduct(dir, SBOM_FILE, 'application/spdx+json'),
          ...byproduct(dir, VERSION_INFO_FILE, 'application/json'),
          ...byproduct(dir, PLAN_FILE, 'application/json'),
          ...byproduct(dir, MANIFEST_FILE, 'application/json'),
        ],
      },
    },
  };
  return { statement, notes };
}

/** Writes the statement as one JSON line, atomically. */
export function writeProvenance(dir: string, statement: Statement): string {
  const file = join(dir, PROVENANCE_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(statement)}\n`);
  renameSync(temp, file);
  return file;
}

/** The amazon plugin's version from `packer plugins installed` output (current Packer), e.g. 1.3.2. */
export function amazonPluginVersion(installed: string): string | undefined {
  const versions = [...installed.matchAll(/packer-plugin-amazon_v([0-9]+\.[0-9]+\.[0-9]+)/g)].map((m) => m[1]);
  return versions.sort((a, b) => b.localeCompare(a, undefined, { numeric: true }))[0];
}
