// A release as the stager sees it: EKS binaries in a source bucket in moto, CNI plugins, containerd and runc
// on the GitHub stand-in, each with its published checksum file in the real formats; the AWS CLI installer
// (on the same stand-in, under awscli/) and the SSM agent RPM (in amazon-ssm-<region>), each with a detached
// signature by a throw-away key the test trusts through the keys_dir option.
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { copyFileSync, createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Signer } from '../rehearse/signer.ts';
import { resolveArtifact } from '../data/artifacts.ts';
import { EKS_BINARIES, SIGNING_KEY_FILES } from '../stage/artifacts.ts';
import type { GitHubStandIn } from './upstream-standins.ts';

export const RELEASE = { version: '1.28.15', date: '2025-01-02', cni: 'v1.6.2', containerd: '1.7.27', runc: '1.2.6' };

/** Build variables naming the release's GitHub versions (per-minor defaults could differ). */
export const versionWords = [`cni_plugin_version=${RELEASE.cni}`, `containerd_version=${RELEASE.containerd}`, `runc_version=${RELEASE.runc}`];

export interface PublishedFile {
  key: string;
  checksumKey: string;
  sha256: string;
  size: number;
  /** Signed artifacts: the detached signature published beside them (and expected in the mirror). */
  signature?: Buffer;
}

export interface Published {
  /** By file name (kubelet, runc.amd64, awscli-exe-linux-x86_64.zip …): the mirror key, the bytes' sha256 and size. */
  files: Map<string, PublishedFile>;
}

/** Where the signed stand-ins live: the AWS CLI site on the GitHub stand-in, the SSM bucket in this region. */
export const awsCliBase = (gh: GitHubStandIn): string => `${gh.endpoint}/awscli`;
export const SSM_REGION = 'us-west-2';

/** A keys directory trusting the signer in place of AWS's keys (for the keys_dir option). */
export function trustedKeys(dir: string, signer: Signer): string {
  mkdirSync(dir, { recursive: true });
  for (const key of SIGNING_KEY_FILES) writeFileSync(join(dir, key), signer.publicKey);
  return dir;
}

export type Content = (file: string, arch: string) => { body?: Buffer; file?: string };

const hashOf = async (c: { body?: Buffer; file?: string }): Promise<{ sha256: string; size: number }> => {
  if (c.body) return { sha256: createHash('sha256').update(c.body).digest('hex'), size: c.body.length };
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(c.file!)) hash.update(chunk as Buffer);
  return { sha256: hash.digest('hex'), size: statSync(c.file!).size };
};

/** Publishes the release for both architectures; returns what the mirror must end up holding per arch. */
export async function publishRelease(
  s3: S3Client,
  bucket: string,
  gh: GitHubStandIn,
  content: Content,
  signed: { signer: Signer; scratch: string },
): Promise<Record<'amd64' | 'arm64', Published>> {
  const ssmBucket = `amazon-ssm-${SSM_REGION}`;
  await s3.send(new CreateBucketCommand({ Bucket: ssmBucket, CreateBucketConfiguration: { LocationConstraint: SSM_REGION } })).catch((e: Error) => {
    if (e.name !== 'BucketAlreadyOwnedByYou') throw e;
  });
  const out = { amd64: { files: new Map() }, arm64: { files: new Map() } } as Record<'amd64' | 'arm64', Published>;
  const runcSums: string[] = [];
  for (const arch of ['amd64', 'arm64'] as const) {
    // What data/artifacts.json says a build of this release downloads, for this architecture.
    const artifact = (name: string) =>
      resolveArtifact(name, {
        kubernetesVersion: RELEASE.version,
        buildDate: RELEASE.date,
        binaryArch: arch,
        cniPluginVersion: RELEASE.cni,
        containerdVersion: RELEASE.containerd,
        runcVersion: RELEASE.runc,
        sourceBucket: { name: bucket, region: SSM_REGION },
        ssmRegion: SSM_REGION,
      });
    for (const binary of EKS_BINARIES) {
      const c = content(binary, arch);
      const { sha256, size } = await hashOf(c);
      const key = artifact(binary).key;
      const body: Buffer | Readable = c.body ?? createReadStream(c.file!);
      // Public like the real amazon-eks bucket, so unsigned reads (from GovCloud) work.
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size, ACL: 'public-read' }));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${key}.sha256`, Body: `${sha256}  ${binary}\n`, ACL: 'public-read' }));
      out[arch].files.set(binary, { key, checksumKey: `${key}.sha256`, sha256, size });
    }
    // A release asset at its upstream path, with its checksum file beside it (runc's: one file for all, below).
    const gh1 = async (name: string, checksumText?: (sha: string, asset: string) => string) => {
      const a = artifact(name);
      const c = content(a.file, arch);
      const { sha256, size } = await hashOf(c);
      gh.put(a.upstreamPath, c);
      if (checksumText) gh.put(`${dirname(a.upstreamPath)}/${a.checksumFile}`, checksumText(sha256, a.file));
      out[arch].files.set(a.file, { key: a.key, checksumKey: a.checksumKey, sha256, size });
      return sha256;
    };
    await gh1('cni-plugins', (sha, asset) => `${sha}  ${asset}\n`);
    await gh1('containerd', (sha, asset) => `${sha}  ${asset}\n`);
    const runcSha = await gh1('runc');
    runcSums.push(`${runcSha} *${artifact('runc').file}`);
    // Signed artifacts: the bytes on disk, then a detached signature over them.
    const signedCopy = async (file: string) => {
      const c = content(file, arch);
      const path = join(signed.scratch, `${arch}-${file}`);
      mkdirSync(signed.scratch, { recursive: true });
      if (c.body) writeFileSync(path, c.body);
      else copyFileSync(c.file!, path);
      signed.signer.sign(path);
      return { path, signature: readFileSync(`${path}.sig`), ...(await hashOf({ file: path })) };
    };
    const cliArtifact = artifact('aws-cli');
    const cli = cliArtifact.file;
    const zip = await signedCopy(cli);
    gh.put(`awscli/${cliArtifact.upstreamPath}`, { file: zip.path });
    gh.put(`awscli/${cliArtifact.checksumFile}`, zip.signature);
    out[arch].files.set(cli, { key: cliArtifact.key, checksumKey: cliArtifact.checksumKey, sha256: zip.sha256, size: zip.size, signature: zip.signature });
    const ssmArtifact = artifact('ssm-agent');
    const rpm = await signedCopy(ssmArtifact.file);
    const ssmKey = ssmArtifact.upstreamPath;
    // Public like the real amazon-ssm-<region> buckets.
    await s3.send(new PutObjectCommand({ Bucket: ssmBucket, Key: ssmKey, Body: createReadStream(rpm.path), ContentLength: rpm.size, ACL: 'public-read' }));
    await s3.send(new PutObjectCommand({ Bucket: ssmBucket, Key: `${dirname(ssmKey)}/${ssmArtifact.checksumFile}`, Body: rpm.signature, ACL: 'public-read' }));
    out[arch].files.set(ssmArtifact.file, {
      key: ssmArtifact.key,
      checksumKey: ssmArtifact.checksumKey,
      sha256: rpm.sha256,
      size: rpm.size,
      signature: rpm.signature,
    });
  }
  // One checksum file lists every runc asset, as runc's releases do.
  gh.put(`opencontainers/runc/releases/download/v${RELEASE.runc}/runc.sha256sum`, `${runcSums.join('\n')}\n`);
  return out;
}
