// Plan: the configuration plus everything resolved, with every derived value filled in. plan.json is this.
import { resolve as resolvePath } from 'node:path';
import { defaultInstanceType } from '../data/instance-types.ts';
import { imageKubeProxyModes } from '../data/kube-proxy.ts';
import { eksRegistry, regionFacts, type RegionFacts } from '../data/partitions.ts';
import { TEMPLATE_FILE } from '../layout.ts';
import type { KubernetesBuild } from '../resolve/kubernetes-build.ts';
import { defaultSourceAmiFilter, type SourceAmi } from '../resolve/source-ami.ts';
import type { BuildVariables, VariableName } from '../variables/declarations.ts';
import type { Configuration } from '../variables/configure.ts';
import type { PackerInfo } from '../process/packer.ts';
import { provisionerEnvironment } from './provisioner-environment.ts';

export { PINNED_SHA256_FILE } from './provisioner-environment.ts';

export interface Plan {
  kubernetes_version: string;
  kubernetes_build_date: string;
  kubernetes_minor: string;
  arch: 'x86_64' | 'arm64';
  aws_region: string;
  partition: string;
  s3_domain: string;
  ami_name: string;
  ami_regions: string[];
  source_ami_id: string;
  source_ami_name: string;
  source_ami_owner: string;
  /**
   * The source image's EC2 boot mode ('' when it sets none: the instance type's default, legacy BIOS on x86_64 and
   * UEFI on Graviton). amazon-ebs makes the AMI with CreateImage, so the AMI inherits it; see README "UEFI and NitroTPM".
   */
  source_ami_boot_mode: string;
  rhel_version: number;
  rhel_release: string;
  root_device_name: string;
  binary_bucket: { name: string; region: string; unsigned: boolean; kubelet_key: string };
  pause_image: string;
  /**
   * kube-proxy modes the image is ready for (data/kube-proxy-modes.json by RHEL major): ipvs everywhere, nftables
   * where the kernel and nft are new enough. Also the AMI's kube_proxy_modes tag (comma-separated).
   */
  kube_proxy_modes: string[];
  /** ECR pulls go through ecr-fips endpoints (STIG variant, where the region has them). */
  fips_endpoints: boolean;
  variant: string;
  dry_run: boolean;
  packer: PackerInfo;
  /** Build directory and rendered template, relative to the repository root. */
  build_dir: string;
  template: string;
  /** Every build variable by canonical name, with derived values filled in. */
  variables: BuildVariables;
  /** Which layer set each variable (default, Kubernetes 1.28 defaults, preset …, file, command line). */
  variable_sources: Record<VariableName, string>;
  /** Environment every provisioner receives (no credentials, ever). */
  provisioner_environment: Record<string, string>;
  created_at: string;
  /** Commit of this repository the image was built from ("-dirty" with uncommitted changes). */
  git_commit: string;
  /** The lock file replayed, if any, and its SHA-256 (so two builds can be compared). */
  lock: { path: string; sha256: string } | null;
}

export function defaultAmiName(v: BuildVariables, minor: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `rhel-${v.rhel_version}-eks-node-${minor}-${v.arch}-${v.variant}-v${stamp}`;
}

export interface PlanInput {
  config: Configuration;
  kubernetes: KubernetesBuild;
  sourceAmi: SourceAmi;
  rhelVersion: number;
  packer: PackerInfo;
  unsignedBucket: boolean;
  now: Date;
  buildRoot: string;
  gitCommit?: string;
}

/** The pause image a build pulls: pause_image, else the region's EKS ECR repository (FIPS endpoint for STIG where one exists). */
export function pauseImageOf(v: Pick<BuildVariables, 'pause_image' | 'pause_image_tag' | 'variant'>, facts: RegionFacts): string {
  // The STIG variant pulls through FIPS endpoints, only in regions that have them.
  const fipsEndpoints = v.variant === 'stig' && facts.ecrFips;
  return v.pause_image || `${eksRegistry(facts, fipsEndpoints)}/eks/pause:${v.pause_image_tag}`;
}

export function makePlan(input: PlanInput): Plan {
  const { config, kubernetes, sourceAmi, now } = input;
  const v: BuildVariables = { ...config.values, rhel_version: input.rhelVersion };
  const facts = regionFacts(v.aws_region);
  if (!facts) throw new Error(`unknown region ${v.aws_region} passed configuration`);
  v.kubernetes_version = kubernetes.version;
  v.kubernetes_build_date = kubernetes.buildDate;
  v.instance_type ||= defaultInstanceType(v.arch as 'x86_64' | 'arm64');
  v.source_ami_id = sourceAmi.id;
  v.source_ami_owners = v.source_ami_owners.length ? v.source_ami_owners : [facts.redHatOwner ?? sourceAmi.owner];
  v.source_ami_filter_name ||= defaultSourceAmiFilter(v.rhel_version, v.arch);
  v.ami_name ||= defaultAmiName(v, kubernetes.minor, now);
  v.ami_description ||= `EKS worker for Kubernetes ${kubernetes.version} on RHEL ${sourceAmi.rhelRelease ?? v.rhel_version} (${v.arch}, ${v.variant}, kube-proxy ${imageKubeProxyModes(v.rhel_version).join('/')} ready)`;
  v.pause_image = pauseImageOf(v, facts);
  if (v.user_data_file) v.user_data_file = resolvePath(v.user_data_file);
  const buildDir = `${input.buildRoot}/${v.ami_name}`;
  const plan: Plan = {
    kubernetes_version: kubernetes.version,
    kubernetes_build_date: kubernetes.buildDate,
    kubernetes_minor: kubernetes.minor,
    arch: v.arch as 'x86_64' | 'arm64',
    aws_region: v.aws_region,
    partition: facts.partition,
    s3_domain: facts.dnsSuffix,
    ami_name: v.ami_name,
    ami_regions: v.ami_regions,
    source_ami_id: sourceAmi.id,
    source_ami_name: sourceAmi.name,
    source_ami_owner: sourceAmi.owner,
    source_ami_boot_mode: sourceAmi.bootMode ?? '',
    rhel_version: v.rhel_version,
    rhel_release: sourceAmi.rhelRelease ?? String(v.rhel_version),
    root_device_name: sourceAmi.rootDeviceName,
    binary_bucket: { name: v.binary_bucket_name, region: v.binary_bucket_region, unsigned: input.unsignedBucket, kubelet_key: kubernetes.kubeletKey },
    pause_image: v.pause_image,
    kube_proxy_modes: imageKubeProxyModes(v.rhel_version),
    fips_endpoints: v.variant === 'stig' && facts.ecrFips,
    variant: v.variant,
    dry_run: config.options.dry_run,
    packer: input.packer,
    build_dir: buildDir,
    template: `${buildDir}/${TEMPLATE_FILE}`,
    variables: v,
    variable_sources: config.sourceOf,
    provisioner_environment: {},
    created_at: now.toISOString(),
    git_commit: input.gitCommit ?? 'unknown',
    lock: config.lock ? { path: config.lock.path, sha256: config.lock.sha256 } : null,
  };
  plan.provisioner_environment = provisionerEnvironment(plan);
  return plan;
}
