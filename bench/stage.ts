// Benchmark of `make stage` (`make bench` should run it after bench/discovery.ts), not a test: our streaming
// stager (scripts/stage.ts: hash while downloading, bounded parallelism, streamed uploads) against the
// existing sample's way (bench/reference-stage.sh: one artifact after another, download to disk, then
// sha256sum, then upload with the AWS CLI), in the same run, against the same moto_server and the same local
// GitHub stand-in, with artifacts of realistic size. Writes its section of bench/RESULTS.md (bench:stage).
import { DeleteObjectsCommand, ListObjectsV2Command, S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createSigner, type Signer } from '../src/rehearse/signer.ts';
import { artifactsFor, originUrl } from '../src/stage/artifacts.ts';
import { redHatCatalog } from '../src/emulation/images.ts';
import { FAKE_CREDENTIALS, startMoto, type Moto } from '../src/rehearse/emulator.ts';
import { awsCliBase, publishRelease, RELEASE, SSM_REGION, trustedKeys, versionWords } from '../src/emulation/release.ts';
import { GitHubStandIn } from '../src/emulation/upstream-standins.ts';
import { writeSection } from './results-section.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const resultsFile = join(here, 'RESULTS.md');
const SOURCE = 'amazon-eks';
const MIRROR = 'bench-mirror';
const REGION = 'us-west-2';
const MiB = 1024 * 1024;
/** Sizes close to the real 1.28 amd64 artifacts (uncompressed binaries, release tarballs), in MiB. */
/** Realistic sizes by artifact name (data/artifacts.json's names; bench fails on an artifact without one). */
const SIZES_MIB: Record<string, number> = { kubelet: 56, 'ecr-credential-provider': 16, 'aws-iam-authenticator': 20, 'cni-plugins': 48, containerd: 36, runc: 12, 'aws-cli': 60, 'ssm-agent': 28 };
/** The same set scaled down and up, for peak memory as artifacts grow (ours, cold). */
const SCALES = [0.25, 1, 2];
const RUNS = 3;
/** AWS CLI calls the reference makes: 4 per bucket artifact (2 down, 2 up), 2 per HTTP one (uploads; curl downloads). */
const CLI_CALLS = 5 * 4 + 4 * 2;

const started = performance.now();
const log = (message: string) => console.log(`[${((performance.now() - started) / 1000).toFixed(1).padStart(5)} s] ${message}`);

interface Run {
  wallMs: number;
  maxRssKb: number;
  stderr: string;
}

