#!/usr/bin/env tsx
// `make all [jobs=2] [k8s=… rhel_version=… arch=… variant=…] [emulator=true] [ssm_prefix=/…] [build variables …]`:
// build every cell of data/matrix.json (or the selected ones) with `scripts/build.ts`, `jobs` at a time, logs in
// build/matrix/<cell>.log, then a summary table (also appended to $GITHUB_STEP_SUMMARY under GitHub Actions).
// Other name=value words (dry_run=true, preset=…, ami_regions=…) go to every cell's build unchanged.
// `make all report=DIR` only prints the table merged from the results.json files under DIR (CI's last job).
import { appendFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { main, stderrLog } from '../src/cli/main.ts';
import { parseArguments } from '../src/cli/arguments.ts';
import { ConfigError, EXIT } from '../src/errors.ts';
import { repoPath } from '../src/paths.ts';
import { processRunner } from '../src/process/run.ts';
import { collectResults, DEFAULT_LOG_DIR, runCells, summaryMarkdown, summaryTable } from '../src/lifecycle/all.ts';
import { lifecycleClients } from '../src/aws/lifecycle-clients.ts';
import { cellFilterFrom, cellFilterOptions } from '../src/lifecycle/cell-filter.ts';
import { filterCells, loadMatrix } from '../src/lifecycle/matrix.ts';
import { parseOptions } from '../src/lifecycle/options.ts';
import { checkPrefix, publishImageParameters } from '../src/lifecycle/ssm.ts';
import { startRehearsalEmulator } from '../src/lifecycle/rehearsal.ts';
import { canonicalName } from '../src/variables/declarations.ts';
import { canonicalOption } from '../src/variables/options.ts';
import { closestName } from '../src/variables/suggest.ts';

const specs = {
  ...cellFilterOptions,
  jobs: { kind: 'integer', default: 2, minimum: 1, maximum: 32, description: 'Cells built at the same time' },
  emulator: { kind: 'boolean', default: false, description: 'Run against a seeded local moto_server (needs dry_run=true)' },
  ssm_prefix: { kind: 'string', default: '', pattern: '(/[A-Za-z0-9_.-]+)+', format: 'a parameter path such as /rhel-eks-ami', description: 'After each successful build, publish <prefix>/rhel-N/<k8s>/<arch>/<variant>/image_id' },
  report: { kind: 'string', default: '', description: 'Only print the summary merged from results.json files under this directory' },
} as const;

const findResults = (dir: string): string[] =>
  readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findResults(path);
    return entry === 'results.json' ? [path] : [];
  });

function writeSummaries(markdown: string): void {
  writeFileSync(repoPath(DEFAULT_LOG_DIR, 'summary.md'), markdown);
  if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
}

await main(async () => {
  const parsed = parseOptions(process.argv.slice(2), specs, {
    command: 'make all',
    positional: true,
    // Build variables go on to every cell; a name close to one of ours is reported as a typo of ours, any other
    // unknown name by the build's own check (which suggests the closest build variable).
    passThrough: (name) => canonicalName(name) !== undefined || canonicalOption(name) !== undefined || closestName(name, Object.keys(specs)) === undefined,
  });
  const { values } = parsed;
  if (values.report) {
    const results = collectResults(findResults(values.report));
    const markdown = summaryMarkdown(results);
    process.stdout.write(markdown);
    if (process.env.GITHUB_STEP_SUMMARY) appendFileSync(process.env.GITHUB_STEP_SUMMARY, `${markdown}\n`);
    return results.every((r) => r.exitCode === 0) && results.length > 0 ? EXIT.ok : 1;
  }
  // The words handed to every build are checked here, once, before anything starts.
  const minors = parsed.positional.filter((w) => /^[0-9]+\.[0-9]+$/.test(w));
  const stray = parsed.positional.filter((w) => !minors.includes(w));
  const build = parseArguments([...stray, ...parsed.rest], process.env);
  const today = new Date();
  const cells = filterCells(loadMatrix(undefined, { today, includeUnsupported: values.include_unsupported }), cellFilterFrom(values, minors), today);
  if (cells.length > 1 && parsed.rest.some((w) => canonicalName(w.split('=')[0]) === 'ami_name')) {
    throw new ConfigError('ami_name', parsed.rest.find((w) => w.startsWith('ami_name='))!.slice(9), 'unset when several cells are built (each needs its own name)');
  }
  if (values.emulator && !build.options.dry_run) throw new ConfigError('emulator', true, 'only with dry_run=true (the emulator cannot run packer build)');
  if (values.ssm_prefix) checkPrefix(values.ssm_prefix);

  let env: NodeJS.ProcessEnv = process.env;
  const moto = values.emulator ? await startRehearsalEmulator(cells) : undefined;
  if (moto) {
    env = { ...process.env, ...moto.env };
    stderrLog(`Emulator at ${moto.endpoint}, seeded for ${cells.length} cells`);
  }
  const clients = lifecycleClients();
  try {
    stderrLog(`Building ${cells.length} cells, ${Math.min(values.jobs, cells.length)} at a time; logs in ${DEFAULT_LOG_DIR}/`);
    const results = await runCells({
      runner: processRunner,
      cells,
      extraWords: parsed.rest,
      jobs: values.jobs,
      env,
      log: stderrLog,
      afterSuccess:
        values.ssm_prefix && !build.options.dry_run
          ? async (result) => {
              const published = await publishImageParameters(clients, values.ssm_prefix, result.cell, result.amis);
              for (const p of published) stderrLog(`SSM ${p.region} ${p.name} = ${p.value} (version ${p.version})`);
            }
          : undefined,
    });
    console.log(summaryTable(results));
    writeSummaries(summaryMarkdown(results, build.options.dry_run ? 'AMI dry runs' : 'AMI builds'));
    return results.every((r) => r.exitCode === 0) ? EXIT.ok : 1;
  } finally {
    await moto?.stop();
  }
});
