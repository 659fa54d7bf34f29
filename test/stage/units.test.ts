// The pieces of staging that need no server: checksum files, backoff, the lock file, progress output.
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { artifactsFor, DEFAULT_BASE_URLS, originUrl, s3Url } from '../../src/stage/artifacts.ts';
import { publishedSha256 } from '../../src/stage/checksum.ts';
import { StageError, TransientError } from '../../src/stage/errors.ts';
import { mapLimit } from '../../src/stage/limit.ts';
import { LOCK_VERSION, LockError, readLock, writeLock, type BuildLock } from '../../src/lock/lock.ts';
import { lockConflicts, lockedInputs } from '../../src/lock/replay.ts';
import { Progress } from '../../src/stage/progress.ts';
import { backoffMs, GaveUp, withRetries, type RetryPolicy } from '../../src/stage/retry.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);

describe('stage: published checksum files', () => {
  it('reads a bare digest, sha256sum lines (text and binary mode), paths, multi-asset lists and BSD tags', () => {
    expect(publishedSha256(`${A}\n`, 'kubelet')).to.equal(A);
    expect(publishedSha256(`${A.toUpperCase()}  kubelet\n`, 'kubelet')).to.equal(A);
    expect(publishedSha256(`${A} *runc.amd64\n${B} *runc.arm64\n`, 'runc.arm64')).to.equal(B);
    expect(publishedSha256(`${A}  bin/containerd-1.7.27-linux-amd64.tar.gz\n`, 'containerd-1.7.27-linux-amd64.tar.gz')).to.equal(A);
    expect(publishedSha256(`SHA256 (cni.tgz) = ${B}\n`, 'cni.tgz')).to.equal(B);
  });

  it('finds nothing for another asset or a malformed file', () => {
    expect(publishedSha256(`${A} *runc.amd64\n`, 'runc.arm64')).to.equal(undefined);
    expect(publishedSha256('<html>rate limited</html>', 'kubelet')).to.equal(undefined);
    expect(publishedSha256(`${A.slice(1)}  kubelet`, 'kubelet')).to.equal(undefined);
  });
});

