// A local content-addressed cache of verified artifacts: <root>/sha256/<hex>. Downloads stream through a
// hash into <root>/partial/<hex>.part and are renamed into place only once the bytes hash to the published
// SHA-256, so a file under sha256/ is always complete and verified. A partial file left by an interrupted
// run (or attempt) is resumed with a Range request; should the resumed whole not verify, it is dropped and
// fetched once more from the start. Artifacts that publish a signature instead of a digest (fetchSigned) are
// checked with it before the rename, and remembered by the signature's digest.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ChecksumMismatch, StageError, TransientError } from './errors.ts';
import { GaveUp, withRetries, type RetryPolicy } from './retry.ts';
import { RangeNotSatisfiable, type Source } from './sources.ts';
import { isSha256 } from './checksum.ts';

export interface Fetched {
  path: string;
  size: number;
  /** hit: already in the cache; downloaded: from byte 0; resumed: continued a partial file. */
  how: 'hit' | 'downloaded' | 'resumed';
  /** Bytes that came over the network for it in this run (failed attempts included). */
  networkBytes: number;
  /** Offset the last, successful attempt started at (0 unless resumed). */
  resumedAt: number;
}

export interface FetchProgress {
  /** An attempt starts at `offset` of `total` bytes (offset bytes are already on disk). */
  start(offset: number, total?: number): void;
  bytes(n: number): void;
}

export class ArtifactCache {
  constructor(readonly root: string) {}

