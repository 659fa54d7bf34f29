// Tests whose servers live in the test's own process (registry, webhook) must not block the event loop while a
// client talks to them: spawnSync would deadlock, so clients run asynchronously.
import { execFile } from 'node:child_process';

export interface AsyncResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function runAsync(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<AsyncResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { env: options.env ?? process.env, timeout: options.timeoutMs ?? 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ status: code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
      },
    );
  });
}
