// The environment every provisioner step receives: each variable declared once here, with how the plan gives
// its value and the contract's description of it. The plan, the rehearsal, the provisioner tests and the
// contract's table (docs/provisioner-contract.md, `make docs`) all come from this list, so adding a variable is
// one edit here (plus the provisioner that reads it and its test).
// Explicit values only: never AWS credentials (the instance uses its role).
import { WORK_DIR } from '../layout.ts';
import { bucketArch } from '../resolve/kubernetes-build.ts';

export const PINNED_SHA256_FILE = 'pinned-sha256.txt';

/** What the environment is computed from; a Plan is one (tests build smaller ones). */
export interface ProvisionerInputs {
  aws_region: string;
  partition: string;
  kubernetes_version: string;
  kubernetes_build_date: string;
  arch: 'x86_64' | 'arm64';
  rhel_version: number;
  pause_image: string;
  kube_proxy_modes: string[];
  lock: unknown;
  variables: {
    binary_bucket_name: string;
    binary_bucket_region: string;
    pull_cni_from_github: boolean;
    cni_plugin_version: string;
    containerd_version: string;
    runc_version: string;
    ipvs_modules: string[];
    variant: string;
    stig_min_score: number;
  };
}

/**
 * Where the instance reaches what it downloads and its metadata. Real builds take the defaults; the rehearsal
 * and the provisioner tests point them at local servers. Only these can be overridden.
 */
export interface ProvisionerEndpoints {
  BINARY_BUCKET_ENDPOINT?: string;
  GITHUB_BASE_URL?: string;
  AWSCLI_BASE_URL?: string;
  IMDS_ENDPOINT?: string;
}

interface ProvisionerVariable {
  /** The value a build gives it; undefined: set only when an endpoint override names it. */
  value?: (p: ProvisionerInputs) => string;
  /** The contract's description: the first line beside the name, further lines indented under it. */
  doc: string[];
}

