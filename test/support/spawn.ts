// The one way tests start a process and capture what it printed. capture() blocks; captureAsync() does not,
// for tests whose stand-in servers (GitHub, IMDS, artifact servers) live in this process and must keep
// answering while the child runs. startBackground() starts a process the test talks to while it runs (a daemon,
// a fixture it kills) and leaves it running. entryScript() names the command that runs an entry script (scripts/<name>.ts).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';

export interface Captured {
  /** Exit status; 128 + n when a signal ended it, 127 when it could not start. */
  status: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertion messages. */
  output: string;
}

export interface CaptureOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the child's standard input (capture only). */
  input?: string;
  /** Milliseconds before the child is killed (a guard against a hang, not a measurement). */
  timeout?: number;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
const statusOf = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
const captured = (status: number, stdout: string, stderr: string): Captured => ({ status, stdout, stderr, output: `${stdout}${stderr}` });

export function capture(command: string, args: string[], options: CaptureOptions = {}): Captured {
  const result = spawnSync(command, args, { ...options, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (result.error && result.status === null && result.signal === null)
    return captured(127, result.stdout ?? '', `${result.stderr ?? ''}${result.error.message}`);
  return captured(statusOf(result.status, result.signal), result.stdout, result.stderr);
}

/** capture(), throwing with the command and its stderr unless it exits 0; returns stdout. */
export function mustCapture(command: string, args: string[], options: CaptureOptions = {}): string {
  const result = capture(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export interface AsyncCaptureOptions extends Omit<CaptureOptions, 'input'> {
  /** Called with all output so far (stdout and stderr) whenever more arrives, so a test can act on an event the child reports. */
  onOutput?: (output: string) => void;
  /** When this settles first, the child is killed (SIGKILL) and the result says `stopped` (a guard against a hang). */
  stop?: Promise<unknown>;
  /** Its own process group, to be signalled as a whole (`process.kill(-pid)`), as a terminal's Ctrl-C would be. */
  detached?: boolean;
  /** Called with the child's PID once it started. */
  onStart?: (pid: number) => void;
}

export function captureAsync(command: string, args: string[], options: AsyncCaptureOptions = {}): Promise<Captured & { stopped: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeout,
      detached: options.detached,
    });
    if (child.pid !== undefined) options.onStart?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      options.onOutput?.(`${stdout}${stderr}`);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      options.onOutput?.(`${stdout}${stderr}`);
    });
    let closed = false;
    let stopped = false;
    void options.stop?.then(() => {
      if (closed) return;
      stopped = true;
      child.kill('SIGKILL');
    });
    child.once('error', (error) => {
      closed = true;
      reject(error);
    });
    child.once('close', (code, signal) => {
      closed = true;
      resolve({ ...captured(statusOf(code, signal), stdout, stderr), stopped });
    });
  });
}

export type { ChildProcess };

export interface BackgroundOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** File the child's stdout and stderr are appended to (a daemon's log). Without it, stdout is a pipe the test
   * reads (child.stdout) and stderr is the test's own. */
  log?: string;
  /** Its own process group, to be ended as a whole (`process.kill(-pid)`) with everything it started. */
  detached?: boolean;
}

/** Starts a process and returns at once; the test reads it, signals it and waits for its 'exit'. */
export function startBackground(command: string, args: string[], options: BackgroundOptions = {}): ChildProcess {
  if (options.log === undefined)
    return spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'inherit'], detached: options.detached });
  const log = openSync(options.log, 'a');
  try {
    return spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log], detached: options.detached });
  } finally {
    closeSync(log);
  }
}

/** Command and arguments that run scripts/<name>.ts with tsx, from any working directory. */
export function entryScript(name: string, words: string[]): [string, string[]] {
  return [repoPath('node_modules', '.bin', 'tsx'), [repoPath('scripts', `${name}.ts`), ...words]];
}
