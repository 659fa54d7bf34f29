#!/usr/bin/env tsx
// `make rehearse 1.28 [name=value …]`: the whole build end to end, offline (see src/rehearse/rehearse.ts).
import 'zx/globals';
import { main, stderrLog } from '../src/cli/main.ts';
import { processRunner } from '../src/process/run.ts';
import { rehearse } from '../src/rehearse/rehearse.ts';

await main(async () => (await rehearse(process.argv.slice(2), processRunner, stderrLog)).exitCode);
