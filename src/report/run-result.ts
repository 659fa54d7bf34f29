// A run's outcome as JSON (result_file=…): what `make all` reads per cell instead of scraping the cell's log.
// The pipeline fills a RunRecord as it learns things; the entry script writes it once the exit code is known,
// on every path (a configuration error included, once the result_file option itself was read).
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Plan } from '../plan/plan.ts';
import type { AmiByRegion } from './summary.ts';

export interface RunResultFile {
  status: 'ok' | 'failed';
  exit_code: number;
  dry_run?: boolean;
  ami_name?: string;
  /** Relative to the repository (build/<ami_name>). */
  build_dir?: string;
  amis: AmiByRegion[];
  failed_step?: string;
  /** The versions the image was planned with: Kubernetes, its build date, the source RHEL release, and every *_version variable. */
  versions?: Record<string, string>;
}

/** Filled in by the pipeline while it runs; nothing is written unless `result_file` is set. */
export interface RunRecord {
  result_file?: string;
  plan?: Plan;
  amis?: AmiByRegion[];
  failed_step?: string;
}

export function planVersions(plan: Plan): Record<string, string> {
  const versions: Record<string, string> = {
    kubernetes: plan.kubernetes_version,
    kubernetes_build_date: plan.kubernetes_build_date,
    rhel_release: plan.rhel_release,
  };
  for (const [name, value] of Object.entries(plan.variables)) {
    if (name.endsWith('_version') && name !== 'kubernetes_version' && typeof value === 'string' && value) versions[name.replace(/_version$/, '')] = value;
  }
  return versions;
}

export function runResult(record: RunRecord, exitCode: number): RunResultFile {
  const plan = record.plan;
  return {
    status: exitCode === 0 ? 'ok' : 'failed',
    exit_code: exitCode,
    ...(plan ? { dry_run: plan.dry_run, ami_name: plan.ami_name, build_dir: plan.build_dir } : {}),
    amis: record.amis ?? [],
    ...(record.failed_step ? { failed_step: record.failed_step } : {}),
    ...(plan ? { versions: planVersions(plan) } : {}),
  };
}

/** Written whole (a temporary file renamed into place), so a reader never sees half of it. */
export function writeRunResult(record: RunRecord, exitCode: number): void {
  if (!record.result_file) return;
  mkdirSync(dirname(record.result_file), { recursive: true });
  const partial = `${record.result_file}.partial`;
  writeFileSync(partial, `${JSON.stringify(runResult(record, exitCode), null, 2)}\n`);
  renameSync(partial, record.result_file);
}
