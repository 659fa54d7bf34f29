// Run the user-facing `make` targets for real, as a person would.
import { repoPath } from '../../src/paths.ts';
import { capture, type Captured } from './spawn.ts';

export type MakeResult = Captured;

/** `make ARGS`; the timeout guards against a hang (a rehearsal that builds upstream binaries cold takes many minutes). */
export function make(args: string[], env: Record<string, string | undefined> = {}, options: { timeoutMs?: number } = {}): MakeResult {
  const rehearsal = args[0] === 'rehearse';
  return capture('make', ['--no-print-directory', ...args], {
    cwd: repoPath(),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
    timeout: options.timeoutMs ?? (rehearsal ? 3_600_000 : 180_000),
  });
}

/** The plan.json path a dry run reports. */
export function planPathFrom(output: string): string {
  const match = /Plan\s+(\S+plan\.json)/.exec(output);
  if (!match) throw new Error(`no plan path in output:\n${output}`);
  return repoPath(match[1]);
}
