// Rules that span several variables, checked before any AWS call. Each returns the problems it finds.
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { archOfInstanceType } from '../data/instance-types.ts';
import { minorOf, needsContainerd2, supportedMinors } from '../data/minors.ts';
import { partitionOf, regionFacts, regionsOf } from '../data/partitions.ts';
import { declarations, type BuildVariables, type VariableName } from './declarations.ts';
import { sharingProblems } from './sharing.ts';

export interface RuleInput {
  values: BuildVariables;
  sourceOf: Record<VariableName, string>;
  /** The minor asked for (`make 1.28`), or '' when it will be discovered. */
  minor: string;
}

type Rule = (input: RuleInput) => ConfigError[];
const isSet = (input: RuleInput, name: VariableName) => input.sourceOf[name] !== 'default';

const regions: Rule = ({ values: v }) => {
  const problems: ConfigError[] = [];
  const partition = partitionOf(v.aws_region);
  if (!partition) {
    problems.push(new ConfigError('aws_region', v.aws_region, 'a region listed in data/partitions.json', 'Check the spelling (e.g. us-gov-west-1).'));
  }
  if (!partitionOf(v.binary_bucket_region)) {
    problems.push(new ConfigError('binary_bucket_region', v.binary_bucket_region, 'a region listed in data/partitions.json'));
  }
  for (const region of v.ami_regions) {
    const other = partitionOf(region);
    if (!other) problems.push(new ConfigError('ami_regions', v.ami_regions, 'regions listed in data/partitions.json', `${region} is unknown.`));
    else if (partition && other !== partition) {
      problems.push(
        new ConfigError('ami_regions', v.ami_regions, `regions in the build partition ${partition} (${regionsOf(partition).join(', ')})`, `${region} is in ${other}; AMIs cannot be copied across partitions.`),
      );
    }
  }
  return problems;
};

const architecture: Rule = ({ values: v }) => {
  if (!v.instance_type) return [];
  const arch = archOfInstanceType(v.instance_type);
  return arch === v.arch
    ? []
    : [new ConfigError('instance_type', v.instance_type, `an ${v.arch} instance type because arch=${v.arch}`, `${v.instance_type} is ${arch}; pick e.g. ${v.arch === 'arm64' ? 'm6g.large' : 'm6i.large'} or leave instance_type unset.`)];
};

// Kubernetes supports containerd 1.x only up to 1.35 and EKS runs containerd 2 from 1.36. kubelet 1.36.3 still
// starts with containerd 1.7, falling back to its own cgroupDriver because 1.7 lacks the CRI RuntimeConfig call
// (the join rehearsal shows it and warns): a pair nobody supports, so it is refused. containerd 2 runs on every
// RHEL major: RHEL 8 (glibc 2.28) gets containerd's static release build (provisioners/containerd.sh).
const containerdForKubelet: Rule = ({ values: v, minor }) => {
  const wanted = minor || (v.kubernetes_version ? minorOf(v.kubernetes_version) : '');
  const major = Number(v.containerd_version.split('.')[0]);
  return wanted && major < 2 && needsContainerd2(wanted)
    ? [new ConfigError('containerd_version', v.containerd_version, `2.x for Kubernetes ${wanted} (Kubernetes supports containerd 1.x only up to 1.35; containerd 1.7 lacks the CRI RuntimeConfig call kubelet 1.36 asks for)`, `Drop containerd_version to get the default (${declarations.containerd_version.default}), or build Kubernetes 1.35 or older.`)]
    : [];
};

const kubernetesVersion: Rule = ({ values: v, minor }) => {
  const problems: ConfigError[] = [];
  const wanted = minor || (v.kubernetes_version ? minorOf(v.kubernetes_version) : '');
  if (wanted && !supportedMinors().includes(wanted)) {
    problems.push(new ConfigError(minor ? 'k8s' : 'kubernetes_version', minor || v.kubernetes_version, `a supported minor: ${supportedMinors().join(', ')}`, 'Supported minors are listed in data/kubernetes-minors.json.'));
  }
  if (v.kubernetes_version && minor && minorOf(v.kubernetes_version) !== minor) {
    problems.push(new ConfigError('kubernetes_version', v.kubernetes_version, `a ${minor}.x version because the build is for Kubernetes ${minor}`, `Run 'make ${minorOf(v.kubernetes_version)} …' or drop kubernetes_version.`));
  }
  if (v.kubernetes_build_date) {
    if (!v.kubernetes_version) {
      problems.push(new ConfigError('kubernetes_build_date', v.kubernetes_build_date, 'set only together with kubernetes_version', 'A build date belongs to one version.'));
    }
    if (!isRealDate(v.kubernetes_build_date)) {
      problems.push(new ConfigError('kubernetes_build_date', v.kubernetes_build_date, 'a real calendar date YYYY-MM-DD'));
    }
  }
  return problems;
};

