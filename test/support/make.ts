// Run the user-facing `make` targets for real, as a person would.
import { spawnSync } from 'node:child_process';
import { repoPath } from '../../src/paths.ts';

export interface MakeResult {
  status: number;
  stdout: string;
  stderr: string;
  output: string;
}

export function make(args: string[], env: Record<string, string | undefined> = {}): MakeResult {
  const result = spawnSync('make', ['--no-print-directory', ...args], {
    cwd: repoPath(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    encoding: 'utf8',
    timeout: 180_000,
  });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr, output: result.stdout + result.stderr };
}

/** The plan.json path a dry run reports. */
export function planPathFrom(output: string): string {
  const match = /Plan\s+(\S+plan\.json)/.exec(output);
  if (!match) throw new Error(`no plan path in output:\n${output}`);
  return repoPath(match[1]);
}
