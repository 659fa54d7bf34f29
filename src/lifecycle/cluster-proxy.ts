// `make cluster-proxy cluster=C mode=ipvs|nftables [scheduler=rr]`: switch a cluster's kube-proxy add-on to IPVS
// or nftables mode through EKS UpdateAddon, after checking that the cluster can run that mode:
//  - the cluster's Kubernetes version (DescribeCluster): nftables from 1.33; IPVS deprecated upstream from 1.35;
//  - the kube-proxy add-on's own configuration schema for its installed version (DescribeAddon, then
//    DescribeAddonConfiguration): its `mode` enum must list the mode, which is how IPVS's removal shows;
//  - for nftables, the VPC CNI add-on version AWS names as compatible (data/cluster-proxy.json);
//  - every EKS managed node group's image (DescribeNodegroup → launch template version → ImageId, also
//    `resolve:ssm:` parameters → DescribeImages) carries a kube_proxy_modes tag that lists the mode. Images
//    without the tag (EKS-managed AMI types, other builders, this tool's images from before the tag) cannot
//    prove they have what the mode needs: nftables refuses them (nftables needs kernel >= 5.13 and nft >= 1.0.1,
//    which RHEL 8 lacks), IPVS only warns (every image this tool ever built has the IPVS modules and tools).
// Everything found is reported at once; refusals exit 3 before UpdateAddon. Self-managed node groups are not
// visible through the EKS API and are not checked (said in the output). The add-on configuration is merged over
// the current one with conflicts OVERWRITE. Disruptive: kube-proxy pods restart in the new mode and nodes keep
// their old rules until they are replaced.
import { DescribeImagesCommand, DescribeLaunchTemplateVersionsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  DescribeAddonConfigurationCommand,
  DescribeClusterCommand,
  DescribeNodegroupCommand,
  ListNodegroupsCommand,
  UpdateAddonCommand,
  type Addon,
} from '@aws-sdk/client-eks';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import clusterProxyJson from '../../data/cluster-proxy.json' with { type: 'json' };
import { ipvs } from '../data/catalog.ts';
import { eksAddonModes } from '../data/kube-proxy.ts';
import { compareVersions } from '../data/minors.ts';
import { ConfigError, EXIT, ResolutionError, UserError } from '../errors.ts';
import type { LifecycleClients } from '../aws/lifecycle-clients.ts';

export const KUBE_PROXY = 'kube-proxy';
export const VPC_CNI = 'vpc-cni';
export const PROXY_MODES = ['ipvs', 'nftables'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];
/** The AMI tag every image of this tool carries since issue 13: the kube-proxy modes it is ready for, comma-separated. */
export const MODES_TAG = 'kube_proxy_modes';

const requirements: { vpcCniMinimum: Record<string, string>; ipvsDeprecatedFrom: string; nodeCheck: Record<ProxyMode, string> } = clusterProxyJson;

export function checkScheduler(scheduler: string): string {
  if (!ipvs.schedulers.includes(scheduler)) {
    throw new ConfigError('scheduler', scheduler, `one of ${ipvs.schedulers.join(', ')} (the IPVS schedulers whose modules the image loads, data/ipvs.json)`);
  }
  return scheduler;
}

function parseCurrent(current: string | undefined): Record<string, unknown> {
  if (!current?.trim()) return {};
  try {
    const parsed: unknown = JSON.parse(current);
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new ResolutionError(`The kube-proxy add-on's current configuration values are not JSON (${current.slice(0, 80)}…); set them once with the AWS console or CLI, then rerun.`);
  }
}

/** The add-on's configuration with IPVS mode and the scheduler set; other settings are kept. */
export function ipvsConfiguration(current: string | undefined, scheduler: string): Record<string, unknown> {
  const base = parseCurrent(current);
  const ipvsBlock = base.ipvs && typeof base.ipvs === 'object' ? (base.ipvs as Record<string, unknown>) : {};
  return { ...base, mode: 'ipvs', ipvs: { ...ipvsBlock, scheduler: checkScheduler(scheduler) } };
}

/**
 * The add-on's configuration with nftables mode; other settings are kept except the `ipvs` block, which means
 * nothing in nftables mode and which add-on versions without IPVS may no longer accept.
 */
export function nftablesConfiguration(current: string | undefined): Record<string, unknown> {
  const { ipvs: _dropped, ...rest } = parseCurrent(current);
  return { ...rest, mode: 'nftables' };
}

