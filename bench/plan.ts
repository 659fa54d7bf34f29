// Benchmark of the plan step (`make 1.28 dry_run=true`: configure, resolve, render, packer fmt and validate),
// not a test. This checkout against the code of another commit (default HEAD, checked out read-only as a git
// worktree sharing this node_modules, so both run the same dependency versions) in the same run, against one
// moto_server holding the EKS bucket history and Red Hat's images. Each approach is started the way its own
// Makefile starts it. Writes its section of bench/RESULTS.md (bench:plan).
// Usage: node --import tsx bench/plan.ts [REF]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEmulatedAws } from '../src/emulation/emulated-aws.ts';
import { FAKE_CREDENTIALS } from '../src/rehearse/emulator.ts';
import type { PlanTiming, Span } from './plan-once.ts';
import { writeSection } from './results-section.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = join(here, 'RESULTS.md');
const REF = process.argv[2] ?? 'HEAD';
const RUNS = 5;
const WORDS = ['1.28', 'dry_run=true'];
const TARGET_MS = 2000;

const started = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);
const sh = (command: string, args: string[], cwd = root) => spawnSync(command, args, { cwd, encoding: 'utf8' });

interface Tree {
  label: string;
  dir: string;
  /** How its Makefile starts a script (`TSX := …`). */
  tsx: string[];
}

function makefileTsx(dir: string): string[] {
  const line = /^TSX := (.+)$/m.exec(readFileSync(join(dir, 'Makefile'), 'utf8'));
  if (!line) throw new Error(`${dir}/Makefile has no TSX := line`);
  return line[1].trim().split(/\s+/);
}

