// A stand-in `packer` on PATH, reached through the real process adapter (src/process/run.ts), that records every
// call's arguments and the environment it received. It stands in for what cannot run here: current Packer (only
// 1.6.6 is installed) and a real `packer build` (needs an AWS account). With version 1.6.6 it hands fmt and
// validate to the real Packer, so the template is still checked.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capture } from './spawn.ts';

export interface PackerCall {
  args: string[];
  env: Record<string, string>;
}

export interface FakePacker {
  /** Directory holding the fake `packer`; put it first on PATH. */
  bin: string;
  /** Environment with PATH pointing at the fake first. */
  env(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Every call so far, in order. */
  calls(): PackerCall[];
  remove(): void;
}

/**
 * `packer build` writes a manifest with `artifactId` (and `downloads`, the files the template would fetch from the
 * instance) next to the template and exits with `buildExit`.
 * Variables bash itself sets (PWD, SHLVL, _) are left out of the recorded environment.
 */
export function fakePacker(options: { version: string; buildExit?: number; artifactId?: string; downloads?: Record<string, string> }): FakePacker {
  const dir = mkdtempSync(join(tmpdir(), 'fake-packer-'));
  const bin = join(dir, 'bin');
  const log = join(dir, 'calls');
  const realPacker = capture('sh', ['-c', 'command -v packer']).stdout.trim();
  const manifest = JSON.stringify({ builds: [{ artifact_id: options.artifactId ?? 'us-west-2:ami-0aaa1111bbbb22223' }] });
  const script = `#!/bin/bash
set -euo pipefail
n=$(find ${JSON.stringify(log)} -name '*.args' | wc -l)
call=${JSON.stringify(log)}/$(printf '%04d' "$n")
printf '%s\\0' "$@" >"$call.args"
env -0 -u PWD -u SHLVL -u _ -u OLDPWD >"$call.env"
case "\${1:-}" in
version) echo "Packer v${options.version}" ;;
fmt | validate)
  if [ ${JSON.stringify(options.version)} = 1.6.6 ]; then exec ${JSON.stringify(realPacker)} "$@"; fi ;;
init) ;;
build)
  template="\${*: -1}"
  cp ${JSON.stringify(join(dir, 'out'))}/* "$(dirname "$template")/"
  echo "==> Builds finished. The artifacts of successful builds are:"
  exit ${options.buildExit ?? 0} ;;
*) echo "fake packer: unexpected $*" >&2; exit 1 ;;
esac
`;
  for (const d of [bin, log, join(dir, 'out')]) mkdirSync(d, { recursive: true });
  writeFileSync(join(dir, 'out', 'manifest.json'), manifest);
  for (const [name, content] of Object.entries(options.downloads ?? {})) writeFileSync(join(dir, 'out', name), content);
  writeFileSync(join(bin, 'packer'), script, { mode: 0o755 });
  const split = (file: string) => readFileSync(file, 'utf8').split('\0').slice(0, -1);
  return {
    bin,
    env: (base = process.env) => ({ ...base, PATH: `${bin}:${base.PATH ?? ''}` }),
    calls: () =>
      readdirSync(log)
        .filter((f) => f.endsWith('.args'))
        .sort()
        .map((f) => {
          const call = join(log, f.replace(/\.args$/, ''));
          const env = Object.fromEntries(split(`${call}.env`).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
          return { args: split(`${call}.args`), env };
        }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
