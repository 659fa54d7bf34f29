// Kubernetes version discovery against a real S3 emulator seeded with the bucket's published history.
import { expect } from 'chai';
import { s3Client, type RequestCounter } from '../../src/aws/clients.ts';
import { findKubernetesBuild, type KubernetesBuildQuery } from '../../src/resolve/kubernetes-build.ts';
import { EXIT, ResolutionError } from '../../src/errors.ts';
import { resolveKubernetes } from '../../src/resolve/resolve.ts';
import { configure } from '../../src/variables/configure.ts';
import { createBucket, historyObjects, putObjects } from '../support/bucket.ts';
import { useEmulator } from '../support/emulated-aws.ts';
import { startMoto } from '../support/moto.ts';

describe('Kubernetes version discovery (moto S3)', function () {
  this.timeout(120_000);
  // The code under test finds the emulator through the SDK's standard variables, which useEmulator sets.
  useEmulator(async () => {
    const moto = await startMoto();
    const s3 = s3Client('us-west-2', { connection: moto.connection });
    // The published history, full key sets for 1.28 and 1.29.
    await createBucket(s3, 'amazon-eks');
    await putObjects(s3, 'amazon-eks', historyObjects({ fullMinors: ['1.28', '1.29'] }));
    // The published history (no 1.37 yet) plus full 1.37 and 1.29 builds: a bucket that has caught up.
    await createBucket(s3, 'caught-up');
    await putObjects(s3, 'caught-up', historyObjects({ fullMinors: ['1.29', '1.37'], extraPairs: ['1.37.0/2026-09-02', '1.37.1/2026-10-14'] }));
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
    return moto;
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

  describe('minors as data: discovery decides, the EKS calendar warns', () => {
    const clients = { s3: (region: string, unsigned: boolean) => s3Client(region, { unsigned }), ec2: () => { throw new Error('no EC2 call expected'); } } as never;
    const resolveFor = async (words: string[], today: Date) => {
      const lines: string[] = [];
      const found = await resolveKubernetes(await configure(words, {}), clients, (line) => lines.push(line), today);
      return { found, lines, warnings: lines.filter((l) => l.startsWith('WARNING:')) };
    };
    const TODAY = new Date('2026-11-30T12:00:00Z');

    it('make 1.37 is accepted, and while the bucket has no 1.37 build the usual nothing-found error (exit 3) says it has none yet', async () => {
      try {
        await resolveFor(['1.37'], TODAY);
        expect.fail('expected a ResolutionError');
      } catch (error) {
        expect(error).to.be.instanceOf(ResolutionError);
        expect((error as ResolutionError).exitCode).to.equal(EXIT.resolution);
        expect((error as Error).message).to.contain('s3://amazon-eks (us-west-2)').and.to.contain('has no 1.37.x versions yet');
      }
    });

    it('once the bucket has 1.37, make 1.37 builds it (noting that EKS does not offer 1.37 yet), and plain make picks it', async () => {
      const { found, warnings } = await resolveFor(['1.37', 'binary_bucket_name=caught-up'], TODAY);
      expect(found.kubernetes).to.include({ version: '1.37.1', buildDate: '2026-10-14', minor: '1.37' });
      expect(found.config.values.containerd_version).to.match(/^2\./);
      expect(warnings.join('\n')).to.contain('EKS does not offer Kubernetes 1.37 yet');
      expect((await resolveFor(['binary_bucket_name=caught-up'], TODAY)).found.kubernetes.minor).to.equal('1.37');
    });

    it('a build of a minor past EKS extended support warns, naming the date and newer minors, and goes on', async () => {
      const { found, warnings } = await resolveFor(['1.29', 'binary_bucket_name=caught-up'], TODAY);
      expect(found.kubernetes.minor).to.equal('1.29');
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.contain('Kubernetes 1.29 left EKS extended support on 2026-03-23').and.to.contain('Build a newer minor: 1.32').and.to.contain("'make 1.36'");
      // The same build while 1.29 was still in extended support: no warning.
      expect((await resolveFor(['1.29', 'binary_bucket_name=caught-up'], new Date('2026-03-23T23:00:00Z'))).warnings).to.deep.equal([]);
    });
  });
});