async function timedRun(command: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(command[0], command.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => (stdout += c));
  child.stderr.on('data', (c) => (stderr += c));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${command.join(' ')} in ${cwd} exited ${code}:\n${stderr.slice(-3000)}`);
  return { ms, stdout };
}

const clearCache = (tree: Tree) => rmSync(join(tree.dir, 'build', '.cache', 'max-pods'), { recursive: true, force: true });

// ---------------------------------------------------------------------------------------------------------
// Phases, from one in-process timing

interface Phases {
  startup: number;
  load: number;
  configure: number;
  resolve: number;
  maxPods: number | undefined;
  render: number;
  fmt: number;
  validate: number;
  after: number;
  total: number;
}

const spanOf = (spans: Span[], names: string[]): { start: number; end: number } | undefined => {
  const mine = spans.filter((s) => names.includes(s.name));
  return mine.length ? { start: Math.min(...mine.map((s) => s.start)), end: Math.max(...mine.map((s) => s.end)) } : undefined;
};
const sumOf = (spans: Span[], name: string) => spans.filter((s) => s.name === name).reduce((n, s) => n + s.end - s.start, 0);

function phases(t: PlanTiming): Phases {
  const resolve = spanOf(t.aws, ['ListObjectsV2', 'DescribeImages'])!;
  const maxPods = spanOf(t.aws, ['DescribeInstanceTypes']);
  const fmt = spanOf(t.commands, ['packer fmt'])!;
  const validate = spanOf(t.commands, ['packer validate'])!;
  // Render is what happens between the look-ups the template needs and packer fmt; a max-pods look-up that
  // ran in that gap (one after another, the old way) is its own phase, not render.
  const inGap = maxPods && maxPods.start >= resolve.end && maxPods.end <= fmt.start ? maxPods.end - maxPods.start : 0;
  return {
    startup: t.entered,
    load: t.loaded - t.entered,
    configure: Math.min(resolve.start, maxPods?.start ?? Infinity) - t.pipelineStart,
    resolve: resolve.end - resolve.start,
    maxPods: maxPods ? maxPods.end - maxPods.start : undefined,
    render: fmt.start - resolve.end - inGap,
    fmt: sumOf(t.commands, 'packer fmt'),
    validate: validate.end - validate.start,
    after: t.pipelineEnd - validate.end,
    total: t.pipelineEnd,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Report

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
const fmtRange = (xs: number[]): string => `${fmtMs(median(xs))} (${fmtMs(Math.min(...xs))}–${fmtMs(Math.max(...xs))})`;

interface Variant {
  title: string;
  tree: Tree;
  cold: boolean;
  wall: number[];
  phases: Phases[];
}

const PHASE_ROWS: [keyof Phases, string][] = [
  ['startup', 'Node + tsx start-up (to the script’s first line)'],
  ['load', 'loading the pipeline’s modules (AWS SDK, ajv, handlebars, …)'],
  ['configure', 'configure (+ `packer version`, `git`), until the first AWS request'],
  ['resolve', 'resolve: S3 version discovery and EC2 source image'],
  ['maxPods', 'max pods: EC2 DescribeInstanceTypes'],
  ['render', 'plan and render (after the look-ups the template needs)'],
  ['fmt', '`packer fmt` (every call)'],
  ['validate', '`packer validate`'],
  ['after', 'after validate, until done (waiting for max pods, publishing)'],
  ['total', 'in-process total, from process start'],
];

function cell(v: Variant, key: keyof Phases): string {
  const xs = v.phases.map((p) => p[key]).filter((x): x is number => x !== undefined);
  if (!xs.length) return 'not asked (cached)';
  return fmtMs(median(xs));
}

function writeResults(variants: Variant[], machine: string[], load: number[], totalMs: number, headCommit: string): void {
  const [before, cold, warm] = variants;
  const header = `| Phase | ${variants.map((v) => v.title).join(' | ')} |\n| --- | ${variants.map(() => '---:').join(' | ')} |`;
  const rows = PHASE_ROWS.map(([key, title]) => `| ${title} | ${variants.map((v) => cell(v, key)).join(' | ')} |`).join('\n');
  const wallRow = `| **\`${WORDS.join(' ')}\` wall time**, spawn to exit, median (min–max) | ${variants.map((v) => `**${fmtRange(v.wall)}**`).join(' | ')} |`;
  const verdict = median(warm.wall) <= TARGET_MS ? 'meets' : 'misses';
  const md = `# Plan latency benchmark (\`make 1.28 dry_run=true\`)

Generated by \`make bench\` (\`bench/plan.ts\`) on ${new Date().toISOString().replace(/\.[0-9]+Z$/, 'Z')}; every run rewrites this section. Total run time: ${fmtMs(totalMs)}.

## Machine

${machine.map((l) => `- ${l}`).join('\n')}
- 1-minute load average: ${load.map((l) => l.toFixed(2)).join(' at start, ')} at the end (other work on the machine shows up in the spreads).

## Method

- One moto_server with the EKS binary bucket's published history (full 1.28 and 1.29 key sets) and Red Hat's RHEL images; every run plans \`${WORDS.join(' ')}\` against it with real Packer 1.6.6 (\`packer version\`, \`fmt\`, \`validate\`).
- **Before** is commit ${headCommit} (\`${REF}\`), checked out as a temporary git worktree that shares this checkout's node_modules; **after** is this working tree. Each is started the way its own Makefile starts scripts (\`TSX := ${before.tree.tsx.join(' ')}\` before, \`TSX := ${cold.tree.tsx.join(' ')}\` after); \`make\` itself is left out of both.
- **Cold** / **warm**: after this change the max-pods table (DescribeInstanceTypes) is kept per region, UTC day and EC2 endpoint under \`build/.cache/max-pods/\`; cold runs delete it first (the first plan of a day), warm runs find it (every later plan that day, every other cell of \`make all\` in the region).
- **Wall time**: ${RUNS} runs per column after one warm-up, the columns interleaved run by run so load on the machine hits them alike.
- **Phases**: ${RUNS} more runs per column of \`bench/plan-once.ts\`, which loads that tree's pipeline the way its \`scripts/build.ts\` does (\`packer version\` first where that script starts it first) and times every AWS request and every spawned command through the pipeline's injected clients and runner (medians). After this change phases overlap (the look-ups run at once, fmt/validate run while DescribeInstanceTypes is still out), so they do not add up to the total; before, they ran one after another.

## Results

${header}
${wallRow}
${rows}

Target ≤ ${fmtMs(TARGET_MS)}: the warm median ${verdict} it (${fmtMs(median(warm.wall))}); before: ${fmtMs(median(before.wall))}; cold: ${fmtMs(median(cold.wall))}.

## What changed and what is left

- The three AWS look-ups start together once the configuration is checked (S3 discovery and the source image when the minor is known up front; with plain \`make\` the discovered minor decides the image's defaults, so those two stay in order). A failure is still reported in plan order.
- \`packer fmt\` and \`packer validate\` do not wait for the max-pods table (it is not part of the template; it joins \`generated/\` before the directory is published). One \`packer fmt\` call instead of \`fmt\` + \`fmt -check\`. \`scripts/build.ts\` starts \`packer version\` before it loads the pipeline's modules, so the answer is there when the configuration has been checked; \`git\` runs while AWS answers.
- Consecutive provisioner steps share one \`provisioner "shell"\` block (\`scripts = [...]\`, src/render/steps.ts): a block ends only at a reboot (alone, \`expect_disconnect\`), before a pause and after a download. Packer 1.6.6 starts one plugin process per block in \`validate\` as in \`build\`, so the 20 one-step blocks of a standard build became 5 (STIG: 26 became 8), which halves \`packer validate\`. Packer still runs, logs ("Provisioning with shell script: …") and stops on each script separately, so a failure is still named by its step.
- The AWS SDK clients are loaded with \`require\` (src/aws/sdk.ts): an ESM import of their single large CommonJS bundles makes Node scan each for export names. The HCL variable-file parser (WebAssembly) and the build-and-report modules load only when used. \`make\` runs \`node --import tsx\` instead of the \`tsx\` command, which starts a second Node process.
- The process ends right after the pipeline: \`main()\` exits with the pipeline's code (measured: under 40 ms from the last log line to the parent seeing the exit), so nothing is left holding the event loop. Wall times and the in-process total come from different runs, so load on this shared machine moves them apart.
- Left: module loading is mostly CPU on one thread: the EC2 and S3 SDK bundles (~0.2 s, compiled at every start: Node 20 has no compile cache), zx (~0.1 s, src/process/run.ts imports it for every spawn), and two ajv schemas compiled when their modules load (src/variables/schema.ts, src/lock/lock.ts; ~0.1 s, the lock's even when no lock is given). \`packer validate\` still starts a plugin per remaining block and for the builder; moto answers DescribeInstanceTypes with every instance type in one 5 MB response that takes it seconds, so the cold figure is bounded by it.
`;
  writeSection(resultsFile, 'plan', md);
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const headCommit = sh('git', ['rev-parse', '--short', REF]).stdout.trim();
  if (!headCommit) throw new Error(`git cannot resolve ${REF}`);
  const worktree = join(mkdtempSync(join(tmpdir(), 'bench-plan-')), 'tree');
  const load = [loadavg()[0]];
  const machine = [
    `CPU: ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}; memory ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; Linux ${release()}`,
    `Node ${process.version}; ${sh('packer', ['version']).stdout.trim().split('\n')[0]}; moto ${sh('python3', ['-c', 'import moto; print(moto.__version__)']).stdout.trim()}`,
  ];
  log(`checking out ${REF} (${headCommit}) read-only at ${worktree}`);
  const add = sh('git', ['worktree', 'add', '--detach', worktree, REF]);
  if (add.status !== 0) throw new Error(`git worktree add failed:\n${add.stderr}`);
  // The same dependencies for both; `make` is not run in the worktree, so nothing reinstalls them there.
  symlinkSync(join(root, 'node_modules'), join(worktree, 'node_modules'));
  const moto = await startEmulatedAws();
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, ...moto.env, ...FAKE_CREDENTIALS, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    for (const name of ['AWS_PROFILE', 'AWS_SESSION_TOKEN']) delete env[name];
    const before: Tree = { label: 'before', dir: worktree, tsx: makefileTsx(worktree) };
    const after: Tree = { label: 'after', dir: root, tsx: makefileTsx(root) };
    const variants: Variant[] = [
      { title: `before (${headCommit})`, tree: before, cold: false, wall: [], phases: [] },
      { title: 'after, cold', tree: after, cold: true, wall: [], phases: [] },
      { title: 'after, warm', tree: after, cold: false, wall: [], phases: [] },
    ];
    const words = (v: Variant) => [...WORDS, `ami_name=bench-plan-${v.tree.label}`];
    for (let i = 0; i <= RUNS; i++) {
      for (const v of variants) {
        if (v.cold) clearCache(v.tree);
        const run = await timedRun([...v.tree.tsx, 'scripts/build.ts', ...words(v)], v.tree.dir, env);
        if (i > 0) v.wall.push(run.ms);
      }
      log(`wall run ${i}/${RUNS}: ${variants.map((v) => `${v.title} ${v.wall.length ? fmtMs(v.wall.at(-1)!) : '(warm-up)'}`).join(', ')}`);
    }
    for (let i = 0; i <= RUNS; i++) {
      for (const v of variants) {
        if (v.cold) clearCache(v.tree);
        const run = await timedRun(['node', '--import', 'tsx', join(here, 'plan-once.ts'), v.tree.dir, ...words(v)], v.tree.dir, env);
        if (i > 0) v.phases.push(phases(JSON.parse(run.stdout.trim().split('\n').pop()!) as PlanTiming));
      }
      log(`phase run ${i}/${RUNS}`);
    }
    load.push(loadavg()[0]);
    writeResults(variants, machine, load, performance.now() - started, headCommit);
    log(`wrote ${relative(process.cwd(), resultsFile)}`);
  } finally {
    await moto.stop();
    sh('git', ['worktree', 'remove', '--force', worktree]);
    rmSync(dirname(worktree), { recursive: true, force: true });
    rmSync(join(root, 'build', 'bench-plan-after'), { recursive: true, force: true });
  }
}

await main();