export function isRealDate(text: string): boolean {
  if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(text)) return false;
  const date = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().startsWith(text);
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_REF = `(${UUID}|mrk-[0-9a-f]{32})`;

const kmsKey: Rule = ({ values: v }) => {
  if (!v.kms_key_id) return [];
  const problems: ConfigError[] = [];
  const partition = partitionOf(v.aws_region);
  const arn = new RegExp(`^arn:(aws[a-z-]*):kms:([a-z0-9-]+):([0-9]{12}):(key/${KEY_REF}|alias/[A-Za-z0-9/_-]+)$`).exec(v.kms_key_id);
  const bare = new RegExp(`^(${KEY_REF}|alias/[A-Za-z0-9/_-]+)$`).test(v.kms_key_id);
  const allowed = 'a key id (uuid or mrk-…), alias/NAME, or arn:<partition>:kms:<region>:<account>:key/<id>';
  if (!arn && !bare) problems.push(new ConfigError('kms_key_id', v.kms_key_id, allowed));
  if (arn && partition && (arn[1] !== partition || arn[2] !== v.aws_region)) {
    problems.push(new ConfigError('kms_key_id', v.kms_key_id, `a key in ${partition} ${v.aws_region}, where the volume is created`));
  }
  if (!v.encrypted) {
    problems.push(new ConfigError('encrypted', v.encrypted, 'true when kms_key_id is set', 'Add encrypted=true or drop kms_key_id.'));
  }
  return problems;
};

/** `region=key` pairs → a region → key map (the variable is a list because build variables are flat). */
export function regionKeyMap(pairs: readonly string[]): Record<string, string> {
  return Object.fromEntries(pairs.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

// Packer requires region_kms_key_ids to name exactly the regions of ami_regions once it names any (checked
// with Packer 1.6.6); kms_key_id is a key of aws_region only, so a chosen key cannot silently stop at the copies.
const regionKeys: Rule = ({ values: v }) => {
  const problems: ConfigError[] = [];
  const partition = partitionOf(v.aws_region);
  const keys = regionKeyMap(v.region_kms_key_ids);
  const copies = v.ami_regions.filter((r) => r !== v.aws_region);
  const example = (copies.length ? copies : ['us-east-1']).map((r) => `${r}=alias/NAME`).join(',');
  if (v.region_kms_key_ids.length === 0) {
    if (v.encrypted && v.kms_key_id && copies.length) {
      problems.push(
        new ConfigError('region_kms_key_ids', '', `a key for each copy (${copies.join(', ')}) when kms_key_id is set`, `kms_key_id is a key in ${v.aws_region} only; without region_kms_key_ids the copies would be encrypted with each region's default EBS key instead. Set region_kms_key_ids=${v.ami_regions.map((r) => `${r}=${r === v.aws_region ? v.kms_key_id : 'alias/NAME'}`).join(',')}.`),
      );
    }
    return problems;
  }
  if (!v.encrypted) problems.push(new ConfigError('encrypted', v.encrypted, 'true when region_kms_key_ids is set', 'Add encrypted=true or drop region_kms_key_ids.'));
  for (const [region, key] of Object.entries(keys)) {
    const other = partitionOf(region);
    if (!other) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, 'regions listed in data/partitions.json', `${region} is unknown.`));
    else if (partition && other !== partition) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, `regions in the build partition ${partition}`, `${region} is in ${other}.`));
    if (!v.ami_regions.includes(region)) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, 'keys only for regions of ami_regions', `${region} is not in ami_regions (${v.ami_regions.join(', ') || 'empty'}); add it there or drop its key.`));
    const arn = new RegExp(`^arn:(aws[a-z-]*):kms:([a-z0-9-]+):([0-9]{12}):(key/${KEY_REF}|alias/[A-Za-z0-9/_-]+)$`).exec(key);
    const bare = new RegExp(`^(${KEY_REF}|alias/[A-Za-z0-9/_-]+)$`).test(key);
    if (!arn && !bare) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, `for ${region} a key id (uuid or mrk-…), alias/NAME, or arn:<partition>:kms:${region}:<account>:key/<id>`, `"${key}" is none of these.`));
    if (arn && (arn[2] !== region || (other && arn[1] !== other))) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, `for ${region} a key in ${region}`, `${key} is in ${arn[2]}; a copy can only use a key of its own region.`));
  }
  const missing = v.ami_regions.filter((r) => !(r in keys));
  if (missing.length) problems.push(new ConfigError('region_kms_key_ids', v.region_kms_key_ids, `a key for every region of ami_regions`, `Missing: ${missing.join(', ')} (Packer refuses a partial map). For example region_kms_key_ids=${example}.`));
  return problems;
};

