// Validate: the rendered template must be `packer fmt`-clean and pass `packer validate`.
import { join } from 'node:path';
import { TemplateError } from '../errors.ts';
import { TEMPLATE_FILE } from '../layout.ts';
import type { Runner } from '../process/run.ts';

/**
 * Normalise layout with `packer fmt` (handlebars cannot align `=` signs). One call: fmt rewrites the file or fails
 * to parse it, so a second `fmt -check` pass would only repeat its work.
 */
export async function formatTemplate(runner: Runner, dir: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const file = join(dir, TEMPLATE_FILE);
  const fmt = await runner.capture('packer', ['fmt', file], { env });
  if (fmt.exitCode !== 0) throw new TemplateError(`packer fmt could not parse the rendered template ${file}:\n${fmt.stderr || fmt.stdout}`);
}

export async function validateTemplate(runner: Runner, dir: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const file = join(dir, TEMPLATE_FILE);
  const result = await runner.capture('packer', ['validate', file], { env });
  if (result.exitCode !== 0) {
    throw new TemplateError(`packer validate rejected ${file}:\n${(result.stderr + result.stdout).trim()}`);
  }
}
