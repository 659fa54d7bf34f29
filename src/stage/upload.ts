// Uploads of verified files to the mirror bucket, streamed from disk: PutObject with a file stream and its
// ContentLength (S3 checks the bytes against ChecksumSHA256), or a multipart upload of file-range streams
// for big files, aborted on failure so no partial object ever appears. An object already there with the
// same SHA-256 (user metadata `sha256`) and size is left alone, so a re-run uploads only what is missing.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { sha256Base64, sha256Hex } from './checksum.ts';
import { StageError } from './errors.ts';
import { mapLimit } from './limit.ts';
import { withRetries, type RetryPolicy } from './retry.ts';

export interface UploadOptions {
  /** Files at least this big go up in parts. */
  multipartThreshold: number;
  partSize: number;
  /** Parts of one file in flight at once. */
  partConcurrency: number;
  retry: RetryPolicy;
  onBytes?: (n: number) => void;
}

export const defaultUploadOptions = (retry: RetryPolicy): UploadOptions => ({
  multipartThreshold: 64 * 1024 * 1024,
  partSize: 16 * 1024 * 1024,
  partConcurrency: 2,
  retry,
});

export type UploadOutcome = 'uploaded' | 'present';

/** Whether `key` already holds exactly these bytes (as far as size and recorded SHA-256 tell). */
export async function alreadyThere(s3: S3Client, bucket: string, key: string, sha256: string, size: number, retry: RetryPolicy): Promise<boolean> {
  return withRetries(`checking s3://${bucket}/${key}`, retry, async () => {
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return head.Metadata?.sha256 === sha256 && head.ContentLength === size;
    } catch (error) {
      const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
      if (e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404) return false;
      throw accessError(error, bucket, key);
    }
  });
}

export async function uploadFile(s3: S3Client, bucket: string, key: string, file: { path: string; size: number; sha256: string }, options: UploadOptions): Promise<UploadOutcome> {
  if (await alreadyThere(s3, bucket, key, file.sha256, file.size, options.retry)) return 'present';
  if (file.size < options.multipartThreshold) {
    await withRetries(`uploading s3://${bucket}/${key}`, options.retry, async () => {
      const body = metered(createReadStream(file.path, { highWaterMark: 1024 * 1024 }), options.onBytes);
      try {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: file.size, ChecksumSHA256: sha256Base64(file.sha256), Metadata: { sha256: file.sha256 } }),
        );
      } catch (error) {
        body.destroy();
        throw accessError(error, bucket, key);
      }
    });
    return 'uploaded';
  }
  await multipart(s3, bucket, key, file, options);
  return 'uploaded';
}

/** A small object (checksum file) from memory, skipped when identical. */
export async function uploadSmall(s3: S3Client, bucket: string, key: string, body: Buffer, retry: RetryPolicy): Promise<UploadOutcome> {
  const sha256 = sha256Hex(body);
  if (await alreadyThere(s3, bucket, key, sha256, body.length, retry)) return 'present';
  await withRetries(`uploading s3://${bucket}/${key}`, retry, async () => {
    try {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: body.length, ChecksumSHA256: sha256Base64(sha256), Metadata: { sha256 } }));
    } catch (error) {
      throw accessError(error, bucket, key);
    }
  });
  return 'uploaded';
}

async function multipart(s3: S3Client, bucket: string, key: string, file: { path: string; size: number; sha256: string }, options: UploadOptions): Promise<void> {
  const created = await withRetries(`starting the upload of s3://${bucket}/${key}`, options.retry, async () => {
    try {
      return await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: { sha256: file.sha256 } }));
    } catch (error) {
      throw accessError(error, bucket, key);
    }
  });
  const uploadId = created.UploadId;
  if (!uploadId) throw new StageError(`s3://${bucket}/${key}: CreateMultipartUpload returned no UploadId`);
  const count = Math.ceil(file.size / options.partSize);
  try {
    const parts = await mapLimit(
      Array.from({ length: count }, (_, i) => i),
      options.partConcurrency,
      async (i) => {
        const start = i * options.partSize;
        const end = Math.min(file.size, start + options.partSize); // exclusive
        let sent = 0;
        const out = await withRetries(`uploading part ${i + 1}/${count} of s3://${bucket}/${key}`, options.retry, async () => {
          // A retried part is re-sent from its start; progress is corrected for what the failed attempt counted.
          if (sent) options.onBytes?.(-sent);
          sent = 0;
          const body = metered(createReadStream(file.path, { start, end: end - 1, highWaterMark: 1024 * 1024 }), (n) => {
            sent += n;
            options.onBytes?.(n);
          });
          try {
            return await s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: i + 1, Body: body, ContentLength: end - start }));
          } catch (error) {
            body.destroy();
            throw accessError(error, bucket, key);
          }
        });
        if (!out.ETag) throw new StageError(`s3://${bucket}/${key}: part ${i + 1} has no ETag`);
        return { PartNumber: i + 1, ETag: out.ETag };
      },
    );
    const failed = parts.find((p) => p.status === 'rejected');
    if (failed && failed.status === 'rejected') throw failed.reason;
    const done = parts.map((p) => (p.status === 'fulfilled' ? p.value : undefined)).filter((p) => p !== undefined);
    await withRetries(`completing the upload of s3://${bucket}/${key}`, options.retry, () =>
      s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } })),
    );
  } catch (error) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    throw error;
  }
}

function metered(stream: Readable, onBytes?: (n: number) => void): Readable {
  if (!onBytes) return stream;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  stream.on('error', (error) => meter.destroy(error));
  return stream.pipe(meter);
}

function accessError(error: unknown, bucket: string, key: string): unknown {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e.name === 'NoSuchBucket') return new StageError(`the mirror bucket ${bucket} does not exist; create it first (binary_bucket_name, binary_bucket_region).`);
  if (e.name === 'AccessDenied' || e.$metadata?.httpStatusCode === 403) return new StageError(`s3://${bucket}/${key}: access denied (${e.name}); the credentials in use cannot write the mirror.`);
  return error;
}
