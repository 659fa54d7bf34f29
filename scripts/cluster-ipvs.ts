#!/usr/bin/env tsx
// `make cluster-ipvs cluster=C [scheduler=rr] [region=…] [dry_run=true]`: switch the cluster's kube-proxy add-on to
// IPVS mode (EKS UpdateAddon, configuration {"mode":"ipvs","ipvs":{"scheduler":"rr"}} merged over the current
// one, conflicts resolved with OVERWRITE). Disruptive; dry_run=true prints the change without making it.
import { main, stderrLog } from '../src/cli/main.ts';
import { ipvs } from '../src/data/catalog.ts';
import { defaultRegion, lifecycleClients } from '../src/lifecycle/aws.ts';
import { DISRUPTION_WARNING, switchToIpvs } from '../src/lifecycle/cluster-ipvs.ts';
import { parseOptions, REGION_PATTERN } from '../src/lifecycle/options.ts';

const specs = {
  cluster: { kind: 'string', default: '', required: true, pattern: '[0-9A-Za-z][0-9A-Za-z_-]{0,99}', format: 'an EKS cluster name', description: 'EKS cluster' },
  scheduler: { kind: 'string', default: 'rr', enum: ipvs.schedulers, description: 'IPVS scheduler (data/ipvs.json)' },
  region: { kind: 'string', default: '', pattern: REGION_PATTERN, format: 'an AWS region', description: 'Region of the cluster (default AWS_REGION, else us-west-2)' },
  dry_run: { kind: 'boolean', default: false, description: 'Print the add-on configuration that would be sent, change nothing' },
} as const;

await main(async () => {
  const { values } = parseOptions(process.argv.slice(2), specs, { command: 'make cluster-ipvs' });
  for (const line of DISRUPTION_WARNING) stderrLog(`warning: ${line}`);
  const region = values.region || defaultRegion(process.env);
  const result = await switchToIpvs(lifecycleClients(), { cluster: values.cluster, region, scheduler: values.scheduler, dryRun: values.dry_run });
  const config = JSON.stringify(result.configuration);
  if (values.dry_run) {
    stderrLog(`Dry run: kube-proxy ${result.addonVersion ?? ''} on ${values.cluster} (${region}) would get configuration ${config} with resolve-conflicts OVERWRITE`);
  } else {
    stderrLog(`kube-proxy on ${values.cluster} (${region}): update ${result.updateId ?? '?'} ${result.status ?? ''} with configuration ${config}`);
    stderrLog(`Follow it with: aws eks describe-update --name ${values.cluster} --addon-name kube-proxy --update-id ${result.updateId ?? '<id>'}`);
  }
  console.log(config);
  return 0;
});