export function disruptionWarning(mode: ProxyMode): string[] {
  return [
    `Switching kube-proxy to ${mode === 'ipvs' ? 'IPVS' : 'nftables'} is disruptive: every kube-proxy pod restarts and rewrites service routing, and`,
    'existing nodes keep the old mode\'s rules until they are replaced. Best done at cluster creation; on a running',
    `cluster, roll the node groups afterwards. Check a node with \`${requirements.nodeCheck[mode]}\`.`,
  ];
}

/**
 * The modes the add-on's JSON schema lets `mode` take: the enum of the `mode` property of the root object (the
 * EKS schemas put it under a $ref'd definition). null when the schema has no `mode` property at all; 'any'
 * when `mode` is a free string.
 */
export function schemaModes(schemaText: string): string[] | null | 'any' {
  let schema: Record<string, unknown>;
  try {
    schema = JSON.parse(schemaText) as Record<string, unknown>;
  } catch {
    throw new ResolutionError(`The kube-proxy add-on's configuration schema is not JSON (${schemaText.slice(0, 80)}…).`);
  }
  const resolve = (node: unknown, depth = 0): Record<string, unknown> | undefined => {
    if (!node || typeof node !== 'object' || depth > 8) return undefined;
    const ref = (node as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith('#/')) {
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>((at, key) => (at && typeof at === 'object' ? (at as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), schema);
      return resolve(target, depth + 1);
    }
    return node as Record<string, unknown>;
  };
  const properties = resolve(schema)?.properties as Record<string, unknown> | undefined;
  const mode = resolve(properties?.mode);
  if (!mode) return null;
  return Array.isArray(mode.enum) ? mode.enum.map(String) : 'any';
}

/** The x.y.z of an add-on version such as v1.19.2-eksbuild.1. */
export const addonSemver = (version: string | undefined): string | undefined => /^v?([0-9]+\.[0-9]+\.[0-9]+)/.exec(version ?? '')?.[1];

export interface NodegroupImage {
  nodegroup: string;
  /** The image the node group's nodes boot, when it could be found. */
  imageId?: string;
  /** The image's kube_proxy_modes tag; undefined when the image has none (or was not found). */
  modes?: string[];
  /** How the image was found, or why not. */
  source: string;
}

export interface Finding {
  level: 'ok' | 'warn' | 'refuse';
  message: string;
}

export interface ProxySwitch {
  cluster: string;
  region: string;
  mode: ProxyMode;
  clusterVersion?: string;
  addonVersion?: string;
  /** What the add-on's schema lets `mode` be. */
  offeredModes?: string[] | null | 'any';
  vpcCniVersion?: string;
  nodegroups: NodegroupImage[];
  findings: Finding[];
  configuration: Record<string, unknown>;
  /** The UpdateAddon request (sent unless dry run or refused). */
  request: { clusterName: string; addonName: string; configurationValues: string; resolveConflicts: 'OVERWRITE' };
  updateId?: string;
  status?: string;
}

/** The cluster cannot run the mode: every reason, one a line. Exit 3; nothing was changed. */
export class ProxyRefusedError extends UserError {
  constructor(
    readonly result: ProxySwitch,
    refusals: string[],
  ) {
    super(
      `kube-proxy on ${result.cluster} (${result.region}) was NOT switched to ${result.mode} mode; nothing was changed:\n${refusals.map((r) => `  - ${r}`).join('\n')}`,
      EXIT.resolution,
    );
  }
}

const notFound = (error: unknown): boolean => (error as Error).name === 'ResourceNotFoundException';

async function describeAddon(clients: LifecycleClients, region: string, cluster: string, addonName: string): Promise<Addon | undefined> {
  try {
    return (await clients.eks(region).send(new DescribeAddonCommand({ clusterName: cluster, addonName }))).addon;
  } catch (error) {
    if (notFound(error)) return undefined;
    throw error;
  }
}

async function imageIdOf(clients: LifecycleClients, region: string, launchTemplate: { id?: string; name?: string; version?: string }): Promise<{ imageId?: string; source: string }> {
  const version = launchTemplate.version || '$Default';
  const label = `launch template ${launchTemplate.name ?? launchTemplate.id} version ${version}`;
  const out = await clients.ec2(region).send(
    new DescribeLaunchTemplateVersionsCommand({
      ...(launchTemplate.id ? { LaunchTemplateId: launchTemplate.id } : { LaunchTemplateName: launchTemplate.name }),
      Versions: [version],
    }),
  );
  const imageId = out.LaunchTemplateVersions?.[0]?.LaunchTemplateData?.ImageId;
  if (!imageId) return { source: `${label} names no image (EKS chooses an EKS-optimized AMI)` };
  const ssm = /^resolve:ssm:(.+)$/.exec(imageId);
  if (!ssm) return { imageId, source: label };
  const parameter = await clients.ssm(region).send(new GetParameterCommand({ Name: ssm[1] }));
  return { imageId: parameter.Parameter?.Value, source: `${label} → SSM parameter ${ssm[1]}` };
}

/** The image of each EKS managed node group of the cluster and its kube_proxy_modes tag. */
export async function nodegroupImages(clients: LifecycleClients, region: string, cluster: string): Promise<NodegroupImage[]> {
  const eks = clients.eks(region);
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await eks.send(new ListNodegroupsCommand({ clusterName: cluster, nextToken }));
    names.push(...(page.nodegroups ?? []));
    nextToken = page.nextToken;
  } while (nextToken);
  const found: NodegroupImage[] = [];
  for (const nodegroup of names) {
    const group = (await eks.send(new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName: nodegroup }))).nodegroup;
    if (!group?.launchTemplate) {
      found.push({ nodegroup, source: `no launch template: EKS-managed AMI type ${group?.amiType ?? 'unknown'}` });
      continue;
    }
    const { imageId, source } = await imageIdOf(clients, region, group.launchTemplate);
    if (!imageId) {
      found.push({ nodegroup, source });
      continue;
    }
    const image = (await clients.ec2(region).send(new DescribeImagesCommand({ ImageIds: [imageId] })).catch(() => ({ Images: [] }))).Images?.[0];
    if (!image) {
      found.push({ nodegroup, imageId, source: `${source}: image ${imageId} is not visible in ${region}` });
      continue;
    }
    const tag = image.Tags?.find((t) => t.Key === MODES_TAG)?.Value;
    found.push({ nodegroup, imageId, modes: tag === undefined ? undefined : tag.split(/[\s,]+/).filter(Boolean), source });
  }
  return found;
}

