// Boots Debian's kernel under qemu (TCG) with a small initramfs that loads a list of kernel modules and
// creates one IPVS virtual service per scheduler, then reads the verdict from the serial console.
import { capture, captureAsync } from '../support/spawn.ts';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../support/tools.ts';

const here = dirname(fileURLToPath(import.meta.url));
const buildScript = join(here, 'build-initramfs.sh');
const guestInit = join(here, 'guest-init.sh');
export const cacheDir = resolve(here, '../../.cache/kernel-ipvs');

export interface IpvsList {
  modules: string[];
  schedulers: string[];
}

export interface Kernel {
  release: string;
  vmlinuz: string;
  /** Directory holding lib/modules/<release>. */
  root: string;
}

export interface IpvsRun {
  kernel: string;
  /** Modules the guest loaded (modprobe succeeded and the module is in /proc/modules or built in). */
  loaded: string[];
  /** Module name → the guest's error message. */
  failedModules: Map<string, string>;
  /** Module names (underscore form) in the guest's lsmod output. */
  lsmod: Set<string>;
  /** Scheduler name → the guest's error message. */
  failedSchedulers: Map<string, string>;
  /** Virtual service address → scheduler name, from `ipvsadm -Ln`. */
  services: Map<string, string>;
  /** The guest got to its end marker (it did not panic, hang or get cut off). */
  completed: boolean;
  timedOut: boolean;
  durationMs: number;
  /** Serial console output, for failure messages. */
  console: string;
}

/** Fails (never skips) when a tool the kernel test needs is missing. */
export function requireKernelTools(): void {
  // modprobe, depmod and ipvsadm live in /usr/sbin, which a non-root PATH on Debian lacks.
  const path = (process.env.PATH ?? '').split(':');
  for (const dir of ['/usr/sbin', '/sbin']) if (!path.includes(dir)) path.push(dir);
  process.env.PATH = path.join(':');
  const purpose = 'the IPVS kernel-module test (qemu boot of a real kernel)';
  for (const tool of ['qemu-system-x86_64', 'busybox', 'kmod', 'modprobe', 'depmod', 'ipvsadm', 'cpio', 'gzip', 'ldd', 'bash']) {
    requireTool(tool, purpose);
  }
}

/** The newest kernel in <root>/boot whose modules are present in <root>/lib/modules. */
export function findKernel(root = '/'): Kernel {
  const boot = join(root, 'boot');
  const releases = (existsSync(boot) ? readdirSync(boot) : [])
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((release) => existsSync(join(root, 'lib/modules', release, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const release = releases.at(-1);
  if (!release) {
    throw new Error(
      `No kernel with modules under ${boot} and ${join(root, 'lib/modules')}: the IPVS kernel test boots Debian's ` +
        `linux-image-amd64. Run 'make test-deps' (as root) to install the test prerequisites.`,
    );
  }
  return { release, vmlinuz: join(boot, `vmlinuz-${release}`), root };
}

/** Builds (or reuses from .cache/) the initramfs for this kernel and list. */
export function initramfsFor(kernel: Kernel, list: IpvsList): { path: string; cached: boolean } {
  const moduleDep = statSync(join(kernel.root, 'lib/modules', kernel.release, 'modules.dep'));
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        release: kernel.release,
        // A package update that keeps the release name still rewrites modules.dep.
        modulesDep: [moduleDep.size, moduleDep.mtimeMs],
        modules: list.modules,
        schedulers: list.schedulers,
        build: readFileSync(buildScript, 'utf8'),
        init: readFileSync(guestInit, 'utf8'),
      }),
    )
    .digest('hex')
    .slice(0, 16);
  const path = join(cacheDir, `${kernel.release}-${key}.cpio.gz`);
  if (existsSync(path)) return { path, cached: true };
  const build = capture('bash', [buildScript], {
    env: {
      ...process.env,
      KVER: kernel.release,
      KERNEL_ROOT: kernel.root,
      MODULES: list.modules.join(' '),
      SCHEDULERS: list.schedulers.join(' '),
      GUEST_INIT: guestInit,
      OUT: path,
    },
    timeout: 120_000,
  });
  if (build.status !== 0) {
    throw new Error(`build-initramfs.sh failed (${build.status}):\n${build.stderr}`);
  }
  return { path, cached: false };
}

/**
 * Boots the kernel with the list's initramfs and parses what the guest reports. qemu is killed when the
 * deadline passes (default: timeoutMs, 60 s); the result then has timedOut set and completed unset.
 */
