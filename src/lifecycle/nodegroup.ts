// `make nodegroup cluster=C ami=AMI …`: an EKS managed node group on one of our images, as a CloudFormation stack
// (launch template + AWS::EKS::Nodegroup) or an eksctl ClusterConfig, or a Karpenter v1 EC2NodeClass. All give the
// nodes IMDSv2 only (HttpTokens required), an encrypted root volume on the image's own root device (DescribeImages;
// /dev/sda1 on RHEL), and user data naming the cluster's endpoint and CA (DescribeCluster), so nodes do not call
// DescribeCluster at boot: a script running /etc/eks/bootstrap.sh for node groups, NodeConfig for Karpenter (read
// by the image's eks-nodeconfig.service, which runs bootstrap.sh with the same settings).
import { DescribeImagesCommand, type Image } from '@aws-sdk/client-ec2';
import { DescribeClusterCommand, type Cluster } from '@aws-sdk/client-eks';
import { CreateStackCommand, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { stringify } from 'yaml';
import { archOfInstanceType, defaultInstanceType } from '../data/instance-types.ts';
import { ConfigError, ResolutionError, UserError } from '../errors.ts';
import type { LifecycleClients } from '../aws/lifecycle-clients.ts';

export interface NodegroupRequest {
  cluster: string;
  ami: string;
  region: string;
  name: string;
  nodeRole: string;
  subnets: string[];
  instanceTypes: string[];
  minSize: number;
  maxSize: number;
  desiredSize: number;
  volumeSize: number;
  volumeType: string;
  kmsKeyId: string;
  kubeletExtraArgs: string;
  /** Karpenter: instance profile name used instead of the node role. */
  instanceProfile?: string;
}

/** What AWS told us about the cluster and the image. */
export interface NodegroupFacts {
  clusterName: string;
  endpoint: string;
  certificateAuthority: string;
  serviceIpv4Cidr?: string;
  clusterVersion?: string;
  clusterSubnets: string[];
  clusterSecurityGroupId?: string;
  imageId: string;
  imageName: string;
  rootDeviceName: string;
  architecture: 'x86_64' | 'arm64';
  imageKubernetesVersion?: string;
}

export async function describeNodegroupFacts(clients: LifecycleClients, request: Pick<NodegroupRequest, 'cluster' | 'ami' | 'region'>): Promise<NodegroupFacts> {
  let cluster: Cluster | undefined;
  try {
    cluster = (await clients.eks(request.region).send(new DescribeClusterCommand({ name: request.cluster }))).cluster;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') throw new ResolutionError(`EKS cluster ${request.cluster} does not exist in ${request.region}. Check cluster= and region=.`);
    throw error;
  }
  if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
    throw new ResolutionError(`EKS cluster ${request.cluster} in ${request.region} has no endpoint or CA yet (status ${cluster?.status ?? 'unknown'}); wait until it is ACTIVE.`);
  }
  let image: Image | undefined;
  try {
    image = (await clients.ec2(request.region).send(new DescribeImagesCommand({ ImageIds: [request.ami] }))).Images?.[0];
  } catch (error) {
    if (!/InvalidAMIID/.test((error as Error).name)) throw error;
  }
  if (!image) throw new ResolutionError(`Image ${request.ami} does not exist in ${request.region} (or is not visible to this account). Images are per region: use the id from that region's build output or SSM parameter.`);
  if (image.State && image.State !== 'available') throw new ResolutionError(`Image ${request.ami} is ${image.State}, not available.`);
  if (!image.RootDeviceName) throw new ResolutionError(`Image ${request.ami} reports no root device name.`);
  const tag = (key: string) => image!.Tags?.find((t) => t.Key === key)?.Value;
  return {
    clusterName: request.cluster,
    endpoint: cluster.endpoint,
    certificateAuthority: cluster.certificateAuthority.data,
    serviceIpv4Cidr: cluster.kubernetesNetworkConfig?.serviceIpv4Cidr,
    clusterVersion: cluster.version,
    clusterSubnets: cluster.resourcesVpcConfig?.subnetIds ?? [],
    clusterSecurityGroupId: cluster.resourcesVpcConfig?.clusterSecurityGroupId || undefined,
    imageId: image.ImageId ?? request.ami,
    imageName: image.Name ?? '',
    rootDeviceName: image.RootDeviceName,
    architecture: image.Architecture === 'arm64' ? 'arm64' : 'x86_64',
    imageKubernetesVersion: tag('kubernetes_version'),
  };
}

