#!/usr/bin/env tsx
// `make cluster-proxy cluster=C mode=ipvs|nftables [scheduler=rr] [region=…] [dry_run=true]`: check that the
// cluster can run kube-proxy in that mode (cluster version, the kube-proxy add-on's configuration schema, the
// VPC CNI add-on version, the kube_proxy_modes tag of every managed node group's image), then switch the
// kube-proxy add-on (EKS UpdateAddon, configuration merged over the current one, conflicts OVERWRITE).
// Disruptive; dry_run=true checks and prints the request without sending it. See src/lifecycle/cluster-proxy.ts.
import { main, stderrLog } from '../src/cli/main.ts';
import { lifecycleClients } from '../src/aws/lifecycle-clients.ts';
import { runClusterProxyCommand } from '../src/lifecycle/cluster-proxy-command.ts';

await main(() => runClusterProxyCommand(process.argv.slice(2), { clients: lifecycleClients(), env: process.env, log: stderrLog }));
