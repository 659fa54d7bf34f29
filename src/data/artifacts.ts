// The artifact manifest (data/artifacts.json) resolved for one build: every artifact a build downloads and
// installs, where it comes from, how it is verified, which step installs it and where. Staging, the lock, the
// generated instance manifest, the rehearsal and the tests all derive from this one declaration.
import manifestJson from '../../data/artifacts.json' with { type: 'json' };

export type Origin =
  | { kind: 's3'; bucket: string; region: string; key: string }
  | { kind: 'github'; owner: string; repo: string; tag: string; asset: string }
  /** The AWS CLI v2 download site (AWSCLI_BASE_URL, https://awscli.amazonaws.com by default). */
  | { kind: 'awscli'; asset: string };

/**
 * How an artifact is proven genuine: its SHA-256 in a published checksum file, or (AWS CLI, SSM agent, which
 * publish no checksum) a detached PGP signature checked against a key committed in provisioners/lib/keys.
 */
export type Verification = { kind: 'sha256-file' } | { kind: 'pgp-signature'; keyFile: string; subject: string };

/** Where a step puts an artifact: a file, an archive's contents, an installer's directory, or an RPM package. */
export interface Installation {
  how: 'file' | 'archive' | 'installer' | 'rpm';
  path: string;
  mode: string;
  members?: string[];
}

/** One artifact of one build, every template filled in. */
export interface ResolvedArtifact {
  name: string;
  /** The provisioner step (provisioners/<installedBy>.sh) that downloads, verifies and installs it. */
  installedBy: string;
  /** Set when a build may go without it: why (the source may lack it). */
  optional?: string;
  /** File name the checksum file lists and the provisioner verifies: kubelet, runc.amd64 … */
  file: string;
  origin: Origin;
  /** Which bucket `origin` names when its kind is 's3': the EKS binary bucket, or another (the SSM agent's). */
  fromBinaryBucket: boolean;
  verification: Verification;
  /** The published checksum file (or detached signature), next to the artifact. */
  checksumFile: string;
  checksumOrigin: Origin;
  /** Where upstream, relative to its site: the key in its bucket, a release's owner/repo/releases/download/tag/asset, the AWS CLI site's asset. */
  upstreamPath: string;
  /** Keys in the mirror bucket `make stage` fills. */
  key: string;
  checksumKey: string;
  install: Installation;
}

export interface ManifestQuery {
  kubernetesVersion: string;
  buildDate: string;
  binaryArch: 'amd64' | 'arm64';
  cniPluginVersion: string;
  containerdVersion: string;
  runcVersion: string;
  /** RHEL major of the image (default 9). */
  rhelVersion?: number;
  /** Image variant (standard, stig …); every artifact when absent. */
  variant?: string;
  /** The EKS binary bucket the kubelet & co. are read from. */
  sourceBucket: { name: string; region: string };
  /** Region whose amazon-ssm-<region> bucket the SSM agent is read from. */
  ssmRegion: string;
}

type SourceDecl =
  | { kind: 'eks'; key: string }
  | { kind: 'github'; owner: string; repo: string; tag: string; asset: string }
  | { kind: 'awscli'; asset: string }
  | { kind: 's3'; bucket: string; region: string; key: string; mirrorPrefix: string };

export interface ArtifactDecl {
  name: string;
  installedBy: string;
  optional?: string;
  architectures?: string[];
  rhelVersions?: number[];
  variants?: string[];
  source: SourceDecl;
  alternatives?: { why: string; when: Record<string, string[]>; [field: string]: unknown }[];
  checksum: { kind: 'sha256-file'; file: string } | { kind: 'pgp-signature'; file: string; keyFile: string; subject: string };
  install: Installation;
}

export const artifactManifest = manifestJson as unknown as { mirrorLayout: Record<SourceDecl['kind'], string>; artifacts: ArtifactDecl[] };