/** Problems worth a warning (not an error): e.g. the image's kubelet minor differs from the cluster's. */
export function nodegroupWarnings(facts: NodegroupFacts): string[] {
  const warnings: string[] = [];
  const imageMinor = facts.imageKubernetesVersion?.split('.').slice(0, 2).join('.');
  if (imageMinor && facts.clusterVersion && imageMinor !== facts.clusterVersion) {
    warnings.push(`the image has Kubernetes ${facts.imageKubernetesVersion}, the cluster runs ${facts.clusterVersion}: kubelet must not be newer than the control plane, and should be at most three minors older.`);
  }
  return warnings;
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The bootstrap.sh command line (rootfs/etc/eks/bootstrap.sh), with what DescribeCluster told us. */
export function bootstrapCommand(request: NodegroupRequest, facts: NodegroupFacts): string {
  const labels = [`eks.amazonaws.com/nodegroup=${request.name}`, `eks.amazonaws.com/nodegroup-image=${facts.imageId}`, 'eks.amazonaws.com/capacityType=ON_DEMAND'].join(',');
  const kubelet = [`--node-labels=${labels}`, request.kubeletExtraArgs].filter(Boolean).join(' ');
  const words = [
    '/etc/eks/bootstrap.sh',
    shellQuote(facts.clusterName),
    '--apiserver-endpoint',
    shellQuote(facts.endpoint),
    '--b64-cluster-ca',
    shellQuote(facts.certificateAuthority),
    ...(facts.serviceIpv4Cidr ? ['--service-ipv4-cidr', shellQuote(facts.serviceIpv4Cidr)] : []),
    '--kubelet-extra-args',
    shellQuote(kubelet),
  ];
  return words.join(' ');
}

export function userDataScript(request: NodegroupRequest, facts: NodegroupFacts): string {
  return ['#!/bin/bash', 'set -euo pipefail', `# Joins the EKS cluster ${facts.clusterName} (image ${facts.imageId}).`, bootstrapCommand(request, facts), ''].join('\n');
}

/** CloudFormation template: a launch template and a managed node group that uses it. */
export function cloudFormationTemplate(request: NodegroupRequest, facts: NodegroupFacts): Record<string, unknown> {
  const ebs: Record<string, unknown> = {
    VolumeSize: request.volumeSize,
    VolumeType: request.volumeType,
    Encrypted: true,
    DeleteOnTermination: true,
  };
  if (request.kmsKeyId) ebs.KmsKeyId = request.kmsKeyId;
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `EKS managed node group ${request.name} for cluster ${facts.clusterName} on ${facts.imageId} (${facts.imageName}); IMDSv2 only, encrypted root volume`,
    Resources: {
      NodeLaunchTemplate: {
        Type: 'AWS::EC2::LaunchTemplate',
        Properties: {
          LaunchTemplateName: `${facts.clusterName}-${request.name}`,
          LaunchTemplateData: {
            ImageId: facts.imageId,
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
            BlockDeviceMappings: [{ DeviceName: facts.rootDeviceName, Ebs: ebs }],
            UserData: { 'Fn::Base64': userDataScript(request, facts) },
            TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: `${facts.clusterName}-${request.name}` }] }],
          },
        },
      },
      Nodegroup: {
        Type: 'AWS::EKS::Nodegroup',
        Properties: {
          ClusterName: facts.clusterName,
          NodegroupName: request.name,
          NodeRole: request.nodeRole,
          Subnets: request.subnets,
          InstanceTypes: request.instanceTypes,
          ScalingConfig: { MinSize: request.minSize, MaxSize: request.maxSize, DesiredSize: request.desiredSize },
          LaunchTemplate: { Id: { Ref: 'NodeLaunchTemplate' }, Version: { 'Fn::GetAtt': ['NodeLaunchTemplate', 'LatestVersionNumber'] } },
          Labels: { 'rhel-eks-ami/image': facts.imageId },
        },
      },
    },
    Outputs: {
      NodegroupName: { Value: request.name },
      LaunchTemplateId: { Value: { Ref: 'NodeLaunchTemplate' } },
    },
  };
}

