// Options that steer a run but are not build variables (they never reach Packer).
import { boolean, list, string, type Declaration } from './declare.ts';

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