/** Every artifact name the manifest declares, whatever the build. */
export const declaredArtifactNames = (): string[] => artifactManifest.artifacts.map((a) => a.name);

function fill(template: string, values: Record<string, string>, where: string): string {
  return template.replace(/\{([A-Za-z]+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`data/artifacts.json ${where}: unknown placeholder {${name}}`);
    return value;
  });
}

const basename = (path: string): string => path.slice(path.lastIndexOf('/') + 1);
const sibling = (path: string, file: string): string => `${path.slice(0, path.lastIndexOf('/') + 1)}${file}`;

/** The query as the placeholders and 'when' conditions see it. */
function parameters(q: ManifestQuery): Record<string, string> {
  return {
    kubernetesVersion: q.kubernetesVersion,
    buildDate: q.buildDate,
    binaryArch: q.binaryArch,
    cliArch: q.binaryArch === 'amd64' ? 'x86_64' : 'aarch64',
    cniPluginVersion: q.cniPluginVersion,
    containerdVersion: q.containerdVersion,
    containerdMajor: q.containerdVersion.split('.')[0],
    runcVersion: q.runcVersion,
    rhelVersion: String(q.rhelVersion ?? 9),
    ssmRegion: q.ssmRegion,
  };
}

function applies(a: ArtifactDecl, q: ManifestQuery): boolean {
  return (
    (!a.architectures || a.architectures.includes(q.binaryArch)) &&
    (!a.rhelVersions || a.rhelVersions.includes(q.rhelVersion ?? 9)) &&
    (!a.variants || q.variant === undefined || a.variants.includes(q.variant))
  );
}

function resolveOne(a: ArtifactDecl, q: ManifestQuery, p: Record<string, string>): ResolvedArtifact {
  const chosen = a.alternatives?.find((alt) => Object.entries(alt.when).every(([field, allowed]) => allowed.includes(p[field])));
  const { why: _why, when: _when, ...override } = chosen ?? { why: '', when: {} };
  const decl = { ...a.source, ...override } as SourceDecl;
  const src = Object.fromEntries(
    Object.entries(decl).map(([k, v]) => [k, k === 'kind' ? v : fill(String(v), p, `${a.name}.source.${k}`)]),
  ) as unknown as SourceDecl;
  const layout = artifactManifest.mirrorLayout[src.kind];
  const fromBinaryBucket = src.kind === 'eks';
  let origin: Origin;
  let path: string;
  if (src.kind === 'eks') {
    origin = { kind: 's3', bucket: q.sourceBucket.name, region: q.sourceBucket.region, key: src.key };
    path = src.key;
  } else if (src.kind === 's3') {
    origin = { kind: 's3', bucket: src.bucket, region: src.region, key: src.key };
    path = src.key;
  } else if (src.kind === 'github') {
    origin = { kind: 'github', owner: src.owner, repo: src.repo, tag: src.tag, asset: src.asset };
    path = `${src.owner}/${src.repo}/releases/download/${src.tag}/${src.asset}`;
  } else {
    origin = { kind: 'awscli', asset: src.asset };
    path = src.asset;
  }
  const file = basename(path);
  const checksumFile = fill(a.checksum.file, { ...p, file }, `${a.name}.checksum.file`);
  const checksumOrigin: Origin = origin.kind === 's3' ? { ...origin, key: sibling(origin.key, checksumFile) } : { ...origin, asset: checksumFile };
  const key = fill(layout, src as unknown as Record<string, string>, `mirrorLayout.${src.kind}`);
  return {
    name: a.name,
    installedBy: a.installedBy,
    ...(a.optional ? { optional: a.optional } : {}),
    file,
    origin,
    fromBinaryBucket,
    verification:
      a.checksum.kind === 'sha256-file' ? { kind: 'sha256-file' } : { kind: 'pgp-signature', keyFile: a.checksum.keyFile, subject: a.checksum.subject },
    checksumFile,
    checksumOrigin,
    upstreamPath: path,
    key,
    checksumKey: sibling(key, checksumFile),
    install: a.install,
  };
}

