// `make cluster-proxy …` (and its alias `make cluster-ipvs …`, which fixes mode=ipvs) as a function: options
// checked before any AWS call (exit 2), the cluster's checks printed one a line, then the switch or, with
// dry_run=true, the UpdateAddon request that would be sent. scripts/cluster-proxy.ts wires real clients in.
import { ipvs } from '../data/catalog.ts';
import { ConfigError } from '../errors.ts';
import { defaultRegion, type LifecycleClients } from '../aws/lifecycle-clients.ts';
import { disruptionWarning, KUBE_PROXY, PROXY_MODES, ProxyRefusedError, switchKubeProxy, type ProxyMode, type ProxySwitch } from './cluster-proxy.ts';
import { parseOptions, REGION_PATTERN } from './options.ts';

const options = (fixedMode?: ProxyMode) =>
  ({
    cluster: { kind: 'string', default: '', required: true, pattern: '[0-9A-Za-z][0-9A-Za-z_-]{0,99}', format: 'an EKS cluster name', description: 'EKS cluster' },
    mode: { kind: 'string', default: fixedMode ?? '', required: !fixedMode, enum: fixedMode ? [fixedMode] : PROXY_MODES, description: 'kube-proxy mode: ipvs or nftables' },
    scheduler: { kind: 'string', default: '', enum: ['', ...ipvs.schedulers], description: 'IPVS scheduler (mode=ipvs only; default rr; data/ipvs.json)' },
    region: { kind: 'string', default: '', pattern: REGION_PATTERN, format: 'an AWS region', description: 'Region of the cluster (default AWS_REGION, else us-west-2)' },
    dry_run: { kind: 'boolean', default: false, description: 'Check the cluster and print the UpdateAddon request that would be sent; change nothing' },
  }) as const;

export interface ClusterProxySettings {
  clients: LifecycleClients;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** `make cluster-ipvs`: mode is ipvs. */
  fixedMode?: ProxyMode;
  command?: string;
}

function report(result: ProxySwitch, log: (line: string) => void): void {
  for (const f of result.findings) if (f.level !== 'refuse') log(`${f.level === 'ok' ? 'check' : 'warning'}: ${f.message}`);
}

/** Runs the command; prints the configuration sent (or that would be) on stdout. Returns the exit code. */
export async function runClusterProxyCommand(words: string[], settings: ClusterProxySettings): Promise<number> {
  const command = settings.command ?? (settings.fixedMode ? `make cluster-${settings.fixedMode}` : 'make cluster-proxy');
  const { values } = parseOptions(words, options(settings.fixedMode), { command });
  const mode = values.mode as ProxyMode;
  if (mode !== 'ipvs' && values.scheduler) {
    throw new ConfigError('scheduler', values.scheduler, 'only with mode=ipvs (nftables mode has no scheduler: it picks a backend pod at random)');
  }
  const { log } = settings;
  for (const line of disruptionWarning(mode)) log(`warning: ${line}`);
  const region = values.region || defaultRegion(settings.env);
  let result: ProxySwitch;
  try {
    result = await switchKubeProxy(settings.clients, { cluster: values.cluster, region, mode, scheduler: mode === 'ipvs' ? values.scheduler || 'rr' : undefined, dryRun: values.dry_run });
  } catch (error) {
    if (error instanceof ProxyRefusedError) report(error.result, log);
    throw error;
  }
  report(result, log);
  const config = result.request.configurationValues;
  if (values.dry_run) {
    log(`Dry run: every check passed; kube-proxy ${result.addonVersion ?? ''} on ${values.cluster} (${region}) would get UpdateAddon ${JSON.stringify(result.request)}`);
  } else {
    log(`kube-proxy on ${values.cluster} (${region}): update ${result.updateId ?? '?'} ${result.status ?? ''} with configuration ${config}`);
    log(`Follow it with: aws eks describe-update --name ${values.cluster} --addon-name ${KUBE_PROXY} --update-id ${result.updateId ?? '<id>'}`);
  }
  console.log(config);
  return 0;
}
