// The one place that spawns processes. Orchestration receives a Runner, so tests can substitute one; the
// rehearsal's setup steps (keys, namespaces, gpg) run synchronously through runSync, and its long-running
// children (the emulator, the container) start through startDetached.
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import { $, type ProcessPromise } from 'zx';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Runner {
  /** Run to completion, capturing output. */
  capture(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<RunResult>;
  /** Run with output streamed to ours; SIGINT/SIGTERM are forwarded so the child can clean up. */
  stream(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void }): Promise<number>;
}

/** Run to completion, synchronously, capturing output; a command that could not start reports exit 127. */
export function runSync(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): RunResult {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error && result.status === null) return { exitCode: 127, stdout: result.stdout ?? '', stderr: `${result.stderr ?? ''}${result.error.message}` };
  return { exitCode: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Whether the shell finds `tool` on the PATH. */
export const onPath = (tool: string): boolean => runSync('sh', ['-c', 'command -v "$1"', 'on-path', tool]).exitCode === 0;

/**
 * A long-running child in its own process group, so a terminal's Ctrl-C reaches Packer and not it; the caller
 * stops it (an emulator, the rehearsal's container).
 */
export function startDetached(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdio: StdioOptions }): ChildProcess {
  return spawn(command, args, { env: options.env ?? process.env, stdio: options.stdio, detached: true });
}

/** Sends `signal` to the process group a startDetached child leads; a group that is already gone is not an error. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

export const processRunner: Runner = {
  async capture(command, args, options = {}) {
    const result = await $({ nothrow: true, quiet: true, cwd: options.cwd, env: options.env ?? process.env })`${command} ${args}`;
    return { exitCode: result.exitCode ?? 1, stdout: result.stdout, stderr: result.stderr };
  },

  async stream(command, args, options = {}) {
    const child: ProcessPromise = $({ nothrow: true, quiet: true, cwd: options.cwd, env: options.env ?? process.env })`${command} ${args}`;
    const forward = (signal: NodeJS.Signals) => () => {
      // Packer cleans up (terminates the instance, deletes the key pair) on SIGINT; give it the chance.
      void child.kill(signal);
    };
    const onInt = forward('SIGINT');
    const onTerm = forward('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    let pending = '';
    const emit = (chunk: Buffer | string, sink: NodeJS.WriteStream) => {
      sink.write(chunk);
      if (!options.onLine) return;
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(options.onLine);
    };
    child.stdout.on('data', (c: Buffer) => emit(c, process.stdout));
    child.stderr.on('data', (c: Buffer) => emit(c, process.stderr));
    try {
      const result = await child;
      return result.exitCode ?? (result.signal ? 128 + 2 : 1);
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    }
  },
};
