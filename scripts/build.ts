#!/usr/bin/env tsx
// `make 1.28 [name=value …]`: build (or with dry_run=true, plan) an EKS worker AMI.
// `packer version` starts first, then the pipeline's modules load (about a third of a second) while it runs.
import { detectPacker } from '../src/process/packer.ts';
import { processRunner } from '../src/process/run.ts';

const packer = detectPacker(processRunner, process.env);
// Awaited by the pipeline after the configuration is checked; a failure is reported there, in that order.
packer.catch(() => undefined);
const [{ defaultClients }, { main, stderrLog }, { runPipeline }, { writeRunResult }] = await Promise.all([
  import('../src/aws/default-clients.ts'),
  import('../src/cli/main.ts'),
  import('../src/pipeline.ts'),
  import('../src/report/run-result.ts'),
]);

// With result_file=…, the outcome is written there as JSON once the exit code is known (make all reads it).
const record = {};
await main(
  async () => {
    const result = await runPipeline(process.argv.slice(2), {
      runner: processRunner,
      clients: defaultClients,
      env: process.env,
      log: stderrLog,
      packer,
      record,
    });
    return result.exitCode;
  },
  (code) => writeRunResult(record, code),
);
