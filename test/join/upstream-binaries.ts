// Until src/upstream (another branch) is merged, the join tests find the binaries it builds in its cache:
// <root>/<module, slashes as +>@v<version>/<key>/bin/<name>, complete entries only (complete.json present).
// The code under test takes binary paths; only this test helper knows where they come from. Under CI=true a
// missing binary is a failure naming the command that builds it; locally too (never a silent skip).
import { existsSync, readdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export function upstreamCacheRoot(): string {
  return process.env.EKS_AMI_UPSTREAM_CACHE || join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'eks-rhel-ami', 'upstream');
}

/** The newest complete build of `name` from `module` (any version when omitted), or undefined. */
export function findUpstreamBinary(name: string, module: string, version?: string): string | undefined {
  const root = upstreamCacheRoot();
  if (!existsSync(root)) return undefined;
  const prefix = `${module.replaceAll('/', '+')}@v`;
  const entries = readdirSync(root)
    .filter((d) => d.startsWith(prefix) && (!version || d === `${prefix}${version.replace(/^v/, '')}`))
    .sort()
    .reverse();
  for (const entry of entries) {
    for (const key of readdirSync(join(root, entry))) {
      const binary = join(root, entry, key, 'bin', name);
      if (existsSync(join(root, entry, key, 'complete.json')) && existsSync(binary)) return binary;
    }
  }
  return undefined;
}

/** Like findUpstreamBinary, but a missing binary throws with the command that builds it. */
export function requireUpstreamBinary(name: string, module: string, version?: string, build = 'make upstream k8s=1.36'): string {
  const found = findUpstreamBinary(name, module, version);
  if (found) return found;
  throw new Error(`${name} (${module}${version ? `@v${version}` : ''}) is not in the upstream cache ${upstreamCacheRoot()}: run '${build}' first`);
}
