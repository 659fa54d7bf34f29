// Find the Kubernetes build to install: the highest patch of the minor, then its newest build date, that has
// linux/<arch>/kubelet and kubelet.sha256. Three requests however long the bucket's history: the versions of
// the minor and the dates of the chosen version (Delimiter listings), then the keys of its newest dates.
// Only a version with no usable date among its newest eight costs more.
import type { ListObjectsV2CommandInput, ListObjectsV2CommandOutput, S3Client } from '@aws-sdk/client-s3';
import { s3Sdk } from '../aws/sdk.ts';
import { compareVersions, minorOf } from '../data/minors.ts';
import { ResolutionError } from '../errors.ts';

const listObjects = (input: ListObjectsV2CommandInput) => new (s3Sdk().ListObjectsV2Command)(input);

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
    // A minor listed in data/kubernetes-minors.json is built once the bucket has it: until then, say so.
    const one = query.minors.length === 1 ? query.minors[0] : undefined;
    throw new ResolutionError(
      one
        ? `No Kubernetes ${one} build found in ${where}: the bucket has no ${one}.x versions yet (EKS publishes a minor's binaries some time after its upstream release). Build an older minor meanwhile, or check binary_bucket_name and binary_bucket_region.`
        : `No Kubernetes ${query.minors.join(', ')} versions found in ${where}. Check binary_bucket_name and binary_bucket_region.`,
    );
  }
  const skipped: string[] = [];
  for (const version of versions) {
    const dates = await listDates(s3, query.bucket, version);
    const date = await newestUsableDate(s3, query.bucket, version, dates, bucketArch(query.arch));
    if (date) {
      return { version, buildDate: date, minor: minorOf(version), kubeletKey: kubeletKeyOf(version, date, bucketArch(query.arch)) };
    }
    skipped.push(...dates.map((d) => `${version}/${d}`));
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

const kubeletKeyOf = (version: string, date: string, arch: string) => `${version}/${date}/bin/linux/${arch}/kubelet`;

/** How many newest dates one listing looks at; a date folder holds ~60 keys, so 8 fit one 1000-key page. */
const DATE_WINDOW = 8;

/**
 * The newest date (of `dates`, newest first) whose folder has the kubelet and its .sha256 for the arch.
 * One listing starting just before the oldest date of a window returns every key of the window's dates,
 * so windows-only or partial newest dates are skipped without further requests. Should a window not fit one
 * page (the newest keys come last), its dates are probed one by one instead.
 */
async function newestUsableDate(s3: S3Client, bucket: string, version: string, dates: string[], arch: string): Promise<string | undefined> {
  for (let start = 0; start < dates.length; start += DATE_WINDOW) {
    const window = dates.slice(start, start + DATE_WINDOW);
    const oldest = window[window.length - 1];
    const out = await s3.send(listObjects({ Bucket: bucket, Prefix: `${version}/`, StartAfter: `${version}/${oldest}`, MaxKeys: 1000 }));
    const keys = new Set((out.Contents ?? []).map((o) => o.Key));
    for (const date of window) {
      const kubelet = kubeletKeyOf(version, date, arch);
      const usable = out.IsTruncated ? await hasKubeletWithChecksum(s3, bucket, kubelet) : keys.has(kubelet) && keys.has(`${kubelet}.sha256`);
      if (usable) return date;
    }
  }
  return undefined;
}

async function hasKubeletWithChecksum(s3: S3Client, bucket: string, kubeletKey: string): Promise<boolean> {
  const out = await s3.send(listObjects({ Bucket: bucket, Prefix: kubeletKey, MaxKeys: 20 }));
  const keys = new Set((out.Contents ?? []).map((o) => o.Key));
  return keys.has(kubeletKey) && keys.has(`${kubeletKey}.sha256`);
}

/** Folders right below a prefix ("1.28." → "1.28.15"; "1.28.15/" → "1.28.15/2024-11-22"), following pagination. */
async function listFolders(s3: S3Client, bucket: string, prefix: string): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const out: ListObjectsV2CommandOutput = await s3.send(
      listObjects({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }),
    );
    for (const p of out.CommonPrefixes ?? []) {
      if (p.Prefix) names.push(p.Prefix.replace(/\/$/, ''));
    }
    token = out.IsTruncated ? out.NextContinuationToken : undefined;
  } while (token);
  return names;
}
