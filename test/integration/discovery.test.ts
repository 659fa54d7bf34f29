// Kubernetes version discovery against a real S3 emulator seeded with the bucket's published history.
import { expect } from 'chai';
import { s3Client, type RequestCounter } from '../../src/aws/clients.ts';
import { findKubernetesBuild, type KubernetesBuildQuery } from '../../src/resolve/kubernetes-build.ts';
import { ResolutionError } from '../../src/errors.ts';
import { createBucket, historyObjects, putObjects } from '../support/bucket.ts';
import { startMoto, type Moto } from '../support/moto.ts';

describe('Kubernetes version discovery (moto S3)', function () {
  this.timeout(120_000);
  let moto: Moto;
  const saved = { ...process.env };

  before(async () => {
    moto = await startMoto();
    Object.assign(process.env, moto.env);
    const s3 = s3Client('us-west-2');
    // The published history, full key sets for 1.28 and 1.29.
    await createBucket(s3, 'amazon-eks');
    await putObjects(s3, 'amazon-eks', historyObjects({ fullMinors: ['1.28', '1.29'] }));
    // A bucket whose newest 1.29 dates are broken the ways the real bucket has been.
    await createBucket(s3, 'awkward');
    await putObjects(
      s3,
      'awkward',
      historyObjects({
        fullMinors: ['1.29'],
        extraPairs: ['1.29.15/2099-03-01', '1.29.15/2099-03-05', '1.29.15/2099-03-09'],
        shapes: { '1.29.15/2099-03-09': 'windows-only', '1.29.15/2099-03-05': 'no-checksum', '1.29.15/2099-03-01': 'no-arm64-kubelet' },
      }),
    );
  });

  after(async () => {
    process.env = saved;
    await moto?.stop();
  });

  async function find(query: Partial<KubernetesBuildQuery>, counter: RequestCounter = { requests: 0, bytes: 0 }) {
    const s3 = s3Client('us-west-2', { counter });
    return findKubernetesBuild(s3, { bucket: 'amazon-eks', region: 'us-west-2', arch: 'x86_64', minors: ['1.28'], ...query });
  }

  it('picks the highest patch, then its newest build date, in three requests', async () => {
    const counter = { requests: 0, bytes: 0 };
    const build = await find({}, counter);
    expect(build).to.include({ version: '1.28.15', buildDate: '2025-11-05', minor: '1.28' });
    expect(build.kubeletKey).to.equal('1.28.15/2025-11-05/bin/linux/amd64/kubelet');
    expect(counter.requests).to.be.at.most(3);
  });

  it('compares patches as numbers (1.28.15 over 1.28.9)', async () => {
    const build = await find({ minors: ['1.29'] });
    expect(build.version).to.match(/^1\.29\.(1[0-9])$/);
  });

  it('skips windows-only, checksum-less and partial dates at no extra request', async () => {
    const counter = { requests: 0, bytes: 0 };
    const amd64 = await find({ bucket: 'awkward', minors: ['1.29'] }, counter);
    expect(amd64).to.include({ version: '1.29.15', buildDate: '2099-03-01' });
    expect(counter.requests).to.be.at.most(3);
    const arm64 = await find({ bucket: 'awkward', minors: ['1.29'], arch: 'arm64' });
    expect(arm64.buildDate).to.equal('2026-03-12');
    expect(arm64.kubeletKey).to.contain('/bin/linux/arm64/kubelet');
  });

  it('searches only the dates of an explicit version', async () => {
    const counter = { requests: 0, bytes: 0 };
    const build = await find({ version: '1.28.3' }, counter);
    expect(build).to.include({ version: '1.28.3', buildDate: '2023-11-14' });
    expect(counter.requests).to.equal(2);
  });

  it('finds the newest supported minor with a usable build when no minor is given', async () => {
    // Only 1.28 and 1.29 have linux binaries in this bucket: newer minors hold windows markers only.
    const build = await find({ minors: ['1.28', '1.29', '1.30', '1.31'] });
    expect(build.minor).to.equal('1.29');
  });

  it('says what it searched where when nothing fits', async () => {
    try {
      await find({ minors: ['1.31'] });
      expect.fail('expected a ResolutionError');
    } catch (error) {
      expect(error).to.be.instanceOf(ResolutionError);
      expect((error as Error).message).to.contain('s3://amazon-eks (us-west-2)').and.to.contain('bin/linux/amd64/kubelet');
    }
  });

  it('sends unsigned requests when asked (reading the commercial bucket from GovCloud)', async () => {
    const authorization: (string | undefined)[] = [];
    const s3 = s3Client('us-west-2', { unsigned: true });
    s3.middlewareStack.add(
      (next) => async (args) => {
        authorization.push((args.request as { headers: Record<string, string> }).headers.authorization);
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'captureAuthorization' },
    );
    const build = await findKubernetesBuild(s3, { bucket: 'amazon-eks', region: 'us-west-2', arch: 'x86_64', minors: ['1.28'] });
    expect(build.version).to.equal('1.28.15');
    expect(authorization.length).to.be.greaterThan(0);
    expect(authorization.every((a) => a === undefined)).to.equal(true);
  });
});
