// SSM parameters per cell and the sweep, against moto_server: tagged images copied to two regions, referenced from
// launch templates (old versions, resolve:ssm:), a launch configuration, an auto scaling group, an EKS node group
// and an SSM parameter.
import { expect } from 'chai';
import { CreateAutoScalingGroupCommand, CreateLaunchConfigurationCommand } from '@aws-sdk/client-auto-scaling';
import { CreateLaunchTemplateCommand, CreateLaunchTemplateVersionCommand, DescribeImagesCommand, DescribeSnapshotsCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, CreateNodegroupCommand } from '@aws-sdk/client-eks';
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from '@aws-sdk/client-iam';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { lifecycleClients, type LifecycleClients } from '../../src/aws/lifecycle-clients.ts';
import { checkPrefix, imageIdParameter, publishedImageIds, publishImageParameters } from '../../src/lifecycle/ssm.ts';
import { applySweep } from '../../src/lifecycle/sweep-apply.ts';
import { gatherInventory } from '../../src/lifecycle/sweep-inventory.ts';
import { describePlan, planSweep } from '../../src/lifecycle/sweep-plan.ts';
import { buildTags, registerTaggedImage, runScript, useMoto } from './support.ts';

const cell = { k8s: '1.28', rhel_version: 9, arch: 'x86_64' as const, variant: 'standard' };
const WEST = 'us-west-2';
const EAST = 'us-east-1';

describe('lifecycle: SSM parameters per cell (moto)', function () {
  this.timeout(60_000);
  useMoto();

  it('names /<prefix>/rhel-<N>/<minor>/<arch>/<variant>/image_id and refuses reserved or malformed prefixes', () => {
    expect(imageIdParameter('/rhel-eks-ami', cell)).to.equal('/rhel-eks-ami/rhel-9/1.28/x86_64/standard/image_id');
    for (const bad of ['rhel-eks-ami', '/aws/service/x', '/a//b', '/a/']) expect(() => checkPrefix(bad), bad).to.throw(/ssm_prefix/);
  });

  it('publishes the image id in every region the build registered it, overwriting the previous one', async () => {
    const clients = lifecycleClients();
    const first = await publishImageParameters(clients, '/team/amis', cell, [{ region: WEST, ami: 'ami-0aaa1111bbbb22223' }, { region: EAST, ami: 'ami-0ccc3333dddd44445' }]);
    expect(first.map((p) => p.version)).to.deep.equal([1, 1]);
    const second = await publishImageParameters(clients, '/team/amis', cell, [{ region: WEST, ami: 'ami-0eee5555ffff66667' }]);
    expect(second[0]).to.include({ version: 2, name: '/team/amis/rhel-9/1.28/x86_64/standard/image_id' });
    const west = await clients.ssm(WEST).send(new GetParameterCommand({ Name: '/team/amis/rhel-9/1.28/x86_64/standard/image_id' }));
    expect(west.Parameter).to.include({ Value: 'ami-0eee5555ffff66667', DataType: 'aws:ec2:image' });
    expect([...(await publishedImageIds(clients, EAST, '/team/amis')).keys()]).to.deep.equal(['ami-0ccc3333dddd44445']);
  });
});

