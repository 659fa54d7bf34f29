// The provisioner steps, in order, from provisioners/steps.json.
import { readFileSync } from 'node:fs';
import { repoPath } from '../paths.ts';

export interface Step {
  script: string;
  description: string;
  expect_disconnect?: boolean;
  pause_before?: string;
  /** Files under WORK_DIR fetched into the build directory after this step (e.g. version-info.json). */
  downloads?: string[];
  /** Variants the step runs in; all when absent. */
  variants?: string[];
}

export function loadSteps(file = repoPath('provisioners', 'steps.json')): Step[] {
  const steps = JSON.parse(readFileSync(file, 'utf8')) as Step[];
  for (const step of steps) {
    if (!/^[a-z0-9][a-z0-9-]*\.sh$/.test(step.script)) throw new Error(`provisioners/steps.json: bad script name ${JSON.stringify(step.script)}`);
    for (const file of step.downloads ?? []) {
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file)) throw new Error(`provisioners/steps.json: bad download ${JSON.stringify(file)}`);
    }
  }
  return steps;
}

export const stepsFor = (steps: Step[], variant: string): Step[] => steps.filter((s) => !s.variants || s.variants.includes(variant));
