// Every process the product starts goes through src/process/run.ts (the Runner, runSync, startDetached), so a
// test can substitute it and one place decides environments, process groups and signal forwarding.
// Tests keep their own spawn helpers; this checks src/ and scripts/ only.
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

describe('process boundary', () => {
  it('nothing under src/ or scripts/ but the process adapter imports child_process or zx', () => {
    const offenders = [...sourceFiles(repoPath('src')), ...sourceFiles(repoPath('scripts'))]
      .map((file) => relative(repoPath(), file))
      .filter((file) => file !== ADAPTER && !NOT_YET.includes(file))
      // Type-only imports (ChildProcess) start nothing.
      .filter((file) =>
        /^import (?!type )[^;]*from ['"]((node:)?child_process|zx)['"]|require\(['"](node:)?child_process['"]\)/m.test(readFileSync(repoPath(file), 'utf8')),
      );
    expect(offenders).to.deep.equal([]);
  });
});
