// Options of `make rehearse` only: they steer the rehearsal, never reach the build's configuration, and are
// declared like the run options (src/variables/options.ts) so they parse and fail the same way.
import { ConfigError, ConfigErrors, type UserError } from '../errors.ts';
import { coerce } from '../variables/coerce.ts';
import { boolean, type Declaration } from '../variables/declare.ts';
import type { Configuration } from '../variables/configure.ts';
import { UPSTREAM_EKS_BUCKET } from './stage.ts';

export const rehearsalOptions = {
  stage: boolean({
    group: 'Kubernetes',
    default: false,
    description:
      'Rehearse the air-gapped path: the real `make stage` code mirrors the stand-in upstream into binary_bucket_name in the emulator and writes a lock, and the build replays that lock (pull_cni_from_github=false).',
  }),
} satisfies Record<string, Declaration>;

export interface RehearsalOptions {
  stage: boolean;
}

/** Splits the rehearsal's own options off the words; the rest are the build's (variables and run options). */
export function parseRehearsalOptions(words: string[]): { options: RehearsalOptions; buildWords: string[] } {
  const options: RehearsalOptions = { stage: false };
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
  if (!options.stage) return problems;
  const v = config.values;
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
