// Every build variable, declared once. Adding a variable is one edit here (plus its use in the template or
// a provisioner); the JSON schema, `name=value` parsing, the README table and the Packer variable blocks follow.
import { ipvs } from '../data/catalog.ts';
import { PUBLIC_EKS_BUCKET } from '../layout.ts';
import { boolean, integer, list, string, type Declaration, type ValueOf } from './declare.ts';

const AMI_ID = '^ami-([0-9a-f]{8}|[0-9a-f]{17})$';
const DURATION = '^[0-9]+(ms|s|m|h)([0-9]+(ms|s|m|h))*$';

export const declarations = {
  // Kubernetes
  kubernetes_version: string({
    group: 'Kubernetes',
    default: '',
    pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
    format: 'a full Kubernetes version such as 1.28.15',
    derived: 'newest patch of the minor that has a kubelet for `arch` in the binary bucket',
    description: 'Kubernetes version of kubelet and friends. Setting it skips version discovery.',
  }),
  kubernetes_build_date: string({
    group: 'Kubernetes',
    default: '',
    pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$',
    format: 'a date YYYY-MM-DD',
    derived: 'newest build date of `kubernetes_version` with a kubelet and its .sha256 for `arch`',
    description: 'Build date folder of the binaries in the bucket (`<version>/<date>/bin/linux/<arch>/`).',
  }),
  binary_bucket_name: string({
    group: 'Kubernetes',
    default: PUBLIC_EKS_BUCKET.name,
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    format: 'an S3 bucket name',
    description: 'Bucket holding the EKS binaries (the public `amazon-eks`, or your mirror made with `make stage`).',
  }),
  binary_bucket_region: string({
    group: 'Kubernetes',
    default: PUBLIC_EKS_BUCKET.region,
    format: 'an AWS region',
    description: 'Region of `binary_bucket_name`. Read unsigned when it is in another partition than the build.',
  }),
  pull_cni_from_github: boolean({
    group: 'Kubernetes',
    default: true,
    description: 'Download CNI plugins, containerd and runc from GitHub releases (and the AWS CLI and SSM agent from AWS); false reads every one of them from the binary bucket, as `make stage` fills it.',
  }),
  cni_plugin_version: string({
    group: 'Kubernetes',
    default: 'v1.6.2',
    pattern: '^v[0-9]+\\.[0-9]+\\.[0-9]+$',
    format: 'a release tag such as v1.6.2',
    description: 'containernetworking/plugins release installed into /opt/cni/bin.',
  }),
  containerd_version: string({
    group: 'Kubernetes',
    default: '2.2.9',
    pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
    format: 'a containerd release such as 2.2.9 (1.x only up to Kubernetes 1.35)',
    description: 'containerd release (per-minor default: 1.7 for 1.28, 2.x from 1.29 as on the EKS nodes). Kubernetes 1.36+ needs 2.x. RHEL 8 (glibc 2.28) gets the static 2.x release build.',
  }),
  runc_version: string({
    group: 'Kubernetes',
    default: '1.3.6',
    pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$',
    format: 'a runc release such as 1.3.6',
    description: "runc release installed beside containerd (the one containerd's release is tested with).",
  }),
  pause_image_tag: string({
    group: 'Kubernetes',
    default: '3.10',
    pattern: '^[0-9]+\\.[0-9]+(\\.[0-9]+)?$',
    format: 'an image tag such as 3.10',
    description: 'Tag of the EKS pause (sandbox) image.',
  }),
  pause_image: string({
    group: 'Kubernetes',
    default: '',
    pattern: '^[a-z0-9.-]+(:[0-9]+)?/[a-z0-9._/-]+:[A-Za-z0-9._-]+$',
    format: 'an image reference registry/repository:tag',
    derived: "EKS pause image in the build region's ECR account and domain",
    description: 'Sandbox image containerd uses for every pod.',
  }),
  ipvs_modules: list({
    group: 'Image contents',
    default: ipvs.modules,
    itemPattern: '^[a-z0-9_]+$',
    itemFormat: 'kernel module names',
    description: 'Kernel modules written to /etc/modules-load.d/ipvs.conf and loaded at build time for kube-proxy IPVS mode.',
  }),
  variant: string({
    group: 'Image contents',
    default: 'standard',
    enum: ['standard', 'stig'],
    description: 'Image variant: stig adds FIPS mode, OpenSCAP DISA STIG remediation with the tailoring in provisioners/lib/stig/, and a scored scan.',
  }),
  stig_min_score: integer({
    group: 'Image contents',
    default: 0,
    minimum: 0,
    maximum: 100,
    description: 'variant=stig: fail the build when the STIG scan scores below this (0 = report only).',
  }),

  // Source AMI
  rhel_version: integer({
    group: 'Source AMI',
    default: 9,
    enum: [8, 9, 10],
    description: 'RHEL major release. With a custom `source_ami_filter_name`, the chosen image decides unless this is set explicitly. RHEL 10 with variant=stig needs a source image installed in FIPS mode.',
  }),
  arch: string({
    group: 'Source AMI',
    default: 'x86_64',
    enum: ['x86_64', 'arm64'],
    description: 'CPU architecture of the image (EC2 naming; the bucket calls x86_64 amd64).',
  }),
  source_ami_id: string({
    group: 'Source AMI',
    default: '',
    pattern: AMI_ID,
    format: 'an AMI id such as ami-0123456789abcdef0',
    derived: 'newest RHEL release matching the filter, then newest creation date',
    description: 'Source image. Setting it skips the lookup (the image is still described for its root device).',
  }),
  source_ami_owners: list({
    group: 'Source AMI',
    default: [],
    itemPattern: '^([0-9]{12}|self|amazon|aws-marketplace)$',
    itemFormat: '12-digit account ids (or self)',
    derived: "Red Hat's account in the build partition",
    description: 'Accounts whose images are searched.',
  }),
  source_ami_filter_name: string({
    group: 'Source AMI',
    default: '',
    pattern: '^[A-Za-z0-9 ()\\[\\]./\\-\'@_*?]+$',
    format: 'an EC2 image name pattern (* and ? wildcards)',
    derived: "RHEL-<rhel_version>.*_HVM*-<arch>-* (Red Hat's GA `_HVM_GA-` and rebuild `_HVM-` names)",
    description: 'Image name filter. Cloud Access (`Access2`), HA, SAP and beta images are only chosen when the filter names them.',
  }),

  // Build instance
  aws_region: string({
    group: 'Build instance',
    default: 'us-west-2',
    format: 'an AWS region',
    description: 'Region the build instance runs in and the AMI is registered in first.',
  }),
  instance_type: string({
    group: 'Build instance',
    default: '',
    pattern: '^[a-z][a-z0-9-]*\\.[a-z0-9-]+$',
    format: 'an EC2 instance type such as m6i.large',
    derived: 'm6i.large for x86_64, m6g.large for arm64',
    description: 'Build instance type; its architecture must match `arch`.',
  }),
  iam_instance_profile: string({
    group: 'Build instance',
    default: '',
    aliases: ['iam_role'],
    pattern: '^[A-Za-z0-9+=,.@_-]{1,128}$',
    format: 'an IAM instance profile name',
    description: 'Instance profile for the build instance (S3 mirror reads, SSM). Required for session_manager.',
  }),
  ssh_interface: string({
    group: 'Build instance',
    default: '',
    enum: ['', 'public_ip', 'private_ip', 'public_dns', 'private_dns', 'session_manager'],
    description: "How Packer reaches the instance; empty lets Packer choose.",
  }),
  ssh_username: string({
    group: 'Build instance',
    default: 'ec2-user',
    pattern: '^[a-z_][a-z0-9_-]{0,31}$',
    format: 'a Linux user name',
    description: 'User Packer logs in as.',
  }),
  ssh_timeout: string({
    group: 'Build instance',
    default: '30m',
    pattern: DURATION,
    format: 'a duration such as 30m or 1h',
    description: 'How long Packer waits for SSH (hardened bases boot slowly).',
  }),
  reboot_pause: string({
    group: 'Build instance',
    default: '30s',
    pattern: DURATION,
    format: 'a duration such as 30s or 2m',
    description: 'Pause before reconnecting after a provisioner reboots the instance (hardened bases reboot slowly).',
  }),
  user_data_file: string({
    group: 'Build instance',
    default: '',
    format: 'a path to a readable file',
    description: 'User data for the build instance (e.g. to unlock a hardened base for the SSH user).',
  }),
  subnet_id: string({
    group: 'Build instance',
    default: '',
    pattern: '^subnet-([0-9a-f]{8}|[0-9a-f]{17})$',
    format: 'a subnet id such as subnet-0123456789abcdef0',
    description: 'Subnet for the build instance; empty uses the default VPC.',
  }),
  security_group_id: string({
    group: 'Build instance',
    default: '',
    pattern: '^sg-([0-9a-f]{8}|[0-9a-f]{17})$',
    format: 'a security group id such as sg-0123456789abcdef0',
    description: 'Security group for the build instance; empty lets Packer create a temporary one.',
  }),
  temporary_security_group_source_cidrs: list({
    group: 'Build instance',
    default: [],
    itemPattern: '^([0-9]{1,3}\\.){3}[0-9]{1,3}/([0-9]|[12][0-9]|3[0-2])$',
    itemFormat: 'IPv4 CIDR blocks such as 203.0.113.7/32',
    description:
      "Addresses the temporary security group admits (SSH). Empty: current Packer admits only this machine's public IP; Packer 1.6.6 cannot find it and admits 0.0.0.0/0, so set this there (or security_group_id).",
  }),

  // Output AMI
  ami_name: string({
    group: 'Output AMI',
    default: '',
    pattern: '^[A-Za-z0-9()\\[\\] ./\\-\'@_]{3,128}$',
    format: "3–128 characters of letters, digits, ( ) [ ] space . / - ' @ _",
    derived: 'rhel-<rhel_version>-eks-node-<minor>-<arch>-<variant>-v<UTC timestamp>',
    description: 'Name of the new AMI (also the folder under build/).',
  }),
  ami_description: string({
    group: 'Output AMI',
    default: '',
    derived: 'Kubernetes, RHEL and variant of the image',
    description: 'Description of the new AMI.',
  }),
  ami_regions: list({
    group: 'Output AMI',
    default: [],
    itemFormat: 'AWS regions in the build partition',
    description: 'Regions the AMI is copied to (the build region always has it).',
  }),
  region_kms_key_ids: list({
    group: 'Output AMI',
    default: [],
    itemPattern: '^[a-z0-9-]+=\\S+$',
    itemFormat: 'region=key pairs (key id, alias/NAME or key ARN in that region), one for every region of ami_regions',
    description:
      'KMS key for each encrypted copy, e.g. us-east-1=alias/ami,eu-west-1=arn:aws:kms:eu-west-1:…:key/…. Needs encrypted=true. With kms_key_id and copies to other regions it is required (kms_key_id is a key of aws_region only); without either, copies use each region\'s default EBS key.',
  }),
  volume_size: integer({
    group: 'Output AMI',
    default: 20,
    minimum: 10,
    maximum: 16384,
    description: 'Root volume size in GiB.',
  }),
  volume_type: string({
    group: 'Output AMI',
    default: 'gp3',
    enum: ['gp2', 'gp3', 'io1', 'io2'],
    description: 'Root volume type.',
  }),
  volume_iops: integer({
    group: 'Output AMI',
    default: 3000,
    minimum: 100,
    maximum: 256000,
    description: 'Root volume IOPS (gp3, io1, io2).',
  }),
  volume_throughput: integer({
    group: 'Output AMI',
    default: 125,
    minimum: 125,
    maximum: 1000,
    description: 'Root volume throughput in MiB/s (gp3).',
  }),
  encrypted: boolean({
    group: 'Output AMI',
    default: false,
    description: 'Encrypt the root volume and the AMI snapshot.',
  }),
  kms_key_id: string({
    group: 'Output AMI',
    default: '',
    format: 'a KMS key id, alias/NAME, or key ARN in the build partition and region',
    description: 'KMS key for the encrypted root volume; empty uses the account default EBS key.',
  }),
  ami_deprecation_days: integer({
    group: 'Output AMI',
    default: 0,
    minimum: 0,
    maximum: 3650,
    description: 'Days until the AMI is marked deprecated (0 = never). Needs current Packer with the amazon plugin.',
  }),
  // Sharing (checked by src/variables/sharing.ts before any AWS call).
  ami_users: list({
    group: 'Output AMI',
    default: [],
    itemPattern: '^[0-9]{12}$',
    itemFormat: '12-digit AWS account ids',
    description: 'Accounts allowed to launch the AMI, in every region it is registered in. An encrypted AMI needs kms_key_id (a customer managed key whose policy lets those accounts use it).',
  }),
  ami_org_arns: list({
    group: 'Output AMI',
    default: [],
    itemPattern: '^arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$',
    itemFormat: 'organization ARNs arn:<partition>:organizations::<account>:organization/o-…',
    description: 'AWS Organizations whose accounts may launch the AMI. Needs current Packer with the amazon plugin (Packer 1.6.6 does not know the field).',
  }),
  ami_ou_arns: list({
    group: 'Output AMI',
    default: [],
    itemPattern: '^arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$',
    itemFormat: 'organizational unit ARNs arn:<partition>:organizations::<account>:ou/o-…/ou-…',
    description: 'Organizational units whose accounts may launch the AMI. Needs current Packer with the amazon plugin.',
  }),
  snapshot_users: list({
    group: 'Output AMI',
    default: [],
    itemPattern: '^[0-9]{12}$',
    itemFormat: '12-digit AWS account ids',
    description: "Accounts allowed to create volumes from the AMI's snapshots (launching needs only ami_users). Same key rule as ami_users.",
  }),
} satisfies Record<string, Declaration>;

export type VariableName = keyof typeof declarations;
export type BuildVariables = { [K in VariableName]: ValueOf<(typeof declarations)[K]> };

export const variableNames = Object.keys(declarations) as VariableName[];

export function declarationOf(name: VariableName): Declaration {
  return declarations[name];
}

export function builtInDefaults(): BuildVariables {
  return Object.fromEntries(variableNames.map((n) => [n, structuredClone(declarations[n].default)])) as BuildVariables;
}

/** Canonical name for a name or alias, or undefined when nothing is declared under it. */
export function canonicalName(name: string): VariableName | undefined {
  if (name in declarations) return name as VariableName;
  return variableNames.find((n) => (declarations[n] as Declaration).aliases?.includes(name));
}