/** The artifacts a build of this configuration downloads, in the manifest's order. */
export function resolveArtifacts(q: ManifestQuery): ResolvedArtifact[] {
  const p = parameters(q);
  return artifactManifest.artifacts.filter((a) => applies(a, q)).map((a) => resolveOne(a, q, p));
}

/** One artifact by name (it must apply to the build). */
export function resolveArtifact(name: string, q: ManifestQuery): ResolvedArtifact {
  const found = resolveArtifacts(q).find((a) => a.name === name);
  if (!found) throw new Error(`data/artifacts.json declares no artifact ${name} for this build`);
  return found;
}

/** The build an environment of docs/provisioner-contract.md describes, as a manifest query (render and tests). */
export function manifestQueryOfEnvironment(env: Record<string, string | undefined>): ManifestQuery {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`the artifact manifest of a build needs ${name} in the provisioner environment`);
    return value;
  };
  return {
    kubernetesVersion: need('KUBERNETES_VERSION'),
    buildDate: need('KUBERNETES_BUILD_DATE'),
    binaryArch: need('BINARY_ARCH') as ManifestQuery['binaryArch'],
    cniPluginVersion: need('CNI_PLUGIN_VERSION'),
    containerdVersion: need('CONTAINERD_VERSION'),
    runcVersion: need('RUNC_VERSION'),
    rhelVersion: Number(need('RHEL_VERSION')),
    variant: env.VARIANT || undefined,
    sourceBucket: { name: need('BINARY_BUCKET_NAME'), region: need('BINARY_BUCKET_REGION') },
    ssmRegion: need('AWS_REGION'),
  };
}

/** $WORK_DIR/generated/<this>: the artifacts of this build, for lib/fetch.sh's fetch_artifact. */
export const INSTANCE_MANIFEST_FILE = 'artifacts.tsv';

/**
 * Columns of the instance manifest, tab-separated, '-' for nothing (bash's read merges empty tab fields):
 * source is eks (the binary bucket, BINARY_BUCKET_*), github (GITHUB_BASE_URL), awscli (AWSCLI_BASE_URL) or
 * s3:<bucket>:<region>; path is relative to it; mirror_key is the key in the binary bucket when from_mirror;
 * check is sha256 or pgp:<key file in lib/keys>.
 */
export const INSTANCE_MANIFEST_COLUMNS = [
  'name',
  'step',
  'file',
  'source',
  'path',
  'mirror_key',
  'checksum_file',
  'check',
  'optional',
  'destination',
  'mode',
  'subject',
] as const;

/** The instance manifest of a build: one line per artifact, resolved (no templates left for bash to fill). */
export function instanceManifest(artifacts: ResolvedArtifact[]): string {
  const field = (value: string): string => {
    if (/[\t\n]/.test(value) || value === '') throw new Error(`artifact manifest field ${JSON.stringify(value)} is empty or holds a tab or newline`);
    return value;
  };
  const lines = artifacts.map((a) => {
    const source = a.fromBinaryBucket ? 'eks' : a.origin.kind === 's3' ? `s3:${a.origin.bucket}:${a.origin.region}` : a.origin.kind;
    const v = a.verification;
    const row = [
      a.name,
      a.installedBy,
      a.file,
      source,
      a.upstreamPath,
      a.key,
      a.checksumFile,
      v.kind === 'sha256-file' ? 'sha256' : `pgp:${v.keyFile}`,
      a.optional ? 'optional' : 'required',
      a.install.path,
      a.install.mode,
      v.kind === 'pgp-signature' ? v.subject : '-',
    ];
    return row.map(field).join('\t');
  });
  return `# Generated from data/artifacts.json for this build (src/data/artifacts.ts); read by provisioners/lib/fetch.sh.\n# ${INSTANCE_MANIFEST_COLUMNS.join('\t')}\n${lines.join('\n')}\n`;
}
