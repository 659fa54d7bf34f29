// Staging: for each artifact (bounded parallelism) fetch its published checksum file (or detached signature),
// get the artifact into the local cache (verified while streaming or by its signature, resumed when a partial
// download exists), upload it to the mirror and then its checksum file or signature. An artifact that fails leaves nothing of itself in the mirror; the
// others still finish, so a re-run only redoes what failed.
import type { S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyDetachedSignature } from '../process/gpg.ts';
import type { Runner } from '../process/run.ts';
import { originUrl, type ArtifactSpec, type BaseUrls, type Origin } from './artifacts.ts';
import { ArtifactCache, type Fetched, type FetchProgress } from './cache.ts';
import { publishedSha256, sha256Hex } from './checksum.ts';
import { messageOf, StageError } from './errors.ts';
import { mapLimit } from './limit.ts';
import { fmtBytes, fmtRate, Progress, table } from './progress.ts';
import { withRetries, type RetryPolicy } from './retry.ts';
import { readSmall, s3Source, type HttpClient, type Source } from './sources.ts';
import { defaultUploadOptions, uploadFile, uploadSmall, type UploadOptions, type UploadOutcome } from './upload.ts';
import type { LockedArtifact } from '../lock/lock.ts';

export interface StageDeps {
  /** Reads the source bucket(s), unsigned when in another partition than the mirror. */
  sourceS3(bucket: string, region: string): S3Client;
  /** Whether sourceS3's reads of a region are unsigned (for messages). */
  sourceUnsigned?: (region: string) => boolean;
  /** Writes the mirror. */
  mirrorS3: S3Client;
  http: HttpClient;
  cache: ArtifactCache;
  baseUrls: BaseUrls;
  /** Directory of the public keys signed artifacts are checked against (provisioners/lib/keys). */
  keysDir: string;
  /** Runs gpg. */
  runner: Runner;
  mirror: { bucket: string; region: string };
  concurrency: number;
  retry: RetryPolicy;
  progress: Progress;
  upload?: Partial<UploadOptions>;
  /** SHA-256 the artifacts must have (a lock being replayed), by file name. */
  pinned?: Record<string, string>;
}

export interface StagedArtifact extends LockedArtifact {
  fetched: 'hit' | 'downloaded' | 'resumed';
  networkBytes: number;
  resumedAt: number;
  uploaded: UploadOutcome;
  seconds: number;
}

export interface StageFailure {
  spec: ArtifactSpec;
  error: unknown;
}

export class StagingFailed extends StageError {
  constructor(
    readonly failures: StageFailure[],
    readonly staged: StagedArtifact[],
  ) {
    // One line: main() prints multi-line messages as lists of configuration problems.
    super(
      `${failures.length} of ${failures.length + staged.length} artifacts could not be staged; nothing of them was uploaded, and a re-run redoes only these. ` +
        failures.map((f) => `${f.spec.name}: ${messageOf(f.error)}`).join(' | '),
    );
  }
}

export function sourceOf(origin: Origin, deps: Pick<StageDeps, 'sourceS3' | 'sourceUnsigned' | 'http' | 'baseUrls'>): Source {
  const url = originUrl(origin, deps.baseUrls);
  return origin.kind === 's3' ? s3Source(deps.sourceS3(origin.bucket, origin.region), origin.bucket, origin.key, url, deps.sourceUnsigned?.(origin.region)) : deps.http.source(url);
}

export async function stageArtifacts(specs: ArtifactSpec[], deps: StageDeps): Promise<StagedArtifact[]> {
  const upload: UploadOptions = { ...defaultUploadOptions(deps.retry), ...deps.upload };
  deps.progress.expect(specs.length);
  const settled = await mapLimit(specs, deps.concurrency, (spec) => stageOne(spec, deps, upload));
  const staged: StagedArtifact[] = [];
  const failures: StageFailure[] = [];
  settled.forEach((r, i) => (r.status === 'fulfilled' ? staged.push(r.value) : failures.push({ spec: specs[i], error: r.reason })));
  if (failures.length) throw new StagingFailed(failures, staged);
  return staged;
}

