// Boundaries between the parts of src/: the lock has a home of its own that staging (which writes it) and
// configuration (which replays it) both import without importing each other; the AWS client types live in
// src/aws/; the names several modules agree on (template, plan, lock, work directory, …) are spelled once, in
// src/layout.ts. Import cycles are oxlint's job (import/no-cycle in make lint).
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as layout from '../../src/layout.ts';
import { repoPath } from '../../src/paths.ts';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const files = [...sourceFiles(repoPath('src')), ...sourceFiles(repoPath('scripts'))].map((file) => relative(repoPath(), file));
const text = (file: string) => readFileSync(repoPath(file), 'utf8');
/** The file's code without comments (whole-line // and /** … *\/ lines), so prose may name things freely. */
const code = (file: string) =>
  text(file)
    .split('\n')
    .filter((line) => !/^\s*(\/\/|\/\*\*|\*)/.test(line))
    .join('\n');
/** Repository paths of the src/ modules a file imports. */
const importsOf = (file: string): string[] =>
  [...text(file).matchAll(/^import [^;]*?from '(\.[^']+)'/gm)].map((m) => relative(repoPath(), join(repoPath(file), '..', m[1]!)));

/** Files still spelling a shared name, to be moved to src/layout.ts (rehearse.ts's LOCK_KEPT: edited elsewhere this round). */
describe('module boundaries', () => {
  it('the lock imports neither staging nor configuration, and they reach it only through src/lock/', () => {
    const lock = files.filter((f) => f.startsWith('src/lock/'));
    expect(lock, 'src/lock/ exists').to.include.members(['src/lock/lock.ts', 'src/lock/replay.ts']);
    for (const file of lock)
      expect(
        importsOf(file).filter((i) => i.startsWith('src/stage/') || i.startsWith('src/variables/')),
        file,
      ).to.deep.equal([]);
    expect(
      files.filter((f) => /lock/i.test(f) && !f.startsWith('src/lock/') && f.startsWith('src/')),
      'lock modules outside src/lock/',
    ).to.deep.equal([]);
    const configuration = files.filter((f) => f.startsWith('src/variables/'));
    for (const file of configuration)
      expect(
        importsOf(file).filter((i) => i.startsWith('src/stage/')),
        file,
      ).to.deep.equal([]);
  });

  it('resolve does not reach back into plan: plan builds on what resolve found, never the other way round', () => {
    const back = files
      .filter((f) => f.startsWith('src/resolve/'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.startsWith('src/plan/'))
          .map((i) => `${f}: ${i}`),
      );
    expect(back).to.deep.equal([]);
  });

  it('the benchmark imports nothing from test/ (what both need lives in src/, e.g. src/emulation/)', () => {
    const benchFiles = sourceFiles(repoPath('bench')).map((file) => relative(repoPath(), file));
    expect(benchFiles.length).to.be.greaterThan(0);
    expect(
      benchFiles.flatMap((f) =>
        importsOf(f)
          .filter((i) => i.startsWith('test/'))
          .map((i) => `${f}: ${i}`),
      ),
    ).to.deep.equal([]);
  });

  it('nothing points process.env at an emulator but the one test helper (useEmulator): clients get a connection', () => {
    const everywhere = ['src', 'scripts', 'test', 'bench'].flatMap((dir) => sourceFiles(repoPath(dir))).map((file) => relative(repoPath(), file));
    const writers = everywhere
      .filter((f) => f !== 'test/support/emulated-aws.ts')
      .filter((f) =>
        /Object\.assign\(process\.env|delete process\.env|process\.env = |process\.env\.AWS_(ENDPOINT_URL\w*|ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|PROFILE|REGION|DEFAULT_REGION) = /.test(
          code(f),
        ),
      );
    expect(writers).to.deep.equal([]);
  });

  it('AWS client and connection types are declared in src/aws/ only', () => {
    const declared = files
      .filter((f) => !f.startsWith('src/aws/'))
      .flatMap((f) => [...code(f).matchAll(/^export (?:interface|type) (\w*(?:Clients?|Connection))\b/gm)].map((m) => `${f}: ${m[1]}`));
    expect(declared).to.deep.equal([]);
  });

  it('the shared names are spelled in src/layout.ts and nowhere else in src/ or scripts/', () => {
    // The bucket's region (us-west-2) is any region's name too; its name is the bucket's alone.
    const values = Object.values(layout).map((v) => (typeof v === 'string' ? v : v.name));
    expect(values).to.include.members(['eks-worker.pkr.hcl', 'plan.json', 'build.lock.json', '/var/lib/eks-build', 'amazon-eks']);
    const spelled = files
      .filter((f) => f !== 'src/layout.ts')
      .flatMap((f) => {
        const body = code(f);
        return values.filter((v) => (v.startsWith('/') ? body.includes(v) : body.includes(`'${v}'`) || body.includes(`"${v}"`))).map((v) => `${f}: ${v}`);
      });
    expect(spelled).to.deep.equal([]);
  });
});
