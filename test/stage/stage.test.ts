// `make stage` against moto's S3 (through a fault-injecting proxy) and a local GitHub stand-in: every
// artifact arrives intact or the run fails clearly, and nothing corrupt or partial ever reaches the mirror.
import { AbortMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { runPipeline } from '../../src/pipeline.ts';
import { processRunner } from '../../src/process/run.ts';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ec2Client, s3Client, type AwsConnection } from '../../src/aws/clients.ts';
import { readLock } from '../../src/lock/lock.ts';
import { lockedInputs } from '../../src/lock/replay.ts';
import { runStage, type StageRunDeps, type StageRunResult } from '../../src/stage/run.ts';
import { redHatCatalog, RED_HAT_GOV } from '../../src/emulation/images.ts';
import { FAKE_CREDENTIALS, startMoto, type Moto } from '../support/moto.ts';
import { capture, captureAsync, entryScript, type Captured } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';
import { createSigner, type Signer } from '../../src/rehearse/signer.ts';
import { awsCliBase, publishRelease, RELEASE, trustedKeys, versionWords, type Published } from '../../src/emulation/release.ts';
import { Barrier, FaultyProxy, GitHubStandIn, Inflight, randomBody, sha256, slowDown } from '../../src/emulation/upstream-standins.ts';

const SOURCE = 'amazon-eks';
const MIRROR = 'my-mirror';
const words = ['1.28', `binary_bucket_name=${MIRROR}`, 'binary_bucket_region=us-west-2', ...versionWords];
const isArtifactBody = (_m: string, p: string) => !/\.sha256|sha256sum/.test(p) && !p.includes('list-type') && /(kubelet|authenticator|provider|\.tgz|\.tar\.gz|runc\.(amd|arm)64)(\?|$)/.test(p);

