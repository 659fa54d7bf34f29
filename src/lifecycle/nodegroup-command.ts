// `make nodegroup …` as a function (scripts/nodegroup.ts wires real clients and the process runner in; tests
// wire the emulator and a recording runner). See nodegroup.ts for what the documents contain.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, EXIT } from '../errors.ts';
import { relativeToRepo, repoPath } from '../paths.ts';
import type { Runner } from '../process/run.ts';
import { defaultRegion, type LifecycleClients } from '../aws/lifecycle-clients.ts';
import {
  cloudFormationTemplate,
  completeRequest,
  createStack,
  describeNodegroupFacts,
  eksctlConfig,
  karpenterNodeClass,
  nodegroupWarnings,
  renderCloudFormation,
  renderEksctl,
  renderKarpenter,
} from './nodegroup.ts';
import { parseOptions, REGION_PATTERN } from './options.ts';

const NAME = '[0-9A-Za-z][0-9A-Za-z_-]{0,62}';
export const nodegroupOptions = {
  cluster: { kind: 'string', default: '', required: true, pattern: '[0-9A-Za-z][0-9A-Za-z_-]{0,99}', format: 'an EKS cluster name', description: 'EKS cluster to join' },
  ami: { kind: 'string', default: '', required: true, pattern: 'ami-([0-9a-f]{8}|[0-9a-f]{17})', format: 'an AMI id such as ami-0123456789abcdef0', description: 'Image in the cluster\'s region' },
  region: { kind: 'string', default: '', pattern: REGION_PATTERN, format: 'an AWS region', description: 'Region of the cluster (default AWS_REGION, else us-west-2)' },
  name: { kind: 'string', default: 'rhel-ipvs', pattern: NAME, format: 'a node group name (letters, digits, - and _)', description: 'Node group name' },
  format: { kind: 'string', default: 'cloudformation', enum: ['cloudformation', 'eksctl', 'karpenter'], description: 'cloudformation (stack JSON), eksctl (ClusterConfig YAML) or karpenter (EC2NodeClass YAML, NodeConfig user data)' },
  node_role: { kind: 'string', default: '', pattern: 'arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+', format: 'an IAM role ARN', description: 'Node IAM role (required for cloudformation, and for karpenter without instance_profile; eksctl creates one when empty)' },
  instance_profile: { kind: 'string', default: '', pattern: '[A-Za-z0-9+=,.@_-]{1,128}', format: 'an IAM instance profile name', description: 'karpenter: instance profile of the nodes instead of node_role' },
  subnets: { kind: 'list', default: [], pattern: 'subnet-[0-9a-f]+', format: 'subnet ids', description: "Subnets (default: the cluster's)" },
  instance_types: { kind: 'list', default: [], pattern: '[a-z][a-z0-9-]*\\.[a-z0-9]+', format: 'EC2 instance types', description: "Instance types (default: m6i.large or m6g.large by the image's architecture)" },
  min_size: { kind: 'integer', default: 1, minimum: 0, maximum: 1000, description: 'Minimum nodes' },
  max_size: { kind: 'integer', default: 3, minimum: 1, maximum: 1000, description: 'Maximum nodes' },
  desired_size: { kind: 'integer', default: 2, minimum: 0, maximum: 1000, description: 'Desired nodes' },
  volume_size: { kind: 'integer', default: 20, minimum: 10, maximum: 16384, description: 'Root volume GiB' },
  volume_type: { kind: 'string', default: 'gp3', enum: ['gp2', 'gp3', 'io1', 'io2'], description: 'Root volume type' },
  kms_key_id: { kind: 'string', default: '', pattern: '[A-Za-z0-9:/_-]+', format: 'a KMS key id, alias/NAME or ARN', description: 'KMS key for the root volume (default: the account\'s EBS key)' },
  kubelet_extra_args: { kind: 'string', default: '', description: 'Extra kubelet flags (labels, taints …)' },
  stack_name: { kind: 'string', default: '', pattern: '[A-Za-z][A-Za-z0-9-]{0,127}', format: 'a CloudFormation stack name', description: 'Stack name (default eks-nodegroup-<cluster>-<name>)' },
  out: { kind: 'string', default: '', description: 'Output file (default build/nodegroup/<cluster>-<name>.<format>.{json,yaml})' },
  apply: { kind: 'boolean', default: false, description: 'Create the node group; without it only the file is written' },
} as const;

