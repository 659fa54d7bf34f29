#!/usr/bin/env tsx
// `make sweep [keep=3] [regions=us-west-2,us-east-1] [ssm_prefix=/rhel-eks-ami] [k8s=… rhel_version=… arch=… variant=…] [apply=true]`:
// keep the newest `keep` builds of each cell (recognised by tags), list — or with apply=true remove — the older
// images and their snapshots in every region, never one a launch template, launch configuration, auto scaling
// group, EKS node group or SSM parameter under ssm_prefix refers to. Default regions: every region enabled
// for the account (DescribeRegions), so copies are found wherever they went.
import { main, stderrLog } from '../src/cli/main.ts';
import { defaultRegion, lifecycleClients } from '../src/aws/lifecycle-clients.ts';
import { cellFilterFrom, cellFilterOptions } from '../src/lifecycle/cell-filter.ts';
import { parseOptions, REGION_PATTERN } from '../src/lifecycle/options.ts';
import { checkPrefix, DEFAULT_SSM_PREFIX, SSM_PREFIX_PATTERN } from '../src/lifecycle/ssm.ts';
import { applySweep } from '../src/lifecycle/sweep-apply.ts';
import { enabledRegions, gatherInventory } from '../src/lifecycle/sweep-inventory.ts';
import { describePlan, planSweep } from '../src/lifecycle/sweep-plan.ts';

const specs = {
  keep: { kind: 'integer', default: 3, minimum: 1, maximum: 1000, description: 'Newest builds kept per cell' },
  regions: { kind: 'list', default: [], pattern: REGION_PATTERN, format: 'AWS regions', description: 'Regions to sweep (default: every enabled region)' },
  apply: { kind: 'boolean', default: false, description: 'Deregister and delete; without it only the plan is printed' },
  ssm_prefix: { kind: 'string', default: DEFAULT_SSM_PREFIX, pattern: SSM_PREFIX_PATTERN, format: 'a parameter path such as /rhel-eks-ami', description: 'Images named by SSM parameters under this path are kept' },
  ...cellFilterOptions,
} as const;

await main(async () => {
  const { values } = parseOptions(process.argv.slice(2), specs, { command: 'make sweep' });
  checkPrefix(values.ssm_prefix);
  const clients = lifecycleClients();
  const regions = values.regions.length ? values.regions : await enabledRegions(clients, defaultRegion(process.env));
  const inventory = await gatherInventory(clients, regions, values.ssm_prefix, stderrLog);
  const plan = planSweep(inventory, values.keep, regions, cellFilterFrom(values));
  for (const line of describePlan(plan, values.apply)) console.log(line);
  if (!values.apply) return 0;
  const outcome = await applySweep(clients, plan, stderrLog);
  console.log(`Removed ${outcome.deregistered.length} image(s) and ${outcome.deletedSnapshots.length} snapshot(s).`);
  for (const failure of outcome.failures) console.error(`error: ${failure}`);
  return outcome.failures.length ? 1 : 0;
});
