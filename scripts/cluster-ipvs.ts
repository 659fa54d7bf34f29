#!/usr/bin/env tsx
// `make cluster-ipvs cluster=C [scheduler=rr] [region=…] [dry_run=true]`: the earlier name of
// `make cluster-proxy … mode=ipvs`, kept as an alias (same checks, same switch; see scripts/cluster-proxy.ts).
import { main, stderrLog } from '../src/cli/main.ts';
import { lifecycleClients } from '../src/aws/lifecycle-clients.ts';
import { runClusterProxyCommand } from '../src/lifecycle/cluster-proxy-command.ts';

await main(() => runClusterProxyCommand(process.argv.slice(2), { clients: lifecycleClients(), env: process.env, log: stderrLog, fixedMode: 'ipvs' }));
