// Benchmark of Kubernetes version discovery (`make bench`), not a test: our Delimiter-based resolver
// (findKubernetesBuild) against the existing shell sample's approach (list every key under the minor with the
// AWS CLI, then sort in the shell). Both talk to one moto_server seeded with the real published history plus
// several hundred synthetic dates for the minor under test, through one counting proxy, so requests and bytes
// are counted at the same place. Writes its section of bench/RESULTS.md (bench:discovery).
import { S3Client } from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { s3Client, type AwsConnection, type RequestCounter } from '../src/aws/clients.ts';
import { compareVersions } from '../src/data/minors.ts';
import { findKubernetesBuild } from '../src/resolve/kubernetes-build.ts';
import { buildObjects, createBucket, historyObjects, putObjects, realBuildPairs } from '../src/emulation/eks-bucket.ts';
import { FAKE_CREDENTIALS, startMoto, type Moto } from '../src/rehearse/emulator.ts';
import { startCountingProxy, trafficBetween, type CountingProxy, type TrafficCount } from './counting-proxy.ts';
import { writeSection } from './results-section.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = join(here, 'RESULTS.md');

const BUCKET = 'bench-eks-binaries';
const REGION = 'us-west-2';
const MINOR = '1.28';
const VERSION = '1.28.15';
/** Extra daily build dates for VERSION, all with full linux/windows sets. */
const SYNTHETIC_DATES = 300;
/** Newest date of the seeded bucket: full amd64 set, arm64 kubelet missing (real history has such dates). */
const PARTIAL_NEWEST = `${VERSION}/2025-11-12`;
/** Added after the first cases: a newer date with windows binaries only. */
const WINDOWS_NEWEST = `${VERSION}/2025-11-20`;
const RUNS = 5;
const IN_PROCESS_RUNS = 9;
const SEED_CONCURRENCY = 32;

type Arch = 'x86_64' | 'arm64';

interface BenchCase {
  title: string;
  arch: Arch;
  /** Runs after WINDOWS_NEWEST has been added to the bucket. */
  windowsNewest: boolean;
}

const CASES: BenchCase[] = [
  { title: `${MINOR} amd64`, arch: 'x86_64', windowsNewest: false },
  { title: `${MINOR} arm64 (newest date lacks the arm64 kubelet)`, arch: 'arm64', windowsNewest: false },
  { title: `${MINOR} amd64, newest date windows-only`, arch: 'x86_64', windowsNewest: true },
  { title: `${MINOR} arm64, newest date windows-only`, arch: 'arm64', windowsNewest: true },
];

interface Measured {
  answers: string[];
  traffic: TrafficCount[];
  wallMs: number[];
  maxRssKb: number[];
  /** Ours only: time inside the process, without start-up. */
  inProcessMs: number[];
  /** Ours in-process only: the SDK counter from s3Client (Content-Length based), to cross-check the proxy. */
  sdkCounter: RequestCounter[];
}

interface CaseResult {
  bench: BenchCase;
  expected: string;
  ours: Measured;
  reference: Measured;
}

const started = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

// ---------------------------------------------------------------------------------------------------------
// Bucket contents

function syntheticPairs(count: number, before: string, existing: Set<string>): string[] {
  const pairs: string[] = [];
  const day = new Date(`${before}T00:00:00Z`);
  while (pairs.length < count) {
    day.setUTCDate(day.getUTCDate() - 1);
    const pair = `${VERSION}/${day.toISOString().slice(0, 10)}`;
    if (!existing.has(pair)) pairs.push(pair);
  }
  return pairs;
}

/** The right answer, worked out from the seeded keys: newest version, then date, with kubelet and its .sha256. */
function expectedAnswer(keys: Iterable<string>, arch: Arch): string {
  const wanted = arch === 'x86_64' ? 'amd64' : 'arm64';
  const all = new Set(keys);
  let best: { version: string; date: string } | undefined;
  for (const key of all) {
    const m = /^([0-9]+\.[0-9]+\.[0-9]+)\/([0-9]{4}-[0-9]{2}-[0-9]{2})\/bin\/linux\/([a-z0-9]+)\/kubelet$/.exec(key);
    if (!m || m[3] !== wanted || !m[1].startsWith(`${MINOR}.`) || !all.has(`${key}.sha256`)) continue;
    const [, version, date] = m;
    if (!best || compareVersions(version, best.version) > 0 || (version === best.version && date > best.date)) best = { version, date };
  }
  if (!best) throw new Error(`no ${wanted} build in the seeded bucket`);
  return `${best.version}/${best.date}`;
}

