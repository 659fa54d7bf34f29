// The content-addressed cache of built upstream binaries. An entry is
//   <root>/<module, slashes as +>@v<version>/<key>/{bin/<binaries>, complete.json}
// keyed by module@version, GOOS/GOARCH, the Go version and the recipe, so a new Go or a changed flag builds
// afresh and nothing stale is reused. An entry is built in a temporary sibling and renamed into place whole,
// complete.json (the completion marker, written last) included: a directory without it is a broken entry.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** ${EKS_AMI_UPSTREAM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/eks-rhel-ami/upstream} */
export function upstreamCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.EKS_AMI_UPSTREAM_CACHE) return env.EKS_AMI_UPSTREAM_CACHE;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'eks-rhel-ami', 'upstream');
}

export interface KeyParts {
  module: string;
  version: string;
  goos: string;
  goarch: string;
  goVersion: string;
  /** The component's recipe, as data/upstream-sources.json has it. */
  recipe: unknown;
}

export function cacheKey(p: KeyParts): string {
  const text = JSON.stringify([p.module, p.version, p.goos, p.goarch, p.goVersion, p.recipe]);
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

export const MARKER = 'complete.json';

/** What complete.json records: enough to recognise a truncated or missing binary without hashing 100 MB files. */
export interface EntryRecord {
  module: string;
  version: string;
  goVersion: string;
  goarch: string;
  /** Binary name → size in bytes (the files are bin/<name>). */
  sizes: Record<string, number>;
  /** Wall seconds the build took. */
  seconds: number;
  builtAt: string;
}

export const entryDir = (root: string, module: string, version: string, key: string): string => join(root, `${module.replaceAll('/', '+')}@v${version}`, key);

/** The entry's record when it is complete and every binary is there at its recorded size; otherwise undefined. */
export function readEntry(dir: string): EntryRecord | undefined {
  let record: EntryRecord;
  try {
    record = JSON.parse(readFileSync(join(dir, MARKER), 'utf8')) as EntryRecord;
  } catch {
    return undefined;
  }
  for (const [name, size] of Object.entries(record.sizes ?? {})) {
    const file = join(dir, 'bin', name);
    if (!existsSync(file) || statSync(file).size !== size) return undefined;
  }
  return Object.keys(record.sizes ?? {}).length ? record : undefined;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * A fresh temporary directory next to where the entry goes (same file system, so the final rename is atomic),
 * named after our process. Those of processes that died mid-build (Ctrl-C, a kill) are removed on the way.
 */
export function stagingDir(dir: string): string {
  const parent = join(dir, '..');
  mkdirSync(parent, { recursive: true });
  for (const name of readdirSync(parent)) {
    const pid = Number(/^\.building-(\d+)-/.exec(name)?.[1]);
    if (pid && !alive(pid)) rmSync(join(parent, name), { recursive: true, force: true });
  }
  return mkdtempSync(join(parent, `.building-${process.pid}-`));
}

/**
 * Write the marker into the staged entry and move it into place. A broken entry in the way is removed first;
 * if another process completed the same entry meanwhile, ours is dropped and theirs kept.
 */
export function commitEntry(staged: string, dir: string, record: EntryRecord): void {
  writeFileSync(join(staged, MARKER), `${JSON.stringify(record, null, 2)}\n`);
  if (existsSync(dir) && !readEntry(dir)) rmSync(dir, { recursive: true, force: true });
  try {
    renameSync(staged, dir);
  } catch (error) {
    if (!readEntry(dir)) throw error;
    rmSync(staged, { recursive: true, force: true });
  }
}
