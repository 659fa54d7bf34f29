// Seed an EKS-style binary bucket in the emulator: <version>/<date>/bin/<os>/<arch>/<binary>[.sha256].
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** Every `<version>/<date>` the public bucket has published (from the EKS AMI release notes). */
export function realBuildPairs(): string[] {
  return readFileSync(join(here, 'eks-build-pairs.txt'), 'utf8').split('\n').filter(Boolean);
}

export const LINUX_BINARIES = ['kubelet', 'kubectl', 'kube-proxy', 'aws-iam-authenticator', 'ecr-credential-provider'];

export type BuildShape = 'full' | 'windows-only' | 'no-arm64-kubelet' | 'no-checksum' | 'marker';

/** Keys (and bodies) of one build folder of the given shape. */
export function buildObjects(pair: string, shape: BuildShape): Map<string, string> {
  const objects = new Map<string, string>();
  const add = (key: string, withChecksum = true) => {
    const body = `stand-in ${key}\n`;
    objects.set(key, body);
    if (withChecksum) objects.set(`${key}.sha256`, `${createHash('sha256').update(body).digest('hex')}  ${key.split('/').pop()}\n`);
  };
  if (shape === 'marker') {
    // One object is enough for the folder to exist in Delimiter listings.
    add(`${pair}/bin/windows/amd64/kubectl.exe`, false);
    return objects;
  }
  add(`${pair}/bin/windows/amd64/kubelet.exe`);
  add(`${pair}/bin/windows/amd64/kube-proxy.exe`);
  if (shape === 'windows-only') return objects;
  for (const arch of ['amd64', 'arm64']) {
    for (const binary of LINUX_BINARIES) {
      if (shape === 'no-arm64-kubelet' && arch === 'arm64' && binary === 'kubelet') continue;
      add(`${pair}/bin/linux/${arch}/${binary}`, !(shape === 'no-checksum' && binary === 'kubelet'));
    }
  }
  return objects;
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
}

/** Put objects with bounded concurrency (the emulator is single-process). */
export async function putObjects(s3: S3Client, bucket: string, objects: Map<string, string>, concurrency = 16): Promise<void> {
  const entries = [...objects];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const [key, body] = entries[next++];
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/**
 * The whole published history as folders, with full linux sets only where a test looks closely
 * (`full` minors); shapes override single pairs (e.g. a windows-only newest date).
 */
export function historyObjects(options: { fullMinors: string[]; shapes?: Record<string, BuildShape>; extraPairs?: string[] }): Map<string, string> {
  const objects = new Map<string, string>();
  for (const pair of [...realBuildPairs(), ...(options.extraPairs ?? [])]) {
    const minor = pair.split('.').slice(0, 2).join('.');
    const shape = options.shapes?.[pair] ?? (options.fullMinors.includes(minor) ? 'full' : 'marker');
    for (const [key, body] of buildObjects(pair, shape)) objects.set(key, body);
  }
  return objects;
}
