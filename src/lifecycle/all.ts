// `make all`: every matrix cell through the existing pipeline (`tsx scripts/build.ts <minor> rhel_version=…
// arch=… variant=… [extra words] result_file=…`), at most `jobs` at a time, each cell's output in
// build/matrix/<cell>.log and its outcome in build/matrix/<cell>.result.json (written by the build, see
// report/run-result.ts), then a summary table. The Runner spawns; tests substitute their own.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Runner } from '../process/run.ts';
import { relativeToRepo, repoPath } from '../paths.ts';
import type { RunResultFile } from '../report/run-result.ts';
import { formatDuration, type AmiByRegion } from '../report/summary.ts';
import { cellBuildWords, type NamedCell } from './matrix.ts';

export interface CellResult {
  cell: NamedCell;
  exitCode: number;
  seconds: number;
  /** The AMI name the pipeline reported (its build directory is build/<ami_name>/), if it got that far. */
  ami_name?: string;
  build_dir?: string;
  amis: AmiByRegion[];
  /** The versions the cell's build planned with (from its result file). */
  versions?: Record<string, string>;
  log: string;
  /** Set when publishing SSM parameters after the build failed. */
  publish_error?: string;
}

export interface RunCellsOptions {
  runner: Runner;
  cells: NamedCell[];
  /** Words handed to every cell's build after the cell's own (e.g. dry_run=true). */
  extraWords: string[];
  jobs: number;
  env: NodeJS.ProcessEnv;
  /** Directory for per-cell logs and results.json (default build/matrix). */
  logDir?: string;
  log?: (line: string) => void;
  /** Called after a cell succeeded (e.g. to publish SSM parameters); a throw marks the cell failed. */
  afterSuccess?: (result: CellResult) => Promise<void>;
  now?: () => number;
}

export const DEFAULT_LOG_DIR = 'build/matrix';

/**
 * The command a cell runs; its output goes to $CELL_LOG through the shell so the log grows while it runs, its
 * outcome to `resultFile` (the build's result_file option, last so that it wins over an extra word).
 */
export function cellCommand(cell: NamedCell, extraWords: string[], resultFile: string): { command: string; args: string[] } {
  return {
    command: 'bash',
    args: ['-c', 'exec "$@" >"$CELL_LOG" 2>&1', 'make-all-cell', repoPath('node_modules', '.bin', 'tsx'), repoPath('scripts', 'build.ts'), ...cellBuildWords(cell), ...extraWords, `result_file=${resultFile}`],
  };
}

/** The build's result file, or undefined when the build ended before it knew where to write one. */
export function readCellResult(file: string): RunResultFile | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as RunResultFile;
}

export async function runCells(options: RunCellsOptions): Promise<CellResult[]> {
  const logDir = repoPath(options.logDir ?? DEFAULT_LOG_DIR);
  mkdirSync(logDir, { recursive: true });
  const now = options.now ?? Date.now;
  const results: CellResult[] = new Array(options.cells.length);
  let next = 0;
  const worker = async () => {
    while (next < options.cells.length) {
      const index = next++;
      const cell = options.cells[index];
      const logFile = join(logDir, `${cell.name}.log`);
      const resultFile = join(logDir, `${cell.name}.result.json`);
      // A result left by an earlier run must not stand in for this one's.
      rmSync(resultFile, { force: true });
      const started = now();
      options.log?.(`start  ${cell.name} (log ${relativeToRepo(logFile)})`);
      const { command, args } = cellCommand(cell, options.extraWords, resultFile);
      const run = await options.runner.capture(command, args, { cwd: repoPath(), env: { ...options.env, CELL_LOG: logFile } });
      if (run.stderr.trim()) writeFileSync(logFile, `${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}${run.stderr}`);
      const outcome = readCellResult(resultFile);
      // The process's exit code decides; the result file says what the build got to.
      const result: CellResult = {
        cell,
        exitCode: run.exitCode,
        seconds: (now() - started) / 1000,
        ami_name: outcome?.ami_name,
        build_dir: outcome?.build_dir,
        amis: run.exitCode === 0 ? (outcome?.amis ?? []) : [],
        versions: outcome?.versions,
        log: relativeToRepo(logFile),
      };
      if (result.exitCode === 0 && options.afterSuccess) {
        try {
          await options.afterSuccess(result);
        } catch (error) {
          result.publish_error = (error as Error).message;
          result.exitCode = 1;
        }
      }
      results[index] = result;
      options.log?.(`${result.exitCode === 0 ? 'done  ' : 'FAILED'} ${cell.name} in ${formatDuration(result.seconds)}${result.exitCode ? ` (exit ${result.exitCode}, see ${result.log})` : ''}`);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.jobs, options.cells.length)) }, worker));
  writeFileSync(join(logDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  return results;
}

const status = (r: CellResult): string => (r.exitCode === 0 ? 'ok' : r.publish_error ? `failed (SSM: ${r.publish_error})` : `failed (exit ${r.exitCode})`);
const amiText = (r: CellResult): string => r.amis.map((a) => `${a.region}: ${a.ami}`).join(', ') || '-';

/** Plain-text table for the terminal. */
export function summaryTable(results: CellResult[]): string {
  const rows = [['cell', 'result', 'time', 'AMI name', 'AMIs', 'log'], ...results.map((r) => [r.cell.name, status(r), formatDuration(r.seconds), r.ami_name ?? '', amiText(r), r.log])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const failed = results.filter((r) => r.exitCode !== 0).length;
  return [line(rows[0]), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line), '', `${results.length - failed} of ${results.length} cells succeeded`].join('\n');
}

/** Markdown table for a GitHub job summary ($GITHUB_STEP_SUMMARY). */
export function summaryMarkdown(results: CellResult[], title = 'AMI builds'): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const failed = results.filter((r) => r.exitCode !== 0).length;
  return [
    `### ${title}: ${results.length - failed} of ${results.length} cells succeeded`,
    '',
    '| cell | Kubernetes | RHEL | arch | variant | result | time | AMI name | AMIs |',
    '|---|---|---|---|---|---|---|---|---|',
    ...results.map((r) =>
      `| ${[r.cell.name, r.cell.k8s, String(r.cell.rhel_version), r.cell.arch, r.cell.variant, `${r.exitCode === 0 ? '✅' : '❌'} ${status(r)}`, formatDuration(r.seconds), r.ami_name ?? '', amiText(r)].map(esc).join(' | ')} |`,
    ),
    '',
  ].join('\n');
}

/** Results written by several runs (one per CI job), merged in matrix order. */
export function collectResults(files: string[]): CellResult[] {
  const all = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')) as CellResult[]);
  return all.sort((a, b) => a.cell.name.localeCompare(b.cell.name, 'en', { numeric: true }));
}