describe('lifecycle: make sweep (moto)', function () {
  this.timeout(60_000);
  useMoto();
  let clients: LifecycleClients;
  /** build index → { west, east } image ids; builds 0 (oldest) … 6 (newest) of cell 1.28/RHEL 9/x86_64. */
  const builds: { name: string; west: string; east: string }[] = [];
  let otherCell: string;
  let untagged: string;

  before(async () => {
    clients = lifecycleClients();
    for (let i = 0; i < 7; i++) {
      const name = `rhel-9-eks-node-1.28-x86_64-standard-v2026010${i}000000`;
      const tags = buildTags({ version: '1.28.15', rhel: '9.5.0', arch: 'x86_64', name });
      builds.push({ name, west: await registerTaggedImage(clients.ec2(WEST), name, tags), east: await registerTaggedImage(clients.ec2(EAST), name, tags) });
    }
    otherCell = await registerTaggedImage(clients.ec2(WEST), 'rhel-8-eks-node-1.29-arm64-standard-v1', buildTags({ version: '1.29.10', rhel: '8.10.0', arch: 'arm64', name: 'x' }), 'arm64');
    untagged = await registerTaggedImage(clients.ec2(WEST), 'hand-made-image', {});
    const ec2 = clients.ec2(WEST);
    // build 0: only an old version of a launch template; build 1: a launch configuration (in use by an ASG).
    await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'workers', LaunchTemplateData: { ImageId: builds[0].west } }));
    await ec2.send(new CreateLaunchTemplateVersionCommand({ LaunchTemplateName: 'workers', LaunchTemplateData: { ImageId: builds[6].west } }));
    await clients.autoscaling(WEST).send(new CreateLaunchConfigurationCommand({ LaunchConfigurationName: 'legacy', ImageId: builds[1].west, InstanceType: 'm6i.large' }));
    await clients.autoscaling(WEST).send(new CreateAutoScalingGroupCommand({ AutoScalingGroupName: 'legacy-asg', LaunchConfigurationName: 'legacy', MinSize: 0, MaxSize: 1, AvailabilityZones: ['us-west-2a'] }));
    // build 2: an EKS managed node group's launch template (us-east-1).
    const lt = await clients.ec2(EAST).send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'ng', LaunchTemplateData: { ImageId: builds[2].east } }));
    await clients.eks(EAST).send(new CreateClusterCommand({ name: 'prod', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-1'] } }));
    await clients.eks(EAST).send(
      new CreateNodegroupCommand({ clusterName: 'prod', nodegroupName: 'rhel', nodeRole: 'arn:aws:iam::123456789012:role/node', subnets: ['subnet-1'], launchTemplate: { id: lt.LaunchTemplate!.LaunchTemplateId, version: '1' } }),
    );
    // build 3: an SSM parameter under the prefix, and a launch template resolving it through resolve:ssm:.
    await publishImageParameters(clients, '/rhel-eks-ami', cell, [{ region: WEST, ami: builds[3].west }]);
    await clients.ssm(EAST).send(new PutParameterCommand({ Name: '/elsewhere/pinned', Value: builds[3].east, Type: 'String' }));
    await clients.ec2(EAST).send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'pinned', LaunchTemplateData: { ImageId: 'resolve:ssm:/elsewhere/pinned' } }));
    // A parameter that no longer exists (ParameterNotFound) names no image: it protects nothing.
    await clients.ec2(EAST).send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'stale', LaunchTemplateData: { ImageId: 'resolve:ssm:/elsewhere/deleted' } }));
  });

  const exists = async (region: string, id: string) => ((await clients.ec2(region).send(new DescribeImagesCommand({ Owners: ['self'] }))).Images ?? []).some((i) => i.ImageId === id);

  it('finds every reference and plans: newest 2 kept, referenced older images kept with the reason, the rest removed in both regions', async () => {
    const inventory = await gatherInventory(clients, [WEST, EAST], '/rhel-eks-ami');
    const plan = planSweep(inventory, 2, [WEST, EAST]);
    expect(plan.cells.map((c) => `${c.cell.k8s}/${c.cell.rhel_version}/${c.cell.arch}`)).to.deep.equal(['1.28/9/x86_64', '1.29/8/arm64']);
    const [main, other] = plan.cells;
    expect(main.keep.map((b) => b.name)).to.deep.equal([builds[6].name, builds[5].name]);
    expect(other.keep[0].images[0].imageId).to.equal(otherCell);
    const reasons = Object.fromEntries(main.protectedImages.map((p) => [`${p.image.region}/${p.image.imageId}`, p.reasons.join('; ')]));
    expect(reasons[`${WEST}/${builds[0].west}`]).to.match(/^launch template lt-\w+ \(workers\) version 1$/);
    expect(reasons[`${WEST}/${builds[1].west}`]).to.equal('launch configuration legacy; auto scaling group legacy-asg');
    expect(reasons[`${EAST}/${builds[2].east}`]).to.match(/launch template lt-\w+ \(ng\) version 1; EKS node group prod\/rhel/);
    expect(reasons[`${WEST}/${builds[3].west}`]).to.equal('SSM parameter /rhel-eks-ami/rhel-9/1.28/x86_64/standard/image_id');
    expect(reasons[`${EAST}/${builds[3].east}`]).to.match(/launch template lt-\w+ \(pinned\) version 1/);
    expect(Object.keys(reasons)).to.have.length(5);
    const removed = main.remove.map((r) => `${r.image.region}/${r.image.imageId}`).sort();
    expect(removed).to.deep.equal(
      [`${EAST}/${builds[0].east}`, `${EAST}/${builds[1].east}`, `${WEST}/${builds[2].west}`, `${WEST}/${builds[4].west}`, `${EAST}/${builds[4].east}`].sort(),
    );
    expect(main.remove.every((r) => r.snapshots.length === 1 && r.sharedSnapshots.length === 0)).to.equal(true);
    expect(plan.untagged).to.equal(1);
  });

  it('is a dry run by default: make sweep prints the plan and changes nothing; bad options exit 2 first', async () => {
    const run = runScript('sweep', ['keep=2', `regions=${WEST},${EAST}`]);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.contain('(dry run; apply=true removes)').and.to.contain('5 image(s) to remove, 5 older image(s) kept because they are in use, 1 image(s) without cell tags ignored.');
    expect(run.stdout).to.contain(`would remove  ${builds[4].name} ${WEST}:${builds[4].west} and snapshots snap-`);
    expect(await exists(WEST, builds[4].west)).to.equal(true);
    for (const [words, message] of [
      [['keeep=2'], 'keeep="2" is not an option of make sweep. Did you mean keep?'],
      [['keep=0'], 'keep="0" is not allowed'],
      [['apply=yes'], 'apply="yes" is not allowed: true or false'],
      [['regions=mars-1'], 'regions="mars-1" is not allowed'],
      [['ssm_prefix=/aws/x'], 'ssm_prefix="/aws/x" is not allowed'],
    ] as const) {
      const bad = runScript('sweep', [...words], { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
      expect(bad.status, bad.stderr).to.equal(2);
      expect(bad.stderr).to.contain(message);
    }
  });

  it('apply=true deregisters the planned images and deletes their snapshots in every region, and nothing else', async () => {
    const inventory = await gatherInventory(clients, [WEST, EAST], '/rhel-eks-ami');
    const plan = planSweep(inventory, 2, [WEST, EAST]);
    const snapshots = plan.cells.flatMap((c) => c.remove.flatMap((r) => r.snapshots.map((s) => `${r.image.region}/${s}`)));
    const outcome = await applySweep(clients, plan, () => {});
    expect(outcome.failures).to.deep.equal([]);
    expect(outcome.deregistered).to.have.length(5);
    expect(outcome.deletedSnapshots.sort()).to.deep.equal(snapshots.sort());
    for (const r of plan.cells[0].remove) expect(await exists(r.image.region, r.image.imageId), r.image.imageId).to.equal(false);
    for (const p of plan.cells[0].protectedImages) expect(await exists(p.image.region, p.image.imageId)).to.equal(true);
    for (const b of [builds[5], builds[6]]) {
      expect(await exists(WEST, b.west)).to.equal(true);
      expect(await exists(EAST, b.east)).to.equal(true);
    }
    expect(await exists(WEST, untagged)).to.equal(true);
    expect(await exists(WEST, otherCell)).to.equal(true);
    for (const region of [WEST, EAST]) {
      const left = new Set(((await clients.ec2(region).send(new DescribeSnapshotsCommand({ OwnerIds: ['self'] }))).Snapshots ?? []).map((s) => `${region}/${s.SnapshotId}`));
      for (const s of snapshots.filter((x) => x.startsWith(region))) expect(left.has(s), s).to.equal(false);
    }
    // A second sweep finds nothing more to do.
    const again = planSweep(await gatherInventory(clients, [WEST, EAST], '/rhel-eks-ami'), 2, [WEST, EAST]);
    expect(again.cells.flatMap((c) => c.remove)).to.deep.equal([]);
    expect(describePlan(again, true).at(-1)).to.match(/^0 image\(s\) to remove/);
  });
});

