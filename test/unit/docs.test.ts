// The README's variable table is generated from the declarations; this fails when it drifts.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { variableTable, withVariableTable } from '../../src/report/variable-docs.ts';
import { stageOptions, withStageOptionTable } from '../../src/stage/options.ts';
import { declarations, variableNames } from '../../src/variables/declarations.ts';

describe('README variable table', () => {
  it("matches the declarations (run 'make docs' after changing a variable)", () => {
    const readme = readFileSync(repoPath('README.md'), 'utf8');
    expect(withVariableTable(readme) === readme, "README.md is out of date: run 'make docs'").to.equal(true);
  });

  it('lists every variable with its default, aliases and allowed values', () => {
    const table = variableTable();
    for (const name of variableNames) expect(table).to.contain(`| \`${name}\``);
    expect(table).to.contain('`iam_instance_profile` (alias `iam_role`)');
    expect(table).to.contain(`| \`volume_size\` | integer | \`${declarations.volume_size.default}\` |`);
    expect(table).to.contain('one of x86_64, arm64');
  });
});

describe("README's table of make stage options", () => {
  it("matches src/stage/options.ts (run 'make docs' after changing an option)", () => {
    const readme = readFileSync(repoPath('README.md'), 'utf8');
    expect(withStageOptionTable(readme) === readme, "README.md is out of date: run 'make docs'").to.equal(true);
    for (const name of Object.keys(stageOptions)) expect(readme).to.contain(`| \`${name}\` |`);
  });
});