/** eksctl ClusterConfig with one managed node group; eksctl makes the launch template from these fields. */
export function eksctlConfig(request: NodegroupRequest, facts: NodegroupFacts): Record<string, unknown> {
  const group: Record<string, unknown> = {
    name: request.name,
    ami: facts.imageId,
    // eksctl accepts a custom AMI on a managed node group only with one of its AMI families; AmazonLinux2 makes it
    // use overrideBootstrapCommand verbatim as user data, which is what this image's bootstrap.sh expects.
    amiFamily: 'AmazonLinux2',
    instanceTypes: request.instanceTypes,
    minSize: request.minSize,
    maxSize: request.maxSize,
    desiredCapacity: request.desiredSize,
    subnets: request.subnets,
    disableIMDSv1: true,
    volumeName: facts.rootDeviceName,
    volumeSize: request.volumeSize,
    volumeType: request.volumeType,
    volumeEncrypted: true,
    ...(request.kmsKeyId ? { volumeKmsKeyID: request.kmsKeyId } : {}),
    ...(request.nodeRole ? { iam: { instanceRoleARN: request.nodeRole } } : {}),
    labels: { 'rhel-eks-ami/image': facts.imageId },
    overrideBootstrapCommand: userDataScript(request, facts),
  };
  return {
    apiVersion: 'eksctl.io/v1alpha5',
    kind: 'ClusterConfig',
    metadata: { name: facts.clusterName, region: request.region, ...(facts.clusterVersion ? { version: facts.clusterVersion } : {}) },
    managedNodeGroups: [group],
  };
}

export type NodeConfigFacts = Pick<NodegroupFacts, 'clusterName' | 'endpoint' | 'certificateAuthority' | 'serviceIpv4Cidr' | 'imageId'>;

/** Taint Karpenter v1 expects a node to register with; its own AMI families add it, with amiFamily Custom the user
 *  data must (Karpenter removes it once it has synced the NodeClaim's labels and taints onto the node). */
export const KARPENTER_UNREGISTERED_TAINT = { key: 'karpenter.sh/unregistered', effect: 'NoExecute' };

/** MIME multipart user data with one NodeConfig (node.eks.aws/v1alpha1) part, as nodeadm reads it and the image's
 *  eks-nodeconfig.service translates it into a bootstrap.sh call. */
export function karpenterUserData(facts: NodeConfigFacts, kubeletExtraArgs = ''): string {
  const nodeConfig = {
    apiVersion: 'node.eks.aws/v1alpha1',
    kind: 'NodeConfig',
    spec: {
      cluster: {
        name: facts.clusterName,
        apiServerEndpoint: facts.endpoint,
        certificateAuthority: facts.certificateAuthority,
        ...(facts.serviceIpv4Cidr ? { cidr: facts.serviceIpv4Cidr } : {}),
      },
      kubelet: {
        config: { registerWithTaints: [KARPENTER_UNREGISTERED_TAINT] },
        ...(kubeletExtraArgs ? { flags: [kubeletExtraArgs] } : {}),
      },
    },
  };
  return [
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="//"',
    '',
    '--//',
    'Content-Type: application/node.eks.aws',
    '',
    `# Joins the EKS cluster ${facts.clusterName} (image ${facts.imageId}); read by eks-nodeconfig.service.`,
    stringify(nodeConfig, { lineWidth: 0 }).trimEnd(),
    '',
    '--//--',
    '',
  ].join('\n');
}

