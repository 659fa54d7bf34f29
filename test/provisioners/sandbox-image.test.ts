// sandbox-image.sh in a throw-away Debian root, after the steps it depends on (rootfs, the AWS CLI, containerd).
// Stand-ins, because nothing real can run offline here (real containerd binaries are a later step): containerd
// and ctr from rehearsal/stand-ins/ (a daemon that must be running, and an on-disk image store in which pull,
// tag, label, export, import and ls really change state; a private ECR registry answers 401 without
// `--user AWS:<token>`), the AWS CLI stand-in (`ecr get-login-password` needs the instance role's credentials from
// IMDSv2, as the real CLI does), and the rehearsal's instance metadata stand-in (IMDS_ENDPOINT). The sandbox has
// no systemd, so the step runs containerd directly; the rehearsal exercises containerd.service.
import { expect } from 'chai';
import { MetadataStandIn } from '../../src/rehearse/imds.ts';
import type { Sandbox } from '../support/sandbox.ts';
import { contractEnv, sandboxSuite } from './fixtures.ts';

const PAUSE = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10';
const GOV_PAUSE = '013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/eks/pause:3.10';
const ARCHIVE = '/etc/eks/pause-image.tar';

/** Runs ctr against a containerd started for this command only (Sandbox.withContainerd). */
async function withContainerd(sb: Sandbox, ctrArgs: string): Promise<string> {
  return (await sb.withContainerd(ctrArgs)).output;
}

describe('provisioners: the pause image pinned in containerd\'s store (sandbox-image.sh)', function () {
  this.timeout(180_000);
  const { f, fresh, ok } = sandboxSuite();
  let withRole: MetadataStandIn;
  let noRole: MetadataStandIn;

  before(async () => {
    withRole = await new MetadataStandIn({ host: '127.0.0.1', publicKey: 'ssh-ed25519 AAAAC3Nza packer_test', role: 'eks-build-role' }).start();
    noRole = await new MetadataStandIn({ host: '127.0.0.1', publicKey: 'ssh-ed25519 AAAAC3Nza packer_test' }).start();
  });
  after(async () => {
    await withRole?.stop();
    await noRole?.stop();
  });

  const installed = async (env: Record<string, string>) => {
    const sb = fresh();
    for (const step of ['rootfs.sh', 'aws-cli.sh', 'containerd.sh']) await ok(sb, step, env);
    return sb;
  };

  it('pulls the regional EKS image with an ECR token from the instance role, pins it and exports it', async () => {
    const env = contractEnv(f(), { IMDS_ENDPOINT: withRole.endpoint, PAUSE_IMAGE: PAUSE });
    const sb = await installed(env);
    const result = await ok(sb, 'sandbox-image.sh', env);
    expect(result.stderr).to.include('getting an ECR token for 602401143452.dkr.ecr.us-west-2.amazonaws.com with the instance role eks-build-role');
    expect(result.stderr).to.include('no systemd running (a chroot): starting /usr/bin/containerd directly').and.to.include('stopped containerd again');
    const listing = await withContainerd(sb, 'ctr -n k8s.io images ls');
    expect(listing).to.match(new RegExp(`^${PAUSE.replace(/[.]/g, '\\.')} .* io\\.cri-containerd\\.pinned=pinned$`, 'm'));
    // The export re-imports into an empty store (what bootstrap.sh does when the image is missing).
    expect(sb.exists(ARCHIVE)).to.equal(true);
    const reimported = await withContainerd(sb, `ctr -n k8s.io images rm ${PAUSE} && ctr -n k8s.io images import ${ARCHIVE} && ctr -n k8s.io images ls -q`);
    expect(reimported.split('\n')).to.include(PAUSE);
  });

  it('in the commercial partition without an instance role, takes the public ECR copy, tagged under the configured name, and says so', async () => {
    const env = contractEnv(f(), { IMDS_ENDPOINT: noRole.endpoint, PAUSE_IMAGE: PAUSE });
    const sb = await installed(env);
    const result = await ok(sb, 'sandbox-image.sh', env);
    expect(result.stderr).to.include('WARNING: this build instance has no instance role').and.to.include('public.ecr.aws/eks-distro/kubernetes/pause:3.10');
    expect(result.stderr).to.include('set iam_instance_profile');
    const names = (await withContainerd(sb, 'ctr -n k8s.io images ls -q')).split('\n').filter(Boolean);
    expect(names).to.deep.equal([PAUSE]);
    expect(await withContainerd(sb, `ctr -n k8s.io images ls name==${PAUSE}`)).to.include('io.cri-containerd.pinned=pinned');
  });

  it('outside the commercial partition without an instance role, fails naming iam_instance_profile, with nothing exported', async () => {
    const env = contractEnv(f(), { IMDS_ENDPOINT: noRole.endpoint, PAUSE_IMAGE: GOV_PAUSE, AWS_REGION: 'us-gov-west-1', PARTITION: 'aws-us-gov' });
    const sb = await installed(env);
    const result = await sb.runStep('sandbox-image.sh', env);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include(`PAUSE_IMAGE=${GOV_PAUSE} is in a private ECR registry and this build instance has no instance role`);
    expect(result.stderr).to.include('set iam_instance_profile');
    expect(sb.exists(ARCHIVE)).to.equal(false);
    expect(sb.exists(`${ARCHIVE}.partial`)).to.equal(false);
  });

  it('a private ECR pull without the token is refused (what containerd itself hits on a node without the image)', async () => {
    const env = contractEnv(f(), { IMDS_ENDPOINT: withRole.endpoint, PAUSE_IMAGE: PAUSE });
    const sb = await installed(env);
    expect(await withContainerd(sb, `ctr -n k8s.io images pull ${PAUSE}; echo status=$?`)).to.include('401 Unauthorized').and.to.include('status=1');
    // With the role's token (the path the step takes) the same pull works.
    const token = await sb.exec(['bash', '-c', `AWS_EC2_METADATA_SERVICE_ENDPOINT=${withRole.endpoint} aws ecr get-login-password --region us-west-2`]);
    expect(token.status, token.output).to.equal(0);
    expect(await withContainerd(sb, `ctr -n k8s.io images pull --user AWS:${token.stdout.trim()} ${PAUSE}; echo status=$?`)).to.include('status=0');
  });
});
