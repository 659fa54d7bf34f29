// The Go toolchain, spawned only through the process adapter: where `go` is and which version it is (read from
// its GOROOT, so a cache hit spawns nothing), what the module proxy knows of a module version, and a build of
// one recipe step inside a throw-away module that requires the upstream module.
import { accessSync, constants, existsSync, readFileSync, realpathSync, renameSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { ToolError } from '../errors.ts';
import type { Runner } from '../process/run.ts';
import { fill, type GoBuild, type Stamp } from './recipes.ts';

export interface GoToolchain {
  path: string;
  /** e.g. go1.26.8 */
  version: string;
}

/** `go` on the PATH and its version, from $GOROOT/VERSION; undefined when there is no go. */
export function findGo(env: NodeJS.ProcessEnv = process.env): GoToolchain | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'go');
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const versionFile = join(dirname(dirname(realpathSync(candidate))), 'VERSION');
    const version = existsSync(versionFile) ? (readFileSync(versionFile, 'utf8').split('\n')[0] ?? '').trim() : '';
    return { path: candidate, version: version || 'unknown' };
  }
  return undefined;
}

export function requireGo(env: NodeJS.ProcessEnv = process.env): GoToolchain {
  const go = findGo(env);
  if (!go) throw new ToolError('go is not on the PATH: building the upstream components needs Go (1.26 or newer) with access to a Go module proxy (GOPROXY).');
  return go;
}

/**
 * The environment of every go command here: modules resolved afresh in the throw-away module (-mod=mod), no
 * workspace or VCS stamping from wherever we run, and this toolchain only (no silent toolchain download).
 */
export const goEnv = (base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...base,
  GO111MODULE: 'on',
  GOWORK: 'off',
  GOTOOLCHAIN: 'local',
  GOFLAGS: '-mod=mod -buildvcs=false',
  ...extra,
});

export interface ModuleVersion extends Stamp {
  /** The extracted module (read-only, in the module cache). */
  dir: string;
}

