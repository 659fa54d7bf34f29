// Every artifact a build of one configuration downloads (provisioners/kubernetes.sh, containerd.sh,
// cni-plugins.sh, aws-cli.sh, ssm-agent.sh), where it is published with its checksum file or detached PGP
// signature, and where the mirror keeps both: the key layout of docs/provisioner-contract.md, so a build
// with pull_cni_from_github=false finds everything in the mirror and needs nothing else.
import { regionFacts } from '../data/partitions.ts';

export type Origin =
  | { kind: 's3'; bucket: string; region: string; key: string }
  | { kind: 'github'; owner: string; repo: string; tag: string; asset: string }
  /** The AWS CLI v2 download site (AWSCLI_BASE_URL, https://awscli.amazonaws.com by default). */
  | { kind: 'awscli'; asset: string };

/**
 * How an artifact is proven genuine: its SHA-256 in a published checksum file, or (AWS CLI, SSM agent, which
 * publish no checksum) a detached PGP signature checked against a key committed in provisioners/lib/keys.
 */
export type Verification = { kind: 'sha256-file' } | { kind: 'pgp-signature'; keyFile: string };

export interface ArtifactSpec {
  /** Short name for progress and messages: kubelet, containerd, runc, cni-plugins … */
  name: string;
  /** File name the checksum file lists (and the provisioner verifies): kubelet, runc.amd64 … */
  file: string;
  origin: Origin;
  verification: Verification;
  /** The published checksum file (or detached signature) next to it. */
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
  /** RHEL major of the image: RHEL 8 gets containerd 2.x's static build (containerdAsset). Default 9. */
  rhelVersion?: number;
  runcVersion: string;
  /** The bucket the EKS binaries are read from (normally amazon-eks, us-west-2). */
  sourceBucket: { name: string; region: string };
  /** Region whose amazon-ssm-<region> bucket the SSM agent is read from (normally the build's region). */
  ssmRegion: string;
}

/** Public keys the signed artifacts are checked against, in provisioners/lib/keys (the instance uses the same). */
export const SIGNING_KEYS = { awsCli: 'aws-cli-v2.asc', ssmAgent: 'amazon-ssm-agent.asc' } as const;

/** Mirror keys of the signed artifacts; provisioners/aws-cli.sh and ssm-agent.sh read the same. */
export const awsCliMirrorKey = (asset: string): string => `awscli/${asset}`;
/** The mirror keeps the amazon-ssm-<region> bucket's layout (latest/linux_<arch>/…) under this prefix. */
export const SSM_MIRROR_PREFIX = 'amazon-ssm-agent';
export const ssmAgentMirrorKey = (binaryArch: string): string => `${SSM_MIRROR_PREFIX}/latest/linux_${binaryArch}/amazon-ssm-agent.rpm`;

/**
 * The containerd release asset a build installs; provisioners/containerd.sh picks the same name. containerd's
 * dynamically linked 2.x builds need a newer glibc than RHEL 8's 2.28, so RHEL 8 gets the project's static
 * build of 2.x (containerd-static-…, published with its own .sha256sum); 1.7 and RHEL 9/10 get the usual build.
 */
export function containerdAsset(version: string, binaryArch: string, rhelVersion = 9): string {
  const staticBuild = rhelVersion === 8 && !version.startsWith('1.');
  return `containerd-${staticBuild ? 'static-' : ''}${version}-linux-${binaryArch}.tar.gz`;
}

/** EKS bucket binaries a build may go without: bootstrap.sh falls back when aws-iam-authenticator is absent. */
export const OPTIONAL_EKS_BINARIES: readonly string[] = ['aws-iam-authenticator'];

/** Binaries of the EKS bucket a build installs (kubectl for the operator's convenience on the node). */
export const EKS_BINARIES = ['kubelet', 'kubectl', 'aws-iam-authenticator', 'ecr-credential-provider'] as const;

export function artifactsFor(q: ArtifactQuery): ArtifactSpec[] {
  const prefix = `${q.kubernetesVersion}/${q.buildDate}/bin/linux/${q.binaryArch}`;
  const s3 = (key: string): Origin => ({ kind: 's3', bucket: q.sourceBucket.name, region: q.sourceBucket.region, key });
  const sha256File: Verification = { kind: 'sha256-file' };
  const eks = EKS_BINARIES.map((binary) => ({
    name: binary,
    file: binary,
    verification: sha256File,
    origin: s3(`${prefix}/${binary}`),
    checksumOrigin: s3(`${prefix}/${binary}.sha256`),
    key: `${prefix}/${binary}`,
    checksumKey: `${prefix}/${binary}.sha256`,
  }));
  const github = (name: string, owner: string, repo: string, tag: string, asset: string, checksumAsset: string): ArtifactSpec => {
    const origin: Origin = { kind: 'github', owner, repo, tag, asset };
    const checksumOrigin: Origin = { kind: 'github', owner, repo, tag, asset: checksumAsset };
    return { name, file: asset, verification: sha256File, origin, checksumOrigin, key: mirrorKey(origin), checksumKey: mirrorKey(checksumOrigin) };
  };
  const cni = `cni-plugins-linux-${q.binaryArch}-${q.cniPluginVersion}.tgz`;
  const containerd = containerdAsset(q.containerdVersion, q.binaryArch, q.rhelVersion);
  return [
    ...eks,
    github('cni-plugins', 'containernetworking', 'plugins', q.cniPluginVersion, cni, `${cni}.sha256`),
    github('containerd', 'containerd', 'containerd', `v${q.containerdVersion}`, containerd, `${containerd}.sha256sum`),
    github('runc', 'opencontainers', 'runc', `v${q.runcVersion}`, `runc.${q.binaryArch}`, 'runc.sha256sum'),
    ...signedArtifacts(q),
  ];
}

/** The AWS CLI v2 installer and the SSM agent RPM: "latest" upstream, so the lock's SHA-256 is what pins them. */
function signedArtifacts(q: ArtifactQuery): ArtifactSpec[] {
  const cli = `awscli-exe-linux-${q.binaryArch === 'amd64' ? 'x86_64' : 'aarch64'}.zip`;
  const ssmBucket = `amazon-ssm-${q.ssmRegion}`;
  const ssmKey = `latest/linux_${q.binaryArch}/amazon-ssm-agent.rpm`;
  return [
    {
      name: 'aws-cli',
      file: cli,
      verification: { kind: 'pgp-signature', keyFile: SIGNING_KEYS.awsCli },
      origin: { kind: 'awscli', asset: cli },
      checksumOrigin: { kind: 'awscli', asset: `${cli}.sig` },
      key: awsCliMirrorKey(cli),
      checksumKey: awsCliMirrorKey(`${cli}.sig`),
    },
    {
      name: 'ssm-agent',
      file: 'amazon-ssm-agent.rpm',
      verification: { kind: 'pgp-signature', keyFile: SIGNING_KEYS.ssmAgent },
      origin: { kind: 's3', bucket: ssmBucket, region: q.ssmRegion, key: ssmKey },
      checksumOrigin: { kind: 's3', bucket: ssmBucket, region: q.ssmRegion, key: `${ssmKey}.sig` },
      key: ssmAgentMirrorKey(q.binaryArch),
      checksumKey: `${ssmAgentMirrorKey(q.binaryArch)}.sig`,
    },
  ];
}

/** github/<owner>/<repo>/releases/download/<tag>/<asset>: a release URL's path under github/. */
export const mirrorKey = (o: Extract<Origin, { kind: 'github' }>): string => `github/${o.owner}/${o.repo}/releases/download/${o.tag}/${o.asset}`;

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
