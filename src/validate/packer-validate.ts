// Validate: the rendered template must be `packer fmt`-clean and pass `packer validate`.
import { join } from 'node:path';
import { TemplateError } from '../errors.ts';
import type { Runner } from '../process/run.ts';

export const TEMPLATE_FILE = 'eks-worker.pkr.hcl';

/** Normalise layout with `packer fmt` (handlebars cannot align `=` signs), then check it stuck. */
export async function formatTemplate(runner: Runner, dir: string): Promise<void> {
  const file = join(dir, TEMPLATE_FILE);
  const fmt = await runner.capture('packer', ['fmt', file]);
  if (fmt.exitCode !== 0) throw new TemplateError(`packer fmt could not parse the rendered template ${file}:\n${fmt.stderr || fmt.stdout}`);
  const check = await runner.capture('packer', ['fmt', '-check', file]);
  if (check.exitCode !== 0) throw new TemplateError(`packer fmt -check still reports ${file} unformatted.`);
}

export async function validateTemplate(runner: Runner, dir: string): Promise<void> {
  const file = join(dir, TEMPLATE_FILE);
  const result = await runner.capture('packer', ['validate', file]);
  if (result.exitCode !== 0) {
    throw new TemplateError(`packer validate rejected ${file}:\n${(result.stderr + result.stdout).trim()}`);
  }
}
