#!/usr/bin/env tsx
// `make nodegroup cluster=C ami=ami-… [node_role=arn:…] [format=cloudformation|eksctl|karpenter] [apply=true] …`:
// write a managed node group on the image (launch template with IMDSv2 only, encrypted root volume on the
// image's root device, user data running /etc/eks/bootstrap.sh with the cluster's endpoint and CA), or a Karpenter
// v1 EC2NodeClass with NodeConfig user data, to build/nodegroup/, and with apply=true create it (CloudFormation
// CreateStack, `eksctl create nodegroup`, or `kubectl apply`).
import { main, stderrLog } from '../src/cli/main.ts';
import { processRunner } from '../src/process/run.ts';
import { lifecycleClients } from '../src/aws/lifecycle-clients.ts';
import { runNodegroupCommand } from '../src/lifecycle/nodegroup-command.ts';

await main(() => runNodegroupCommand(process.argv.slice(2), { clients: lifecycleClients(), runner: processRunner, env: process.env, log: stderrLog }));