async function timed(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-time-'));
  const report = join(dir, 'time.txt');
  try {
    const t0 = performance.now();
    const child = spawn('/usr/bin/time', ['-v', '-o', report, command, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    const wallMs = performance.now() - t0;
    if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${code}:\n${stderr.slice(-3000)}`);
    const rss = /Maximum resident set size \(kbytes\): ([0-9]+)/.exec(readFileSync(report, 'utf8'));
    return { wallMs, maxRssKb: Number(rss?.[1] ?? 0), stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function commandOutput(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n')[0] ?? '';
}

function awsCli(): string {
  if (existsSync('/usr/bin/aws')) return '/usr/bin/aws';
  const onPath = commandOutput('sh', ['-c', 'command -v aws']);
  if (!onPath) throw new Error('no AWS CLI on PATH (the reference approach needs one)');
  if (onPath.includes('/.pyenv/shims/')) {
    const real = commandOutput('pyenv', ['which', 'aws']);
    if (real && existsSync(real)) return real;
  }
  return realpathSync(onPath);
}

/** Random (incompressible) content written in 1 MiB chunks, so the benchmark itself stays small. */
async function randomFile(path: string, size: number): Promise<void> {
  const out = createWriteStream(path);
  for (let left = size; left > 0; left -= MiB) {
    if (!out.write(randomBytes(Math.min(MiB, left)))) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

/** The artifacts of the benchmark's configuration, from the manifest (data/artifacts.json), with their sizes. */
const filesOf = (arch: 'amd64' | 'arm64'): { file: string; mib: number }[] =>
  artifactsFor({ kubernetesVersion: RELEASE.version, buildDate: RELEASE.date, binaryArch: arch, cniPluginVersion: RELEASE.cni, containerdVersion: RELEASE.containerd, runcVersion: RELEASE.runc, sourceBucket: { name: SOURCE, region: REGION }, ssmRegion: SSM_REGION }).map((a) => {
    const mib = SIZES_MIB[a.name];
    if (mib === undefined) throw new Error(`bench/stage.ts: no size for ${a.name} (data/artifacts.json); add it to SIZES_MIB`);
    return { file: a.file, mib };
  });

async function clearMirror(s3: S3Client): Promise<void> {
  for (;;) {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: MIRROR }));
    const keys = (listed.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (!keys.length) return;
    await s3.send(new DeleteObjectsCommand({ Bucket: MIRROR, Delete: { Objects: keys } }));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmtS = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmtMiB = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;
const range = (xs: number[], f: (x: number) => string) => (xs.length > 1 ? `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})` : f(xs[0]));

interface Row {
  approach: string;
  scale: number;
  bytes: number;
  runs: Run[];
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const cli = awsCli();
  const work = mkdtempSync(join(tmpdir(), 'bench-stage-'));
  let moto: Moto | undefined;
  let gh: GitHubStandIn | undefined;
  let signer: Signer | undefined;
  const rows: Row[] = [];
  const load = [loadavg()[0]];
  try {
    log('starting moto_server and the GitHub stand-in');
    moto = await startMoto({ amis: redHatCatalog() });
    gh = await GitHubStandIn.start();
    // The AWS CLI and SSM agent stand-ins are signed by a throw-away key both approaches trust.
    signer = createSigner(work);
    const keysDir = trustedKeys(join(work, 'keys'), signer);
    const s3 = new S3Client({
      region: REGION,
      endpoint: moto.endpoint,
      forcePathStyle: true,
      // Seeding only: plain bodies instead of aws-chunked CRC32 trailers, which moto decodes slowly.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    await s3.send(new CreateBucketCommand({ Bucket: MIRROR, CreateBucketConfiguration: { LocationConstraint: REGION } }));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...moto.env,
      AWS_DEFAULT_REGION: REGION,
      AWS_CONFIG_FILE: '/nonexistent/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
      AWS_PAGER: '',
    };
    const standInWords = [`github_base_url=${gh.endpoint}`, `awscli_base_url=${awsCliBase(gh)}`, `keys_dir=${keysDir}`, 'progress_ms=0'];

    for (const scale of SCALES) {
      // A source bucket per scale (moto keeps what it stores; one at a time).
      const bucketDir = join(work, `files-${scale}`);
      mkdirSync(bucketDir, { recursive: true });
      // The amd64 files are what is staged; arm64 gets tiny stand-ins (published, never measured).
      const sizes = new Map<string, number>();
      for (const arch of ['amd64', 'arm64'] as const) {
        for (const { file: f, mib } of filesOf(arch)) {
          const size = arch === 'amd64' ? Math.round(mib * scale * MiB) : 1024;
          if (arch === 'amd64') sizes.set(f, size);
          await randomFile(join(bucketDir, `${arch}-${f}`), size);
        }
      }
      const total = [...sizes.values()].reduce((a, b) => a + b, 0);
      log(`scale ${scale}: ${(total / MiB).toFixed(0)} MiB in ${sizes.size} artifacts; seeding moto and the stand-in`);
      await moto.reset();
      await s3.send(new CreateBucketCommand({ Bucket: SOURCE, CreateBucketConfiguration: { LocationConstraint: REGION } }));
      await s3.send(new CreateBucketCommand({ Bucket: MIRROR, CreateBucketConfiguration: { LocationConstraint: REGION } }));
      gh.assets.clear();
      await publishRelease(s3, SOURCE, gh, (file, arch) => ({ file: join(bucketDir, `${arch}-${file}`) }), { signer, scratch: join(work, `signed-${scale}`) });

      const words = ['1.28', `binary_bucket_name=${MIRROR}`, `binary_bucket_region=${REGION}`, `kubernetes_version=${RELEASE.version}`, `kubernetes_build_date=${RELEASE.date}`, ...versionWords];
      const ours = async (label: string, extraWords: string[], opts: { cold: boolean }) => {
        const cache = join(work, 'cache');
        if (opts.cold) {
          rmSync(cache, { recursive: true, force: true });
          await clearMirror(s3);
        }
        const run = await timed(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'stage.ts'), ...words, ...standInWords, `cache_dir=${cache}`, `lock_file=${join(work, 'build.lock.json')}`, ...extraWords], env, root);
        log(`  ${label}: ${fmtS(run.wallMs)}, peak RSS ${fmtMiB(run.maxRssKb)}`);
        return run;
      };
      const reference = async () => {
        await clearMirror(s3);
        const manifest = join(work, 'manifest.txt');
        const specs = artifactsFor({ kubernetesVersion: RELEASE.version, buildDate: RELEASE.date, binaryArch: 'amd64', cniPluginVersion: RELEASE.cni, containerdVersion: RELEASE.containerd, runcVersion: RELEASE.runc, sourceBucket: { name: SOURCE, region: REGION }, ssmRegion: SSM_REGION });
        const loc = (o: (typeof specs)[number]['origin']) => (o.kind === 's3' ? `s3://${o.bucket}/${o.key}` : originUrl(o, { github: gh!.endpoint, awsCli: awsCliBase(gh!) }));
        const check = (s: (typeof specs)[number]) => (s.verification.kind === 'pgp-signature' ? `pgp:${join(keysDir, s.verification.keyFile)}` : 'sha256');
        writeFileSync(manifest, specs.map((s) => `${loc(s.origin)} ${loc(s.checksumOrigin)} ${s.file} ${s.key} ${s.checksumKey} ${check(s)}\n`).join(''));
        const run = await timed('bash', [join(here, 'reference-stage.sh'), cli, moto!.endpoint, MIRROR, join(work, 'ref'), manifest], env, root);
        log(`  reference: ${fmtS(run.wallMs)}, peak RSS ${fmtMiB(run.maxRssKb)}`);
        return run;
      };

      if (scale === 1) {
        const runs: Record<string, Run[]> = { ours: [], ours1: [], warm: [], ref: [] };
        await ours('warm-up (not counted)', [], { cold: true });
        for (let i = 0; i < RUNS; i++) {
          runs.ours.push(await ours('ours (4 at a time), cold', [], { cold: true }));
          runs.warm.push(await ours('ours re-run (cache and mirror complete)', [], { cold: false }));
          runs.ref.push(await reference());
          runs.ours1.push(await ours('ours one at a time, cold', ['concurrency=1'], { cold: true }));
        }
        rows.push({ approach: 'Ours, 4 artifacts at a time (default), cold cache, empty mirror', scale, bytes: total, runs: runs.ours });
        rows.push({ approach: 'Ours, one artifact at a time (concurrency=1), cold', scale, bytes: total, runs: runs.ours1 });
        rows.push({ approach: 'Reference: sequential download → sha256sum → upload (AWS CLI, curl)', scale, bytes: total, runs: runs.ref });
        rows.push({ approach: 'Ours, re-run with everything cached and mirrored', scale, bytes: total, runs: runs.warm });
      } else {
        rows.push({ approach: 'Ours, 4 at a time, cold', scale, bytes: total, runs: [await ours(`ours at scale ${scale}, cold`, [], { cold: true })] });
      }
      rmSync(bucketDir, { recursive: true, force: true });
    }
    s3.destroy();
  } finally {
    await gh?.stop();
    await moto?.stop();
    signer?.dispose();
    rmSync(work, { recursive: true, force: true });
  }
  load.push(loadavg()[0]);
  const startUps: number[] = [];
  for (let i = 0; i < 3; i++) startUps.push((await timed(cli, ['--version'], process.env, root)).wallMs);
  report(rows, cli, load, median(startUps));
  log(`wrote the stage section of ${relative(process.cwd(), resultsFile)}`);
}