export const provisionerVariables = {
  WORK_DIR: { value: () => WORK_DIR, doc: [WORK_DIR] },
  AWS_REGION: { value: (p) => p.aws_region, doc: ['build region, e.g. us-west-2 / us-gov-east-1'] },
  PARTITION: { value: (p) => p.partition, doc: ['aws | aws-us-gov | aws-cn | aws-iso | aws-iso-b | aws-iso-e | aws-iso-f | aws-eusc'] },
  KUBERNETES_VERSION: { value: (p) => p.kubernetes_version, doc: ['1.28.15'] },
  KUBERNETES_BUILD_DATE: { value: (p) => p.kubernetes_build_date, doc: ['2024-11-22'] },
  ARCH: { value: (p) => p.arch, doc: ['x86_64 | arm64        (RHEL/EC2 naming)'] },
  BINARY_ARCH: { value: (p) => bucketArch(p.arch), doc: ['amd64 | arm64         (EKS bucket / GitHub release naming)'] },
  RHEL_VERSION: { value: (p) => String(p.rhel_version), doc: ['8 | 9 | 10'] },
  BINARY_BUCKET_NAME: { value: (p) => p.variables.binary_bucket_name, doc: ['amazon-eks or a private mirror'] },
  BINARY_BUCKET_REGION: { value: (p) => p.variables.binary_bucket_region, doc: ['us-west-2 …'] },
  BINARY_BUCKET_ENDPOINT: { value: () => '', doc: ['"" normally; an http(s) URL overriding the S3 endpoint (offline rehearsal against an emulator)'] },
  PULL_CNI_FROM_GITHUB: {
    value: (p) => String(p.variables.pull_cni_from_github),
    doc: [
      'true | false  (false: every download — CNI plugins, containerd, runc, AWS CLI, SSM agent — comes from',
      'the binary bucket, key layout below; nothing upstream is contacted)',
    ],
  },
  GITHUB_BASE_URL: { value: () => 'https://github.com', doc: ['https://github.com (configurable for mirrors and tests)'] },
  AWSCLI_BASE_URL: {
    value: () => 'https://awscli.amazonaws.com',
    doc: ["https://awscli.amazonaws.com (where awscli-exe-linux-<x86_64|aarch64>.zip and .sig live; a mirror or the rehearsal's emulator)"],
  },
  CNI_PLUGIN_VERSION: { value: (p) => p.variables.cni_plugin_version, doc: ['v1.6.2'] },
  CONTAINERD_VERSION: {
    value: (p) => p.variables.containerd_version,
    doc: ['2.2.9    (per minor: 1.7.x for 1.28, 2.x from 1.29, always 2.x from 1.36; RHEL 8 installs the static 2.x build)'],
  },
  RUNC_VERSION: { value: (p) => p.variables.runc_version, doc: ['1.3.6    (1.2.6 with containerd 1.7 on 1.28)'] },
  PAUSE_IMAGE: { value: (p) => p.pause_image, doc: ['e.g. 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10 (right ECR account/domain for region)'] },
  IPVS_MODULES: { value: (p) => p.variables.ipvs_modules.join(' '), doc: ['space-separated module list (default from data/ipvs-modules.json)'] },
  KUBE_PROXY_MODES: {
    value: (p) => p.kube_proxy_modes.join(' '),
    doc: [
      'space-separated kube-proxy modes the image is ready for (data/kube-proxy-modes.json by RHEL major):',
      '"ipvs nftables" (RHEL 9/10) or "ipvs" (RHEL 8); validate.sh checks nftables readiness (kernel >= 5.13, nft >= 1.0.1)',
    ],
  },
  VARIANT: { value: (p) => p.variables.variant, doc: ['standard | stig'] },
  STIG_MIN_SCORE: {
    value: (p) => String(p.variables.stig_min_score),
    doc: ['0 (default; no threshold) or the lowest XCCDF score (0-100) stig-scan.sh accepts; STIG variant only'],
  },
  // With a lock, every download must match the digests staged into it, not just its published checksum.
  PINNED_SHA256_FILE: {
    value: (p) => (p.lock ? `${WORK_DIR}/generated/${PINNED_SHA256_FILE}` : ''),
    doc: [
      '"" normally; with lock=build.lock.json, $WORK_DIR/generated/pinned-sha256.txt (sha256sum lines by file name):',
      'every verified download must be listed there and match it',
    ],
  },
  IMDS_ENDPOINT: {
    doc: [
      'optional, unset on real builds (http://169.254.169.254); tests and the rehearsal point lib/s3-get.py,',
      'lib/imds.sh (sandbox-image.sh: the instance role; cleanup.sh: the launch key) and, through',
      'AWS_EC2_METADATA_SERVICE_ENDPOINT, the AWS CLI at a stand-in',
    ],
  },
} satisfies Record<string, ProvisionerVariable>;

export type ProvisionerVariableName = keyof typeof provisionerVariables;
export const provisionerVariableNames = Object.keys(provisionerVariables) as ProvisionerVariableName[];

/** The environment of every step, in the contract's order; endpoints replace their defaults (or add IMDS_ENDPOINT). */
export function provisionerEnvironment(inputs: ProvisionerInputs, endpoints: ProvisionerEndpoints = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of provisionerVariableNames) {
    const declared: ProvisionerVariable = provisionerVariables[name];
    const value = endpoints[name as keyof ProvisionerEndpoints] ?? declared.value?.(inputs);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

const TABLE_START = '<!-- provisioner-environment: generated by `make docs` from src/plan/provisioner-environment.ts -->';
const TABLE_END = '<!-- /provisioner-environment -->';
const NAME_WIDTH = 24;

/** The contract's environment table, one variable per line (continuations indented under the description). */
export function provisionerEnvironmentTable(): string {
  const lines: string[] = [];
  for (const name of provisionerVariableNames) {
    const [first, ...more] = provisionerVariables[name].doc;
    lines.push(`  ${name.padEnd(NAME_WIDTH)}${first}`);
    for (const line of more) lines.push(`  ${' '.repeat(NAME_WIDTH)}${line}`);
  }
  return lines.join('\n');
}

/** The contract document with its generated table replaced; throws when the markers are missing. */
export function withProvisionerEnvironmentTable(doc: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/provisioner-contract.md has lost its markers ${TABLE_START} … ${TABLE_END}`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${provisionerEnvironmentTable()}\n${doc.slice(end)}`;
}
