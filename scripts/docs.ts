#!/usr/bin/env tsx
// `make docs`: regenerate the README's variable and stage option tables and the provisioner contract's environment
// and artifact tables;
// without --write, exits 1 when either document has drifted.
import { readFileSync, writeFileSync } from 'node:fs';
import { main } from '../src/cli/main.ts';
import { repoPath } from '../src/paths.ts';
import { withArtifactTable } from '../src/data/artifact-docs.ts';
import { withProvisionerEnvironmentTable } from '../src/plan/provisioner-environment.ts';
import { withVariableTable } from '../src/report/variable-docs.ts';
import { withStageOptionTable } from '../src/stage/options.ts';

const generated: [string, (text: string) => string, string][] = [
  ['README.md', withVariableTable, 'variable table'],
  ['README.md', withStageOptionTable, 'stage option table'],
  ['docs/provisioner-contract.md', withProvisionerEnvironmentTable, 'environment table'],
  ['docs/provisioner-contract.md', withArtifactTable, 'artifact table'],
];

await main(async () => {
  let drifted = 0;
  for (const [path, generate, what] of generated) {
    const file = repoPath(path);
    const current = readFileSync(file, 'utf8');
    const wanted = generate(current);
    if (process.argv.includes('--write')) writeFileSync(file, wanted);
    else if (current !== wanted) {
      console.error(`${path}'s ${what} is out of date: run 'make docs'.`);
      drifted++;
    }
  }
  return drifted ? 1 : 0;
});
