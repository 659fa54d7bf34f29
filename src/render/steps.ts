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

/** One `provisioner "shell"` block: consecutive steps Packer runs in order with the same settings. */
export interface ProvisionerBlock {
  steps: Step[];
  expect_disconnect: boolean;
  /** pause_before of the block's first step (only a first step can have one). */
  pause_before?: string;
  /** Downloads after the block: those of its last step (only a last step can have any). */
  downloads: string[];
}

/**
 * Consecutive steps share one shell provisioner (`scripts = [...]`) unless a step needs a block of its own
 * settings: a step that expects a disconnect (a reboot) stands alone, a pause starts a new block and a
 * download ends one. Why: Packer 1.6.6 starts a plugin process per provisioner block, in `validate` as in
 * `build`, so 26 one-script blocks cost `make 1.28 dry_run=true` about half a second. Within a block Packer
 * still runs each script on its own, logs "Provisioning with shell script: <script>" and stops at the first
 * that fails, so a failure is still pinned to its step.
 */
export function provisionerBlocks(steps: Step[]): ProvisionerBlock[] {
  const blocks: ProvisionerBlock[] = [];
  for (const step of steps) {
    const last = blocks.at(-1);
    const joins = last && !last.expect_disconnect && last.downloads.length === 0 && !step.expect_disconnect && !step.pause_before;
    if (joins) {
      last.steps.push(step);
      last.downloads = step.downloads ?? [];
    } else {
      blocks.push({ steps: [step], expect_disconnect: step.expect_disconnect ?? false, pause_before: step.pause_before, downloads: step.downloads ?? [] });
    }
  }
  return blocks;
}
