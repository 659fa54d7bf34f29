// Every process the product starts goes through src/process/run.ts (the Runner, runSync, startDetached), so a
// test can substitute it and one place decides environments, process groups and signal forwarding.
// Tests start theirs through one helper, test/support/spawn.ts. The benchmark times processes itself (bench/).
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoPath } from '../../src/paths.ts';

const ADAPTER = 'src/process/run.ts';
/** Files allowed to spawn on their own while they are being moved behind the adapter: none left. */
const NOT_YET: string[] = [];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const IMPORTS_SPAWN = /^import (?!type )[^;]*from ['"]((node:)?child_process|zx)['"]|require\(['"](node:)?child_process['"]\)/m;

describe('process boundary', () => {
  it('nothing under src/ or scripts/ but the process adapter imports child_process or zx', () => {
    const offenders = [...sourceFiles(repoPath('src')), ...sourceFiles(repoPath('scripts'))]
      .map((file) => relative(repoPath(), file))
      .filter((file) => file !== ADAPTER && !NOT_YET.includes(file))
      // Type-only imports (ChildProcess) start nothing.
      .filter((file) => IMPORTS_SPAWN.test(readFileSync(repoPath(file), 'utf8')));
    expect(offenders).to.deep.equal([]);
  });

  it('nothing under test/ but test/support/spawn.ts starts a process on its own', () => {
    const offenders = sourceFiles(repoPath('test'))
      .map((file) => relative(repoPath(), file))
      .filter((file) => file !== 'test/support/spawn.ts' && IMPORTS_SPAWN.test(readFileSync(repoPath(file), 'utf8')));
    expect(offenders).to.deep.equal([]);
  });
});
