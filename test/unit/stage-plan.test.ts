// `make stage` without AWS: its options (declared like the run options, refused the same way, the old STAGE_*
// environment refused by name), the request it reads from the words, and the pure planning step: which
// artifacts, signed or not, and the lock a finished staging writes. Reading AWS and applying run against the
// emulator in test/stage/stage.test.ts.
import { expect } from 'chai';
import { lockProblems } from '../../src/lock/lock.ts';
import { repoPath } from '../../src/paths.ts';
import { readStageOptions, stageOptions } from '../../src/stage/options.ts';
import { readStageRequest } from '../../src/stage/stage-inventory.ts';
import { lockFor, planStage, wantedArtifacts, type StageInventory, type StageRequest } from '../../src/stage/stage-plan.ts';
import type { StagedArtifact } from '../../src/stage/stage.ts';
import { declarations } from '../../src/variables/declarations.ts';
import { options as runOptions } from '../../src/variables/options.ts';

const MIRROR = ['binary_bucket_name=my-mirror', 'binary_bucket_region=us-west-2'];

async function failure(promise: Promise<unknown>): Promise<Error & { exitCode?: number }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { exitCode?: number };
  }
  throw new Error('expected a failure');
}

const inventory = (request: StageRequest, absent: string[] = []): StageInventory => ({
  kubernetes: { version: '1.28.15', buildDate: '2025-11-05', minor: '1.28' } as StageInventory['kubernetes'],
  sourceAmi: { id: 'ami-0123456789abcdef0', name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', owner: '309956199498' } as StageInventory['sourceAmi'],
  values: { ...request.config.values, binary_bucket_name: request.mirror.bucket, binary_bucket_region: request.mirror.region },
  absent,
});

describe('make stage: options and planning (no AWS)', () => {
  it('its options are name=value words, split off the build words, with defaults for the rest', () => {
    const { options, buildWords } = readStageOptions(['1.28', 'concurrency=8', ...MIRROR, 'ssm_region=us-east-1', 'progress_ms=0'], {});
    expect(options).to.include({
      concurrency: 8,
      ssm_region: 'us-east-1',
      progress_ms: 0,
      retries: stageOptions.retries.default,
      lock_file: 'build.lock.json',
    });
    expect(buildWords).to.deep.equal(['1.28', ...MIRROR]);
  });

  it('no stage option shares a name with a build variable or a run option', () => {
    const shared = Object.keys(stageOptions).filter((name) => name in declarations || name in runOptions);
    expect(shared).to.deep.equal([]);
  });

  it('bad values are refused together, each naming the option and what it allows', () => {
    const error = (() => {
      try {
        readStageOptions(['concurrency=0', 'github_base_url=github.com', 'source_region=west'], {});
      } catch (e) {
        return e as Error & { exitCode?: number };
      }
      throw new Error('expected a failure');
    })();
    expect(error.exitCode).to.equal(2);
    expect(error.message).to.include('concurrency="0" is not allowed: a whole number ≥ 1');
    expect(error.message).to.include('github_base_url="github.com" is not allowed: an http(s) URL');
    expect(error.message).to.include('source_region="west" is not allowed: an AWS region');
  });

  it('a STAGE_* (or GITHUB_BASE_URL) setting left in the environment is refused with the option that replaced it', async () => {
    const error = await failure(readStageRequest(['1.28', ...MIRROR], { STAGE_CONCURRENCY: '8', GITHUB_BASE_URL: 'https://mirror.example' }, '/tmp'));
    expect(error.exitCode).to.equal(2);
    expect(error.message).to.match(/STAGE_CONCURRENCY="8" .*Give concurrency=… on the command line/);
    expect(error.message).to.match(/GITHUB_BASE_URL=.*Give github_base_url=… on the command line/);
  });

  it('the request: the mirror must be named, paths resolve against the working directory, the SSM region defaults to aws_region', async () => {
    const noMirror = await failure(readStageRequest(['1.28'], {}, '/tmp'));
    expect(noMirror.message).to.match(/binary_bucket_name="amazon-eks" is not allowed: your mirror bucket/);
    const request = await readStageRequest(
      ['1.28', ...MIRROR, 'aws_region=us-east-2', 'cache_dir=c', 'lock_file=/abs/l.json'],
      { GITHUB_TOKEN: 't' },
      '/work/here',
    );
    expect(request).to.deep.include({
      cacheDir: '/work/here/c',
      lockPath: '/abs/l.json',
      ssmRegion: 'us-east-2',
      githubToken: 't',
      keysDir: repoPath('provisioners', 'lib', 'keys'),
    });
    expect(request.source).to.deep.equal({ name: 'amazon-eks', region: 'us-west-2' });
  });

  it('plans every artifact the manifest resolves but the optional ones the source lacks; signed reads within a partition', async () => {
    const request = await readStageRequest(['1.28', ...MIRROR], {}, '/tmp');
    const all = wantedArtifacts(request, inventory(request)).map((a) => a.name);
    expect(all).to.include.members(['kubelet', 'aws-iam-authenticator', 'runc', 'containerd']);
    const plan = planStage(request, inventory(request, ['aws-iam-authenticator']));
    expect(plan.specs.map((a) => a.name)).to.deep.equal(all.filter((n) => n !== 'aws-iam-authenticator'));
    expect(plan.unsignedSource).to.equal(false);
    expect(plan.lock).to.deep.include({
      arch: 'x86_64',
      binaryArch: 'amd64',
      mirror: { bucket: 'my-mirror', region: 'us-west-2' },
      createdBy: `make stage 1.28 ${MIRROR.join(' ')}`,
    });
  });

  it('a GovCloud mirror reads the commercial source unsigned', async () => {
    const request = await readStageRequest(
      ['1.28', 'binary_bucket_name=gov-mirror', 'binary_bucket_region=us-gov-west-1', 'aws_region=us-gov-west-1', 'ssm_region=us-west-2'],
      {},
      '/tmp',
    );
    expect(planStage(request, inventory(request)).unsignedSource).to.equal(true);
  });

  it('the lock of a finished staging is valid and lists the staged artifacts in order, with their digests', async () => {
    const request = await readStageRequest(['1.28', ...MIRROR], {}, '/tmp');
    const plan = planStage(request, inventory(request));
    const staged = plan.specs.map(
      (spec, i) =>
        ({
          ...spec,
          url: `https://example/${spec.file}`,
          checksumUrl: `https://example/${spec.file}.sha256`,
          sha256: i.toString(16).padStart(64, '0'),
          size: i,
        }) as unknown as StagedArtifact,
    );
    const lock = lockFor(plan, staged, new Date('2026-01-02T03:04:05Z'));
    expect(lockProblems(lock)).to.deep.equal([]);
    expect(lock.createdAt).to.equal('2026-01-02T03:04:05.000Z');
    expect(lock.artifacts.map((a) => [a.name, a.sha256])).to.deep.equal(staged.map((s) => [s.name, s.sha256]));
    expect(lock.sourceAmi).to.deep.equal({
      id: 'ami-0123456789abcdef0',
      name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3',
      owner: '309956199498',
      region: 'us-west-2',
    });
  });
});
