// Every artifact a build of one configuration downloads, where it is published with its checksum file or
// detached PGP signature, and where the mirror keeps both: resolved from the one manifest, data/artifacts.json
// (src/data/artifacts.ts), so a build with pull_cni_from_github=false finds everything in the mirror.
import { artifactManifest, resolveArtifact, resolveArtifacts, type ManifestQuery, type Origin, type ResolvedArtifact } from '../data/artifacts.ts';
import { regionFacts } from '../data/partitions.ts';
import { PUBLIC_EKS_BUCKET } from '../layout.ts';

export type { Origin, Verification } from '../data/artifacts.ts';

/** An artifact as staging and the lock see it (the manifest's resolution, plus where it installs). */
export type ArtifactSpec = ResolvedArtifact;

export type ArtifactQuery = ManifestQuery;

/** Public key files (in provisioners/lib/keys) the signed artifacts are checked against; the instance uses the same. */
export const SIGNING_KEY_FILES: readonly string[] = [
  ...new Set(artifactManifest.artifacts.flatMap((a) => (a.checksum.kind === 'pgp-signature' ? [a.checksum.keyFile] : []))),
];

/** A query with placeholder versions, for the names that depend only on a few of its fields. */
const sample = (q: Partial<ManifestQuery>): ManifestQuery => ({
  kubernetesVersion: '0.0.0',
  buildDate: '0000-00-00',
  binaryArch: 'amd64',
  cniPluginVersion: 'v0.0.0',
  containerdVersion: '0.0.0',
  runcVersion: '0.0.0',
  sourceBucket: PUBLIC_EKS_BUCKET,
  ssmRegion: 'us-west-2',
  ...q,
});

/**
 * The containerd release asset a build installs (the manifest's containerd entry): RHEL 8 with containerd 2.x
 * gets the project's static build, everything else the usual build.
 */
export function containerdAsset(version: string, binaryArch: 'amd64' | 'arm64', rhelVersion = 9): string {
  return resolveArtifact('containerd', sample({ containerdVersion: version, binaryArch, rhelVersion })).file;
}

/** Binaries of the EKS bucket a build installs, in the manifest's order. */
export const EKS_BINARIES: readonly string[] = artifactManifest.artifacts.filter((a) => a.source.kind === 'eks').map((a) => a.name);

/** The mirror keeps the amazon-ssm-<region> bucket's layout (latest/linux_<arch>/…) under this prefix. */
export const SSM_MIRROR_PREFIX: string = (() => {
  const source = artifactManifest.artifacts.find((a) => a.name === 'ssm-agent')?.source;
  if (source?.kind !== 's3') throw new Error('data/artifacts.json: ssm-agent must come from an s3 source with a mirrorPrefix');
  return source.mirrorPrefix;
})();

/** Mirror keys of an artifact and its checksum file for one bucket architecture (test fixtures, rehearsal seeding). */
export function mirrorKeys(name: string, binaryArch: 'amd64' | 'arm64', q: Partial<ManifestQuery> = {}): { key: string; checksumKey: string } {
  const { key, checksumKey } = resolveArtifact(name, sample({ binaryArch, ...q }));
  return { key, checksumKey };
}

export function artifactsFor(q: ArtifactQuery): ArtifactSpec[] {
  return resolveArtifacts(q);
}

export interface BaseUrls {
  github: string;
  awsCli: string;
}

export const DEFAULT_BASE_URLS: BaseUrls = { github: 'https://github.com', awsCli: 'https://awscli.amazonaws.com' };

/** The URL an origin is fetched from: GitHub (GITHUB_BASE_URL), the AWS CLI site (AWSCLI_BASE_URL), or the bucket's HTTPS URL in its partition's domain. */
export function originUrl(o: Origin, bases: BaseUrls): string {
  const trim = (url: string) => url.replace(/\/+$/, '');
  if (o.kind === 'github') return `${trim(bases.github)}/${o.owner}/${o.repo}/releases/download/${o.tag}/${o.asset}`;
  if (o.kind === 'awscli') return `${trim(bases.awsCli)}/${o.asset}`;
  return s3Url(o.bucket, o.region, o.key);
}

/** Path-style HTTPS URL of an object, in the S3 domain of the region's partition (data/partitions.json). */
export function s3Url(bucket: string, region: string, key: string): string {
  const domain = regionFacts(region)?.dnsSuffix ?? 'amazonaws.com';
  return `https://s3.${region}.${domain}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