export async function runIpvsList(list: IpvsList, options: { kernel?: Kernel; timeoutMs?: number; deadline?: Promise<void> } = {}): Promise<IpvsRun> {
  const kernel = options.kernel ?? findKernel();
  const initramfs = initramfsFor(kernel, list);
  const args = [
    '-accel', 'tcg',
    '-cpu', 'max',
    '-m', '256',
    '-smp', '1',
    '-nographic',
    '-no-reboot',
    '-nic', 'none',
    '-kernel', kernel.vmlinuz,
    '-initrd', initramfs.path,
    // loglevel=1 keeps kernel messages from interleaving with the guest's marker lines.
    '-append', 'console=ttyS0 panic=-1 loglevel=1 rdinit=/init',
  ];
  const started = Date.now();
  const { output, timedOut } = await runWithDeadline('qemu-system-x86_64', args, options.deadline ?? afterMs(options.timeoutMs ?? 60_000));
  return { ...parseConsole(output), timedOut, durationMs: Date.now() - started };
}

/** A deadline that passes after `ms` (a guard against a hung guest, never a measure of speed); unref'd so it keeps nothing alive. */
const afterMs = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());

async function runWithDeadline(command: string, args: string[], deadline: Promise<void>): Promise<{ output: string; timedOut: boolean }> {
  const result = await captureAsync(command, args, { stop: deadline });
  return { output: result.output, timedOut: result.stopped };
}

const underscore = (name: string) => name.replaceAll('-', '_');

/** Parses the guest's serial output (markers written by guest-init.sh). */
export function parseConsole(raw: string): Omit<IpvsRun, 'timedOut' | 'durationMs'> {
  // Firmware and kernel write escape sequences to the same console; marker lines may carry them as a prefix.
  const text = raw.replaceAll('\r', '').replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, '');
  const lines = text.split('\n');
  const section = (name: string) => {
    const begin = lines.findIndex((line) => line.endsWith(`${name}-BEGIN`));
    const end = lines.findIndex((line, index) => index > begin && line === `${name}-END`);
    return begin >= 0 && end > begin ? lines.slice(begin + 1, end) : [];
  };
  const run: Omit<IpvsRun, 'timedOut' | 'durationMs'> = {
    kernel: /IPVS-TEST-BEGIN kernel=(\S+)/.exec(text)?.[1] ?? '',
    loaded: [],
    failedModules: new Map(),
    lsmod: new Set(section('LSMOD').slice(1).map((line) => line.split(/\s+/)[0]).filter(Boolean)),
    failedSchedulers: new Map(),
    services: new Map(),
    completed: lines.includes('IPVS-TEST-END'),
    console: text,
  };
  for (const line of lines) {
    const marker = /(MODULE-OK|MODULE-FAIL|SCHED-FAIL) (\S+) ?(.*)$/.exec(line);
    if (!marker) continue;
    const [, kind, name, rest] = marker;
    if (kind === 'MODULE-OK') run.loaded.push(name);
    else if (kind === 'MODULE-FAIL') run.failedModules.set(name, rest);
    else run.failedSchedulers.set(name, rest.replace(/^\S+ ?/, ''));
  }
  for (const line of section('IPVSADM-LN')) {
    const service = /^(TCP|UDP|SCTP|FWM)\s+(\S+)\s+(\S+)/.exec(line);
    if (service) run.services.set(service[2], service[3]);
  }
  return run;
}

/**
 * What is wrong with a run against the list it was given; empty when every module loaded and shows in
 * lsmod, and every scheduler has its virtual service in `ipvsadm -Ln`.
 */
export function problemsOf(run: IpvsRun, list: IpvsList): string[] {
  const problems: string[] = [];
  if (run.timedOut) problems.push('qemu did not finish before the deadline and was killed');
  if (!run.completed) problems.push('the guest never printed IPVS-TEST-END (panic, hang or early exit)');
  for (const [name, message] of run.failedModules) problems.push(`module ${name} failed to load: ${message}`);
  for (const module of list.modules) {
    if (run.failedModules.has(module)) continue;
    if (!run.loaded.includes(module)) problems.push(`module ${module} has no result from the guest`);
    else if (!run.lsmod.has(underscore(module)) && !run.console.includes(`MODULE-OK ${module} builtin`)) {
      problems.push(`module ${module} is not in lsmod output`);
    }
  }
  list.schedulers.forEach((scheduler, index) => {
    const failure = run.failedSchedulers.get(scheduler);
    if (failure !== undefined) {
      problems.push(`scheduler ${scheduler}: ipvsadm -A failed: ${failure}`);
      return;
    }
    const vip = `10.0.0.${index + 1}:80`;
    const shown = run.services.get(vip);
    if (shown !== scheduler) {
      problems.push(`scheduler ${scheduler}: ipvsadm -Ln shows ${shown ? `${vip} with ${shown}` : `no ${vip}`}`);
    }
  });
  return problems;
}