describe('stage: artifact list', () => {
  it('names the real release assets and the contract key layout', () => {
    const specs = artifactsFor({ kubernetesVersion: '1.28.15', buildDate: '2024-11-22', binaryArch: 'arm64', cniPluginVersion: 'v1.6.2', containerdVersion: '1.7.27', runcVersion: '1.2.6', sourceBucket: { name: 'amazon-eks', region: 'us-west-2' }, ssmRegion: 'us-gov-west-1' });
    expect(specs.map((s) => s.key)).to.deep.equal([
      '1.28.15/2024-11-22/bin/linux/arm64/kubelet',
      '1.28.15/2024-11-22/bin/linux/arm64/ecr-credential-provider',
      '1.28.15/2024-11-22/bin/linux/arm64/aws-iam-authenticator',
      'github/containernetworking/plugins/releases/download/v1.6.2/cni-plugins-linux-arm64-v1.6.2.tgz',
      'github/containerd/containerd/releases/download/v1.7.27/containerd-1.7.27-linux-arm64.tar.gz',
      'github/opencontainers/runc/releases/download/v1.2.6/runc.arm64',
      'awscli/awscli-exe-linux-aarch64.zip',
      'amazon-ssm-agent/latest/linux_arm64/amazon-ssm-agent.rpm',
    ]);
    expect(specs.map((s) => s.checksumKey.split('/').pop())).to.deep.equal([
      'kubelet.sha256', 'ecr-credential-provider.sha256', 'aws-iam-authenticator.sha256',
      'cni-plugins-linux-arm64-v1.6.2.tgz.sha256', 'containerd-1.7.27-linux-arm64.tar.gz.sha256sum', 'runc.sha256sum',
      'awscli-exe-linux-aarch64.zip.sig', 'amazon-ssm-agent.rpm.sig',
    ]);
    // Signed artifacts come from the AWS CLI site and the build region's SSM bucket, checked by signature.
    const [cli, ssm] = specs.slice(-2);
    expect(cli.origin).to.deep.equal({ kind: 'awscli', asset: 'awscli-exe-linux-aarch64.zip' });
    expect(ssm.origin).to.deep.equal({ kind: 's3', bucket: 'amazon-ssm-us-gov-west-1', region: 'us-gov-west-1', key: 'latest/linux_arm64/amazon-ssm-agent.rpm' });
    expect(specs.map((s) => s.verification.kind)).to.deep.equal([...Array(6).fill('sha256-file'), 'pgp-signature', 'pgp-signature']);
    // Nodes get no kubectl (an operator's tool) and no kube-proxy binary (EKS runs kube-proxy as a DaemonSet image).
    expect(specs.map((s) => s.name)).to.not.include.members(['kubectl']).and.not.include('kube-proxy');
    // The URLs staging fetches from, as the provisioners build them for an upstream build.
    expect(specs.map((s) => originUrl(s.checksumOrigin, DEFAULT_BASE_URLS))).to.include.members([
      'https://s3.us-west-2.amazonaws.com/amazon-eks/1.28.15/2024-11-22/bin/linux/arm64/kubelet.sha256',
      'https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum',
      'https://awscli.amazonaws.com/awscli-exe-linux-aarch64.zip.sig',
      'https://s3.us-gov-west-1.amazonaws.com/amazon-ssm-us-gov-west-1/latest/linux_arm64/amazon-ssm-agent.rpm.sig',
    ]);
  });

  it('stages the containerd asset the instance installs: the static 2.x build for RHEL 8, the usual build otherwise', () => {
    // provisioners/containerd.sh picks containerd-static-<V>-linux-<arch>.tar.gz for RHEL 8 with containerd 2.x.
    const asset = (rhelVersion: number, containerdVersion: string) =>
      artifactsFor({ kubernetesVersion: '1.33.1', buildDate: '2025-06-01', binaryArch: 'amd64', cniPluginVersion: 'v1.6.2', containerdVersion, rhelVersion, runcVersion: '1.2.6', sourceBucket: { name: 'amazon-eks', region: 'us-west-2' }, ssmRegion: 'us-west-2' })
        .find((s) => s.name === 'containerd')!;
    const rhel8 = asset(8, '2.1.4');
    expect(rhel8.file).to.equal('containerd-static-2.1.4-linux-amd64.tar.gz');
    expect(rhel8.key).to.equal('github/containerd/containerd/releases/download/v2.1.4/containerd-static-2.1.4-linux-amd64.tar.gz');
    expect(rhel8.checksumKey).to.equal('github/containerd/containerd/releases/download/v2.1.4/containerd-static-2.1.4-linux-amd64.tar.gz.sha256sum');
    expect(asset(8, '1.7.27').file).to.equal('containerd-1.7.27-linux-amd64.tar.gz');
    expect(asset(9, '2.1.4').file).to.equal('containerd-2.1.4-linux-amd64.tar.gz');
    expect(asset(10, '2.1.4').file).to.equal('containerd-2.1.4-linux-amd64.tar.gz');
    // provisioners/containerd.sh fetches the same entry of the build's generated artifact manifest:
    // test/provisioners/fixtures.ts publishes only what containerdAsset() names, and runtime.test.ts installs
    // from there on RHEL 8, 9 and 10.
  });

  it('uses the S3 domain of the partition (data/partitions.json)', () => {
    expect(s3Url('b', 'cn-north-1', 'k/x')).to.equal('https://s3.cn-north-1.amazonaws.com.cn/b/k/x');
    expect(s3Url('b', 'us-gov-west-1', 'k')).to.equal('https://s3.us-gov-west-1.amazonaws.com/b/k');
  });
});

