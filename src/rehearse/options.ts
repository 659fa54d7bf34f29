// Options of `make rehearse` only: they steer the rehearsal, never reach the build's configuration, and are
// declared like the run options (src/variables/options.ts) so they parse and fail the same way.
import { ConfigError, ConfigErrors, type UserError } from '../errors.ts';
import { coerce } from '../variables/coerce.ts';
import { boolean, type Declaration } from '../variables/declare.ts';
import type { Configuration } from '../variables/configure.ts';
import { minorsWithUpstream, minorUpstream, supportedMinors } from '../data/minors.ts';
import { UPSTREAM_EKS_BUCKET } from './stage.ts';

export const rehearsalOptions = {
  stage: boolean({
    group: 'Kubernetes',
    default: false,
    description:
      'Rehearse the air-gapped path: the real `make stage` code mirrors the stand-in upstream into binary_bucket_name in the emulator and writes a lock, and the build replays that lock (pull_cni_from_github=false).',
  }),
  join: boolean({
    group: 'Kubernetes',
    default: false,
    description:
      'After the build, boot the image as a node in a qemu VM and join it to a local control plane (etcd, kube-apiserver and kube-controller-manager built from source): the node must turn Ready, run a pod and serve a ClusterIP Service through kube-proxy in IPVS mode (and nftables mode where the image lists it). Results in build/<ami>/rehearsal/join/.',
  }),
} satisfies Record<string, Declaration>;

export interface RehearsalOptions {
  stage: boolean;
  join: boolean;
}

/** Splits the rehearsal's own options off the words; the rest are the build's (variables and run options). */
export function parseRehearsalOptions(words: string[]): { options: RehearsalOptions; buildWords: string[] } {
  const options: RehearsalOptions = { stage: false, join: false };
  const buildWords: string[] = [];
  const problems: UserError[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? '' : word.slice(0, eq);
    if (!(name in rehearsalOptions)) {
      buildWords.push(word);
      continue;
    }
    try {
      options[name as keyof RehearsalOptions] = coerce(name, rehearsalOptions[name as keyof RehearsalOptions], word.slice(eq + 1)) as boolean;
    } catch (error) {
      problems.push(error as UserError);
    }
  }
  if (problems.length) throw new ConfigErrors(problems);
  return { options, buildWords };
}

/**
 * Combinations a rehearsal cannot run, refused before anything starts. A lock from a real `make stage` pins
 * the digests of real artifacts, which the rehearsal's stand-ins never have: the instance would refuse every
 * download, so the rehearsal writes and replays a lock of its own (stage=true) instead.
 */
export function rehearsalProblems(options: RehearsalOptions, config: Configuration): ConfigError[] {
  const problems: ConfigError[] = [];
  if (config.options.lock) {
    problems.push(
      new ConfigError(
        'lock',
        config.options.lock,
        'no lock file in a rehearsal: its stand-in artifacts never have the digests a real `make stage` pinned',
        'Rehearse staging and the replay of its lock together with stage=true (make rehearse 1.28 stage=true binary_bucket_name=my-mirror).',
      ),
    );
  }
  const v = config.values;
  problems.push(...upstreamProblems(config));
  if (options.join && config.options.dry_run) {
    problems.push(new ConfigError('dry_run', true, 'false with join=true: there is no image to join without a build'));
  }
  if (!options.stage) return problems;
  if (config.sourceOf.pull_cni_from_github !== 'default' && v.pull_cni_from_github) {
    problems.push(new ConfigError('pull_cni_from_github', true, 'false (or unset) with stage=true: a build replaying a lock reads everything from the mirror'));
  }
  if (config.sourceOf.binary_bucket_name !== 'default' && v.binary_bucket_name === UPSTREAM_EKS_BUCKET) {
    problems.push(
      new ConfigError(
        'binary_bucket_name',
        v.binary_bucket_name,
        `your mirror bucket's name with stage=true, not ${UPSTREAM_EKS_BUCKET} (the upstream staged from)`,
        "Leave it unset for the rehearsal's own mirror.",
      ),
    );
  }
  return problems;
}

/**
 * The rehearsal installs and runs the real upstream binaries, built here from the minor's pinned source: only
 * minors whose source the Go module proxy serves, and only this machine's architecture (the provisioners run the
 * binaries, e.g. `kubelet --version`, and a join boots them).
 */
function upstreamProblems(config: Configuration): ConfigError[] {
  const problems: ConfigError[] = [];
  const minor = config.minor || supportedMinors().at(-1)!;
  if (!minorUpstream(minor)) {
    problems.push(
      new ConfigError(
        'k8s',
        minor,
        `a minor whose upstream source is pinned in data/kubernetes-minors.json: ${minorsWithUpstream().join(', ')}`,
        'The rehearsal installs binaries built from source, and the Go module proxy does not serve older Kubernetes releases; make 1.xx builds real images of every supported minor.',
      ),
    );
  }
  if (config.values.arch !== 'x86_64') {
    problems.push(
      new ConfigError(
        'arch',
        config.values.arch,
        'x86_64 in a rehearsal: it runs the real binaries on this x86_64 machine',
        'make 1.xx arch=arm64 dry_run=true renders and validates an arm64 build.',
      ),
    );
  }
  return problems;
}
