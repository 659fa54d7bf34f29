// Max pods per EC2 instance type, computed from EC2 DescribeInstanceTypes at build time and shipped in the image
// as /etc/eks/eni-max-pods.txt, where bootstrap.sh looks up the kubelet's maxPods for the node's instance type.
//
// Rules (checked against the EKS max-pods calculator, templates/al2/runtime/max-pods-calculator.sh in
// awslabs/amazon-eks-ami, and the published eni-max-pods.txt):
//   - Only the default network card's interfaces carry pod IPs: ENIs = NetworkCards[DefaultNetworkCardIndex]
//     .MaximumNetworkInterfaces (p4d.24xlarge: 15, not the 60 across all cards; published value 737).
//   - Secondary-IP mode: ENIs × (IPv4 addresses per ENI − 1) + 2. The first address of each ENI is the ENI's own;
//     +2 covers the host-network pods (VPC CNI, kube-proxy). Not capped: the published table is not either.
//   - Prefix delegation (VPC CNI ≥ 1.9): each secondary slot holds a /28 prefix (16 addresses), so
//     ENIs × ((IPv4 per ENI − 1) × 16) + 2 — only on instances whose Hypervisor is "nitro"; others (Xen, and bare
//     metal, which reports no hypervisor) keep the secondary-IP number, as the calculator does.
//     The result is capped at the EKS recommendation: 250 when the instance has more than 30 vCPUs, else 110.
//     (The calculator tests `vCPUs > 30`; a type with exactly 30 vCPUs gets 110. No current type has 30.)
import type { DescribeInstanceTypesCommandInput, EC2Client, InstanceTypeInfo } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../aws/sdk.ts';
import { ResolutionError } from '../errors.ts';

const describeInstanceTypes = (input: DescribeInstanceTypesCommandInput) => new (ec2Sdk().DescribeInstanceTypesCommand)(input);

export interface MaxPodsRow {
  instanceType: string;
  /** Interfaces on the default network card. */
  enis: number;
  ipv4PerEni: number;
  vcpus: number;
  nitro: boolean;
  /** Secondary-IP mode (the VPC CNI default). */
  maxPods: number;
  /** With VPC CNI prefix delegation, capped at 110/250. */
  maxPodsWithPrefixDelegation: number;
}

export const IPS_PER_PREFIX = 16;
export const HOST_NETWORK_PODS = 2;
export const POD_CAP_SMALL = 110;
export const POD_CAP_LARGE = 250;
/** Instances with more vCPUs than this get the larger cap. */
export const LARGE_CAP_ABOVE_VCPUS = 30;

/** Every instance type the region offers (all pages), with its pod limits. Types without network info are left out. */
export async function maxPodsTable(ec2: EC2Client): Promise<MaxPodsRow[]> {
  const rows: MaxPodsRow[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ec2.send(describeInstanceTypes({ MaxResults: 100, NextToken: nextToken }));
    for (const info of page.InstanceTypes ?? []) {
      const row = maxPodsRow(info);
      if (row) rows.push(row);
    }
    nextToken = page.NextToken || undefined;
  } while (nextToken);
  if (rows.length === 0) {
    throw new ResolutionError(
      'EC2 DescribeInstanceTypes returned no instance types with network information, so eni-max-pods.txt cannot be made. Check the region and the EC2 endpoint.',
    );
  }
  return rows.sort((a, b) => compareText(a.instanceType, b.instanceType));
}

/** Pod limits of one instance type, or undefined when EC2 gives no usable network numbers for it. */
export function maxPodsRow(info: InstanceTypeInfo): MaxPodsRow | undefined {
  const net = info.NetworkInfo;
  if (!info.InstanceType || !net) return undefined;
  const defaultCard = net.DefaultNetworkCardIndex ?? 0;
  const card = net.NetworkCards?.find((c) => (c.NetworkCardIndex ?? 0) === defaultCard);
  const enis = card?.MaximumNetworkInterfaces ?? net.MaximumNetworkInterfaces;
  const ipv4PerEni = net.Ipv4AddressesPerInterface;
  if (!enis || !ipv4PerEni) return undefined;
  const vcpus = info.VCpuInfo?.DefaultVCpus ?? 0;
  const nitro = info.Hypervisor === 'nitro';
  const maxPods = enis * (ipv4PerEni - 1) + HOST_NETWORK_PODS;
  const uncapped = nitro ? enis * ((ipv4PerEni - 1) * IPS_PER_PREFIX) + HOST_NETWORK_PODS : maxPods;
  const cap = vcpus > LARGE_CAP_ABOVE_VCPUS ? POD_CAP_LARGE : POD_CAP_SMALL;
  return {
    instanceType: info.InstanceType,
    enis,
    ipv4PerEni,
    vcpus,
    nitro,
    maxPods,
    maxPodsWithPrefixDelegation: Math.min(uncapped, cap),
  };
}

export interface MaxPodsSource {
  /** Region whose DescribeInstanceTypes answer produced the rows. */
  region: string;
  /** When it was asked; only the UTC day is written, so rebuilding the same day gives the same file. */
  date: Date;
}

/**
 * The text of eni-max-pods.txt: `#` header lines, then `<instance type> <max pods> <max pods with prefix delegation>`
 * per line, sorted by instance type (code-point order, independent of locale). bootstrap.sh reads columns 1 and 2.
 */
export function formatMaxPodsTable(rows: readonly MaxPodsRow[], source: MaxPodsSource): string {
  const day = source.date.toISOString().slice(0, 10);
  const header = [
    `# Generated from EC2 DescribeInstanceTypes in ${source.region} on ${day}. Read by /etc/eks/bootstrap.sh.`,
    '# Pods per node the VPC CNI can give addresses to, on the default network card:',
    '#   max pods:                 ENIs * (IPv4 addresses per ENI - 1) + 2',
    `#   with prefix delegation:   ENIs * ((IPv4 addresses per ENI - 1) * ${IPS_PER_PREFIX}) + 2 on Nitro instances,`,
    `#                             capped at ${POD_CAP_SMALL} (up to ${LARGE_CAP_ABOVE_VCPUS} vCPUs) or ${POD_CAP_LARGE} (more vCPUs)`,
    '# <instance type> <max pods> <max pods with prefix delegation>',
  ];
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const row of [...rows].sort((a, b) => compareText(a.instanceType, b.instanceType))) {
    if (seen.has(row.instanceType)) continue;
    seen.add(row.instanceType);
    lines.push(`${row.instanceType} ${row.maxPods} ${row.maxPodsWithPrefixDelegation}`);
  }
  return `${[...header, ...lines].join('\n')}\n`;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
