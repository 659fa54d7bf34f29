// `make cluster-ipvs cluster=C scheduler=rr`: switch the cluster's kube-proxy add-on to IPVS mode through EKS
// UpdateAddon, with configuration values {"mode":"ipvs","ipvs":{"scheduler":"rr"}} merged over the add-on's
// current ones and conflicts resolved with OVERWRITE. Disruptive: kube-proxy pods restart with the new mode and
// nodes keep iptables-mode rules until they are replaced. The scheduler must be one whose ip_vs_<scheduler>
// module our images load (data/ipvs.json).
import { DescribeAddonCommand, UpdateAddonCommand } from '@aws-sdk/client-eks';
import { ipvs } from '../data/catalog.ts';
import { ConfigError, ResolutionError } from '../errors.ts';
import type { LifecycleClients } from './aws.ts';

export const KUBE_PROXY = 'kube-proxy';

export function checkScheduler(scheduler: string): string {
  if (!ipvs.schedulers.includes(scheduler)) {
    throw new ConfigError('scheduler', scheduler, `one of ${ipvs.schedulers.join(', ')} (the IPVS schedulers whose modules the image loads, data/ipvs.json)`);
  }
  return scheduler;
}

/** The add-on's configuration with IPVS mode and the scheduler set; other settings are kept. */
export function ipvsConfiguration(current: string | undefined, scheduler: string): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (current?.trim()) {
    try {
      const parsed: unknown = JSON.parse(current);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) base = parsed as Record<string, unknown>;
    } catch {
      throw new ResolutionError(`The kube-proxy add-on's current configuration values are not JSON (${current.slice(0, 80)}…); set them once with the AWS console or CLI, then rerun.`);
    }
  }
  const ipvsBlock = base.ipvs && typeof base.ipvs === 'object' ? (base.ipvs as Record<string, unknown>) : {};
  return { ...base, mode: 'ipvs', ipvs: { ...ipvsBlock, scheduler: checkScheduler(scheduler) } };
}

export const DISRUPTION_WARNING = [
  'Switching kube-proxy to IPVS is disruptive: every kube-proxy pod restarts and rewrites service routing, and',
  'existing nodes keep their iptables-mode rules until they are replaced. Best done at cluster creation; on a',
  'running cluster, roll the node groups afterwards. Check a node with `sudo ipvsadm -L` (kubernetes and kube-dns).',
];

export interface IpvsSwitch {
  cluster: string;
  region: string;
  addonVersion?: string;
  configuration: Record<string, unknown>;
  updateId?: string;
  status?: string;
}

export async function switchToIpvs(
  clients: LifecycleClients,
  options: { cluster: string; region: string; scheduler: string; dryRun: boolean },
): Promise<IpvsSwitch> {
  checkScheduler(options.scheduler);
  const eks = clients.eks(options.region);
  let addon;
  try {
    addon = (await eks.send(new DescribeAddonCommand({ clusterName: options.cluster, addonName: KUBE_PROXY }))).addon;
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') {
      throw new ResolutionError(
        `${KUBE_PROXY} is not an EKS add-on of cluster ${options.cluster} in ${options.region} (or the cluster does not exist). Create the add-on first: aws eks create-addon --cluster-name ${options.cluster} --addon-name ${KUBE_PROXY}`,
      );
    }
    throw error;
  }
  const configuration = ipvsConfiguration(addon?.configurationValues, options.scheduler);
  const result: IpvsSwitch = { cluster: options.cluster, region: options.region, addonVersion: addon?.addonVersion, configuration };
  if (options.dryRun) return result;
  const update = await eks.send(
    new UpdateAddonCommand({
      clusterName: options.cluster,
      addonName: KUBE_PROXY,
      configurationValues: JSON.stringify(configuration),
      resolveConflicts: 'OVERWRITE',
    }),
  );
  return { ...result, updateId: update.update?.id, status: update.update?.status };
}