const securityGroupSources: Rule = ({ values: v }) =>
  v.temporary_security_group_source_cidrs.length && v.security_group_id
    ? [new ConfigError('temporary_security_group_source_cidrs', v.temporary_security_group_source_cidrs, 'unset when security_group_id is set', 'Packer creates no temporary group then; restrict your own group instead.')]
    : [];

const VOLUME_LIMITS: Record<string, { iops?: [number, number]; throughput?: boolean }> = {
  gp2: {},
  gp3: { iops: [3000, 16000], throughput: true },
  io1: { iops: [100, 64000] },
  io2: { iops: [100, 256000] },
};

const volume: Rule = (input) => {
  const v = input.values;
  const limits = VOLUME_LIMITS[v.volume_type];
  const problems: ConfigError[] = [];
  if (!limits) return problems;
  if (limits.iops) {
    const [lo, hi] = limits.iops;
    if (v.volume_iops < lo || v.volume_iops > hi) problems.push(new ConfigError('volume_iops', v.volume_iops, `${lo}–${hi} for ${v.volume_type}`));
  } else if (isSet(input, 'volume_iops')) {
    problems.push(new ConfigError('volume_iops', v.volume_iops, `unset for ${v.volume_type}`, 'IOPS apply to gp3, io1 and io2.'));
  }
  if (!limits.throughput && isSet(input, 'volume_throughput')) {
    problems.push(new ConfigError('volume_throughput', v.volume_throughput, `unset for ${v.volume_type}`, 'Throughput applies to gp3 only.'));
  }
  return problems;
};

const access: Rule = ({ values: v }) => {
  const problems: ConfigError[] = [];
  if (v.ssh_interface === 'session_manager' && !v.iam_instance_profile) {
    problems.push(new ConfigError('iam_instance_profile', v.iam_instance_profile, 'an instance profile with SSM permissions when ssh_interface=session_manager', 'Set iam_instance_profile= (alias iam_role=).'));
  }
  return problems;
};

const sources: Rule = ({ values: v }) => {
  const facts = regionFacts(v.aws_region);
  if (!facts) return [];
  const problems: ConfigError[] = [];
  if (!facts.redHatOwner && !v.source_ami_id && v.source_ami_owners.length === 0) {
    problems.push(new ConfigError('source_ami_owners', v.source_ami_owners, `your own account ids in ${facts.partition}`, `Red Hat publishes no AMIs there; set source_ami_owners= and source_ami_filter_name=, or source_ami_id=.`));
  }
  const bucketPartition = partitionOf(v.binary_bucket_region);
  if (facts.partition.startsWith('aws-iso') && bucketPartition !== facts.partition) {
    problems.push(new ConfigError('binary_bucket_name', v.binary_bucket_name, `a bucket inside ${facts.partition} (air-gapped: the commercial bucket is unreachable)`, "Mirror the binaries with 'make stage' and set binary_bucket_name= and binary_bucket_region=."));
  }
  if (!v.ipvs_modules.includes('ip_vs')) {
    problems.push(new ConfigError('ipvs_modules', v.ipvs_modules, 'a list that includes ip_vs', 'kube-proxy IPVS mode needs the ip_vs module.'));
  }
  return problems;
};