async function seed(s3: S3Client, objects: Map<string, string>): Promise<void> {
  const entries = [...objects];
  const chunk = 2000;
  for (let i = 0; i < entries.length; i += chunk) {
    await putObjects(s3, BUCKET, new Map(entries.slice(i, i + chunk)), SEED_CONCURRENCY);
    log(`  seeded ${Math.min(i + chunk, entries.length)}/${entries.length} keys`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Running things

interface ChildRun {
  stdout: string;
  stderr: string;
  wallMs: number;
  maxRssKb: number;
}

/** Runs a command under GNU time (-v, report to a file) without blocking the event loop the proxy runs on. */
async function timedChild(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', '-o', report, command, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const wallMs = performance.now() - t0;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr}`);
    const rss = /Maximum resident set size \(kbytes\): ([0-9]+)/.exec(readFileSync(report, 'utf8'));
    if (!rss) throw new Error(`no maximum RSS in the GNU time report of ${command}`);
    return { stdout, stderr, wallMs, maxRssKb: Number(rss[1]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const emptyMeasured = (): Measured => ({ answers: [], traffic: [], wallMs: [], maxRssKb: [], inProcessMs: [], sdkCounter: [] });

async function measureOurs(bench: BenchCase, proxy: CountingProxy, connection: AwsConnection, childEnv: NodeJS.ProcessEnv): Promise<Measured> {
  const m = emptyMeasured();
  // In-process: a fresh client per run, as a build makes one; the first run is the warm-up.
  for (let i = 0; i <= IN_PROCESS_RUNS; i++) {
    const counter: RequestCounter = { requests: 0, bytes: 0 };
    const before = proxy.snapshot();
    const t0 = performance.now();
    const s3 = s3Client(REGION, { counter, connection });
    const build = await findKubernetesBuild(s3, { bucket: BUCKET, region: REGION, arch: bench.arch, minors: [MINOR] });
    const ms = performance.now() - t0;
    s3.destroy();
    if (i === 0) continue;
    m.inProcessMs.push(ms);
    m.answers.push(`${build.version}/${build.buildDate}`);
    m.traffic.push(trafficBetween(before, proxy.snapshot()));
    m.sdkCounter.push(counter);
  }
  // A child process per run (node + the tsx loader), so start-up and peak RSS count as for the CLI pipeline.
  for (let i = 0; i <= RUNS; i++) {
    const before = proxy.snapshot();
    const run = await timedChild(process.execPath, ['--import', 'tsx', join(here, 'ours-once.ts'), BUCKET, MINOR, bench.arch], childEnv);
    if (i === 0) continue;
    const out = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { answer: string };
    m.answers.push(out.answer);
    m.traffic.push(trafficBetween(before, proxy.snapshot()));
    m.wallMs.push(run.wallMs);
    m.maxRssKb.push(run.maxRssKb);
  }
  return m;
}

/** Process start alone: node with the tsx loader running an empty module. */
async function measureBaseline(childEnv: NodeJS.ProcessEnv): Promise<Measured> {
  const m = emptyMeasured();
  for (let i = 0; i <= RUNS; i++) {
    const run = await timedChild(process.execPath, ['--import', 'tsx', join(here, 'empty.ts')], childEnv);
    if (i === 0) continue;
    m.wallMs.push(run.wallMs);
    m.maxRssKb.push(run.maxRssKb);
  }
  return m;
}

async function measureReference(awsCli: string, proxy: CountingProxy, childEnv: NodeJS.ProcessEnv): Promise<Measured> {
  const m = emptyMeasured();
  for (let i = 0; i <= RUNS; i++) {
    const before = proxy.snapshot();
    const run = await timedChild('bash', [join(here, 'reference-discovery.sh'), awsCli, proxy.endpoint, BUCKET, MINOR], childEnv);
    if (i === 0) continue;
    m.answers.push(run.stdout.trim());
    m.traffic.push(trafficBetween(before, proxy.snapshot()));
    m.wallMs.push(run.wallMs);
    m.maxRssKb.push(run.maxRssKb);
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Machine facts

function commandOutput(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

/** Debian's v2 at /usr/bin/aws when installed, else the first `aws` on PATH (resolved past a pyenv shim). */
function chooseAwsCli(): { path: string; note: string } {
  if (existsSync('/usr/bin/aws')) return { path: '/usr/bin/aws', note: "Debian's /usr/bin/aws" };
  const onPath = commandOutput('sh', ['-c', 'command -v aws']);
  if (!onPath) throw new Error('no AWS CLI: neither /usr/bin/aws nor aws on PATH');
  if (onPath.includes('/.pyenv/shims/')) {
    const real = commandOutput('pyenv', ['which', 'aws']);
    if (real && existsSync(real)) return { path: real, note: `the first \`aws\` on PATH (pyenv shim), called directly as ${real}` };
  }
  return { path: realpathSync(onPath), note: `the first \`aws\` on PATH (${onPath})` };
}

function resolverRevision(): string {
  const file = 'src/resolve/kubernetes-build.ts';
  const commit = commandOutput('git', ['-C', root, 'log', '-1', '--format=%h', '--', file]);
  const dirty = spawnSync('git', ['-C', root, 'diff', '--quiet', 'HEAD', '--', file]).status !== 0;
  return commit ? `as of commit ${commit}${dirty ? ', with uncommitted changes' : ''}` : 'outside git';
}

const packageVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

// ---------------------------------------------------------------------------------------------------------
// Report

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const fmtMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
const fmtBytes = (n: number): string => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
const fmtMiB = (kb: number): string => `${(kb / 1024).toFixed(0)} MiB`;
const fmtRange = (xs: number[], f: (x: number) => string): string => `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`;

/** The single value when every run agrees, else the spread (a finding in itself). */
function oneOrRange(xs: number[], f: (x: number) => string): string {
  const lo = f(Math.min(...xs));
  const hi = f(Math.max(...xs));
  return lo === hi ? lo : `${lo}–${hi}`;
}

function answerCell(m: Measured, expected: string): string {
  const distinct = [...new Set(m.answers)];
  const shown = distinct.map((a) => `\`${a || '(nothing)'}\``).join(', ');
  return distinct.length === 1 && distinct[0] === expected ? `${shown} ✔` : `${shown} ✘`;
}

function row(name: string, m: Measured, expected: string): string {
  return [
    '',
    name,
    answerCell(m, expected),
    oneOrRange(m.traffic.map((t) => t.requests), String),
    oneOrRange(m.traffic.map((t) => t.responseBytes), fmtBytes),
    fmtRange(m.wallMs, fmtMs),
    fmtRange(m.maxRssKb, fmtMiB),
    m.inProcessMs.length ? fmtRange(m.inProcessMs, fmtMs) : '—',
    '',
  ].join(' | ').trim();
}

interface Facts {
  lines: string[];
  awsNote: string;
  /** 1-minute load averages sampled at start and end. */
  load: number[];
  /** Commit of the resolver measured, and whether the working tree differs from it. */
  resolverRevision: string;
}

function writeResults(facts: Facts, baseline: Measured, bucket: { keys: number; minorKeys: number; pairs: number; versionDates: number; seedMs: number; keysAfter: number }, results: CaseResult[], totalMs: number): void {
  const ours = results.map((r) => r.ours);
  const refs = results.map((r) => r.reference);
  const allTraffic = (ms: Measured[]) => ms.flatMap((m) => m.traffic);
  const oursReq = allTraffic(ours).map((t) => t.requests);
  const refReq = allTraffic(refs).map((t) => t.requests);
  const oursBytes = allTraffic(ours).map((t) => t.responseBytes);
  const refBytes = allTraffic(refs).map((t) => t.responseBytes);
  const oursWall = median(ours.flatMap((m) => m.wallMs));
  const refWall = median(refs.flatMap((m) => m.wallMs));
  const oursInProc = median(ours.flatMap((m) => m.inProcessMs));
  const oursRss = median(ours.flatMap((m) => m.maxRssKb));
  const refRss = median(refs.flatMap((m) => m.maxRssKb));
  const wrong = results.filter((r) => r.reference.answers.some((a) => a !== r.expected));
  const oursWrong = results.filter((r) => r.ours.answers.some((a) => a !== r.expected));
  const sdkAgrees = results.every((r) =>
    r.ours.sdkCounter.every((c, i) => c.requests === r.ours.traffic[i].requests && c.bytes === r.ours.traffic[i].responseBytes),
  );
  const ratio = (a: number, b: number) => (b === 0 ? '∞' : (a / b).toFixed(a / b >= 10 ? 0 : 1));

  const interpretation = [
    `Ours needed ${oneOrRange(oursReq, String)} requests and ${oneOrRange(oursBytes, fmtBytes)} of responses per discovery${Math.min(...oursReq) === Math.max(...oursReq) ? ', the same whether or not it had to pass over newer dates unusable for the arch' : ''}, ` +
      `while the CLI pipeline made ${oneOrRange(refReq, String)} requests for ${oneOrRange(refBytes, fmtBytes)} (about ${ratio(median(refBytes), median(oursBytes))}× the bytes) ` +
      `because it pages through all ${bucket.minorKeys.toLocaleString('en')} keys under \`${MINOR}\`, a volume that grows with every build date published.`,
    `Including process start, ours took a median ${fmtMs(oursWall)} against ${fmtMs(refWall)} for the pipeline (${oursWall < refWall ? `${ratio(refWall, oursWall)}× faster` : `${ratio(oursWall, refWall)}× slower`}); ` +
      `the discovery itself took a median ${fmtMs(oursInProc)} in-process and an empty script under \`node --import tsx\` ${fmtMs(median(baseline.wallMs))}, so ${oursInProc < oursWall / 2 ? 'most of our child-process time is Node start-up and loading the TypeScript (and the AWS SDK) through tsx' : 'the requests, not start-up, dominate our time'}.`,
    `Peak RSS was ${oursRss > refRss ? 'higher for ours' : 'lower for ours'}: ${fmtMiB(oursRss)} (Node with tsx and the AWS SDK; the empty tsx script alone peaks at ${fmtMiB(median(baseline.maxRssKb))}) against ${fmtMiB(refRss)} for the largest process of the pipeline, the Python AWS CLI.`,
    wrong.length
      ? `The reference picked the wrong build in ${wrong.length} of ${results.length} cases (${wrong.map((r) => `${r.bench.title}: \`${[...new Set(r.reference.answers)].join(', ')}\` instead of \`${r.expected}\``).join('; ')}): ` +
        `it has no arch input and any kubelet key counts, windows \`kubelet.exe\` and checksum files included, so a date with a partial or windows-only set wins if it is the newest.`
      : 'The reference picked the right build in every case here.',
    `Loopback moto answers in milliseconds, so these wall times understate what the request and byte counts cost against real S3, where each round trip takes tens of milliseconds` +
      (Math.max(...facts.load) > availableParallelism() * 0.5 ? `; the machine was shared with other work during the run (load average up to ${Math.max(...facts.load).toFixed(1)} on ${availableParallelism()} cores), so the wall-time spreads are wide and the counts are the firmer figures.` : '.'),
  ];
  if (oursWrong.length) interpretation.push(`Ours picked the wrong build in: ${oursWrong.map((r) => r.bench.title).join('; ')} — a defect to look into.`);

  const md = `# Kubernetes version discovery benchmark

Generated by \`make bench\` (\`tsx bench/discovery.ts\`) on ${new Date().toISOString().replace(/\.[0-9]+Z$/, 'Z')}; every run rewrites this section. Total run time: ${fmtMs(totalMs)}.

## Machine

${facts.lines.map((l) => `- ${l}`).join('\n')}
- 1-minute load average: ${facts.load.map((l) => l.toFixed(2)).join(' at start, ')} at the end (other work on the machine shows up here and in the wall-time spreads).
- Start-up baseline: an empty script under \`node --import tsx\` takes ${fmtRange(baseline.wallMs, fmtMs)} and peaks at ${fmtRange(baseline.maxRssKb, fmtMiB)} RSS.

## Bucket

- One moto_server bucket (\`${BUCKET}\`, ${REGION}) with the real published history (${realBuildPairs().length} \`<version>/<date>\` pairs, one marker key each outside ${MINOR})
  plus ${SYNTHETIC_DATES} synthetic daily dates for ${VERSION} and one newer synthetic date \`${PARTIAL_NEWEST}\` with every binary except the arm64 kubelet.
  Every ${MINOR} date has the full key set of its shape (linux amd64/arm64 × 5 binaries and windows kubelet/kube-proxy, each with \`.sha256\`: 24 keys).
- ${bucket.keys.toLocaleString('en')} keys in ${bucket.pairs} build dates; ${bucket.minorKeys.toLocaleString('en')} keys under \`${MINOR}\`; ${VERSION} alone has ${bucket.versionDates} dates.
- Seeding took ${fmtMs(bucket.seedMs)} (PutObject, ${SEED_CONCURRENCY} concurrent, straight to moto, not through the proxy; not part of any figure below).
- The last two cases run after adding \`${WINDOWS_NEWEST}\` with windows binaries only (${bucket.keysAfter.toLocaleString('en')} keys then).

## Method

- **Ours**: \`findKubernetesBuild\` (src/resolve/kubernetes-build.ts ${facts.resolverRevision}) with \`s3Client(region, { counter, connection })\`.
- **Reference**: the shell sample's way, as \`bench/reference-discovery.sh\`: \`aws s3api list-objects-v2 --bucket … --prefix ${MINOR} --endpoint-url … --query 'Contents[].[Key]' --output text | grep kubelet | sort -V | tail -n 1 | cut -d/ -f1-2\`, with ${facts.awsNote}. The CLI follows every page itself (1,000 keys per page).
- Both go through one counting HTTP proxy on 127.0.0.1 in front of moto: **requests** received and **response bytes** = response bodies sent back (headers excluded). ${sdkAgrees ? "For ours the SDK's own counter (Content-Length) matched the proxy in every in-process run." : "For ours the SDK's own counter (Content-Length) did NOT always match the proxy; the proxy's figures are shown."}
- **Wall** = spawn to exit of a fresh process under \`/usr/bin/time -v\`, median of ${RUNS} runs after one warm-up (min–max in brackets): \`node --import tsx bench/ours-once.ts\` for ours, \`bash bench/reference-discovery.sh\` for the reference.
- **Max RSS** = GNU time's "Maximum resident set size" of that process tree (the largest single process in it, not a sum), median (min–max).
- **In-process** = ours called inside the benchmark process with a fresh client per call, no start-up, median of ${IN_PROCESS_RUNS} after one warm-up.
- ✔/✘ compares the answer with the newest \`<version>/<date>\` whose \`bin/linux/<arch>/kubelet\` and \`.sha256\` exist, worked out from the seeded keys.

## Results

${results
  .map(
    (r) => `### ${r.bench.title} — right answer \`${r.expected}\`

| Approach | Answer | Requests | Response bytes | Wall, with start-up | Max RSS | In-process |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
${row('Ours (findKubernetesBuild)', r.ours, r.expected)}
${row('Reference (aws s3api + sort -V)', r.reference, r.expected)}
`,
  )
  .join('\n')}
## Interpretation

${interpretation.join(' ')}
`;
  writeSection(resultsFile, 'discovery', md);
}

// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const awsCli = chooseAwsCli();
  const facts: Facts = {
    awsNote: awsCli.note,
    load: [loadavg()[0]],
    resolverRevision: resolverRevision(),
    lines: [
      `CPU: ${availableParallelism()} (nproc ${commandOutput('nproc', [])}) × ${cpus()[0]?.model ?? 'unknown'}; memory ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; Linux ${release()}`,
      `Node ${process.version}; tsx ${packageVersion('tsx')}; @aws-sdk/client-s3 ${packageVersion('@aws-sdk/client-s3')}`,
      `moto ${commandOutput('python3', ['-c', 'import moto; print(moto.__version__)'])} (moto_server, ${commandOutput('python3', ['--version'])})`,
      `AWS CLI: ${commandOutput(awsCli.path, ['--version'])} — ${awsCli.note}`,
      `${commandOutput('bash', ['--version'])}; ${commandOutput('sort', ['--version'])}; GNU time at /usr/bin/time`,
    ],
  };
  facts.lines.forEach((l) => log(l));

  let moto: Moto | undefined;
  let proxy: CountingProxy | undefined;
  try {
    log('starting moto_server and the counting proxy');
    moto = await startMoto();
    proxy = await startCountingProxy(moto.endpoint);

    const real = new Set(realBuildPairs());
    const synthetic = syntheticPairs(SYNTHETIC_DATES, PARTIAL_NEWEST.split('/')[1], real);
    const objects = historyObjects({
      fullMinors: [MINOR],
      extraPairs: [...synthetic, PARTIAL_NEWEST],
      shapes: { [PARTIAL_NEWEST]: 'no-arm64-kubelet' },
    });
    const pairs = new Set([...objects.keys()].map((k) => k.split('/').slice(0, 2).join('/')));
    const bucketFacts = {
      keys: objects.size,
      minorKeys: [...objects.keys()].filter((k) => k.startsWith(MINOR)).length,
      pairs: pairs.size,
      versionDates: [...pairs].filter((p) => p.startsWith(`${VERSION}/`)).length,
      seedMs: 0,
      keysAfter: 0,
    };
    log(`seeding ${bucketFacts.keys} keys (${bucketFacts.pairs} dates; ${bucketFacts.versionDates} for ${VERSION}) into moto`);
    const seedClient = new S3Client({
      region: REGION,
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    const seedStart = performance.now();
    await createBucket(seedClient, BUCKET);
    await seed(seedClient, objects);
    bucketFacts.seedMs = performance.now() - seedStart;
    log(`seeding took ${fmtMs(bucketFacts.seedMs)}`);

    // Everything measured goes through the proxy: this process's SDK clients (given the connection) and every
    // child (given the environment); this process's own environment is left alone.
    const connection: AwsConnection = { ...moto.connection, endpoint: proxy.endpoint };
    const awsEnv: Record<string, string> = {
      ...moto.env,
      AWS_ENDPOINT_URL: proxy.endpoint,
      AWS_ENDPOINT_URL_S3: proxy.endpoint,
      AWS_ENDPOINT_URL_EC2: proxy.endpoint,
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_PAGER: '',
    };
    const childEnv: NodeJS.ProcessEnv = { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('AWS_'))), ...awsEnv };

    const results: CaseResult[] = [];
    let keys: string[] = [...objects.keys()];
    for (const bench of CASES) {
      if (bench.windowsNewest && bucketFacts.keysAfter === 0) {
        const extra = buildObjects(WINDOWS_NEWEST, 'windows-only');
        await putObjects(seedClient, BUCKET, extra);
        keys = [...objects.keys(), ...extra.keys()];
        bucketFacts.keysAfter = objects.size + extra.size;
        log(`added ${WINDOWS_NEWEST} (windows only, ${extra.size} keys)`);
      }
      const expected = expectedAnswer(keys, bench.arch);
      log(`case "${bench.title}" (right answer ${expected}): ours in-process ×${IN_PROCESS_RUNS} and in a child ×${RUNS}`);
      const ours = await measureOurs(bench, proxy, connection, childEnv);
      log(`  ours: ${[...new Set(ours.answers)].join(', ')}, ${ours.traffic[0].requests} requests, median ${fmtMs(median(ours.wallMs))} with start-up, ${fmtMs(median(ours.inProcessMs))} in-process`);
      log(`  reference pipeline ×${RUNS}`);
      const reference = await measureReference(awsCli.path, proxy, childEnv);
      log(`  reference: ${[...new Set(reference.answers)].join(', ')}, ${reference.traffic[0].requests} requests, median ${fmtMs(median(reference.wallMs))}`);
      results.push({ bench, expected, ours, reference });
    }
    seedClient.destroy();

    log(`start-up baseline: empty script under node --import tsx ×${RUNS}`);
    const baseline = await measureBaseline(childEnv);
    facts.load.push(loadavg()[0]);
    writeResults(facts, baseline, bucketFacts, results, performance.now() - started);
    log(`wrote ${relative(process.cwd(), resultsFile)}`);
  } finally {
    await proxy?.stop();
    await moto?.stop();
  }
}

await main();
