// Replaying a lock: the build variables it fixes, the checksums the provisioners must insist on
// (pinnedSha256File), and the variables set elsewhere that contradict it.
import type { BuildLock } from './lock.ts';

export interface LockedInputs {
  /** Build variables the lock fixes, by canonical name; a build with the lock uses exactly these. */
  variables: {
    kubernetes_version: string;
    kubernetes_build_date: string;
    arch: 'x86_64' | 'arm64';
    source_ami_id: string;
    binary_bucket_name: string;
    binary_bucket_region: string;
    pull_cni_from_github: false;
    cni_plugin_version: string;
    containerd_version: string;
    runc_version: string;
  };
  /** What the build must find: the source AMI's name (DescribeImages of the pinned id must return it). */
  sourceAmiName: string;
  /** SHA-256 per file name as the provisioners verify it (kubelet, runc.amd64, …). */
  sha256ByFile: Record<string, string>;
  /** The same as sha256sum lines, for $WORK_DIR/generated/pinned-sha256.txt. */
  pinnedSha256File: string;
}

export function lockedInputs(lock: BuildLock): LockedInputs {
  const sha256ByFile = Object.fromEntries(lock.artifacts.map((a) => [a.file, a.sha256]));
  return {
    variables: {
      kubernetes_version: lock.kubernetes.version,
      kubernetes_build_date: lock.kubernetes.buildDate,
      arch: lock.arch,
      source_ami_id: lock.sourceAmi.id,
      binary_bucket_name: lock.mirror.bucket,
      binary_bucket_region: lock.mirror.region,
      pull_cni_from_github: false,
      ...lock.versions,
    },
    sourceAmiName: lock.sourceAmi.name,
    sha256ByFile,
    pinnedSha256File: lock.artifacts.map((a) => `${a.sha256}  ${a.file}\n`).join(''),
  };
}

/**
 * Variables set elsewhere (file, preset, command line) that contradict the lock, as messages; the pipeline
 * should refuse the build when there are any. `values` are the composed build variables, `sourceOf` their
 * layers ('default' for untouched ones).
 */
export function lockConflicts(lock: BuildLock, values: Record<string, unknown>, sourceOf: Record<string, string>): string[] {
  const fixed = lockedInputs(lock).variables as Record<string, unknown>;
  return Object.entries(fixed)
    .filter(([name, value]) => sourceOf[name] && sourceOf[name] !== 'default' && values[name] !== '' && JSON.stringify(values[name]) !== JSON.stringify(value))
    .map(([name, value]) => `${name}=${JSON.stringify(values[name])} (${sourceOf[name]}) contradicts the lock file, which fixes ${JSON.stringify(value)}`);
}