const stig: Rule = (input) => {
  const v = input.values;
  const problems: ConfigError[] = [];
  if (v.variant === 'stig' && !v.encrypted) {
    problems.push(new ConfigError('encrypted', v.encrypted, 'true for variant=stig (DISA STIG requires data at rest to be encrypted)', 'Drop encrypted=false or build variant=standard.'));
  }
  if (v.variant !== 'stig' && input.sourceOf.stig_min_score !== 'default') {
    problems.push(new ConfigError('stig_min_score', v.stig_min_score, 'set only with variant=stig', 'Only the STIG variant is scanned.'));
  }
  if (v.user_data_file && !existsSync(v.user_data_file)) {
    problems.push(new ConfigError('user_data_file', v.user_data_file, 'a path to a readable file', 'Paths are relative to the directory make runs in.'));
  }
  return problems;
};

// Sharing (ami_users, ami_org_arns, ami_ou_arns, snapshot_users): src/variables/sharing.ts.
const sharing: Rule = ({ values }) => sharingProblems(values);

export const rules: Rule[] = [stig, regions, architecture, containerdForKubelet, kubernetesVersion, kmsKey, regionKeys, securityGroupSources, volume, access, sources, sharing];

export function ruleProblems(input: RuleInput): ConfigError[] {
  return rules.flatMap((rule) => rule(input));
}

// --- Rules for a build (make 1.28, make rehearse), checked by the pipeline before any AWS call. Not applied to
// make stage or make versions, which start no instance.

/** The instance profile's role pulls the EKS pause image from the region's private ECR outside the aws partition. */
const ECR_PULL_ACTIONS = ['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'];

const instanceRoleOutsideCommercial: Rule = ({ values: v }) => {
  const facts = regionFacts(v.aws_region);
  if (!facts || facts.partition === 'aws' || v.iam_instance_profile) return [];
  return [
    new ConfigError(
      'iam_instance_profile',
      v.iam_instance_profile,
      `an instance profile when building in ${facts.partition}`,
      `The build pulls the EKS pause image from ${v.aws_region}'s private ECR with the build instance's role (public ECR is not used outside the aws partition); that role needs ${ECR_PULL_ACTIONS.join(', ')}. Set iam_instance_profile= (alias iam_role=).`,
    ),
  ];
};

/** Red Hat's own images carry no SSM agent, so a session_manager build would wait for a session that never comes. */
const sessionManagerNeedsAgent: Rule = ({ values: v }) => {
  const facts = regionFacts(v.aws_region);
  if (v.ssh_interface !== 'session_manager' || !facts?.redHatOwner || v.source_ami_id || v.user_data_file) return [];
  // Mixed owner lists are decided once the image is chosen (sessionManagerSourceProblem).
  const onlyRedHat = v.source_ami_owners.every((owner) => owner === facts.redHatOwner);
  if (!onlyRedHat) return [];
  return [
    new ConfigError(
      'ssh_interface',
      v.ssh_interface,
      `an SSH interface (unset, public_ip, private_ip, …) for Red Hat's images (owner ${facts.redHatOwner}), which ship no SSM agent`,
      'Packer would pay for an instance and time out waiting for the session. Use SSH, or a base image with the agent (source_ami_owners= and source_ami_filter_name=, as in the GovCloud STIG example), or user_data_file= with user data that installs the agent.',
    ),
  ];
};

export const buildRules: Rule[] = [instanceRoleOutsideCommercial, sessionManagerNeedsAgent];

export function buildRuleProblems(input: RuleInput): ConfigError[] {
  return buildRules.flatMap((rule) => rule(input));
}

/** A source image given by id is known to be Red Hat's only once described: the same refusal, after that one read. */
export function sessionManagerSourceProblem(v: { ssh_interface: string; user_data_file: string; aws_region: string }, sourceOwner: string): ConfigError | undefined {
  const facts = regionFacts(v.aws_region);
  if (v.ssh_interface !== 'session_manager' || v.user_data_file || !facts?.redHatOwner || sourceOwner !== facts.redHatOwner) return undefined;
  return new ConfigError(
    'ssh_interface',
    v.ssh_interface,
    `an SSH interface for the source image, which is Red Hat's (owner ${sourceOwner}) and ships no SSM agent`,
    'Use SSH, a base image with the agent, or user_data_file= with user data that installs it.',
  );
}