describe('lifecycle: the sweep fails closed on an unreadable resolve:ssm: parameter (moto with IAM enforced)', function () {
  this.timeout(60_000);
  const handle = useMoto();
  let sweeper: LifecycleClients;
  let old: string;

  before(async () => {
    const admin = lifecycleClients();
    const names = ['v1', 'v2', 'v3'].map((v) => `rhel-9-eks-node-1.28-x86_64-standard-${v}`);
    const ids: string[] = [];
    for (const name of names) ids.push(await registerTaggedImage(admin.ec2(WEST), name, buildTags({ version: '1.28.15', rhel: '9.5.0', arch: 'x86_64', name })));
    old = ids[0];
    // A launch template resolves its image through a parameter the sweeping identity may not read.
    await admin.ssm(WEST).send(new PutParameterCommand({ Name: '/team/secret/image', Value: old, Type: 'String' }));
    await admin.ec2(WEST).send(new CreateLaunchTemplateCommand({ LaunchTemplateName: 'private', LaunchTemplateData: { ImageId: 'resolve:ssm:/team/secret/image' } }));
    const endpoint = handle.moto!.endpoint;
    const config = { region: WEST, ...handle.moto!.connection };
    const iam = new IAMClient(config);
    await iam.send(new CreateUserCommand({ UserName: 'sweeper' }));
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: '*', Resource: '*' },
        // moto evaluates non-S3 actions against Resource "*", so the denial covers every parameter.
        { Effect: 'Deny', Action: 'ssm:GetParameter', Resource: '*' },
      ],
    };
    await iam.send(new PutUserPolicyCommand({ UserName: 'sweeper', PolicyName: 'sweep', PolicyDocument: JSON.stringify(policy) }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: 'sweeper' }))).AccessKey!;
    iam.destroy();
    // From here on moto checks every request's signature and the caller's permissions.
    expect((await fetch(`${endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' })).status).to.equal(200);
    // The sweeping identity's own credentials, handed to its clients (the environment keeps the emulator's).
    sweeper = lifecycleClients({ endpoint, credentials: { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! } });
  });

  it('keeps every image of the region, naming the parameter and the error, instead of treating it as unreferenced', async () => {
    // moto answers the denial with a 403 whose body the SSM client cannot parse (a SyntaxError carrying the 403);
    // AWS answers AccessDeniedException. Either way the read fails with something other than ParameterNotFound.
    const denied = await sweeper.ssm(WEST).send(new GetParameterCommand({ Name: '/team/secret/image' })).then(() => undefined, (e: Error & { $metadata?: { httpStatusCode?: number } }) => e);
    expect(denied?.$metadata?.httpStatusCode ?? (denied as unknown as { $response?: { statusCode?: number } })?.$response?.statusCode, 'moto must refuse the read for this test to mean anything').to.equal(403);
    const plan = planSweep(await gatherInventory(sweeper, [WEST], '/rhel-eks-ami'), 1, [WEST]);
    const [main] = plan.cells;
    expect(main.remove).to.deep.equal([]);
    expect(main.protectedImages).to.have.length(2);
    for (const { reasons } of main.protectedImages) {
      expect(reasons.join('; ')).to.match(/launch template lt-\w+ \(private\) version 1 refers to SSM parameter \/team\/secret\/image, which could not be read \(/);
    }
  });
});
