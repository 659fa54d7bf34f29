// Test prerequisites: under CI=true a missing tool fails the run; locally it fails too, with the fix.
import { capture } from './spawn.ts';

export function hasTool(command: string): boolean {
  return capture('sh', ['-c', 'command -v "$1"', 'has-tool', command]).status === 0;
}

/** Throws (never skips) when a tool the test needs is missing, saying how to get it. */
export function requireTool(command: string, purpose: string): void {
  if (hasTool(command)) return;
  throw new Error(
    `${command} is required for ${purpose} but is not on PATH. Run 'make test-deps' (as root) to install the test prerequisites.`,
  );
}
