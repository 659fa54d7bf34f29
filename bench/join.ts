// Benchmark of the join rehearsal (`make rehearse 1.36 join=true`), not a test: the whole command's wall time and
// its phases, read from the time each of its progress lines appears, with the upstream binaries already cached
// (warm; `make upstream` first). The node's own seconds to Ready come from its summary line. Runs it RUNS times
// and writes its section of bench/RESULTS.md (bench:join), next to the issue's target for a warm join.
// Usage: node --import tsx bench/join.ts [minor] [runs]
import { spawn, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSection } from './results-section.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const MINOR = process.argv[2] ?? '1.36';
const RUNS = Number(process.argv[3] ?? 2);
const TARGET_S = 180;

interface Run {
  wall: number;
  /** Seconds from start at which each phase's first line appeared. */
  marks: Record<string, number>;
  readySeconds?: number;
  joinSeconds?: number;
  ok: boolean;
}

const PHASES: [string, RegExp][] = [
  ['upstream binaries found', /Upstream binaries for Kubernetes/],
  ['emulator seeded', /Seeded the emulator/],
  ['packer build started', /Building rhel-/],
  ['image registered', /AMIs\s+us-/],
  ['join started', /Joining the image as a node/],
  ['control plane ready', /Control plane ready in/],
  ['node up (SSH)', /Node up \(SSH\)/],
  ['node Ready', /node Ready in/],
  ['pod Running', /pod rehearsal-web Running/],
  ['done', /Join joined|Join FAILED/],
];

function once(): Promise<Run> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const marks: Record<string, number> = {};
    let readySeconds: number | undefined;
    let joinSeconds: number | undefined;
    let ok = false;
    const child = spawn('make', ['--no-print-directory', 'rehearse', MINOR, 'join=true'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    // The rehearsal's progress lines go to stderr, Packer's output to stdout: read both.
    const reader = () => {
      let pending = '';
      return (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) onLine(line);
      };
    };
    const onLine = (line: string) => {
      {
        const at = (performance.now() - started) / 1000;
        for (const [name, pattern] of PHASES) if (!(name in marks) && pattern.test(line)) marks[name] = at;
        const summary = /Join joined: .* Ready in (\d+) s .*; (\d+) s in all/.exec(line);
        if (summary) {
          ok = true;
          readySeconds = Number(summary[1]);
          joinSeconds = Number(summary[2]);
        }
      }
    };
    child.stdout.on('data', reader());
    child.stderr.on('data', reader());
    child.once('error', reject);
    child.once('close', (code) => resolve({ wall: (performance.now() - started) / 1000, marks, readySeconds, joinSeconds, ok: ok && code === 0 }));
  });
}

const runs: Run[] = [];
for (let i = 0; i < RUNS; i++) {
  console.log(`join rehearsal ${i + 1}/${RUNS}: make rehearse ${MINOR} join=true …`);
  const run = await once();
  console.log(
    `  ${run.ok ? 'joined' : 'FAILED'} in ${run.wall.toFixed(0)} s (node Ready in ${run.readySeconds ?? '?'} s, join phase ${run.joinSeconds ?? '?'} s)`,
  );
  runs.push(run);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const cell = (values: (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length ? `${median(known).toFixed(0)} s (${known.map((v) => v.toFixed(0)).join(', ')})` : 'n/a';
};
const commit = spawnSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
const rows = PHASES.map(([name]) => `| ${name} | ${cell(runs.map((r) => r.marks[name]))} |`);
const wall = median(runs.map((r) => r.wall));
writeSection(
  join(here, 'RESULTS.md'),
  'join',
  `# Join rehearsal: \`make rehearse ${MINOR} join=true\`

Run ${new Date().toISOString().slice(0, 10)} at ${commit} on ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load ${loadavg()[0].toFixed(1)} when it ended; ${RUNS} runs, median (each run in brackets); upstream binaries cached (warm). The node runs under qemu with TCG (no KVM here).

| | seconds |
|---|---|
| **whole command, wall** | **${cell(runs.map((r) => r.wall))}** |
| the join phase (from "Joining" to the summary line) | ${cell(runs.map((r) => r.joinSeconds))} |
| node: bootstrap.sh start → Ready | ${cell(runs.map((r) => r.readySeconds))} |

Phases (seconds from the start at which each first reported):

| phase | at |
|---|---|
${rows.join('\n')}

Target (issue 11): a warm join rehearsal in ≤ ${TARGET_S} s. ${wall <= TARGET_S ? `Met: ${wall.toFixed(0)} s for the whole command.` : `The whole command takes ${wall.toFixed(0)} s, above it; the join phase itself is ${cell(runs.map((r) => r.joinSeconds))}. The rest is the image build the join needs (seeding the emulator, the Packer build with the real provisioners).`} All runs joined: ${runs.every((r) => r.ok) ? 'yes' : 'no'}.`,
);
console.log(`bench/RESULTS.md: join section written (median ${wall.toFixed(0)} s)`);
