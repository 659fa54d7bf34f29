#!/usr/bin/env tsx
// `make docs`: regenerate the README's variable table; `--check` exits 1 when the README has drifted.
import 'zx/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../src/cli/main.ts';
import { repoPath } from '../src/paths.ts';
import { withVariableTable } from '../src/report/variable-docs.ts';

await main(async () => {
  const file = repoPath('README.md');
  const current = readFileSync(file, 'utf8');
  const wanted = withVariableTable(current);
  if (process.argv.includes('--write')) {
    writeFileSync(file, wanted);
    return 0;
  }
  if (current !== wanted) {
    console.error("README.md's variable table is out of date: run 'make docs'.");
    return 1;
  }
  return 0;
});