async function stageOne(spec: ArtifactSpec, deps: StageDeps, uploadOptions: UploadOptions): Promise<StagedArtifact> {
  const t0 = performance.now();
  const { progress } = deps;
  const source = sourceOf(spec.origin, deps);
  const checksumSource = sourceOf(spec.checksumOrigin, deps);
  try {
    progress.phase(spec.name, 'checksum');
    const checksumFile = await withRetries(`fetching ${checksumSource.url}`, deps.retry, () => readSmall(checksumSource));
    progress.phase(spec.name, 'download');
    const meter: FetchProgress = {
      start: (offset, total) => progress.at(spec.name, offset, total),
      bytes: (n) => progress.add(spec.name, n),
    };
    const pinned = deps.pinned?.[spec.file];
    const { fetched, sha256 } =
      spec.verification.kind === 'sha256-file'
        ? await fetchByPublishedDigest(spec, checksumFile, checksumSource.url, source, pinned, deps, meter)
        : await fetchBySignature(spec, spec.verification.keyFile, checksumFile, source, pinned, deps, meter);

    progress.phase(spec.name, 'upload', fetched.size);
    const uploaded = await uploadFile(deps.mirrorS3, deps.mirror.bucket, spec.key, { path: fetched.path, size: fetched.size, sha256 }, {
      ...uploadOptions,
      onBytes: (n) => progress.add(spec.name, n),
    });
    // The checksum file goes up after the artifact, so whoever finds it finds the artifact too.
    await uploadSmall(deps.mirrorS3, deps.mirror.bucket, spec.checksumKey, checksumFile, deps.retry);
    progress.phase(spec.name, 'done');
    return {
      name: spec.name,
      file: spec.file,
      origin: spec.origin,
      url: source.url,
      checksumUrl: checksumSource.url,
      key: spec.key,
      checksumKey: spec.checksumKey,
      verifiedBy: spec.verification.kind,
      sha256,
      size: fetched.size,
      fetched: fetched.how,
      networkBytes: fetched.networkBytes,
      resumedAt: fetched.resumedAt,
      uploaded,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (error) {
    progress.phase(spec.name, 'failed');
    throw error;
  }
}

async function fetchByPublishedDigest(spec: ArtifactSpec, checksumFile: Buffer, checksumUrl: string, source: Source, pinned: string | undefined, deps: StageDeps, meter: FetchProgress): Promise<{ fetched: Fetched; sha256: string }> {
  const sha256 = publishedSha256(checksumFile.toString('utf8'), spec.file);
  if (!sha256) throw new StageError(`${checksumUrl} publishes no SHA-256 for ${spec.file}`);
  if (pinned && pinned !== sha256) {
    throw new StageError(`${spec.file}: the lock file pins sha256 ${pinned}, but ${checksumUrl} now publishes ${sha256}; the source changed since the lock was written`);
  }
  return { fetched: await deps.cache.fetch(spec.name, source, sha256, deps.retry, meter), sha256 };
}

/**
 * Signed artifacts have no published digest: the bytes are accepted when the detached signature holds for
 * them with the committed key, and their SHA-256 is computed (the lock records it). Replaying a lock, the
 * pinned digest must match too, so a newer "latest" upstream fails clearly instead of slipping in.
 */
async function fetchBySignature(spec: ArtifactSpec, keyFile: string, signature: Buffer, source: Source, pinned: string | undefined, deps: StageDeps, meter: FetchProgress): Promise<{ fetched: Fetched; sha256: string }> {
  const scratch = await mkdtemp(join(tmpdir(), 'eks-ami-sig-'));
  const signatureFile = join(scratch, `${spec.file}.sig`);
  await writeFile(signatureFile, signature);
  const verify = async (path: string) => {
    const check = await verifyDetachedSignature(deps.runner, join(deps.keysDir, keyFile), signatureFile, path);
    if (!check.valid) throw new StageError(`signature check failed for ${spec.file} from ${source.url} against ${keyFile} (${check.reason}); nothing of it was uploaded`);
  };
  try {
    const fetched = await deps.cache.fetchSigned(spec.name, source, sha256Hex(signature), verify, deps.retry, meter);
    if (pinned && pinned !== fetched.sha256) {
      throw new StageError(`${spec.file}: the lock file pins sha256 ${pinned}, but ${source.url} now serves ${fetched.sha256} (validly signed: a newer release); the source changed since the lock was written`);
    }
    return { fetched, sha256: fetched.sha256 };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** The summary printed when staging ends. */
export function summaryLines(staged: StagedArtifact[], seconds: number, mirror: { bucket: string }): string[] {
  const rows = staged.map((a) => [
    a.name,
    fmtBytes(a.size),
    a.sha256.slice(0, 16),
    a.fetched === 'hit' ? 'cache' : a.fetched === 'resumed' ? `resumed at ${fmtBytes(a.resumedAt)}` : 'downloaded',
    a.uploaded === 'present' ? 'already there' : 'uploaded',
    `${a.seconds.toFixed(1)} s`,
    a.networkBytes ? fmtRate(a.networkBytes / Math.max(a.seconds, 0.001)) : '—',
    a.key,
  ]);
  const total = staged.reduce((s, a) => s + a.size, 0);
  const fetched = staged.reduce((s, a) => s + a.networkBytes, 0);
  return [
    ...table(['artifact', 'size', 'sha256', 'source', `s3://${mirror.bucket}`, 'time', 'rate', 'key'], rows, [false, true, false, false, false, true, true, false]),
    `${staged.length} artifacts, ${fmtBytes(total)} in the mirror, ${fmtBytes(fetched)} downloaded, in ${seconds.toFixed(1)} s`,
  ];
}
