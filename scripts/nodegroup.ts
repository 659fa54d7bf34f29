#!/usr/bin/env tsx
// `make nodegroup cluster=C ami=ami-… [node_role=arn:…] [format=cloudformation|eksctl] [apply=true] …`:
// write a managed node group on the image (launch template with IMDSv2 only, encrypted root volume on the
// image's root device, user data running /etc/eks/bootstrap.sh with the cluster's endpoint and CA) to
// build/nodegroup/, and with apply=true create it (CloudFormation CreateStack, or `eksctl create nodegroup`).
import { main, stderrLog } from '../src/cli/main.ts';
import { processRunner } from '../src/process/run.ts';
import { lifecycleClients } from '../src/lifecycle/aws.ts';
import { runNodegroupCommand } from '../src/lifecycle/nodegroup-command.ts';

await main(() => runNodegroupCommand(process.argv.slice(2), { clients: lifecycleClients(), runner: processRunner, env: process.env, log: stderrLog }));
