#!/usr/bin/env tsx
// `make matrix [k8s=1.28] [rhel_version=9] [arch=arm64] [variant=standard] [include_unsupported=true]`: the cells of data/matrix.json as
// JSON, one line on stdout (GitHub Actions reads it with fromJSON):
//   [{"k8s":"1.32","rhel_version":8,"arch":"x86_64","variant":"standard","name":"1.32-rhel8-x86_64-standard","eks_kube_proxy_modes":["iptables","ipvs"]},…]
import { main } from '../src/cli/main.ts';
import { cellFilterFrom, cellFilterOptions } from '../src/lifecycle/cell-filter.ts';
import { filterCells, loadMatrix } from '../src/lifecycle/matrix.ts';
import { parseOptions } from '../src/lifecycle/options.ts';

await main(async () => {
  const { values } = parseOptions(process.argv.slice(2), cellFilterOptions, { command: 'make matrix' });
  const today = new Date();
  const cells = filterCells(loadMatrix(undefined, { today, includeUnsupported: values.include_unsupported }), cellFilterFrom(values), today);
  process.stdout.write(`${JSON.stringify(cells)}\n`);
  return 0;
});
