// Resolve: ask AWS (or the emulator) for what the configuration leaves open — the Kubernetes build and the
// source image — and settle the minor and RHEL major they imply.
import type { AwsClients } from '../aws/clients.ts';
import { ConfigErrors, ResolutionError } from '../errors.ts';
import { lifecycleWarning, supportedMinors } from '../data/minors.ts';
import { partitionOf, regionFacts } from '../data/partitions.ts';
import { withMinor, type Configuration } from '../variables/configure.ts';
import type { BuildVariables } from '../variables/declarations.ts';
import { ruleProblems } from '../variables/rules.ts';
import { bucketArch, findKubernetesBuild, type KubernetesBuild } from './kubernetes-build.ts';
import { defaultSourceAmiFilter, findSourceAmi, type SourceAmi } from './source-ami.ts';

export interface Resolved {
  config: Configuration;
  kubernetes: KubernetesBuild;
  sourceAmi: SourceAmi;
  rhelVersion: number;
  unsignedBucket: boolean;
}

export type Log = (line: string) => void;

/**
 * The Kubernetes build: pinned, or discovered in the bucket. With `today`, a minor EKS no longer (or not yet)
 * runs gets a warning in the log; the build goes on.
 */
export async function resolveKubernetes(config: Configuration, clients: AwsClients, log: Log, today?: Date): Promise<{ config: Configuration; kubernetes: KubernetesBuild; unsigned: boolean }> {
  const found = await findBuild(config, clients, log);
  const warning = today ? lifecycleWarning(found.kubernetes.minor, today) : undefined;
  if (warning) log(`WARNING: ${warning}`);
  return found;
}

async function findBuild(config: Configuration, clients: AwsClients, log: Log): Promise<{ config: Configuration; kubernetes: KubernetesBuild; unsigned: boolean }> {
  const v = config.values;
  const unsigned = bucketNeedsUnsignedReads(v);
  if (v.kubernetes_version && v.kubernetes_build_date) {
    const kubeletKey = `${v.kubernetes_version}/${v.kubernetes_build_date}/bin/linux/${bucketArch(v.arch as 'x86_64')}/kubelet`;
    return { config, unsigned, kubernetes: { version: v.kubernetes_version, buildDate: v.kubernetes_build_date, minor: config.minor, kubeletKey } };
  }
  const minors = config.minor ? [config.minor] : supportedMinors();
  log(`Finding Kubernetes ${v.kubernetes_version || (config.minor ? `${config.minor}.x` : 'newest supported minor')} for ${v.arch} in s3://${v.binary_bucket_name} (${v.binary_bucket_region}${unsigned ? ', unsigned' : ''})`);
  const kubernetes = await findKubernetesBuild(clients.s3(v.binary_bucket_region, unsigned), {
    bucket: v.binary_bucket_name,
    region: v.binary_bucket_region,
    arch: v.arch as 'x86_64' | 'arm64',
    minors,
    version: v.kubernetes_version || undefined,
  });
  return { config: config.minor ? config : withMinor(config, kubernetes.minor), kubernetes, unsigned };
}

export async function resolveSourceAmi(config: Configuration, clients: AwsClients, log: Log): Promise<{ sourceAmi: SourceAmi; rhelVersion: number }> {
  const v = config.values;
  const facts = regionFacts(v.aws_region)!;
  const owners = v.source_ami_owners.length ? v.source_ami_owners : [facts.redHatOwner!];
  const nameFilter = v.source_ami_filter_name || defaultSourceAmiFilter(v.rhel_version, v.arch);
  log(v.source_ami_id ? `Describing source AMI ${v.source_ami_id} in ${v.aws_region}` : `Finding source AMI ${nameFilter} owned by ${owners.join(', ')} in ${v.aws_region}`);
  const sourceAmi = await findSourceAmi(clients.ec2(v.aws_region), {
    region: v.aws_region,
    owners,
    nameFilter,
    arch: v.arch as 'x86_64' | 'arm64',
    imageId: v.source_ami_id || undefined,
  });
  if (config.lock && sourceAmi.name !== config.lock.inputs.sourceAmiName) {
    throw new ResolutionError(`The lock file pins ${sourceAmi.id} as ${config.lock.inputs.sourceAmiName}, but ${v.aws_region} describes it as ${sourceAmi.name}. Stage again to refresh ${config.lock.path}.`);
  }
  const rhelVersion = rhelMajor(config, sourceAmi);
  if (rhelVersion !== v.rhel_version) {
    // The image decided the RHEL major; combinations that depend on it are checked again.
    const problems = ruleProblems({ values: { ...v, rhel_version: rhelVersion }, sourceOf: config.sourceOf, minor: config.minor });
    if (problems.length) throw new ConfigErrors(problems);
  }
  return { sourceAmi, rhelVersion };
}

/** Everything the configuration leaves open; `today` (the caller's clock) dates the EKS lifecycle warning. */
export async function resolve(config: Configuration, clients: AwsClients, log: Log, today?: Date): Promise<Resolved> {
  if (config.minor) {
    // The minor is known, so the configuration does not change with the build found: ask S3 and EC2 at once.
    // Both are waited for, and a failure is reported in plan order (the bucket first), whichever came back first.
    const [k, { sourceAmi, rhelVersion }] = await inOrder(resolveKubernetes(config, clients, log, today), resolveSourceAmi(config, clients, log));
    return { config: k.config, kubernetes: k.kubernetes, sourceAmi, rhelVersion, unsignedBucket: k.unsigned };
  }
  // Plain `make`: the discovered minor selects its defaults (withMinor) before the image is looked up.
  const k = await resolveKubernetes(config, clients, log, today);
  const { sourceAmi, rhelVersion } = await resolveSourceAmi(k.config, clients, log);
  return { config: k.config, kubernetes: k.kubernetes, sourceAmi, rhelVersion, unsignedBucket: k.unsigned };
}

/** Both results, or the first promise's error if it failed, else the second's: the same error however they race. */
async function inOrder<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

/** RHEL major of the chosen image; the image decides unless the user set rhel_version explicitly. */
export function rhelMajor(config: Configuration, ami: SourceAmi): number {
  const fromImage = ami.rhelRelease ? Number(ami.rhelRelease.split('.')[0]) : undefined;
  if (fromImage === undefined) return config.values.rhel_version;
  if (fromImage !== config.values.rhel_version && config.sourceOf.rhel_version !== 'default') {
    throw new ResolutionError(
      `The chosen source image ${ami.id} (${ami.name}) is RHEL ${fromImage}, but rhel_version=${config.values.rhel_version} was set (${config.sourceOf.rhel_version}). Change source_ami_filter_name or rhel_version.`,
    );
  }
  return fromImage;
}

/** Reads of the binary bucket are unsigned when it lies in another partition than the caller's credentials. */
export function bucketNeedsUnsignedReads(v: BuildVariables): boolean {
  return partitionOf(v.binary_bucket_region) !== partitionOf(v.aws_region);
}
