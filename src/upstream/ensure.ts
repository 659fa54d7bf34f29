// ensureUpstream: the binaries of one component at one version, from the cache or built from the module proxy's
// source (then cached). A cache hit reads two small files and spawns nothing.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { processRunner, type Runner } from '../process/run.ts';
import { cacheKey, commitEntry, entryDir, readEntry, stagingDir, upstreamCacheRoot, type EntryRecord } from './cache.ts';
import { downloadModule, goBuild, requireGo, throwawayGoMod } from './go.ts';
import { bareVersion, moduleOf, recipeOf, type ComponentName } from './recipes.ts';

export interface EnsureOptions {
  arch?: 'amd64' | 'arm64';
  log?: (line: string) => void;
  /** The process adapter (tests count its spawns). */
  runner?: Runner;
  env?: NodeJS.ProcessEnv;
}

export interface UpstreamBuild {
  component: ComponentName;
  version: string;
  module: string;
  /** The cache entry: bin/<binaries> and complete.json. */
  dir: string;
  /** Binary name → absolute path. */
  binaries: Record<string, string>;
  /** True when taken from the cache (nothing was built). */
  cached: boolean;
  /** Wall seconds this call took (building, or finding the entry). */
  seconds: number;
}

/** The published version of a module the upstream go.mod replaces with one of its own directories. */
function localVersionOf(mode: 'kubernetes-staging' | 'same' | undefined, version: string): string | undefined {
  if (mode === 'same') return `v${version}`;
  if (mode === 'kubernetes-staging') return `v0.${version.split('.').slice(1).join('.')}`;
  return undefined;
}

export async function ensureUpstream(component: ComponentName, version: string, options: EnsureOptions = {}): Promise<UpstreamBuild> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  const env = options.env ?? process.env;
  const arch = options.arch ?? 'amd64';
  const runner = options.runner ?? processRunner;
  const log = options.log ?? (() => {});
  const bare = bareVersion(version);
  const recipe = recipeOf(component);
  const module = moduleOf(component, bare);
  const go = requireGo(env);
  const key = cacheKey({ module, version: bare, goos: 'linux', goarch: arch, goVersion: go.version, recipe });
  const dir = entryDir(upstreamCacheRoot(env), module, bare, key);
  const binariesIn = (record: EntryRecord) => Object.fromEntries(Object.keys(record.sizes).map((name) => [name, join(dir, 'bin', name)]));

  const hit = readEntry(dir);
  if (hit) return { component, version: bare, module, dir, binaries: binariesIn(hit), cached: true, seconds: seconds() };

  log(`${component} ${bare}: building ${module}@v${bare} with ${go.version} (GOARCH=${arch})…`);
  const staged = stagingDir(dir);
  try {
    const workDir = join(staged, 'module');
    mkdirSync(workDir, { recursive: true });
    const upstream = await downloadModule(runner, go, module, bare, workDir, env);
    writeFileSync(join(workDir, 'go.mod'), throwawayGoMod(upstream, localVersionOf(recipe.localReplaces, bare)));
    // Upstream's checksums of its dependencies (written, not copied: the module cache's files are read-only).
    if (existsSync(join(upstream.dir, 'go.sum'))) writeFileSync(join(workDir, 'go.sum'), readFileSync(join(upstream.dir, 'go.sum')));
    const outDir = join(staged, 'bin');
    mkdirSync(outDir, { recursive: true });
    for (const step of recipe.builds) await goBuild(runner, go, step, upstream, { workDir, outDir, arch, env });
    rmSync(workDir, { recursive: true, force: true });
    const names = recipe.builds.flatMap((b) => Object.keys(b.packages));
    const sizes = Object.fromEntries(
      names.map((name) => {
        const file = join(outDir, name);
        chmodSync(file, 0o755);
        return [name, statSync(file).size];
      }),
    );
    const record: EntryRecord = {
      module,
      version: bare,
      goVersion: go.version,
      goarch: arch,
      sizes,
      seconds: Math.round(seconds()),
      builtAt: new Date().toISOString(),
    };
    commitEntry(staged, dir, record);
    return { component, version: bare, module, dir, binaries: binariesIn(record), cached: false, seconds: seconds() };
  } finally {
    rmSync(staged, { recursive: true, force: true });
  }
}