export interface NodegroupCommandDeps {
  clients: LifecycleClients;
  runner: Runner;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** The whole command, given its words; returns the exit code. */
export async function runNodegroupCommand(words: string[], deps: NodegroupCommandDeps): Promise<number> {
  const { values: v } = parseOptions(words, nodegroupOptions, { command: 'make nodegroup' });
  if (v.format === 'cloudformation' && !v.node_role) {
    throw new ConfigError('node_role', '', 'an IAM role ARN for format=cloudformation', 'A managed node group needs the node role (AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryReadOnly, AmazonEKS_CNI_Policy).');
  }
  if (v.format === 'karpenter' && !v.node_role === !v.instance_profile) {
    throw new ConfigError(v.node_role ? 'instance_profile' : 'node_role', v.instance_profile || '', 'exactly one of node_role (an IAM role ARN) and instance_profile for format=karpenter', 'The EC2NodeClass names the nodes\' role (Karpenter makes its instance profile) or an existing instance profile.');
  }
  if (v.format !== 'karpenter' && v.instance_profile) {
    throw new ConfigError('instance_profile', v.instance_profile, 'empty unless format=karpenter', 'Managed node groups take the node role: give node_role.');
  }
  if (v.min_size > v.max_size || v.desired_size < v.min_size || v.desired_size > v.max_size) {
    throw new ConfigError('desired_size', v.desired_size, `between min_size=${v.min_size} and max_size=${v.max_size}`);
  }
  const region = v.region || defaultRegion(deps.env);
  const { clients } = deps;
  const request = {
    cluster: v.cluster, ami: v.ami, region, name: v.name, nodeRole: v.node_role, subnets: v.subnets, instanceTypes: v.instance_types,
    minSize: v.min_size, maxSize: v.max_size, desiredSize: v.desired_size, volumeSize: v.volume_size, volumeType: v.volume_type,
    kmsKeyId: v.kms_key_id, kubeletExtraArgs: v.kubelet_extra_args, instanceProfile: v.instance_profile,
  };
  const facts = await describeNodegroupFacts(clients, request);
  for (const warning of nodegroupWarnings(facts)) deps.log(`warning: ${warning}`);
  const complete = completeRequest(request, facts);
  const eksctl = v.format === 'eksctl';
  const karpenter = v.format === 'karpenter';
  const text = karpenter
    ? renderKarpenter(karpenterNodeClass(complete, facts))
    : eksctl
      ? renderEksctl(eksctlConfig(complete, facts))
      : renderCloudFormation(cloudFormationTemplate(complete, facts));
  const out = v.out || `build/nodegroup/${v.cluster}-${v.name}.${karpenter ? 'karpenter.yaml' : eksctl ? 'eksctl.yaml' : 'cfn.json'}`;
  const path = out.startsWith('/') ? out : repoPath(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
  const what = karpenter ? 'Karpenter EC2NodeClass' : 'node group';
  deps.log(`Wrote ${relativeToRepo(path)}: ${what} ${v.name} on ${facts.imageId} (root ${facts.rootDeviceName}, encrypted, IMDSv2 only) for cluster ${v.cluster} in ${region}`);
  if (karpenter) {
    if (!v.apply) {
      deps.log(`Create it with: kubectl apply -f ${relativeToRepo(path)} (or rerun with apply=true), then name it in a NodePool's nodeClassRef`);
      return EXIT.ok;
    }
    return deps.runner.stream('kubectl', ['apply', '-f', path]);
  }
  if (!v.apply) {
    deps.log(eksctl ? `Create it with: eksctl create nodegroup --config-file ${relativeToRepo(path)} (or rerun with apply=true)` : 'Create it with apply=true, or: aws cloudformation create-stack --template-body file://' + relativeToRepo(path) + ' --stack-name …');
    return EXIT.ok;
  }
  if (eksctl) return deps.runner.stream('eksctl', ['create', 'nodegroup', '--config-file', path]);
  const stackName = v.stack_name || `eks-nodegroup-${v.cluster}-${v.name}`.replace(/_/g, '-');
  const status = await createStack(clients, region, stackName, text, deps.log);
  deps.log(`Stack ${stackName}: ${status}`);
  return EXIT.ok;
}
