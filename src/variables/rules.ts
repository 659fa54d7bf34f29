// Rules that span several variables, checked before any AWS call. Each returns the problems it finds.
import { existsSync } from 'node:fs';
import { ConfigError } from '../errors.ts';
import { archOfInstanceType } from '../data/instance-types.ts';
import { minorOf, supportedMinors } from '../data/minors.ts';
import { partitionOf, regionFacts, regionsOf } from '../data/partitions.ts';
import type { BuildVariables, VariableName } from './declarations.ts';

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

const containerdNeedsRhel9: Rule = ({ values: v }) => {
  const major = Number(v.containerd_version.split('.')[0]);
  return major >= 2 && v.rhel_version < 9
    ? [new ConfigError('containerd_version', v.containerd_version, '1.x on RHEL 8 (containerd 2 needs glibc 2.34, RHEL 9)', 'Use containerd_version=1.7.27 or rhel_version=9.')]
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

export const rules: Rule[] = [stig, regions, architecture, containerdNeedsRhel9, kubernetesVersion, kmsKey, volume, access, sources];

export function ruleProblems(input: RuleInput): ConfigError[] {
  return rules.flatMap((rule) => rule(input));
}