describe('make stage (moto S3 + GitHub stand-in)', function () {
  this.timeout(60_000);
  let moto: Moto;
  let proxy: FaultyProxy;
  let gh: GitHubStandIn;
  let direct: S3Client;
  let published: Record<'amd64' | 'arm64', Published>;
  let work: string;
  let signer: Signer;
  let keysDir: string;
  let keep: string;
  const inflight = new Inflight();

  before(async () => {
    moto = await startMoto({ amis: [...redHatCatalog(), ...redHatCatalog(RED_HAT_GOV)] });
    proxy = await FaultyProxy.start(moto.endpoint, inflight);
    gh = await GitHubStandIn.start({ inflight });
    for (const s of [proxy, gh]) s.countInflight = isArtifactBody;
    direct = new S3Client({
      region: 'us-west-2',
      endpoint: moto.endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY },
    });
    await direct.send(new CreateBucketCommand({ Bucket: SOURCE, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    // Sizes vary so that faults land mid-body; runc is the smallest, as in real releases.
    const sizes: Record<string, number> = { kubelet: 900_000, 'ecr-credential-provider': 700_000, 'aws-iam-authenticator': 300_000 };
    await direct.send(new CreateBucketCommand({ Bucket: MIRROR, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    requireTool('gpg', 'signing and checking the AWS CLI and SSM agent stand-ins');
    keep = mkdtempSync(join(tmpdir(), 'stage-keys-'));
    signer = createSigner(keep);
    keysDir = trustedKeys(join(keep, 'keys'), signer);
    published = await publishRelease(direct, SOURCE, gh, (file) => ({ body: randomBody(sizes[file] ?? (file.startsWith('runc') ? 200_000 : 600_000)) }), { signer, scratch: join(keep, 'signed') });
  });

  beforeEach(async () => {
    work = mkdtempSync(join(tmpdir(), 'stage-test-'));
    proxy.reset();
    gh.reset();
    gh.redirectHost = '';
    gh.barrier = proxy.barrier = undefined;
    await clearMirror();
  });

  afterEach(() => rmSync(work, { recursive: true, force: true }));

  after(async () => {
    direct?.destroy();
    await gh?.stop();
    await proxy?.stop();
    await moto?.stop();
    signer?.dispose();
    if (keep) rmSync(keep, { recursive: true, force: true });
  });

  async function clearMirror() {
    const listed = await direct.send(new ListObjectsV2Command({ Bucket: MIRROR }));
    for (const o of listed.Contents ?? []) await direct.send(new DeleteObjectCommand({ Bucket: MIRROR, Key: o.Key! }));
    const pending = await direct.send(new ListMultipartUploadsCommand({ Bucket: MIRROR }));
    for (const u of pending.Uploads ?? []) await direct.send(new AbortMultipartUploadCommand({ Bucket: MIRROR, Key: u.Key!, UploadId: u.UploadId! }));
  }

  interface Outcome {
    result?: StageRunResult;
    error?: Error & { exitCode?: number };
    logs: string[];
    lines: string[];
  }

  /** The emulator, with S3 behind the fault-injecting proxy (or another endpoint), passed to the clients explicitly. */
  const via = (endpoint: string): AwsConnection => ({ ...moto.connection, endpoint });
  /** The stage options pointing at the stand-ins; words given later override them. */
  const standInWords = () => [`github_base_url=${gh.endpoint}`, `awscli_base_url=${awsCliBase(gh)}`, `keys_dir=${keysDir}`, `cache_dir=${join(work, 'cache')}`, `lock_file=${join(work, 'build.lock.json')}`, 'progress_ms=0'];

  /** `make stage` in process; `env` holds only what staging reads from the environment (GITHUB_TOKEN, AWS_CA_BUNDLE). */
  async function stage(extraWords: string[] = [], env: Record<string, string> = {}, extra: Partial<StageRunDeps> = {}, s3Endpoint = proxy.endpoint): Promise<Outcome> {
    const logs: string[] = [];
    const lines: string[] = [];
    const out: Outcome = { logs, lines };
    try {
      out.result = await runStage([...words, ...standInWords(), ...extraWords], {
        env,
        log: (l) => logs.push(l),
        write: (l) => lines.push(l),
        s3: (region, unsigned) => s3Client(region, { unsigned, connection: via(s3Endpoint) }),
        ec2: (region) => ec2Client(region, moto.connection),
        cwd: work,
        retry: { baseMs: 1, maxMs: 10 },
        ...extra,
      });
    } catch (error) {
      out.error = error as Error;
    }
    return out;
  }

  async function mirrorKeys(): Promise<string[]> {
    const out = await direct.send(new ListObjectsV2Command({ Bucket: MIRROR }));
    return (out.Contents ?? []).map((o) => o.Key!).sort();
  }

  async function mirrorObject(key: string): Promise<Buffer> {
    const out = await direct.send(new GetObjectCommand({ Bucket: MIRROR, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  }

  /** Every artifact of the arch in the mirror, byte-identical, with its published checksum file or signature. */
  async function expectMirrorComplete(arch: 'amd64' | 'arm64' = 'amd64') {
    const keys = await mirrorKeys();
    for (const [file, p] of published[arch].files) {
      expect(keys, file).to.include.members([p.key, p.checksumKey]);
      expect(sha256(await mirrorObject(p.key)), `${file} in the mirror`).to.equal(p.sha256);
      if (p.signature) expect(sha256(await mirrorObject(p.checksumKey)), `${file} signature`).to.equal(sha256(p.signature));
      else expect((await mirrorObject(p.checksumKey)).toString(), `${file} checksum file`).to.include(p.sha256);
    }
    expect(keys).to.have.length(published[arch].files.size * 2);
  }

  it('mirrors every artifact with its checksum file under the build key layout and writes a valid lock', async () => {
    const { result, error, lines } = await stage();
    expect(error, String(error?.message)).to.equal(undefined);
    await expectMirrorComplete();
    const keys = await mirrorKeys();
    expect(keys).to.include.members([
      `${RELEASE.version}/${RELEASE.date}/bin/linux/amd64/kubelet`,
      `${RELEASE.version}/${RELEASE.date}/bin/linux/amd64/kubelet.sha256`,
      `github/containernetworking/plugins/releases/download/${RELEASE.cni}/cni-plugins-linux-amd64-${RELEASE.cni}.tgz.sha256`,
      `github/containerd/containerd/releases/download/v${RELEASE.containerd}/containerd-${RELEASE.containerd}-linux-amd64.tar.gz.sha256sum`,
      `github/opencontainers/runc/releases/download/v${RELEASE.runc}/runc.amd64`,
      `github/opencontainers/runc/releases/download/v${RELEASE.runc}/runc.sha256sum`,
    ]);
    const lock = readLock(result!.lockPath);
    expect(lock.kubernetes).to.deep.equal({ version: RELEASE.version, buildDate: RELEASE.date, minor: '1.28' });
    expect(lock.mirror).to.deep.equal({ bucket: MIRROR, region: 'us-west-2' });
    expect(lock.sourceAmi.name).to.match(/^RHEL-9\.5\.0_HVM-20250115-x86_64/);
    expect(lock.artifacts).to.have.length(8);
    for (const a of lock.artifacts) expect(a.sha256, a.file).to.equal(published.amd64.files.get(a.file)!.sha256);
    const kubelet = lock.artifacts.find((a) => a.name === 'kubelet')!;
    expect(kubelet.origin).to.deep.equal({ kind: 's3', bucket: SOURCE, region: 'us-west-2', key: `${RELEASE.version}/${RELEASE.date}/bin/linux/amd64/kubelet` });
    expect(kubelet.url).to.equal(`https://s3.us-west-2.amazonaws.com/${SOURCE}/${RELEASE.version}/${RELEASE.date}/bin/linux/amd64/kubelet`);
    const pinned = lockedInputs(lock);
    expect(pinned.variables).to.include({ kubernetes_version: RELEASE.version, kubernetes_build_date: RELEASE.date, source_ami_id: lock.sourceAmi.id, binary_bucket_name: MIRROR, pull_cni_from_github: false });
    expect(pinned.pinnedSha256File.trim().split('\n')).to.have.length(8);
    // The AWS CLI and the SSM agent publish no checksum: their signature vouched for them, the lock pins them.
    const cli = lock.artifacts.find((a) => a.name === 'aws-cli')!;
    expect(cli).to.include({ file: 'awscli-exe-linux-x86_64.zip', key: 'awscli/awscli-exe-linux-x86_64.zip', checksumKey: 'awscli/awscli-exe-linux-x86_64.zip.sig', verifiedBy: 'pgp-signature', url: `${awsCliBase(gh)}/awscli-exe-linux-x86_64.zip` });
    const ssm = lock.artifacts.find((a) => a.name === 'ssm-agent')!;
    expect(ssm).to.include({ key: 'amazon-ssm-agent/latest/linux_amd64/amazon-ssm-agent.rpm', verifiedBy: 'pgp-signature' });
    expect(ssm.origin).to.deep.equal({ kind: 's3', bucket: 'amazon-ssm-us-west-2', region: 'us-west-2', key: 'latest/linux_amd64/amazon-ssm-agent.rpm' });
    expect(kubelet.verifiedBy).to.equal('sha256-file');
    // The summary table names every artifact.
    expect(lines.join('\n')).to.match(/artifact\s+size\s+sha256/);
    for (const a of lock.artifacts) expect(lines.join('\n')).to.include(a.name);
  });

  it('make 1.28 lock=…: the build replays the lock (versions, mirror, source AMI) and hands its checksums to the provisioners', async () => {
    const { result, error } = await stage();
    expect(error, String(error?.message)).to.equal(undefined);
    const lock = readLock(result!.lockPath);
    const lines: string[] = [];
    const run = (extra: string[]) =>
      runPipeline(['1.28', `lock=${result!.lockPath}`, 'dry_run=true', `ami_name=lock-replay-${process.pid}`, ...extra], {
        runner: processRunner,
        clients: { s3: (region, unsigned) => s3Client(region, { unsigned, connection: via(proxy.endpoint) }), ec2: (region) => ec2Client(region, moto.connection) },
        env: { ...process.env, ...moto.env },
        log: (l) => lines.push(l),
      });
    const { plan, dir } = await run([]);
    try {
      expect(plan).to.include({ kubernetes_version: lock.kubernetes.version, kubernetes_build_date: lock.kubernetes.buildDate, source_ami_id: lock.sourceAmi.id, source_ami_name: lock.sourceAmi.name });
      expect(plan.variables).to.include({ binary_bucket_name: MIRROR, pull_cni_from_github: false });
      expect(plan.variable_sources.kubernetes_version).to.equal(`lock file ${result!.lockPath}`);
      expect(plan.lock?.sha256).to.equal(sha256(readFileSync(result!.lockPath)));
      expect(plan.provisioner_environment.PINNED_SHA256_FILE).to.equal('/var/lib/eks-build/generated/pinned-sha256.txt');
      expect(readFileSync(join(dir, 'generated', 'pinned-sha256.txt'), 'utf8')).to.equal(lockedInputs(lock).pinnedSha256File);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // Anything that contradicts the lock is refused before any AWS call.
    try {
      await run(['kubernetes_version=1.28.3', 'containerd_version=2.0.4']);
      expect.fail('a contradicting value was accepted');
    } catch (e) {
      expect((e as { exitCode?: number }).exitCode).to.equal(2);
      expect((e as Error).message).to.contain('kubernetes_version="1.28.3" (command line) contradicts the lock file').and.to.contain('containerd_version');
    }
  });

  it('stages without aws-iam-authenticator when the source bucket does not carry it (optional on the instance too)', async () => {
    const key = `${RELEASE.version}/${RELEASE.date}/bin/linux/amd64/aws-iam-authenticator`;
    const aside = async (from: string, to: string) => {
      for (const suffix of ['', '.sha256']) {
        await direct.send(new CopyObjectCommand({ Bucket: SOURCE, Key: `${to}${suffix}`, CopySource: `${SOURCE}/${from}${suffix}`, ACL: 'public-read' }));
        await direct.send(new DeleteObjectCommand({ Bucket: SOURCE, Key: `${from}${suffix}` }));
      }
    };
    await aside(key, `${key}.aside`);
    try {
      const { error, result, logs } = await stage();
      expect(error, String(error?.message)).to.equal(undefined);
      expect(result!.lock.artifacts.map((a) => a.name)).to.not.include('aws-iam-authenticator');
      expect(result!.lock.artifacts).to.have.length(7);
      expect(logs.join('\n')).to.include(`aws-iam-authenticator is not in s3://${SOURCE}/${key}: not staged (optional`);
      expect(await mirrorKeys()).to.not.include(key);
    } finally {
      await aside(`${key}.aside`, key);
    }
  });

  it('stages arm64 when asked, with arm64 assets only', async () => {
    const { error, result } = await stage(['arch=arm64']);
    expect(error, String(error?.message)).to.equal(undefined);
    await expectMirrorComplete('arm64');
    expect(result!.lock.artifacts.map((a) => a.file)).to.include.members(['runc.arm64', `cni-plugins-linux-arm64-${RELEASE.cni}.tgz`]);
  });

  it('re-run: artifacts come from the cache, nothing is downloaded or uploaded again', async () => {
    expect((await stage()).error).to.equal(undefined);
    proxy.reset();
    gh.reset();
    const second = await stage();
    expect(second.error, String(second.error?.message)).to.equal(undefined);
    // Only the small checksum files are fetched again; no artifact body, no upload.
    expect(gh.served.filter((s) => isArtifactBody(s.method, s.path))).to.deep.equal([]);
    expect(proxy.served.filter((s) => s.method === 'GET' && isArtifactBody(s.method, s.path))).to.deep.equal([]);
    expect(proxy.served.filter((s) => s.method === 'PUT' || s.method === 'POST')).to.deep.equal([]);
    expect(second.result!.staged.every((a) => a.fetched === 'hit' && a.uploaded === 'present')).to.equal(true);
  });

  it('an interrupted download resumes from where it stopped on the next run (Range), and arrives intact', async () => {
    const containerd = [...published.amd64.files.keys()].find((f) => f.startsWith('containerd-'))!;
    gh.fault(containerd, { kind: 'reset', after: 300_000 });
    const first = await stage(['retries=1']);
    expect(gh.pendingFaults()).to.equal(0);
    expect(first.error?.message).to.match(/containerd.*gave up after 1 attempt/s);
    expect(first.error?.exitCode).to.equal(6);
    expect(await mirrorKeys()).to.not.include(published.amd64.files.get(containerd)!.key);
    expect(await mirrorKeys()).to.not.include(published.amd64.files.get(containerd)!.checksumKey);
    expect(existsSync(join(work, 'build.lock.json')), 'no lock after a failed run').to.equal(false);

    gh.reset();
    const second = await stage();
    expect(second.error, String(second.error?.message)).to.equal(undefined);
    const bodyRequests = gh.served.filter((s) => s.path.endsWith(containerd));
    expect(bodyRequests).to.have.length(1);
    expect(bodyRequests[0].range).to.match(/^bytes=[1-9][0-9]*-$/);
    const resumedAt = Number(/bytes=([0-9]+)-/.exec(bodyRequests[0].range!)![1]);
    expect(bodyRequests[0].bytes).to.equal(published.amd64.files.get(containerd)!.size - resumedAt);
    expect(second.result!.staged.find((a) => a.file === containerd)!.fetched).to.equal('resumed');
    // Everything else came from the first run's cache.
    expect(second.result!.staged.filter((a) => a.fetched === 'downloaded')).to.deep.equal([]);
    await expectMirrorComplete();
  });

  it('retries through 500, 503, S3 SlowDown, resets and truncated bodies, and every artifact arrives intact', async () => {
    const files = [...published.amd64.files.keys()];
    const cni = files.find((f) => f.startsWith('cni-'))!;
    const containerd = files.find((f) => f.startsWith('containerd-'))!;
    gh.fault(cni, { kind: 'status', status: 500 }, { kind: 'status', status: 503, headers: { 'retry-after': '0' } }, { kind: 'reset', after: 100_000 });
    gh.fault(containerd, { kind: 'truncate', after: 200_000 }, { kind: 'status', status: 502 });
    gh.fault('runc.sha256sum', { kind: 'status', status: 503 });
    gh.fault('runc.amd64', { kind: 'reset', after: 0 });
    const kubeletKey = published.amd64.files.get('kubelet')!.key;
    const providerKey = published.amd64.files.get('ecr-credential-provider')!.key;
    proxy.fault((m, p) => m === 'GET' && p.includes(`/${SOURCE}/${kubeletKey}`) && !p.includes('.sha256'), slowDown(), slowDown(), slowDown(), slowDown(), { kind: 'reset', after: 400_000 });
    proxy.fault((m, p) => m === 'GET' && p.includes(`/${SOURCE}/${providerKey}`) && !p.includes('.sha256'), { kind: 'truncate', after: 123_456 });
    proxy.fault((m, p) => m === 'PUT' && p.includes(`/${MIRROR}/`) && p.includes('aws-iam-authenticator'), { kind: 'status', status: 500, body: '<Error><Code>InternalError</Code></Error>' }, slowDown());
    const { error, result, logs } = await stage();
    expect(error, String(error?.message)).to.equal(undefined);
    expect(gh.pendingFaults() + proxy.pendingFaults(), 'every fault was injected').to.equal(0);
    await expectMirrorComplete();
    expect(logs.join('\n')).to.match(/retrying in/);
    expect(gh.served.map((s) => s.status)).to.include.members([500, 502, 503]);
    const staged = result!.staged;
    expect(staged.find((a) => a.name === 'kubelet')!.fetched, 'kubelet resumed after the reset').to.equal('resumed');
    expect(staged.find((a) => a.name === 'ecr-credential-provider')!.fetched, 'ecr-credential-provider resumed after the short body').to.equal('resumed');
  });

  it('a wrong checksum aborts that artifact: nothing of it reaches the mirror, the run fails clearly', async () => {
    const file = 'runc.amd64';
    const p = published.amd64.files.get(file)!;
    gh.fault(file, { kind: 'replace', body: randomBody(p.size) });
    const { error, lines } = await stage();
    expect(gh.pendingFaults()).to.equal(0);
    expect(error?.message).to.match(/checksum mismatch for runc.*published sha256 [0-9a-f]{64}.*nothing of it was uploaded/s);
    expect(error?.message).to.match(/^1 of 8 artifacts could not be staged/);
    expect(error?.message).to.not.include('\n');
    expect(error?.exitCode).to.equal(6);
    const keys = await mirrorKeys();
    expect(keys).to.not.include(p.key);
    expect(keys).to.not.include(p.checksumKey);
    // The other seven arrived (with their checksum files); no lock is written for an incomplete set.
    expect(keys).to.have.length(14);
    expect(existsSync(join(work, 'build.lock.json'))).to.equal(false);
    // Neither the cache nor the partial directory keeps the bad bytes.
    expect(readdirSync(join(work, 'cache', 'partial'))).to.deep.equal([]);
    expect(readdirSync(join(work, 'cache', 'sha256'))).to.not.include(p.sha256);
    void lines;
  });

  it('a tampered AWS CLI installer fails its signature check: nothing of it reaches the mirror or the cache', async () => {
    const cli = published.amd64.files.get('awscli-exe-linux-x86_64.zip')!;
    gh.fault('awscli/awscli-exe-linux-x86_64.zip', { kind: 'replace', body: randomBody(cli.size) });
    const { error } = await stage();
    expect(gh.pendingFaults()).to.equal(0);
    expect(error?.message).to.match(/aws-cli: signature check failed for awscli-exe-linux-x86_64\.zip from .* against aws-cli-v2\.asc \(BADSIG [0-9A-F]+ .*\); nothing of it was uploaded/);
    expect(error?.exitCode).to.equal(6);
    const keys = await mirrorKeys();
    expect(keys).to.not.include(cli.key);
    expect(keys).to.not.include(cli.checksumKey);
    expect(readdirSync(join(work, 'cache', 'partial'))).to.deep.equal([]);
    expect(readdirSync(join(work, 'cache', 'signed')), 'no signature index entry for refused bytes').to.not.include(sha256(cli.signature!));
    // The SSM agent, checked the same way, arrived.
    expect(keys).to.include(published.amd64.files.get('amazon-ssm-agent.rpm')!.key);
  });

  it('replaying a lock, a newer (validly signed) "latest" AWS CLI is refused: the lock pins its SHA-256', async () => {
    const first = await stage();
    expect(first.error, String(first.error?.message)).to.equal(undefined);
    const path = 'awscli/awscli-exe-linux-x86_64.zip';
    const original = { zip: gh.assets.get(path)!, sig: gh.assets.get(`${path}.sig`)! };
    const newer = join(keep, 'newer.zip');
    writeFileSync(newer, randomBody(5000));
    signer.sign(newer);
    gh.put(path, readFileSync(newer));
    gh.put(`${path}.sig`, readFileSync(`${newer}.sig`));
    try {
      await clearMirror();
      const replay = await stage([`lock=${first.result!.lockPath}`, `lock_file=${join(work, 'replayed.lock.json')}`]);
      expect(replay.error?.message).to.match(/awscli-exe-linux-x86_64\.zip: the lock file pins sha256 [0-9a-f]{64}, but .* now serves [0-9a-f]{64} \(validly signed: a newer release\)/);
      expect(await mirrorKeys()).to.not.include(path);
    } finally {
      gh.put(path, original.zip);
      gh.put(`${path}.sig`, original.sig);
    }
  });

  it('a GitHub rate limit (403, x-ratelimit-remaining: 0) fails at once with what to do', async () => {
    const reset = Math.floor(Date.now() / 1000) + 600;
    const limited = { kind: 'status' as const, status: 403, headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset) }, body: '{"message":"API rate limit exceeded"}' };
    const fromGitHub = (_m: string, p: string) => !p.startsWith('awscli/');
    gh.fault(fromGitHub, ...Array(20).fill(limited));
    const { error } = await stage();
    expect(error?.message).to.match(/GitHub rate limit reached.*x-ratelimit-remaining: 0.*until 20[0-9-]+T.*Set GITHUB_TOKEN/s);
    // Not retried: one request per GitHub artifact (its checksum file), three artifacts.
    expect(gh.served.filter((s) => fromGitHub(s.method, s.path))).to.have.length(3);
    expect((await mirrorKeys()).filter((k) => k.startsWith('github/'))).to.deep.equal([]);
  });

  it('GITHUB_TOKEN goes to the GitHub host only (not across a redirect) and is never written anywhere', async () => {
    const token = 'ghp_FAKE0TOKEN0FOR0TESTS0000000000000000';
    gh.redirectHost = 'localhost';
    // The AWS CLI site on another host name (the same stand-in): outside GITHUB_BASE_URL, so no token.
    const awsCliElsewhere = awsCliBase(gh).replace('127.0.0.1', 'localhost');
    const { error, result, logs, lines } = await stage([`awscli_base_url=${awsCliElsewhere}`], { GITHUB_TOKEN: token });
    expect(error, String(error?.message)).to.equal(undefined);
    const awsCli = gh.served.filter((s) => /^(objects\/)?awscli\//.test(s.path));
    expect(awsCli.length).to.be.greaterThan(0);
    expect(awsCli.every((s) => s.authorization === undefined), 'no token for the AWS CLI site').to.equal(true);
    const first = gh.served.filter((s) => !s.path.startsWith('objects/') && !s.path.startsWith('awscli/'));
    const redirected = gh.served.filter((s) => s.path.startsWith('objects/') && !s.path.startsWith('objects/awscli/'));
    expect(first.length).to.be.greaterThan(0);
    expect(redirected.length).to.equal(first.length);
    expect(first.every((s) => s.authorization === `Bearer ${token}`)).to.equal(true);
    expect(redirected.every((s) => s.authorization === undefined)).to.equal(true);
    const everything = [...logs, ...lines, readFileSync(result!.lockPath, 'utf8')].join('\n');
    expect(everything).to.not.include(token);
    expect(everything).to.not.include('signature=');
    await expectMirrorComplete();
  });

  it('downloads in parallel, never more than concurrency= at once', async () => {
    // The first downloads are answered only once `concurrency` of them are out together (a latch, no delays):
    // a stager that never gets there hangs until mocha's timeout; one that goes beyond shows in inflight.max.
    for (const concurrency of [2, 5]) {
      rmSync(join(work, 'cache'), { recursive: true, force: true });
      await clearMirror();
      inflight.max = 0;
      gh.barrier = proxy.barrier = new Barrier(concurrency);
      const { error } = await stage([`concurrency=${concurrency}`]);
      expect(error, String(error?.message)).to.equal(undefined);
      expect(inflight.max, `concurrency=${concurrency}`).to.equal(concurrency);
    }
  });

  it('big artifacts go up as multipart uploads; a failed part aborts the upload and leaves no object', async () => {
    // Parts must be >= 5 MiB: a version of its own whose kubelet is 12 MiB, in three parts.
    const upload = { multipartThreshold: 5 * 1024 * 1024, partSize: 5 * 1024 * 1024, partConcurrency: 2 };
    const prefix = '1.28.14/2025-02-02/bin/linux/amd64';
    const body = randomBody(12 * 1024 * 1024);
    for (const binary of ['kubelet', 'aws-iam-authenticator', 'ecr-credential-provider']) {
      const bytes = binary === 'kubelet' ? body : randomBody(1000);
      await direct.send(new PutObjectCommand({ Bucket: SOURCE, Key: `${prefix}/${binary}`, Body: bytes }));
      await direct.send(new PutObjectCommand({ Bucket: SOURCE, Key: `${prefix}/${binary}.sha256`, Body: `${sha256(bytes)}  ${binary}\n` }));
    }
    const pinned = ['kubernetes_version=1.28.14', 'kubernetes_build_date=2025-02-02'];
    const key = `${prefix}/kubelet`;
    proxy.fault((m, p) => m === 'PUT' && p.includes(key) && p.includes('partNumber=2'), { kind: 'status', status: 403, body: '<Error><Code>AccessDenied</Code><Message>denied</Message></Error>' });
    const failed = await stage(pinned, {}, { upload });
    expect(proxy.pendingFaults()).to.equal(0);
    expect(failed.error?.message).to.match(/kubelet: .*access denied/);
    expect(await mirrorKeys()).to.not.include(key);
    expect(await mirrorKeys()).to.not.include(`${key}.sha256`);
    const pending = await direct.send(new ListMultipartUploadsCommand({ Bucket: MIRROR }));
    expect(pending.Uploads ?? [], 'the failed multipart upload was aborted').to.deep.equal([]);

    proxy.reset();
    const ok = await stage(pinned, {}, { upload });
    expect(ok.error, String(ok.error?.message)).to.equal(undefined);
    expect(proxy.served.filter((s) => s.method === 'PUT' && s.path.includes(key) && s.path.includes('partNumber='))).to.have.length(3);
    expect(sha256(await mirrorObject(key))).to.equal(sha256(body));
    expect(ok.result!.lock.kubernetes.version).to.equal('1.28.14');
  });
  it('GovCloud mirror: reads the commercial bucket unsigned, writes the mirror signed', async () => {
    const gov = s3Client('us-gov-west-1', { connection: via(proxy.endpoint) });
    try {
      await gov.send(new CreateBucketCommand({ Bucket: 'gov-mirror', CreateBucketConfiguration: { LocationConstraint: 'us-gov-west-1' } })).catch(() => undefined);
      // The SSM agent from the commercial amazon-ssm bucket too (ssm_region): unsigned, like the EKS bucket.
      const { error, result } = await stage(['binary_bucket_name=gov-mirror', 'binary_bucket_region=us-gov-west-1', 'aws_region=us-gov-west-1', 'ssm_region=us-west-2']);
      expect(error, String(error?.message)).to.equal(undefined);
      const sourceReads = proxy.served.filter((r) => r.path.startsWith(`/${SOURCE}`) || r.path.startsWith('/amazon-ssm-us-west-2/'));
      const mirrorWrites = proxy.served.filter((r) => /^\/gov-mirror\/[^?]/.test(r.path) && r.method === 'PUT');
      expect(sourceReads.length).to.be.greaterThan(8);
      expect(sourceReads.every((r) => r.authorization === undefined), 'source reads are unsigned').to.equal(true);
      expect(sourceReads.some((r) => r.path.startsWith('/amazon-ssm-us-west-2/latest/linux_amd64/amazon-ssm-agent.rpm'))).to.equal(true);
      expect(mirrorWrites.length).to.equal(16);
      expect(mirrorWrites.every((r) => /^AWS4-HMAC-SHA256 /.test(r.authorization ?? '')), 'mirror writes are signed').to.equal(true);
      expect(result!.lock.sourceAmi).to.include({ owner: RED_HAT_GOV, region: 'us-gov-west-1' });
      expect(result!.lock.mirror).to.deep.equal({ bucket: 'gov-mirror', region: 'us-gov-west-1' });
    } finally {
      gov.destroy();
    }
  });

  it('HTTPS with a private CA (GitHub and S3): refused with a clear error unless AWS_CA_BUNDLE names the CA', async () => {
    requireTool('openssl', 'a self-signed certificate for the HTTPS GitHub stand-in');
    const dir = join(work, 'tls');
    const made = capture('sh', ['-c', `mkdir -p ${dir} && openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/key.pem -out ${dir}/cert.pem -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1`]);
    expect(made.status, made.stderr).to.equal(0);
    const pair = { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8') };
    const tls = await GitHubStandIn.start({ tls: pair });
    // S3 over HTTPS too: the same CA signs a TLS proxy in front of moto.
    const s3Tls = await FaultyProxy.start(moto.endpoint, undefined, pair);
    try {
      const s3Refused = await stage([`github_base_url=${tls.endpoint}`], {}, {}, s3Tls.endpoint);
      expect(s3Refused.error?.message).to.match(/S3 endpoint's TLS certificate is not trusted.*set AWS_CA_BUNDLE/s);
      for (const [path, asset] of gh.assets) tls.assets.set(path, asset);
      const refused = await stage([`github_base_url=${tls.endpoint}`]);
      expect(refused.error?.message).to.match(/TLS certificate is not trusted.*set AWS_CA_BUNDLE/s);
      expect((await mirrorKeys()).filter((k) => k.startsWith('github/'))).to.deep.equal([]);
      const trusted = await stage([`github_base_url=${tls.endpoint}`], { AWS_CA_BUNDLE: join(dir, 'cert.pem') }, {}, s3Tls.endpoint);
      expect(trusted.error, String(trusted.error?.message)).to.equal(undefined);
      // The bucket artifacts went up during the run refused by GitHub; the GitHub ones now go over HTTPS.
      expect(s3Tls.served.filter((r) => r.method === 'PUT').length, 'mirror written over HTTPS').to.equal(6);
      expect(s3Tls.served.filter((r) => r.method === 'GET' && r.path.includes(`/${SOURCE}/`)).length, 'source read over HTTPS').to.be.greaterThan(4);
      expect(trusted.result!.lock.artifacts.find((a) => a.name === 'runc')!.url).to.equal(`${tls.endpoint}/opencontainers/runc/releases/download/v${RELEASE.runc}/runc.amd64`);
      await expectMirrorComplete();
    } finally {
      await tls.stop();
      await s3Tls.stop();
    }
  });

  it('refuses to run without a mirror bucket, or with one that does not exist, before downloading anything', async () => {
    const noMirror = await runStage(['1.28'], {
      env: {},
      log: () => {},
      write: () => {},
      s3: (region, unsigned) => s3Client(region, { unsigned, connection: via(proxy.endpoint) }),
      ec2: (region) => ec2Client(region, moto.connection),
      cwd: work,
    }).catch((e) => e);
    expect(noMirror.exitCode).to.equal(2);
    expect(noMirror.message).to.match(/binary_bucket_name="amazon-eks" is not allowed: your mirror bucket/);
    const missing = await stage(['binary_bucket_name=no-such-mirror']);
    expect(missing.error?.exitCode).to.equal(6);
    expect(missing.error?.message).to.match(/mirror bucket no-such-mirror does not exist in us-west-2; create it first/);
    expect(gh.served).to.deep.equal([]);
  });

  it('the entry script: progress and a summary on stderr, lock=… last on stdout, exit 6 on a bad artifact', async () => {
    // Downloads are answered only once the script has printed a progress line (a latch, no delays).
    const barrier = (gh.barrier = proxy.barrier = new Barrier());
    const onOutput = (output: string) => /^staging: /m.test(output) && barrier.release();
    // The script's SDK clients find the emulator the way they find AWS: through the standard variables.
    const env = { ...process.env, ...moto.env, AWS_ENDPOINT_URL_S3: proxy.endpoint };
    const scriptWords = [...words, `github_base_url=${gh.endpoint}`, `awscli_base_url=${awsCliBase(gh)}`, `keys_dir=${keysDir}`, `cache_dir=${join(work, 'cache')}`, 'progress_ms=100', 'concurrency=3'];
    const ok = await runScript(scriptWords, env, work, onOutput);
    expect(ok.status, ok.stderr).to.equal(0);
    expect(ok.stdout.trim().split('\n').pop()).to.equal('lock=build.lock.json');
    expect(ok.stderr).to.match(/^staging: [0-9]+\/8 done, .* moved at .*\/s \| .*(download|upload)/m);
    expect(ok.stderr).to.match(/^artifact +size +sha256/m);
    expect(ok.stderr).to.match(/8 artifacts, .* in the mirror, .* downloaded, in [0-9.]+ s/);
    expect(readLock(join(work, 'build.lock.json')).artifacts).to.have.length(8);

    gh.barrier = proxy.barrier = undefined;
    rmSync(join(work, 'cache'), { recursive: true });
    await clearMirror();
    gh.fault('runc.amd64', { kind: 'replace', body: randomBody(1000) });
    const bad = await runScript([...scriptWords, 'lock_file=other.lock.json'], env, work);
    expect(bad.status, bad.stderr).to.equal(6);
    expect(bad.stderr).to.match(/^error: 1 of 8 artifacts could not be staged/m);
    expect(bad.stderr).to.match(/runc: checksum mismatch for runc/);
    expect(bad.stderr).to.not.match(/at .*\.ts:[0-9]+/); // no stack trace for a user-facing failure
    expect(existsSync(join(work, 'other.lock.json'))).to.equal(false);
  });
});

function runScript(args: string[], env: NodeJS.ProcessEnv, cwd: string, onOutput?: (output: string) => void): Promise<Captured> {
  return captureAsync(...entryScript('stage', args), { cwd, env, onOutput });
}