/** Download a module version (verified against go.sum's checksum database) and read what the proxy says of it. */
export async function downloadModule(
  runner: Runner,
  go: GoToolchain,
  module: string,
  version: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<ModuleVersion> {
  const result = await runner.capture(go.path, ['mod', 'download', '-json', `${module}@v${version}`], { cwd, env: goEnv(env) });
  let info: { Dir?: string; Info?: string; Error?: string; Origin?: { Hash?: string } } = {};
  try {
    info = JSON.parse(result.stdout) as typeof info;
  } catch {
    // go printed no JSON: the message is on stderr.
  }
  if (result.exitCode !== 0 || !info.Dir || !info.Info) {
    const why = info.Error ?? (result.stderr.trim() || `exit ${result.exitCode}`);
    throw new ToolError(`the Go module proxy does not serve ${module}@v${version}: ${why}`);
  }
  const proxyInfo = JSON.parse(readFileSync(info.Info, 'utf8')) as { Time: string; Origin?: { Hash?: string } };
  const commit = info.Origin?.Hash ?? proxyInfo.Origin?.Hash;
  return { module, version, dir: info.Dir, time: proxyInfo.Time, ...(commit ? { commit } : {}) };
}

interface ReplaceLine {
  from: string;
  fromVersion?: string;
  to: string;
  toVersion?: string;
}

/** Lines of a go.mod directive, single-line or block: `require x v1` or `require ( … )`. */
function directive(goMod: string, name: string): string[] {
  const lines: string[] = [];
  const text = goMod.replace(/\/\/.*$/gm, '');
  for (const block of text.matchAll(new RegExp(`^${name}\\s*\\(([^)]*)\\)`, 'gm'))) lines.push(...(block[1] ?? '').split('\n'));
  for (const single of text.matchAll(new RegExp(`^${name}\\s+([^(\\s].*)$`, 'gm'))) lines.push(single[1] ?? '');
  return lines.map((l) => l.trim()).filter(Boolean);
}

function parseReplace(line: string): ReplaceLine {
  const [left = '', right = ''] = line.split('=>').map((s) => s.trim());
  const [from = '', fromVersion] = left.split(/\s+/);
  const [to = '', toVersion] = right.split(/\s+/);
  return { from, to, ...(fromVersion ? { fromVersion } : {}), ...(toVersion ? { toVersion } : {}) };
}

/**
 * go.mod of a throw-away module that builds `upstream` as a dependency: its go and godebug lines (they set the
 * binaries' language version and GODEBUG defaults as in an upstream build), a requirement of the version, and
 * its replace directives, with replacements by directories of its own repository turned into published
 * versions (localVersion), since a dependency's directories are not there.
 */
export function throwawayGoMod(upstream: ModuleVersion, localVersion: string | undefined): string {
  const goMod = readFileSync(join(upstream.dir, 'go.mod'), 'utf8');
  const goLine = /^go\s+(\S+)/m.exec(goMod)?.[1];
  const required = new Set(directive(goMod, 'require').map((l) => l.split(/\s+/)[0]));
  const replaces: string[] = [];
  for (const r of directive(goMod, 'replace').map(parseReplace)) {
    const local = r.to.startsWith('./') || r.to.startsWith('../');
    if (!local) {
      replaces.push(`${r.from}${r.fromVersion ? ` ${r.fromVersion}` : ''} => ${r.to}${r.toVersion ? ` ${r.toVersion}` : ''}`);
    } else if (required.has(r.from)) {
      if (!localVersion)
        throw new Error(`${upstream.module}@v${upstream.version} replaces ${r.from} with ${r.to}: its recipe needs localReplaces (data/upstream-sources.json)`);
      replaces.push(`${r.from} => ${r.from} ${localVersion}`);
    }
    // A local replacement of a module nobody requires (etcd's ./FORBIDDEN_DEPENDENCY guards) has nothing to replace.
  }
  const godebug = directive(goMod, 'godebug');
  return [
    'module eks-rhel-ami.local/upstream-build',
    '',
    ...(goLine ? [`go ${goLine}`, ''] : []),
    ...(godebug.length ? ['godebug (', ...godebug.map((l) => `\t${l}`), ')', ''] : []),
    `require ${upstream.module} v${upstream.version}`,
    '',
    ...(replaces.length ? ['replace (', ...replaces.map((l) => `\t${l}`), ')', ''] : []),
  ].join('\n');
}

/** The name `go build -o dir/` gives a package's binary: its last path element, skipping a /vN major suffix. */
export function defaultBinaryName(packagePath: string): string {
  const parts = packagePath.split('/');
  const last = parts.at(-1) ?? '';
  return /^v\d+$/.test(last) && parts.length > 1 ? (parts.at(-2) ?? last) : last;
}

export const packagePathOf = (module: string, path: string): string => (path === '.' ? module : `${module}/${path}`);

/** One recipe step: `go build` its packages into outDir under the names the recipe gives them. */
export async function goBuild(
  runner: Runner,
  go: GoToolchain,
  step: GoBuild,
  stamp: Stamp,
  options: { workDir: string; outDir: string; arch: string; env: NodeJS.ProcessEnv },
): Promise<void> {
  const packages = Object.entries(step.packages).map(([name, path]) => ({ name, pkg: packagePathOf(stamp.module, path) }));
  const args = [
    'build',
    '-trimpath',
    ...(step.buildFlags ?? []),
    ...(step.tags.length ? ['-tags', step.tags.join(',')] : []),
    '-ldflags',
    step.ldflags.map((f) => fill(f, stamp)).join(' '),
    '-o',
    `${options.outDir}/`,
    ...packages.map((p) => p.pkg),
  ];
  const env = goEnv(options.env, { CGO_ENABLED: step.cgo ? '1' : '0', GOOS: 'linux', GOARCH: options.arch });
  const result = await runner.capture(go.path, args, { cwd: options.workDir, env });
  if (result.exitCode !== 0) {
    const tail = result.stderr.trim().split('\n').slice(-25).join('\n');
    throw new ToolError(`go build of ${stamp.module}@v${stamp.version} (${packages.map((p) => p.name).join(', ')}) failed (exit ${result.exitCode}):\n${tail}`);
  }
  for (const { name, pkg } of packages) {
    const built = join(options.outDir, defaultBinaryName(pkg));
    if (built !== join(options.outDir, name)) renameSync(built, join(options.outDir, name));
  }
}
