// Planning, for `make stage`, without I/O: from the request and what AWS answered (stage-inventory.ts), which
// artifacts to stage and from where, and the lock that records them once staged (stage.ts and run.ts apply).
import { partitionOf } from '../data/partitions.ts';
import { LOCK_VERSION, type BuildLock } from '../lock/lock.ts';
import { bucketArch, type KubernetesBuild } from '../resolve/kubernetes-build.ts';
import type { SourceAmi } from '../resolve/source-ami.ts';
import type { Configuration } from '../variables/configure.ts';
import type { BuildVariables } from '../variables/declarations.ts';
import { artifactsFor, type ArtifactSpec, type BaseUrls } from './artifacts.ts';
import type { StageOptions } from './options.ts';
import type { StagedArtifact } from './stage.ts';

export interface Bucket {
  bucket: string;
  region: string;
}

export interface StageRequest {
  /** The words as given, for the lock's createdBy. */
  words: string[];
  options: StageOptions;
  config: Configuration;
  mirror: Bucket;
  source: { name: string; region: string };
  ssmRegion: string;
  baseUrls: BaseUrls;
  keysDir: string;
  cacheDir: string;
  lockPath: string;
  githubToken?: string;
  caBundlePath?: string;
}

export interface StageInventory {
  kubernetes: KubernetesBuild;
  sourceAmi: SourceAmi;
  /** The build's variables as a build from the mirror would have them. */
  values: BuildVariables;
  /** Optional artifacts (data/artifacts.json) the source bucket does not carry for this build. */
  absent: string[];
}

export interface StagePlan {
  /** In the manifest's order; the optional ones the source lacks are left out. */
  specs: ArtifactSpec[];
  arch: 'x86_64' | 'arm64';
  /** Reads of the source bucket are unsigned when it lies in another partition than the mirror. */
  unsignedSource: boolean;
  /** Everything the lock records but the staged artifacts and the time. */
  lock: Omit<BuildLock, 'artifacts' | 'createdAt'>;
}

/** Reads of a bucket are unsigned when it lies in another partition than the mirror (the commercial bucket from GovCloud). */
export const unsignedFrom =
  (mirror: Bucket) =>
  (region: string): boolean =>
    partitionOf(region) !== partitionOf(mirror.region);

/** Every artifact a build of this configuration installs, as data/artifacts.json resolves it for the source. */
export function wantedArtifacts(request: StageRequest, inventory: StageInventory): ArtifactSpec[] {
  const v = inventory.values;
  return artifactsFor({
    kubernetesVersion: inventory.kubernetes.version,
    buildDate: inventory.kubernetes.buildDate,
    binaryArch: bucketArch(v.arch as 'x86_64' | 'arm64'),
    cniPluginVersion: v.cni_plugin_version,
    containerdVersion: v.containerd_version,
    rhelVersion: v.rhel_version,
    runcVersion: v.runc_version,
    sourceBucket: request.source,
    ssmRegion: request.ssmRegion,
  });
}

export function planStage(request: StageRequest, inventory: StageInventory): StagePlan {
  const v = inventory.values;
  const arch = v.arch as 'x86_64' | 'arm64';
  const { kubernetes: k, sourceAmi } = inventory;
  return {
    specs: wantedArtifacts(request, inventory).filter((spec) => !inventory.absent.includes(spec.name)),
    arch,
    unsignedSource: unsignedFrom(request.mirror)(request.source.region),
    lock: {
      lockVersion: LOCK_VERSION,
      createdBy: `make stage ${request.words.join(' ')}`.trim(),
      kubernetes: { version: k.version, buildDate: k.buildDate, minor: k.minor },
      arch,
      binaryArch: bucketArch(arch),
      versions: { cni_plugin_version: v.cni_plugin_version, containerd_version: v.containerd_version, runc_version: v.runc_version },
      mirror: request.mirror,
      sourceAmi: { id: sourceAmi.id, name: sourceAmi.name, owner: sourceAmi.owner, region: v.aws_region },
    },
  };
}

/** The lock of a finished staging: the plan's record plus each staged artifact's origin, keys and digest. */
export function lockFor(plan: StagePlan, staged: StagedArtifact[], createdAt: Date): BuildLock {
  const { lockVersion, ...record } = plan.lock;
  return {
    lockVersion,
    createdAt: createdAt.toISOString(),
    ...record,
    artifacts: staged.map(({ name, file, origin, url, checksumUrl, key, checksumKey, verifiedBy, sha256, size }) => ({
      name,
      file,
      origin,
      url,
      checksumUrl,
      key,
      checksumKey,
      verifiedBy,
      sha256,
      size,
    })),
  };
}