/** Karpenter v1 EC2NodeClass for the image: amiFamily Custom passes the NodeConfig user data through verbatim. */
export function karpenterNodeClass(request: NodegroupRequest, facts: NodegroupFacts): Record<string, unknown> {
  const ebs: Record<string, unknown> = {
    volumeSize: `${request.volumeSize}Gi`,
    volumeType: request.volumeType,
    encrypted: true,
    deleteOnTermination: true,
    ...(request.kmsKeyId ? { kmsKeyID: request.kmsKeyId } : {}),
  };
  const identity = request.instanceProfile
    ? { instanceProfile: request.instanceProfile }
    : { role: request.nodeRole.slice(request.nodeRole.lastIndexOf('/') + 1) };
  return {
    apiVersion: 'karpenter.k8s.aws/v1',
    kind: 'EC2NodeClass',
    metadata: { name: request.name.toLowerCase().replace(/_/g, '-') },
    spec: {
      amiFamily: 'Custom',
      amiSelectorTerms: [{ id: facts.imageId }],
      ...identity,
      subnetSelectorTerms: request.subnets.map((id) => ({ id })),
      securityGroupSelectorTerms: facts.clusterSecurityGroupId ? [{ id: facts.clusterSecurityGroupId }] : [{ tags: { 'karpenter.sh/discovery': facts.clusterName } }],
      // IMDSv2 only. Hop limit 1 (Karpenter's default): the node's own agents (kubelet, VPC CNI, kube-proxy, the
      // Pod Identity agent) use the host network; ordinary pods cannot reach the node role's credentials.
      metadataOptions: { httpEndpoint: 'enabled', httpProtocolIPv6: 'disabled', httpPutResponseHopLimit: 1, httpTokens: 'required' },
      blockDeviceMappings: [{ deviceName: facts.rootDeviceName, rootVolume: true, ebs }],
      tags: { 'rhel-eks-ami/image': facts.imageId },
      userData: karpenterUserData(facts, request.kubeletExtraArgs),
    },
  };
}

export const renderKarpenter = (doc: Record<string, unknown>): string =>
  `# kubectl apply -f <this file>; then name it in a NodePool: spec.template.spec.nodeClassRef {group: karpenter.k8s.aws, kind: EC2NodeClass, name: ${(doc.metadata as { name: string }).name}}\n${stringify(doc, { lineWidth: 0 })}`;

export const renderEksctl = (doc: Record<string, unknown>): string =>
  `# eksctl create nodegroup --config-file <this file>\n${stringify(doc, { lineWidth: 0 })}`;

export const renderCloudFormation = (doc: Record<string, unknown>): string => `${JSON.stringify(doc, null, 2)}\n`;

/** Fill the request's defaults from the facts (subnets of the cluster, instance type of the image's architecture). */
export function completeRequest(request: NodegroupRequest, facts: NodegroupFacts): NodegroupRequest {
  const done = { ...request };
  if (done.subnets.length === 0) done.subnets = facts.clusterSubnets;
  if (done.subnets.length === 0) throw new UserError(`Cluster ${facts.clusterName} reports no subnets; give subnets=subnet-…,subnet-…`, 2);
  if (done.instanceTypes.length === 0) done.instanceTypes = [defaultInstanceType(facts.architecture)];
  const wrong = done.instanceTypes.filter((t) => archOfInstanceType(t) !== facts.architecture);
  if (wrong.length) throw new ConfigError('instance_types', wrong.join(','), `${facts.architecture} instance types (the image ${facts.imageId} is ${facts.architecture})`);
  return done;
}

export async function createStack(clients: LifecycleClients, region: string, stackName: string, body: string, log: (line: string) => void, timeoutSeconds = 1800): Promise<string> {
  const cfn = clients.cloudformation(region);
  const created = await cfn.send(new CreateStackCommand({ StackName: stackName, TemplateBody: body, Tags: [{ Key: 'created-by', Value: 'rhel-eks-ami make nodegroup' }] }));
  log(`CloudFormation stack ${stackName} (${created.StackId}) is being created`);
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    const stack = (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    if (status === 'CREATE_COMPLETE') return status;
    if (!status.endsWith('_IN_PROGRESS')) throw new UserError(`Stack ${stackName} ended in ${status}${stack?.StackStatusReason ? `: ${stack.StackStatusReason}` : ''}. See its events in the CloudFormation console.`, 1);
    if (Date.now() > deadline) throw new UserError(`Stack ${stackName} still ${status} after ${timeoutSeconds} s; it keeps going in CloudFormation.`, 1);
    await new Promise((resolve) => setTimeout(resolve, 10_000));
  }
}