function report(rows: Row[], cli: string, load: number[], cliStartMs: number): void {
  const line = (r: Row) => {
    const walls = r.runs.map((x) => x.wallMs);
    const rates = walls.map((ms) => r.bytes / MiB / (ms / 1000));
    const throughput = r.approach.includes('re-run') ? '— (nothing transferred)' : range(rates, (x) => `${x.toFixed(0)} MiB/s`);
    return `| ${r.approach} | ${(r.bytes / MiB).toFixed(0)} MiB | ${range(walls, fmtS)} | ${throughput} | ${range(r.runs.map((x) => x.maxRssKb), fmtMiB)} |`;
  };
  const main = rows.filter((r) => r.scale === 1);
  const get = (prefix: string) => main.find((r) => r.approach.startsWith(prefix))!;
  const ours = median(get('Ours, 4').runs.map((r) => r.wallMs));
  const ours1 = median(get('Ours, one').runs.map((r) => r.wallMs));
  const ref = median(get('Reference').runs.map((r) => r.wallMs));
  const refRss = median(get('Reference').runs.map((r) => r.maxRssKb));
  const scaled = rows.filter((r) => r.approach.startsWith('Ours, 4')).sort((a, b) => a.scale - b.scale);
  const at = (scale: number) => scaled.find((r) => r.scale === scale)!;
  const multipartAt2 = Object.values(SIZES_MIB).filter((mib) => mib * 2 >= 64).length;
  const growth = { wall: median(at(2).runs.map((r) => r.wallMs)) / median(at(1).runs.map((r) => r.wallMs)), bytes: at(2).bytes / at(1).bytes };
  const md = `# Artifact staging benchmark

Generated by \`tsx bench/stage.ts\` on ${new Date().toISOString().replace(/\.[0-9]+Z$/, 'Z')}; every run rewrites this section. Total run time: ${fmtS(performance.now() - started)}.

## Machine

- CPU: ${availableParallelism()} × ${cpus()[0]?.model ?? 'unknown'}; memory ${(totalmem() / 1024 ** 3).toFixed(1)} GiB; Linux ${release()}; Node ${process.version}
- moto ${commandOutput('python3', ['-c', 'import moto; print(moto.__version__)'])} (moto_server) for S3 (source bucket and mirror); a local HTTP server (src/emulation/upstream-standins.ts) standing in for GitHub releases; both on 127.0.0.1, in the benchmark's process or beside it.
- AWS CLI for the reference: ${commandOutput(cli, ['--version'])}; ${commandOutput('curl', ['--version']).split(' ').slice(0, 2).join(' ')}
- 1-minute load average ${load.map((l) => l.toFixed(2)).join(' at start, ')} at the end (other work on the machine widens the spreads).

## Method

- One configuration (Kubernetes ${RELEASE.version}, amd64): ${filesOf('amd64').length} artifacts — kubelet, ecr-credential-provider, aws-iam-authenticator from the source bucket; CNI plugins, containerd, runc from the GitHub stand-in, each with its published checksum file; the AWS CLI v2 installer (a second HTTP site) and the SSM agent RPM (an amazon-ssm bucket), each with a detached PGP signature checked with gpg — random (incompressible) content of realistic size (${Object.entries(SIZES_MIB).map(([k, v]) => `${k} ${v} MiB`).join(', ')}) at scale 1.
- **Ours** = \`node --import tsx scripts/stage.ts 1.28 binary_bucket_name=… kubernetes_version=… kubernetes_build_date=…\` (so discovery costs nothing; the source AMI lookup still runs), a fresh process per run: hashes while streaming to the cache, uploads from the cache (files ≥ 64 MiB in 16 MiB parts), \`concurrency\` artifacts at a time. "Cold" = empty cache and empty mirror.
- **Reference** = \`bench/reference-stage.sh\`: for each artifact in turn, \`aws s3 cp\` or \`curl\` the file and its checksum file (or signature) to disk, \`sha256sum\` and compare (or \`gpg --verify\`), \`aws s3 cp\` both to the mirror.
- **Wall** = process start to exit under \`/usr/bin/time -v\`; median of ${RUNS} at scale 1 (min–max). **Throughput** = artifact bytes / wall (every artifact is downloaded once and uploaded once). **Peak RSS** = GNU time's maximum resident set size, i.e. of the largest single process (for the reference, one \`aws\` Python process).

## Results (scale 1)

| Approach | Artifacts | Wall | Throughput | Peak RSS |
| --- | ---: | ---: | ---: | ---: |
${main.map(line).join('\n')}

## Peak memory as artifacts grow (ours, 4 at a time, cold)

| Scale | Artifacts | Largest artifact | Wall | Peak RSS |
| ---: | ---: | ---: | ---: | ---: |
${scaled.map((r) => `| ${r.scale}× | ${(r.bytes / MiB).toFixed(0)} MiB | ${(SIZES_MIB.kubelet * r.scale).toFixed(0)} MiB | ${fmtS(median(r.runs.map((x) => x.wallMs)))} | ${fmtMiB(median(r.runs.map((x) => x.maxRssKb)))} |`).join('\n')}

## Interpretation

Staging the ${(get('Ours, 4').bytes / MiB).toFixed(0)} MiB set took a median ${fmtS(ours)} with ours against ${fmtS(ref)} for the reference (ours ${(ref / ours).toFixed(1)}× ${ref > ours ? 'faster' : 'slower'}, ${(get('Ours, 4').bytes / MiB / (ours / 1000)).toFixed(0)} against ${(get('Ours, 4').bytes / MiB / (ref / 1000)).toFixed(0)} MiB/s). ` +
    `One artifact at a time ours took ${fmtS(ours1)}, so parallel staging accounts for ${(ours1 / ours).toFixed(1)}×. Of the remaining ${fmtS(ref - ours1)} between the reference and ours one at a time, about ${fmtS(CLI_CALLS * cliStartMs)} is the reference's ${CLI_CALLS} AWS CLI invocations each paying Python start-up (\`aws --version\` alone takes ${fmtS(cliStartMs)} here); the rest is the single pass — hashing while the bytes arrive instead of reading every file again for sha256sum — and the CLI's own transfer speed. ` +
    `Peak RSS of ours stayed at ${scaled.map((r) => fmtMiB(median(r.runs.map((x) => x.maxRssKb)))).join(', ')} for ${scaled.map((r) => `${(r.bytes / MiB).toFixed(0)} MiB`).join(', ')} of artifacts: memory does not grow with artifact size (streams and fixed-size buffers only; the level itself is the fixed cost of Node, tsx and the AWS SDK — compare the discovery section), against ${fmtMiB(refRss)} for the reference's largest process. ` +
    `A re-run with everything cached and mirrored took ${fmtS(median(get('Ours, re-run').runs.map((r) => r.wallMs)))}: it fetches the checksum files and signatures, re-hashes the cached files (so a damaged cache entry is never uploaded), checks the two signatures again and asks the mirror with HeadObject, nothing more. ` +
    `At 2× the ${multipartAt2} artifacts over 64 MiB go up as multipart uploads (16 MiB parts); from 1× to 2× the wall time grew ${(growth.wall).toFixed(1)}× for ${(growth.bytes).toFixed(1)}× the bytes${growth.wall > 1.3 * growth.bytes ? ', faster than the bytes, which was not investigated further (one run, moto on the same cores)' : ''}. Everything runs on loopback against a Python emulator on ${availableParallelism()} cores shared with it, so moto's speed bounds both approaches; real S3 and GitHub add round-trip latency and per-connection bandwidth limits, which this benchmark does not measure.
`;
  writeSection(resultsFile, 'stage', md);
}

await main();
