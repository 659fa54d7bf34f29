// make nodegroup against moto: the cluster's endpoint and CA (DescribeCluster) and the image's root device
// (DescribeImages) end up in a CloudFormation template and an eksctl config that are parsed and checked here;
// apply=true creates the stack in moto (its launch template for real; moto has no AWS::EKS::Nodegroup) or runs
// eksctl through the Runner.
import { expect } from 'chai';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { CreateTagsCommand, DescribeLaunchTemplateVersionsCommand, DescribeLaunchTemplatesCommand } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeClusterCommand } from '@aws-sdk/client-eks';
import { parse } from 'yaml';
import { lifecycleClients, type LifecycleClients } from '../../src/aws/lifecycle-clients.ts';
import { runNodegroupCommand } from '../../src/lifecycle/nodegroup-command.ts';
import { repoPath } from '../../src/paths.ts';
import type { Runner } from '../../src/process/run.ts';
import { capture } from '../support/spawn.ts';
import { buildTags, runScript, useMoto } from './support.ts';

const ROLE = 'arn:aws:iam::123456789012:role/eks-node';
const OUT = 'build/test-lifecycle-nodegroup';

/** Structural checks CloudFormation would make before creating anything (cfn-lint is not reachable here). */
function checkCloudFormation(doc: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const resources = (doc.Resources ?? {}) as Record<string, { Type?: string; Properties?: unknown }>;
  if (doc.AWSTemplateFormatVersion !== '2010-09-09') problems.push('AWSTemplateFormatVersion');
  if (Object.keys(resources).length === 0) problems.push('no Resources');
  const known = new Set(['AWS::EC2::LaunchTemplate', 'AWS::EKS::Nodegroup']);
  for (const [name, r] of Object.entries(resources)) {
    if (!/^[A-Za-z0-9]+$/.test(name)) problems.push(`logical id ${name}`);
    if (!r.Type || !known.has(r.Type)) problems.push(`${name}: type ${r.Type}`);
  }
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${where}[${i}]`));
    if (!node || typeof node !== 'object') return;
    const entries = Object.entries(node as Record<string, unknown>);
    const intrinsic = entries.find(([k]) => k === 'Ref' || k.startsWith('Fn::'));
    if (intrinsic && entries.length !== 1) problems.push(`${where}: intrinsic function mixed with other keys`);
    if (intrinsic?.[0] === 'Ref' && !(String(intrinsic[1]) in resources) && !String(intrinsic[1]).startsWith('AWS::')) problems.push(`${where}: Ref to unknown ${intrinsic[1]}`);
    if (intrinsic?.[0] === 'Fn::GetAtt' && !((intrinsic[1] as string[])[0] in resources)) problems.push(`${where}: GetAtt of unknown resource`);
    if (intrinsic?.[0] === 'Fn::Base64' && typeof intrinsic[1] !== 'string') problems.push(`${where}: Fn::Base64 of a non-string`);
    for (const [k, v] of entries) walk(v, `${where}.${k}`);
  };
  walk(doc, '$');
  return problems;
}

/** The bootstrap.sh line of a user-data script, checked against bootstrap.sh: shell syntax, its arguments as bash
 *  splits them (cluster name, then option/value pairs), every option one bootstrap.sh documents. */
function checkBootstrapLine(script: string): { line: string; args: string[] } {
  expect(script.startsWith('#!/bin/bash\n')).to.equal(true);
  expect(capture('bash', ['-n'], { input: script }).status).to.equal(0);
  const line = script.split('\n').find((l) => l.startsWith('/etc/eks/bootstrap.sh '))!;
  const split = capture('bash', ['-c', `set -- ${line.slice('/etc/eks/bootstrap.sh '.length)}; printf '%s\\0' "$@"`]);
  const args = split.stdout.split('\0').slice(0, -1);
  const usage = readFileSync(repoPath('rootfs/etc/eks/bootstrap.sh'), 'utf8');
  for (let i = 1; i < args.length; i += 2) {
    expect(args[i]).to.match(/^--[a-z0-9-]+$/);
    expect(usage, args[i]).to.contain(`  ${args[i]} `);
  }
  return { line, args };
}

describe('lifecycle: make nodegroup (moto)', function () {
  this.timeout(60_000);
  // Catalog images: moto's RegisterImage ignores architecture and root device. The arm64 one has another root
  // device name, so the documents can only be right if they read it from DescribeImages.
  const ami = 'ami-0e0000000000000a1';
  const armAmi = 'ami-0e0000000000000a2';
  useMoto([
    { ami_id: ami, name: 'rhel-9-eks-node-1.29-x86_64-standard-v1', owner_id: '123456789012', architecture: 'x86_64', root_device_name: '/dev/sda1' },
    { ami_id: armAmi, name: 'rhel-9-eks-node-1.29-arm64-standard-v1', owner_id: '123456789012', architecture: 'arm64', root_device_name: '/dev/xvda' },
  ]);
  let clients: LifecycleClients;
  let endpoint: string;
  let ca: string;

  before(async () => {
    clients = lifecycleClients();
    await clients.ec2('us-west-2').send(new CreateTagsCommand({ Resources: [ami, armAmi], Tags: Object.entries(buildTags({ version: '1.28.15', rhel: '9.5.0', arch: 'x86_64', name: 'n' })).map(([Key, Value]) => ({ Key, Value })) }));
    await clients.eks('us-west-2').send(new CreateClusterCommand({ name: 'prod', version: '1.29', roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-0a1', 'subnet-0b2'] } }));
    const cluster = (await clients.eks('us-west-2').send(new DescribeClusterCommand({ name: 'prod' }))).cluster!;
    endpoint = cluster.endpoint!;
    ca = cluster.certificateAuthority!.data!;
  });
  after(() => rmSync(repoPath(OUT), { recursive: true, force: true }));

  const noRunner: Runner = {
    capture: async () => {
      throw new Error('no process expected');
    },
    stream: async () => {
      throw new Error('no process expected');
    },
  };
  it("warns when the image's Kubernetes minor differs from the cluster's", async () => {
    const lines: string[] = [];
    await runNodegroupCommand(['cluster=prod', `ami=${ami}`, 'format=eksctl', `out=${OUT}/warn.yaml`], { clients, runner: noRunner, env: process.env, log: (l) => lines.push(l) });
    expect(lines.join('\n')).to.contain('warning: the image has Kubernetes 1.28.15, the cluster runs 1.29');
  });

  const run = (words: string[], runner = noRunner) => runNodegroupCommand(words, { clients, runner, env: process.env, log: () => {} });

  it('CloudFormation: launch template with IMDSv2 only, encrypted root on /dev/sda1, bootstrap.sh with endpoint and CA; a node group using it', async () => {
    const out = `${OUT}/prod.cfn.json`;
    expect(await run(['cluster=prod', `ami=${ami}`, `node_role=${ROLE}`, `out=${out}`, 'kms_key_id=alias/ebs'])).to.equal(0);
    const doc = JSON.parse(readFileSync(repoPath(out), 'utf8'));
    expect(checkCloudFormation(doc)).to.deep.equal([]);
    const data = doc.Resources.NodeLaunchTemplate.Properties.LaunchTemplateData;
    expect(data.ImageId).to.equal(ami);
    expect(data.MetadataOptions).to.include({ HttpTokens: 'required', HttpEndpoint: 'enabled' });
    expect(data.BlockDeviceMappings).to.deep.equal([{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true, KmsKeyId: 'alias/ebs' } }]);
    const { line, args } = checkBootstrapLine(data.UserData['Fn::Base64']);
    expect(args.slice(0, 5)).to.deep.equal(['prod', '--apiserver-endpoint', endpoint, '--b64-cluster-ca', ca]);
    expect(line).to.contain(`/etc/eks/bootstrap.sh 'prod' --apiserver-endpoint '${endpoint}' --b64-cluster-ca '${ca}'`);
    expect(line).to.contain("--service-ipv4-cidr '172.20.0.0/16'").and.to.contain(`eks.amazonaws.com/nodegroup-image=${ami}`);
    const ng = doc.Resources.Nodegroup.Properties;
    expect(ng).to.deep.include({ ClusterName: 'prod', NodegroupName: 'rhel-ipvs', NodeRole: ROLE, Subnets: ['subnet-0a1', 'subnet-0b2'], InstanceTypes: ['m6i.large'] });
    expect(ng.ScalingConfig).to.deep.equal({ MinSize: 1, MaxSize: 3, DesiredSize: 2 });
    expect(ng.LaunchTemplate).to.deep.equal({ Id: { Ref: 'NodeLaunchTemplate' }, Version: { 'Fn::GetAtt': ['NodeLaunchTemplate', 'LatestVersionNumber'] } });
    expect(ng).not.to.have.property('AmiType');
  });

  it('eksctl: a managed node group with the AMI, IMDSv1 off, encrypted root volume named by the image, the bootstrap command', async () => {
    const out = `${OUT}/prod.eksctl.yaml`;
    expect(await run(['cluster=prod', `ami=${armAmi}`, 'format=eksctl', `out=${out}`, 'name=graviton', 'kubelet_extra_args=--register-with-taints=dedicated=ipvs:NoSchedule'])).to.equal(0);
    const doc = parse(readFileSync(repoPath(out), 'utf8'));
    expect(doc).to.deep.include({ apiVersion: 'eksctl.io/v1alpha5', kind: 'ClusterConfig', metadata: { name: 'prod', region: 'us-west-2', version: '1.29' } });
    const [group] = doc.managedNodeGroups;
    expect(group).to.deep.include({ name: 'graviton', ami: armAmi, amiFamily: 'AmazonLinux2', instanceTypes: ['m6g.large'], disableIMDSv1: true, volumeName: '/dev/xvda', volumeEncrypted: true, subnets: ['subnet-0a1', 'subnet-0b2'] });
    expect(group).not.to.have.property('iam');
    const { args } = checkBootstrapLine(group.overrideBootstrapCommand);
    expect(args[args.indexOf('--b64-cluster-ca') + 1]).to.equal(ca);
    expect(args.at(-2)).to.equal('--kubelet-extra-args');
    expect(args.at(-1)).to.equal(`--node-labels=eks.amazonaws.com/nodegroup=graviton,eks.amazonaws.com/nodegroup-image=${armAmi},eks.amazonaws.com/capacityType=ON_DEMAND --register-with-taints=dedicated=ipvs:NoSchedule`);
  });

  it('Karpenter: an EC2NodeClass v1 for the image, amiFamily Custom, IMDSv2 only, encrypted root on the image\'s root device', async () => {
    const out = `${OUT}/prod.karpenter.yaml`;
    expect(await run(['cluster=prod', `ami=${ami}`, 'format=karpenter', `node_role=arn:aws:iam::123456789012:role/nodes/KarpenterNodeRole-prod`, `out=${out}`, 'kms_key_id=alias/ebs', 'name=rhel_ipvs'])).to.equal(0);
    const doc = parse(readFileSync(repoPath(out), 'utf8'));
    expect(doc).to.deep.include({ apiVersion: 'karpenter.k8s.aws/v1', kind: 'EC2NodeClass', metadata: { name: 'rhel-ipvs' } });
    const spec = doc.spec;
    expect(spec).to.deep.include({ amiFamily: 'Custom', amiSelectorTerms: [{ id: ami }], role: 'KarpenterNodeRole-prod' });
    expect(spec).not.to.have.property('instanceProfile');
    expect(spec.subnetSelectorTerms).to.deep.equal([{ id: 'subnet-0a1' }, { id: 'subnet-0b2' }]);
    expect(spec.securityGroupSelectorTerms).to.have.length(1);
    expect(spec.metadataOptions).to.deep.equal({ httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' });
    expect(spec.blockDeviceMappings).to.deep.equal([
      { deviceName: '/dev/sda1', rootVolume: true, ebs: { volumeSize: '20Gi', volumeType: 'gp3', encrypted: true, deleteOnTermination: true, kmsKeyID: 'alias/ebs' } },
    ]);

    // The image's NodeConfig reader (rootfs/etc/eks/nodeconfig.py) accepts the user data and turns it into the
    // bootstrap.sh call a node group's user data makes (test/bootstrap/nodeconfig.test.ts boots it for real).
    const file = repoPath(OUT, 'karpenter-user-data');
    writeFileSync(file, spec.userData);
    const read = capture('python3', [repoPath('rootfs/etc/eks/nodeconfig.py'), '--user-data', file, '--dry-run']);
    expect(read.status, read.stderr).to.equal(0);
    const plan = JSON.parse(read.stdout);
    expect(plan.bootstrap.slice(0, 7)).to.deep.equal(['prod', '--apiserver-endpoint', endpoint, '--b64-cluster-ca', ca, '--service-ipv4-cidr', '172.20.0.0/16']);
    expect(plan.bootstrap.slice(7)).to.deep.equal(['--kubelet-config-overrides', '/etc/eks/nodeconfig/kubelet-config.json']);
    expect(JSON.parse(plan.files['/etc/eks/nodeconfig/kubelet-config.json'])).to.deep.equal({ registerWithTaints: [{ key: 'karpenter.sh/unregistered', effect: 'NoExecute' }] });
    const usage = readFileSync(repoPath('rootfs/etc/eks/bootstrap.sh'), 'utf8');
    for (const option of plan.bootstrap.filter((a: string) => a.startsWith('--'))) expect(usage, option).to.contain(`  ${option} `);
  });

  it('Karpenter: instance_profile instead of the role, the arm64 image\'s own root device, kubelet flags into NodeConfig', async () => {
    const out = `${OUT}/arm.karpenter.yaml`;
    expect(await run(['cluster=prod', `ami=${armAmi}`, 'format=karpenter', 'instance_profile=KarpenterNodeInstanceProfile', `out=${out}`, 'kubelet_extra_args=--node-labels="tier=ipvs"'])).to.equal(0);
    const spec = parse(readFileSync(repoPath(out), 'utf8')).spec;
    expect(spec.instanceProfile).to.equal('KarpenterNodeInstanceProfile');
    expect(spec).not.to.have.property('role');
    expect(spec.blockDeviceMappings[0].deviceName).to.equal('/dev/xvda');
    const file = repoPath(OUT, 'arm-user-data');
    writeFileSync(file, spec.userData);
    const plan = JSON.parse(capture('python3', [repoPath('rootfs/etc/eks/nodeconfig.py'), '--user-data', file, '--dry-run']).stdout);
    expect(plan.bootstrap).to.include.members(['--kubelet-extra-args', '--node-labels=tier=ipvs']);
  });

  it('apply=true: the stack is created (moto makes its launch template), or eksctl create nodegroup runs on the file', async () => {
    expect(await run(['cluster=prod', `ami=${ami}`, `node_role=${ROLE}`, `out=${OUT}/apply.cfn.json`, 'apply=true', 'name=applied'])).to.equal(0);
    const templates = (await clients.ec2('us-west-2').send(new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: ['prod-applied'] }))).LaunchTemplates!;
    const version = (await clients.ec2('us-west-2').send(new DescribeLaunchTemplateVersionsCommand({ LaunchTemplateId: templates[0].LaunchTemplateId }))).LaunchTemplateVersions![0];
    expect(version.LaunchTemplateData).to.deep.include({ ImageId: ami });
    expect(version.LaunchTemplateData?.MetadataOptions?.HttpTokens).to.equal('required');
    expect(version.LaunchTemplateData?.BlockDeviceMappings?.[0]).to.deep.include({ DeviceName: '/dev/sda1' });
    expect(version.LaunchTemplateData?.BlockDeviceMappings?.[0].Ebs?.Encrypted).to.equal(true);

    const calls: string[][] = [];
    const eksctl: Runner = { ...noRunner, stream: async (command, args) => (calls.push([command, ...args]), 0) };
    expect(await run(['cluster=prod', `ami=${ami}`, 'format=eksctl', `out=${OUT}/apply.eksctl.yaml`, 'apply=true'], eksctl)).to.equal(0);
    expect(calls).to.deep.equal([['eksctl', 'create', 'nodegroup', '--config-file', repoPath(OUT, 'apply.eksctl.yaml')]]);
  });

  it('bad input exits 2 before any AWS call; a missing cluster or image exits 3; an instance type of the other architecture is refused', async () => {
    const dead = { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' };
    for (const [words, message] of [
      [['cluster=prod'], 'make nodegroup needs ami='],
      [['cluster=prod', `ami=${ami}`], 'node_role="" is not allowed: an IAM role ARN for format=cloudformation'],
      [['cluster=prod', 'ami=ami-xyz', `node_role=${ROLE}`], 'ami="ami-xyz" is not allowed'],
      [['cluster=prod', `ami=${ami}`, 'format=eksctl', 'min_size=3', 'max_size=2'], 'desired_size=2 is not allowed'],
      [['cluster=prod', `ami=${ami}`, 'format=eksctl', 'nodegroup=x'], 'nodegroup="x" is not an option of make nodegroup'],
      [['cluster=prod', `ami=${ami}`, 'format=karpenter'], 'node_role="" is not allowed: exactly one of node_role (an IAM role ARN) and instance_profile for format=karpenter'],
      [['cluster=prod', `ami=${ami}`, 'format=karpenter', `node_role=${ROLE}`, 'instance_profile=p'], 'instance_profile="p" is not allowed: exactly one of node_role'],
      [['cluster=prod', `ami=${ami}`, `node_role=${ROLE}`, 'instance_profile=p'], 'instance_profile="p" is not allowed: empty unless format=karpenter'],
    ] as const) {
      const r = runScript('nodegroup', [...words], dead);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(message);
    }
    const missing = await run(["cluster=nope", `ami=${ami}`, "format=eksctl", `out=${OUT}/x.yaml`]).then(() => undefined, (e: Error & { exitCode?: number }) => e);
    expect(missing?.message).to.contain("EKS cluster nope does not exist");
    expect(missing?.exitCode).to.equal(3);
    const noImage = await run(["cluster=prod", "ami=ami-0123456789abcdef0", "format=eksctl", `out=${OUT}/x.yaml`]).then(() => undefined, (e: Error & { exitCode?: number }) => e);
    expect(noImage?.exitCode, noImage?.message).to.equal(3);
    const wrongArch = await run(["cluster=prod", `ami=${armAmi}`, "format=eksctl", "instance_types=m6i.large", `out=${OUT}/x.yaml`]).then(() => undefined, (e: Error) => e);
    expect(wrongArch?.message).to.contain("instance_types=\"m6i.large\" is not allowed: arm64 instance types");
  });
});
