// Every artifact a build of one configuration downloads (provisioners/kubernetes.sh, containerd.sh,
// cni-plugins.sh), where it is published with its checksum file, and where the mirror keeps both: the
// key layout of docs/provisioner-contract.md, so a build with pull_cni_from_github=false finds them.
import { regionFacts } from '../data/partitions.ts';

export type Origin =
  | { kind: 's3'; bucket: string; region: string; key: string }
  | { kind: 'github'; owner: string; repo: string; tag: string; asset: string };

export interface ArtifactSpec {
  /** Short name for progress and messages: kubelet, containerd, runc, cni-plugins … */
  name: string;
  /** File name the checksum file lists (and the provisioner verifies): kubelet, runc.amd64 … */
  file: string;
  origin: Origin;
  /** The published checksum file next to it. */
  checksumOrigin: Origin;
  /** Keys in the mirror bucket. */
  key: string;
  checksumKey: string;
}

export interface ArtifactQuery {
  kubernetesVersion: string;
  buildDate: string;
  /** Bucket naming: amd64 | arm64. */
  binaryArch: 'amd64' | 'arm64';
  cniPluginVersion: string;
  containerdVersion: string;
  runcVersion: string;
  /** The bucket the EKS binaries are read from (normally amazon-eks, us-west-2). */
  sourceBucket: { name: string; region: string };
}

/** Binaries of the EKS bucket a build installs (kubectl for the operator's convenience on the node). */
export const EKS_BINARIES = ['kubelet', 'kubectl', 'aws-iam-authenticator', 'ecr-credential-provider'] as const;

export function artifactsFor(q: ArtifactQuery): ArtifactSpec[] {
  const prefix = `${q.kubernetesVersion}/${q.buildDate}/bin/linux/${q.binaryArch}`;
  const s3 = (key: string): Origin => ({ kind: 's3', bucket: q.sourceBucket.name, region: q.sourceBucket.region, key });
  const eks = EKS_BINARIES.map((binary) => ({
    name: binary,
    file: binary,
    origin: s3(`${prefix}/${binary}`),
    checksumOrigin: s3(`${prefix}/${binary}.sha256`),
    key: `${prefix}/${binary}`,
    checksumKey: `${prefix}/${binary}.sha256`,
  }));
  const github = (name: string, owner: string, repo: string, tag: string, asset: string, checksumAsset: string): ArtifactSpec => {
    const origin: Origin = { kind: 'github', owner, repo, tag, asset };
    const checksumOrigin: Origin = { kind: 'github', owner, repo, tag, asset: checksumAsset };
    return { name, file: asset, origin, checksumOrigin, key: mirrorKey(origin), checksumKey: mirrorKey(checksumOrigin) };
  };
  const cni = `cni-plugins-linux-${q.binaryArch}-${q.cniPluginVersion}.tgz`;
  const containerd = `containerd-${q.containerdVersion}-linux-${q.binaryArch}.tar.gz`;
  return [
    ...eks,
    github('cni-plugins', 'containernetworking', 'plugins', q.cniPluginVersion, cni, `${cni}.sha256`),
    github('containerd', 'containerd', 'containerd', `v${q.containerdVersion}`, containerd, `${containerd}.sha256sum`),
    github('runc', 'opencontainers', 'runc', `v${q.runcVersion}`, `runc.${q.binaryArch}`, 'runc.sha256sum'),
  ];
}

/** github/<owner>/<repo>/releases/download/<tag>/<asset>: a release URL's path under github/. */
export const mirrorKey = (o: Extract<Origin, { kind: 'github' }>): string => `github/${o.owner}/${o.repo}/releases/download/${o.tag}/${o.asset}`;

/** The URL an origin is fetched from: GitHub (or GITHUB_BASE_URL), or the bucket's HTTPS URL in its partition's domain. */
export function originUrl(o: Origin, githubBaseUrl: string): string {
  if (o.kind === 'github') return `${githubBaseUrl.replace(/\/+$/, '')}/${o.owner}/${o.repo}/releases/download/${o.tag}/${o.asset}`;
  return s3Url(o.bucket, o.region, o.key);
}

/** Path-style HTTPS URL of an object, in the S3 domain of the region's partition (data/partitions.json). */
export function s3Url(bucket: string, region: string, key: string): string {
  const domain = regionFacts(region)?.dnsSuffix ?? 'amazonaws.com';
  return `https://s3.${region}.${domain}/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