  pathOf(sha256: string): string {
    if (!isSha256(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return join(this.root, 'sha256', sha256);
  }

  partialOf(sha256: string): string {
    return join(this.root, 'partial', `${sha256}.part`);
  }

  /** The cached file for a digest, re-hashed so a damaged cache entry is dropped rather than used. */
  async lookup(sha256: string, onBytes?: (n: number) => void): Promise<{ path: string; size: number } | undefined> {
    const path = this.pathOf(sha256);
    const size = await sizeOf(path);
    if (size === undefined) return undefined;
    const actual = await hashFile(path, onBytes);
    if (actual === sha256) return { path, size };
    await rm(path, { force: true });
    return undefined;
  }

  /**
   * The artifact for `sha256`: from the cache, else streamed from `source` (resuming a partial file),
   * verified and moved into the cache. A mismatch from a fresh download throws ChecksumMismatch.
   */
  async fetch(name: string, source: Source, sha256: string, policy: RetryPolicy, progress?: FetchProgress): Promise<Fetched> {
    const hit = await this.lookup(sha256);
    if (hit) return { ...hit, how: 'hit', networkBytes: 0, resumedAt: 0 };
    const got = await this.download(name, source, this.partialOf(sha256), policy, progress, async (actual) =>
      actual === sha256 ? undefined : new ChecksumMismatch(name, sha256, actual, source.url),
    );
    return this.keep(got);
  }

  /**
   * An artifact vouched for by a detached signature rather than a published digest: downloaded like fetch(),
   * then `verify` (which throws a StageError when the signature does not hold) decides before it enters the
   * cache. signed/<signature sha256> remembers which content the signature was last found good for, so a
   * re-run with the same signature is a cache hit (the signature is checked again; that costs milliseconds).
   */
  async fetchSigned(name: string, source: Source, signatureSha256: string, verify: (path: string) => Promise<void>, policy: RetryPolicy, progress?: FetchProgress): Promise<Fetched & { sha256: string }> {
    const index = join(this.root, 'signed', signatureSha256);
    const known = await readFile(index, 'utf8').then((t) => t.trim(), () => '');
    const hit = isSha256(known) ? await this.lookup(known) : undefined;
    if (hit) {
      await verify(hit.path);
      return { ...hit, sha256: known, how: 'hit', networkBytes: 0, resumedAt: 0 };
    }
    const got = await this.download(name, source, join(this.root, 'partial', `signed-${signatureSha256}.part`), policy, progress, async (_actual, path) => {
      try {
        await verify(path);
        return undefined;
      } catch (error) {
        if (error instanceof StageError) return error;
        throw error;
      }
    });
    const fetched = await this.keep(got);
    await mkdir(join(this.root, 'signed'), { recursive: true });
    await writeFile(`${index}.tmp`, `${got.sha256}\n`);
    await rename(`${index}.tmp`, index);
    return { ...fetched, sha256: got.sha256 };
  }

  /**
   * Streams `source` into `partial` (resuming what is there), hashing as it goes; `check` refuses the
   * complete bytes by returning an error. A refused resume is dropped and fetched once more from the start,
   * since the partial file may be what is wrong (left by another run, or the source changed).
   */
  private async download(
    name: string,
    source: Source,
    partial: string,
    policy: RetryPolicy,
    progress: FetchProgress | undefined,
    check: (sha256: string, path: string) => Promise<Error | undefined>,
  ): Promise<{ partial: string; sha256: string; networkBytes: number; resumedAt: number }> {
    await mkdir(join(this.root, 'partial'), { recursive: true });
    await mkdir(join(this.root, 'sha256'), { recursive: true });
    let networkBytes = 0;
    let resumedAt = 0;
    let droppedResume = false;
    let sha256 = '';
    try {
      await withRetries(`downloading ${name} from ${source.url}`, policy, async () => {
        const offset = (await sizeOf(partial)) ?? 0;
        const hash = createHash('sha256');
        if (offset > 0) await hashFile(partial, undefined, hash);
        let opened;
        try {
          opened = await source.open(offset);
        } catch (error) {
          if (error instanceof RangeNotSatisfiable) await rm(partial, { force: true });
          throw error;
        }
        if (opened.start !== offset) {
          opened.body.destroy();
          await rm(partial, { force: true });
          throw new TransientError(`${source.url}: the server ignored the Range request; starting over`);
        }
        resumedAt = offset;
        progress?.start(offset, opened.total);
        let received = 0;
        // Each chunk is on disk before the next is read, so whatever arrived before a reset or a short
        // body is kept for the next attempt to resume from (a write stream would drop what it still buffers).
        const file = await open(partial, offset > 0 ? 'a' : 'w');
        try {
          for await (const chunk of opened.body as AsyncIterable<Buffer>) {
            await file.write(chunk);
            hash.update(chunk);
            received += chunk.length;
            networkBytes += chunk.length;
            progress?.bytes(chunk.length);
          }
        } finally {
          await file.close();
        }
        if (opened.length !== undefined && received !== opened.length) {
          throw new TransientError(`${source.url}: truncated body (${received} of ${opened.length} bytes)`);
        }
        sha256 = hash.digest('hex');
        const refused = await check(sha256, partial);
        if (!refused) return;
        await rm(partial, { force: true });
        if (offset > 0 && !droppedResume) {
          droppedResume = true;
          throw new TransientError(`${name}: the resumed download does not verify; fetching it again from the start`);
        }
        throw refused;
      });
    } catch (error) {
      // A refused artifact or a permanent error leaves nothing behind; giving up on transient failures
      // keeps the partial file so that the next run resumes it.
      if (!(error instanceof GaveUp)) await rm(partial, { force: true });
      throw error;
    }
    return { partial, sha256, networkBytes, resumedAt };
  }

  /** Moves verified bytes into sha256/<hex>: the only way anything gets there. */
  private async keep(got: { partial: string; sha256: string; networkBytes: number; resumedAt: number }): Promise<Fetched> {
    const path = this.pathOf(got.sha256);
    await rename(got.partial, path);
    const size = (await sizeOf(path)) ?? 0;
    return { path, size, how: got.resumedAt > 0 ? 'resumed' : 'downloaded', networkBytes: got.networkBytes, resumedAt: got.resumedAt };
  }
}

export async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

/** SHA-256 of a file, streamed; feeds `into` when given (and returns its digest only when not). */
export async function hashFile(path: string, onBytes?: (n: number) => void, into?: Hash): Promise<string> {
  const hash = into ?? createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return into ? '' : hash.digest('hex');
}
