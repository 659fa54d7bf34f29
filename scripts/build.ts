#!/usr/bin/env tsx
// `make 1.28 [name=value …]`: build (or with dry_run=true, plan) an EKS worker AMI.
import { defaultClients } from '../src/aws/default-clients.ts';
import { main, stderrLog } from '../src/cli/main.ts';
import { runPipeline } from '../src/pipeline.ts';
import { processRunner } from '../src/process/run.ts';

await main(async () => {
  const result = await runPipeline(process.argv.slice(2), {
    runner: processRunner,
    clients: defaultClients,
    env: process.env,
    log: stderrLog,
  });
  return result.exitCode;
});
