// Which of the node's modules-load.d modules its kernel loaded: the issue's "a real kernel that loaded the
// image's modules-load list". Read on the booted node (systemd-modules-load has run by then), and, before a boot,
// which listed modules a kernel's module tree has at all.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeVm } from './vm.ts';

/** systemd-modules-load's directories, highest precedence first (a file name in an earlier one hides later ones). */
export const MODULES_LOAD_DIRS = [
  '/etc/modules-load.d',
  '/run/modules-load.d',
  '/usr/local/lib/modules-load.d',
  '/usr/lib/modules-load.d',
  '/lib/modules-load.d',
];

export interface ModuleReport {
  kernelRelease: string;
  /** The list files systemd-modules-load read (path → module names in order). */
  lists: Record<string, string[]>;
  /** Every listed module, in list order, once (names as written). */
  listed: string[];
  /** Listed modules in /proc/modules or built into the kernel. */
  loaded: string[];
  missing: string[];
  /** systemd-modules-load's own messages (e.g. "Failed to find module 'x'"), when the journal was readable. */
  journal: string[];
}

/** Kernel module names use '_' and '-' interchangeably; /proc/modules shows '_'. */
export const moduleKey = (name: string): string => name.replaceAll('-', '_');

/** Module names in a modules-load.d file: one a line, '#' and ';' start comments. */
export function parseModulesLoad(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !line.startsWith(';'))
    .map((line) => line.split(/\s+/)[0]);
}

// The journal is read by the program's identifier, not its unit: systemd-modules-load may start before journald's
// socket and then logs to the kernel's ring buffer, whose imported lines carry no unit once the process is gone.
const REPORT_SCRIPT = `
echo "@@ release"; uname -r
for d in ${MODULES_LOAD_DIRS.join(' ')}; do
  for f in "$d"/*.conf; do [ -r "$f" ] && { echo "@@ list $f"; cat "$f"; echo; }; done
done
echo "@@ proc"; cut -d' ' -f1 /proc/modules
echo "@@ builtin"; cat "/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null
echo "@@ journal"; sudo -n journalctl -b -o cat -t systemd-modules-load 2>/dev/null
true
`;

/** Parses what REPORT_SCRIPT prints (exported for tests without a guest). */
export function parseModuleReport(output: string): ModuleReport {
  const sections: { head: string; body: string[] }[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('@@ ')) sections.push({ head: line.slice(3), body: [] });
    else sections.at(-1)?.body.push(line);
  }
  const body = (head: string) => sections.find((s) => s.head === head)?.body ?? [];
  const lists: Record<string, string[]> = {};
  const seenNames = new Set<string>();
  for (const { head, body: lines } of sections) {
    if (!head.startsWith('list ')) continue;
    const path = head.slice('list '.length);
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (seenNames.has(name)) continue; // hidden by a same-named file in a directory of higher precedence
    seenNames.add(name);
    lists[path] = parseModulesLoad(lines.join('\n'));
  }
  const listed = [
    ...new Map(
      Object.values(lists)
        .flat()
        .map((m) => [moduleKey(m), m]),
    ).values(),
  ];
  const present = new Set(
    body('proc')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  for (const line of body('builtin')) {
    const file = /([^/]+)\.ko(\.[a-z]+)?$/.exec(line.trim());
    if (file) present.add(moduleKey(file[1]));
  }
  return {
    kernelRelease: body('release')[0]?.trim() ?? '',
    lists,
    listed,
    loaded: listed.filter((m) => present.has(moduleKey(m))),
    missing: listed.filter((m) => !present.has(moduleKey(m))),
    journal: body('journal')
      .map((l) => l.trim())
      .filter(Boolean),
  };
}

/** Reads the booted node's lists and loaded modules over SSH. */
export async function nodeModuleReport(vm: Pick<NodeVm, 'ssh'>): Promise<ModuleReport> {
  const result = await vm.ssh(REPORT_SCRIPT, { timeoutMs: 30_000 });
  if (result.exitCode !== 0) throw new Error(`Reading the node's modules failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return parseModuleReport(result.stdout);
}

/** Which of `names` a kernel's module tree (lib/modules/<release>) has, as a loadable module or built in. */
export function modulesInKernel(modulesDir: string, names: string[]): { present: string[]; absent: string[] } {
  const have = new Set<string>();
  for (const file of ['modules.dep', 'modules.builtin']) {
    for (const line of readFileSync(join(modulesDir, file), 'utf8').split('\n')) {
      const path = line.split(':')[0];
      const found = /([^/]+)\.ko(\.[a-z]+)?$/.exec(path);
      if (found) have.add(moduleKey(found[1]));
    }
  }
  return { present: names.filter((n) => have.has(moduleKey(n))), absent: names.filter((n) => !have.has(moduleKey(n))) };
}
