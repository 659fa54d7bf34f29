// The one builder of throw-away Debian roots: a minimal bookworm made by mmdebstrap with the packages the caller
// names, cached as a tarball under .cache/debian-root/ keyed by suite and package list, so each list is built
// once (~25 s) and reused. The rehearsal's build instance (target.ts) and the provisioner tests' sandboxes
// (test/support/sandbox.ts) start from it, each with its own list.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ToolError } from '../errors.ts';
import { repoPath } from '../paths.ts';
import { onPath, runSync } from '../process/run.ts';

export const DEBIAN_SUITE = 'bookworm';
const CACHE = repoPath('.cache', 'debian-root');

function must(command: string, args: string[]): void {
  const result = runSync(command, args);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
}

/** The cache name of a root with these packages: the same list gives the same root. */
export function debianRootKey(packages: readonly string[]): string {
  const key = createHash('sha256')
    .update(JSON.stringify({ suite: DEBIAN_SUITE, variant: 'minbase', packages }))
    .digest('hex')
    .slice(0, 16);
  return `${DEBIAN_SUITE}-${key}`;
}

/** A tarball of a minimal root with `packages` installed, built on first use. */
export function debianRootTarball(packages: readonly string[]): string {
  const tarball = join(CACHE, `${debianRootKey(packages)}.tar`);
  if (existsSync(tarball)) return tarball;
  if (!onPath('mmdebstrap')) throw new ToolError("Building the Debian root needs mmdebstrap: apt-get install mmdebstrap (or run 'make test-deps').");
  mkdirSync(CACHE, { recursive: true });
  // Built under a name of this process's own and renamed: a concurrent builder never sees half a tarball.
  const partial = `${tarball}.partial-${process.pid}`;
  rmSync(partial, { force: true });
  try {
    must('mmdebstrap', ['--quiet', '--variant=minbase', `--include=${packages.join(',')}`, '--format=tar', DEBIAN_SUITE, partial]);
    renameSync(partial, tarball);
  } finally {
    rmSync(partial, { force: true });
  }
  return tarball;
}

/** The same root extracted once next to its tarball, for read-only use as an overlay's lower directory. */
export function extractedDebianRoot(packages: readonly string[]): string {
  const dir = join(CACHE, debianRootKey(packages));
  if (existsSync(join(dir, '.ready'))) return dir;
  const tarball = debianRootTarball(packages);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  must('tar', ['-xf', tarball, '-C', dir]);
  writeFileSync(join(dir, '.ready'), '');
  return dir;
}
