// Test prerequisites: under CI=true a missing tool fails the run; locally it fails too, with the fix.
import { spawnSync } from 'node:child_process';

export function hasTool(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

/** Throws (never skips) when a tool the test needs is missing, saying how to get it. */
export function requireTool(command: string, purpose: string): void {
  if (hasTool(command)) return;
  throw new Error(
    `${command} is required for ${purpose} but is not on PATH. Run 'make test-deps' (as root) to install the test prerequisites.`,
  );
}