export interface ProxySwitchOptions {
  cluster: string;
  region: string;
  mode: ProxyMode;
  /** IPVS scheduler; only with mode=ipvs. */
  scheduler?: string;
  dryRun: boolean;
}

/** Check the cluster, then (unless dry run) send UpdateAddon. Throws ProxyRefusedError when a check refuses. */
export async function switchKubeProxy(clients: LifecycleClients, options: ProxySwitchOptions): Promise<ProxySwitch> {
  const { cluster, region, mode } = options;
  if (mode === 'ipvs') checkScheduler(options.scheduler ?? 'rr');
  else if (options.scheduler) {
    throw new ConfigError('scheduler', options.scheduler, 'only with mode=ipvs (nftables mode has no scheduler: it picks a backend pod at random)');
  }
  const eks = clients.eks(region);
  const findings: Finding[] = [];
  const ok = (message: string) => findings.push({ level: 'ok', message });
  const warn = (message: string) => findings.push({ level: 'warn', message });
  const refuse = (message: string) => findings.push({ level: 'refuse', message });

  let clusterVersion: string | undefined;
  try {
    clusterVersion = (await eks.send(new DescribeClusterCommand({ name: cluster }))).cluster?.version;
  } catch (error) {
    if (notFound(error)) throw new ResolutionError(`There is no EKS cluster ${cluster} in ${region}. Check cluster= and region=.`);
    throw error;
  }
  const addon = await describeAddon(clients, region, cluster, KUBE_PROXY);
  if (!addon) {
    throw new ResolutionError(
      `${KUBE_PROXY} is not an EKS add-on of cluster ${cluster} in ${region}. Create the add-on first: aws eks create-addon --cluster-name ${cluster} --addon-name ${KUBE_PROXY}`,
    );
  }
  const configuration = mode === 'ipvs' ? ipvsConfiguration(addon.configurationValues, options.scheduler ?? 'rr') : nftablesConfiguration(addon.configurationValues);
  const result: ProxySwitch = {
    cluster,
    region,
    mode,
    clusterVersion,
    addonVersion: addon.addonVersion,
    nodegroups: [],
    findings,
    configuration,
    request: { clusterName: cluster, addonName: KUBE_PROXY, configurationValues: JSON.stringify(configuration), resolveConflicts: 'OVERWRITE' },
  };

  // The cluster's version against what EKS's add-on offers per minor.
  if (clusterVersion) {
    const offered = eksAddonModes(clusterVersion).includes(mode);
    const deprecated = mode === 'ipvs' && compareVersions(clusterVersion, requirements.ipvsDeprecatedFrom) >= 0;
    if (!offered) {
      refuse(
        mode === 'nftables'
          ? `cluster ${cluster} runs Kubernetes ${clusterVersion}; EKS's kube-proxy add-on offers nftables mode from 1.33 (upgrade the cluster first)`
          : `cluster ${cluster} runs Kubernetes ${clusterVersion}; EKS removed IPVS mode from the kube-proxy add-on after 1.35 (use mode=nftables)`,
      );
    } else if (deprecated) {
      warn(`IPVS mode is deprecated upstream from Kubernetes 1.35 (cluster ${cluster} runs ${clusterVersion}) and EKS's add-on drops it after 1.35: plan the move to mode=nftables`);
    } else ok(`cluster ${cluster} runs Kubernetes ${clusterVersion}`);
  } else warn(`DescribeCluster returned no Kubernetes version for ${cluster}`);

  // What the installed add-on version's own schema accepts: the authority on whether the mode is offered.
  if (addon.addonVersion) {
    const schema = await eks.send(new DescribeAddonConfigurationCommand({ addonName: KUBE_PROXY, addonVersion: addon.addonVersion }));
    const offered = schema.configurationSchema ? schemaModes(schema.configurationSchema) : null;
    result.offeredModes = offered;
    if (offered === null) refuse(`the configuration schema of kube-proxy add-on ${addon.addonVersion} has no mode setting: update the add-on to a version that offers ${mode}`);
    else if (offered === 'any') warn(`the configuration schema of kube-proxy add-on ${addon.addonVersion} does not list its modes; ${mode} could not be confirmed`);
    else if (!offered.includes(mode)) {
      refuse(
        `kube-proxy add-on ${addon.addonVersion} accepts mode ${offered.join(', ')}, not ${mode}` +
          (mode === 'nftables'
            ? `: update the add-on (aws eks describe-addon-versions --addon-name ${KUBE_PROXY} --kubernetes-version ${clusterVersion ?? '<version>'})`
            : ': IPVS mode is no longer offered; use mode=nftables'),
      );
    } else ok(`kube-proxy add-on ${addon.addonVersion} offers mode ${mode} (its schema: ${offered.join(', ')})`);
  } else warn('the kube-proxy add-on reports no version; its configuration schema was not checked');

  // The VPC CNI version AWS names as compatible with nftables mode.
  const minimum = requirements.vpcCniMinimum[mode];
  if (minimum) {
    const cni = await describeAddon(clients, region, cluster, VPC_CNI);
    result.vpcCniVersion = cni?.addonVersion;
    const version = addonSemver(cni?.addonVersion);
    if (!cni) warn(`${VPC_CNI} is not an EKS add-on of ${cluster}: if the cluster runs a self-managed Amazon VPC CNI, it must be v${minimum} or later for ${mode} mode (other CNIs: see their documentation)`);
    else if (!version) warn(`${VPC_CNI} add-on version ${cni.addonVersion ?? '(none)'} could not be read; it must be v${minimum} or later for ${mode} mode`);
    else if (compareVersions(version, minimum) < 0) {
      refuse(`${VPC_CNI} add-on ${cni.addonVersion} is older than v${minimum}, the first Amazon VPC CNI compatible with ${mode} mode: update it first (aws eks update-addon --cluster-name ${cluster} --addon-name ${VPC_CNI} --addon-version …)`);
    } else ok(`${VPC_CNI} add-on ${cni.addonVersion} is v${minimum} or later`);
  }

  // Every managed node group's image must be ready for the mode.
  result.nodegroups = await nodegroupImages(clients, region, cluster);
  if (result.nodegroups.length === 0) warn(`cluster ${cluster} has no EKS managed node groups to check`);
  for (const group of result.nodegroups) {
    const where = `node group ${group.nodegroup} (${group.imageId ?? 'no image found'}; ${group.source})`;
    if (group.modes?.includes(mode)) ok(`${where}: ${MODES_TAG}=${group.modes.join(',')}`);
    else if (group.modes) refuse(`${where}: its image is ready for ${group.modes.join(', ') || 'no kube-proxy mode'} only (${MODES_TAG}), not ${mode}; replace the node group's image first`);
    else if (mode === 'nftables') {
      refuse(`${where}: the image has no ${MODES_TAG} tag, so nothing shows it has what nftables mode needs (kernel >= 5.13, nft >= 1.0.1); move the node group to an image built by this tool that lists nftables (RHEL 9 or 10)`);
    } else warn(`${where}: the image has no ${MODES_TAG} tag; IPVS mode needs the ip_vs modules, ipvsadm and ipset on it (every image this tool built has them)`);
  }
  warn('self-managed node groups (not EKS managed) are not visible through the EKS API and were not checked');

  const refusals = findings.filter((f) => f.level === 'refuse').map((f) => f.message);
  if (refusals.length) throw new ProxyRefusedError(result, refusals);
  if (options.dryRun) return result;
  const update = await eks.send(new UpdateAddonCommand(result.request));
  return { ...result, updateId: update.update?.id, status: update.update?.status };
}
