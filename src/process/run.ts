// The one place that spawns processes. Orchestration receives a Runner, so tests can substitute one.
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
