#!/usr/bin/env tsx
// `make stage k8s=1.28 binary_bucket_name=B binary_bucket_region=R [arch=arm64]`: mirror every artifact a
// build of that configuration installs into B, verified, and write build.lock.json. Last line:
//   lock=build.lock.json
import { relative } from 'node:path';
import { ec2Client, s3Client } from '../src/aws/clients.ts';
import { main, stderrLog } from '../src/cli/main.ts';
import { runStage } from '../src/stage/run.ts';

await main(async () => {
  const result = await runStage(process.argv.slice(2), {
    env: process.env,
    log: stderrLog,
    write: (line) => console.error(line),
    s3: (region, unsigned) => s3Client(region, { unsigned }),
    ec2: (region) => ec2Client(region),
    cwd: process.cwd(),
  });
  stderrLog(`Wrote ${relative(process.cwd(), result.lockPath)}: build with it by 'make ${result.lock.kubernetes.minor} lock=${relative(process.cwd(), result.lockPath)}'`);
  console.log(`lock=${relative(process.cwd(), result.lockPath)}`);
  return 0;
});
