// A release as the stager sees it: EKS binaries in a source bucket in moto, CNI plugins, containerd and runc
// on the GitHub stand-in, each with its published checksum file in the real formats.
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { EKS_BINARIES } from '../../src/stage/artifacts.ts';
import type { GitHubStandIn } from './standins.ts';

export const RELEASE = { version: '1.28.15', date: '2025-01-02', cni: 'v1.6.2', containerd: '1.7.27', runc: '1.2.6' };

/** Build variables naming the release's GitHub versions (per-minor defaults could differ). */
export const versionWords = [`cni_plugin_version=${RELEASE.cni}`, `containerd_version=${RELEASE.containerd}`, `runc_version=${RELEASE.runc}`];

export interface Published {
  /** By file name (kubelet, runc.amd64, …): the mirror key, the bytes' sha256 and size. */
  files: Map<string, { key: string; checksumKey: string; sha256: string; size: number }>;
}

export type Content = (file: string, arch: string) => { body?: Buffer; file?: string };

const hashOf = async (c: { body?: Buffer; file?: string }): Promise<{ sha256: string; size: number }> => {
  if (c.body) return { sha256: createHash('sha256').update(c.body).digest('hex'), size: c.body.length };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(c.file!)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), size: statSync(c.file!).size };
};

/** Publishes the release for both architectures; returns what the mirror must end up holding per arch. */
export async function publishRelease(s3: S3Client, bucket: string, gh: GitHubStandIn, content: Content): Promise<Record<'amd64' | 'arm64', Published>> {
  const out = { amd64: { files: new Map() }, arm64: { files: new Map() } } as Record<'amd64' | 'arm64', Published>;
  const runcSums: string[] = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    const prefix = `${RELEASE.version}/${RELEASE.date}/bin/linux/${arch}`;
    for (const binary of EKS_BINARIES) {
      const c = content(binary, arch);
      const { sha256, size } = await hashOf(c);
      const key = `${prefix}/${binary}`;
      const body: Buffer | Readable = c.body ?? createReadStream(c.file!);
      // Public like the real amazon-eks bucket, so unsigned reads (from GovCloud) work.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ACL: 'public-read' }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.sha256`, Body: `${sha256}  ${binary}\n`, ACL: 'public-read' }));
      out[arch].files.set(binary, { key, checksumKey: `${key}.sha256`, sha256, size });
    }
    const gh1 = async (repoPath: string, asset: string, checksumAsset: string, checksumText?: (sha: string) => string) => {
      const c = content(asset, arch);
      const { sha256, size } = await hashOf(c);
      gh.put(`${repoPath}/${asset}`, c);
      if (checksumText) gh.put(`${repoPath}/${checksumAsset}`, checksumText(sha256));
      out[arch].files.set(asset, { key: `github/${repoPath}/${asset}`, checksumKey: `github/${repoPath}/${checksumAsset}`, sha256, size });
      return sha256;
    };
    const cni = `cni-plugins-linux-${arch}-${RELEASE.cni}.tgz`;
    await gh1(`containernetworking/plugins/releases/download/${RELEASE.cni}`, cni, `${cni}.sha256`, (sha) => `${sha}  ${cni}\n`);
    const containerd = `containerd-${RELEASE.containerd}-linux-${arch}.tar.gz`;
    await gh1(`containerd/containerd/releases/download/v${RELEASE.containerd}`, containerd, `${containerd}.sha256sum`, (sha) => `${sha}  ${containerd}\n`);
    const runcSha = await gh1(`opencontainers/runc/releases/download/v${RELEASE.runc}`, `runc.${arch}`, 'runc.sha256sum');
    runcSums.push(`${runcSha} *runc.${arch}`);
  }
  // One checksum file lists every runc asset, as runc's releases do.
  gh.put(`opencontainers/runc/releases/download/v${RELEASE.runc}/runc.sha256sum`, `${runcSums.join('\n')}\n`);
  return out;
}
