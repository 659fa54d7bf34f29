// Find the Kubernetes build to install: the highest patch of the minor, then its newest build date, that has
// linux/<arch>/kubelet and kubelet.sha256. Delimiter listings keep this to three small requests however long
// the bucket's history: versions of the minor, dates of the chosen version, then the kubelet keys of a date.
// Each date or version skipped because its linux set is incomplete costs one more request.
import { ListObjectsV2Command, type ListObjectsV2CommandOutput, type S3Client } from '@aws-sdk/client-s3';
import { compareVersions, minorOf } from '../data/minors.ts';
import { ResolutionError } from '../errors.ts';

export interface KubernetesBuildQuery {
  bucket: string;
  region: string;
  arch: 'x86_64' | 'arm64';
  /** Minors to consider, newest wins; one entry for `make 1.28`. */
  minors: string[];
  /** Fixed version: only its dates are searched. */
  version?: string;
}

export interface KubernetesBuild {
  version: string;
  buildDate: string;
  minor: string;
  /** Key of the kubelet chosen, for the plan and the lock file. */
  kubeletKey: string;
}

export const bucketArch = (arch: 'x86_64' | 'arm64'): 'amd64' | 'arm64' => (arch === 'x86_64' ? 'amd64' : 'arm64');

export async function findKubernetesBuild(s3: S3Client, query: KubernetesBuildQuery): Promise<KubernetesBuild> {
  const versions = query.version ? [query.version] : await listVersions(s3, query);
  const where = `s3://${query.bucket} (${query.region})`;
  if (versions.length === 0) {
    throw new ResolutionError(`No Kubernetes ${query.minors.join(', ')} versions found in ${where}. Check binary_bucket_name and binary_bucket_region.`);
  }
  const skipped: string[] = [];
  for (const version of versions) {
    for (const date of await listDates(s3, query.bucket, version)) {
      const kubeletKey = `${version}/${date}/bin/linux/${bucketArch(query.arch)}/kubelet`;
      if (await hasKubeletWithChecksum(s3, query.bucket, kubeletKey)) {
        return { version, buildDate: date, minor: minorOf(version), kubeletKey };
      }
      skipped.push(`${version}/${date}`);
    }
  }
  throw new ResolutionError(
    `No build in ${where} has bin/linux/${bucketArch(query.arch)}/kubelet with its .sha256 for ${query.version ?? `Kubernetes ${query.minors.join(', ')}`}` +
      (skipped.length ? ` (looked at ${skipped.slice(0, 8).join(', ')}${skipped.length > 8 ? ', …' : ''}).` : '.') +
      ' Mirror one with make stage, or set kubernetes_version/kubernetes_build_date.',
  );
}

/** Versions of the wanted minors, newest first. */
async function listVersions(s3: S3Client, query: KubernetesBuildQuery): Promise<string[]> {
  const prefix = query.minors.length === 1 ? `${query.minors[0]}.` : '';
  const folders = await listFolders(s3, query.bucket, prefix);
  return folders
    .filter((v) => /^[0-9]+\.[0-9]+\.[0-9]+$/.test(v) && query.minors.includes(minorOf(v)))
    .sort(compareVersions)
    .reverse();
}

/** Build dates of a version, newest first. */
async function listDates(s3: S3Client, bucket: string, version: string): Promise<string[]> {
  const folders = await listFolders(s3, bucket, `${version}/`);
  return folders
    .map((folder) => folder.slice(version.length + 1))
    .filter((d) => /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(d)).sort().reverse();
}

async function hasKubeletWithChecksum(s3: S3Client, bucket: string, kubeletKey: string): Promise<boolean> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: kubeletKey, MaxKeys: 20 }));
  const keys = new Set((out.Contents ?? []).map((o) => o.Key));
  return keys.has(kubeletKey) && keys.has(`${kubeletKey}.sha256`);
}

/** Folders right below a prefix ("1.28." → "1.28.15"; "1.28.15/" → "1.28.15/2024-11-22"), following pagination. */
async function listFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const out: ListObjectsV2CommandOutput = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of out.CommonPrefixes ?? []) {
      if (p.Prefix) names.push(p.Prefix.replace(/\/$/, ''));
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return names;
}