describe('stage: retries', () => {
  const policy = (over: Partial<RetryPolicy> = {}): RetryPolicy => ({ attempts: 4, baseMs: 100, maxMs: 1000, sleep: async () => {}, ...over });

  it('backs off exponentially with full jitter, capped, and honours Retry-After', () => {
    const p = policy({ random: () => 1 });
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(p, n))).to.deep.equal([100, 200, 400, 800, 1000]);
    expect(backoffMs(policy({ random: () => 0 }), 3)).to.equal(0);
    expect(backoffMs(policy({ random: () => 0 }), 1, 700)).to.equal(700);
    expect(backoffMs(policy({ random: () => 0 }), 1, 60_000)).to.equal(1000);
  });

  it('retries transient failures only, and says when it gave up', async () => {
    let calls = 0;
    const delays: number[] = [];
    const ok = await withRetries('x', policy({ onRetry: (_w, _a, _r, d) => delays.push(d) }), async () => {
      if (++calls < 3) throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      return 'done';
    });
    expect([ok, calls, delays.length]).to.deep.equal(['done', 3, 2]);

    calls = 0;
    const fatal = await withRetries('y', policy(), async () => {
      calls++;
      throw new StageError('not found');
    }).catch((e) => e);
    expect([fatal.message, calls]).to.deep.equal(['not found', 1]);

    calls = 0;
    const gaveUp = await withRetries('fetching z', policy(), async () => {
      calls++;
      throw new TransientError('HTTP 503');
    }).catch((e) => e);
    expect(gaveUp).to.be.instanceOf(GaveUp);
    expect(gaveUp.message).to.equal('fetching z: gave up after 4 attempts: HTTP 503');
    expect(calls).to.equal(4);

    const throttled = await withRetries('s3', policy({ attempts: 2 }), async (n) => {
      if (n === 1) throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
      return n;
    });
    expect(throttled).to.equal(2);
  });

  it('mapLimit keeps at most `limit` calls in flight and settles every item', async () => {
    // Each call waits for the test to let it finish (a latch per item, no delays), so what is in flight at any
    // moment is decided by mapLimit alone.
    const started: number[] = [];
    const finish = new Map<number, () => void>();
    let inFlight = 0;
    let max = 0;
    const settled = () => new Promise((resolve) => setImmediate(resolve));
    const run = mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      started.push(n);
      max = Math.max(max, ++inFlight);
      await new Promise<void>((resolve) => finish.set(n, resolve));
      inFlight--;
      if (n === 4) throw new Error('four');
      return n * 2;
    });
    await settled();
    expect(started, 'the first three start at once').to.deep.equal([1, 2, 3]);
    // Finishing one lets exactly one more start; in flight is always three until the items run out.
    for (const [done, next] of [[2, 4], [1, 5], [4, 6], [3, 7]] as const) {
      finish.get(done)!();
      await settled();
      expect(started.at(-1), `after ${done} finished`).to.equal(next);
      expect(inFlight, `after ${done} finished`).to.equal(3);
    }
    for (const n of [5, 6, 7]) finish.get(n)!();
    const results = await run;
    expect(max).to.equal(3);
    expect(results.map((r) => r.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).to.deep.equal([2, 4, 6, 'four', 10, 12, 14]);
  });
});

describe('stage: progress', () => {
  it('reports per-artifact phase, share and rate and the total rate; prints nothing when idle', () => {
    let t = 0;
    const lines: string[] = [];
    const p = new Progress((l) => lines.push(l), 0, () => t);
    p.tick();
    expect(lines).to.deep.equal([]);
    p.phase('kubelet', 'download', 4 * 1024 * 1024);
    p.phase('runc', 'checksum');
    p.add('kubelet', 2 * 1024 * 1024);
    t = 1000;
    p.tick();
    expect(lines).to.deep.equal(['staging: 0/2 done, 2.0 MiB moved at 2.0 MiB/s | kubelet download 50% 2.0 MiB/s | runc checksum']);
  });
});

