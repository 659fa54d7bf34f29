// Options that steer a run but are not build variables (they never reach Packer).
import { ConfigError, ConfigErrors, type UserError } from '../errors.ts';
import { coerce } from './coerce.ts';
import { allowedText, boolean, list, string, type Declaration, type ValueOf } from './declare.ts';

export const options = {
  k8s: string({
    group: 'Kubernetes',
    default: '',
    pattern: '^[0-9]+\\.[0-9]+$',
    format: 'a Kubernetes minor such as 1.28',
    description: 'Kubernetes minor to build (`make 1.28` is `make k8s=1.28`); empty: newest supported minor in the bucket.',
  }),
  preset: list({
    group: 'Kubernetes',
    default: [],
    itemPattern: '^[a-z0-9-]+$',
    itemFormat: 'preset names from data/presets/',
    description: 'Presets applied over the defaults, in order (data/presets/<name>.json).',
  }),
  PACKER_VARIABLE_FILE: string({
    group: 'Kubernetes',
    default: '',
    aliases: ['var_file'],
    description: 'Variable file (JSON or .pkrvars.hcl) applied over presets and under the command line.',
  }),
  lock: string({
    group: 'Kubernetes',
    default: '',
    description: 'Lock file written by `make stage` (build.lock.json): the build replays exactly its versions, mirror, source AMI and checksums.',
  }),
  dry_run: boolean({
    group: 'Kubernetes',
    default: false,
    description: 'Resolve, render and validate, write plan.json, but do not run `packer build`.',
  }),
  result_file: string({
    group: 'Kubernetes',
    default: '',
    description: "Also write the run's outcome (status, exit code, AMI name, AMIs per region, versions) as JSON to this file; `make all` sets it per cell.",
  }),
} satisfies Record<string, Declaration>;

export type OptionName = keyof typeof options;
export interface RunOptions {
  k8s: string;
  preset: string[];
  PACKER_VARIABLE_FILE: string;
  lock: string;
  dry_run: boolean;
  result_file: string;
}

export const optionNames = Object.keys(options) as OptionName[];

export function canonicalOption(name: string): OptionName | undefined {
  if (name in options) return name as OptionName;
  return optionNames.find((n) => (options[n] as Declaration).aliases?.includes(name));
}

/** Whether a coerced value meets its declaration (range, pattern, enum): the checks the schema makes for variables. */
function meets(d: Declaration, value: unknown): boolean {
  switch (d.kind) {
    case 'integer':
      return (
        (d.minimum === undefined || (value as number) >= d.minimum) &&
        (d.maximum === undefined || (value as number) <= d.maximum) &&
        (!d.enum || d.enum.includes(value as number))
      );
    case 'string':
      if (value === '' && d.default === '') return true;
      return (!d.enum || d.enum.includes(value as string)) && (!d.pattern || new RegExp(`^(?:${d.pattern})$`).test(value as string));
    case 'list':
      return !d.itemPattern || (value as string[]).every((item) => new RegExp(`^(?:${d.itemPattern})$`).test(item));
    case 'boolean':
      return true;
  }
}

/**
 * Splits a command's own declared options (name=value, by the same declarations as the run options) off its
 * words: their values (defaults for those not given) and the words left for configure(). Every bad value is
 * reported together, before anything runs.
 */
export function splitDeclaredOptions<T extends Record<string, Declaration>>(
  words: string[],
  declared: T,
): { values: { -readonly [K in keyof T]: ValueOf<T[K]> }; given: Set<keyof T>; rest: string[] } {
  const values = Object.fromEntries(Object.entries(declared).map(([name, d]) => [name, structuredClone(d.default)])) as {
    -readonly [K in keyof T]: ValueOf<T[K]>;
  };
  const given = new Set<keyof T>();
  const rest: string[] = [];
  const problems: UserError[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    const name = eq < 0 ? '' : word.slice(0, eq);
    const d = Object.hasOwn(declared, name) ? declared[name] : undefined;
    if (!d) {
      rest.push(word);
      continue;
    }
    const raw = word.slice(eq + 1);
    try {
      const value = coerce(name, d, raw);
      if (!meets(d, value)) throw new ConfigError(name, raw, allowedText(d));
      (values as Record<string, unknown>)[name] = value;
      given.add(name);
    } catch (error) {
      problems.push(error as UserError);
    }
  }
  if (problems.length) throw new ConfigErrors(problems);
  return { values, given, rest };
}