describe('stage: lock file', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'lock-test-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const lock = (): BuildLock => ({
    lockVersion: LOCK_VERSION,
    createdAt: '2025-01-02T03:04:05.000Z',
    createdBy: 'make stage 1.28 binary_bucket_name=m',
    kubernetes: { version: '1.28.15', buildDate: '2024-11-22', minor: '1.28' },
    arch: 'x86_64',
    binaryArch: 'amd64',
    versions: { cni_plugin_version: 'v1.6.2', containerd_version: '1.7.27', runc_version: '1.2.6' },
    mirror: { bucket: 'm', region: 'us-gov-west-1' },
    sourceAmi: { id: 'ami-0123456789abcdef0', name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', owner: '219670896067', region: 'us-gov-west-1' },
    artifacts: [
      {
        name: 'kubelet',
        file: 'kubelet',
        origin: { kind: 's3', bucket: 'amazon-eks', region: 'us-west-2', key: '1.28.15/2024-11-22/bin/linux/amd64/kubelet' },
        url: 'https://s3.us-west-2.amazonaws.com/amazon-eks/1.28.15/2024-11-22/bin/linux/amd64/kubelet',
        checksumUrl: 'https://s3.us-west-2.amazonaws.com/amazon-eks/1.28.15/2024-11-22/bin/linux/amd64/kubelet.sha256',
        key: '1.28.15/2024-11-22/bin/linux/amd64/kubelet',
        checksumKey: '1.28.15/2024-11-22/bin/linux/amd64/kubelet.sha256',
        sha256: A,
        size: 10,
      },
      {
        name: 'runc',
        file: 'runc.amd64',
        origin: { kind: 'github', owner: 'opencontainers', repo: 'runc', tag: 'v1.2.6', asset: 'runc.amd64' },
        url: 'https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.amd64',
        checksumUrl: 'https://github.com/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum',
        key: 'github/opencontainers/runc/releases/download/v1.2.6/runc.amd64',
        checksumKey: 'github/opencontainers/runc/releases/download/v1.2.6/runc.sha256sum',
        sha256: B,
        size: 20,
      },
    ],
  });

  it('round-trips and gives the pipeline what to pin', () => {
    const path = join(dir, 'sub', 'build.lock.json');
    writeLock(path, lock());
    const read = readLock(path);
    expect(read).to.deep.equal(lock());
    const pinned = lockedInputs(read);
    expect(pinned.variables).to.deep.equal({
      kubernetes_version: '1.28.15',
      kubernetes_build_date: '2024-11-22',
      arch: 'x86_64',
      source_ami_id: 'ami-0123456789abcdef0',
      binary_bucket_name: 'm',
      binary_bucket_region: 'us-gov-west-1',
      pull_cni_from_github: false,
      cni_plugin_version: 'v1.6.2',
      containerd_version: '1.7.27',
      runc_version: '1.2.6',
    });
    expect(pinned.sha256ByFile).to.deep.equal({ kubelet: A, 'runc.amd64': B });
    expect(pinned.pinnedSha256File).to.equal(`${A}  kubelet\n${B}  runc.amd64\n`);
  });

  it('replays a lock written when kubectl was still staged: its extra entry is read and pinned, never required', () => {
    // Locks from before data/artifacts.json dropped kubectl list it; they must keep working. The extra line in
    // pinned-sha256.txt is harmless: the provisioners look up only the files they download.
    const old = lock();
    old.artifacts.push({ ...old.artifacts[0], name: 'kubectl', file: 'kubectl', key: '1.28.15/2024-11-22/bin/linux/amd64/kubectl', checksumKey: '1.28.15/2024-11-22/bin/linux/amd64/kubectl.sha256', sha256: 'c'.repeat(64) });
    const path = join(dir, 'old.lock.json');
    writeLock(path, old);
    const pinned = lockedInputs(readLock(path));
    expect(pinned.sha256ByFile).to.deep.equal({ kubelet: A, 'runc.amd64': B, kubectl: 'c'.repeat(64) });
    expect(pinned.pinnedSha256File).to.equal(`${A}  kubelet\n${B}  runc.amd64\n${'c'.repeat(64)}  kubectl\n`);
  });

  it('refuses a missing file, broken JSON and schema violations, naming each problem', () => {
    const problems = (text: string) => {
      const path = join(dir, 'l.json');
      writeFileSync(path, text);
      try {
        readLock(path);
        return '';
      } catch (error) {
        expect(error).to.be.instanceOf(LockError);
        expect((error as LockError).exitCode).to.equal(2);
        return (error as Error).message;
      }
    };
    expect(() => readLock(join(dir, 'nope.json'))).to.throw(LockError, /nope\.json is not a usable lock file:\n {2}- cannot be read: ENOENT/);
    expect(problems('{"lockVersion": 1,')).to.match(/is not JSON/);
    const bad = lock() as unknown as Record<string, any>;
    bad.artifacts[0].sha256 = 'abc';
    bad.artifacts[1].origin.kind = 'gitlab';
    bad.surprise = true;
    delete bad.sourceAmi;
    const message = problems(JSON.stringify(bad));
    expect(message).to.include('(top level): missing sourceAmi');
    expect(message).to.include('(top level): unknown field surprise');
    expect(message).to.include('/artifacts/0/sha256: must match pattern');
    expect(message).to.include('/artifacts/1/origin');
    expect(message).to.include("Write a new one with 'make stage");
    expect(problems(JSON.stringify({ ...lock(), lockVersion: 2 }))).to.include('/lockVersion: must be 1');
    expect(problems(JSON.stringify({ ...lock(), binaryArch: 'arm64' }))).to.include('binaryArch arm64 does not match arch x86_64');
  });

  it('finds variables set elsewhere that contradict the lock', () => {
    const values = { kubernetes_version: '1.28.14', arch: 'x86_64', binary_bucket_name: 'm', containerd_version: '1.7.27' };
    const sourceOf = { kubernetes_version: 'command line', arch: 'default', binary_bucket_name: 'file x', containerd_version: 'preset p' };
    expect(lockConflicts(lock(), values, sourceOf)).to.deep.equal(['kubernetes_version="1.28.14" (command line) contradicts the lock file, which fixes "1.28.15"']);
  });
});
