// Questions about regions and partitions, answered from data/partitions.json.
import { partitions, type PartitionInfo } from './catalog.ts';

export interface RegionFacts {
  region: string;
  partition: string;
  /** Domain of S3 and ECR endpoints in this partition (amazonaws.com, c2s.ic.gov, …). */
  dnsSuffix: string;
  /** Account whose ECR repositories serve EKS images (pause, kube-proxy, VPC CNI) in this region. */
  ecrAccount: string;
  ecrFips: boolean;
  redHatOwner: string | null;
}

export const allRegions = (): string[] => Object.values(partitions).flatMap((p) => Object.keys(p.regions));

export function partitionOf(region: string): string | undefined {
  return Object.entries(partitions).find(([, p]) => region in p.regions)?.[0];
}

export function regionFacts(region: string): RegionFacts | undefined {
  const partition = partitionOf(region);
  if (!partition) return undefined;
  const info: PartitionInfo = partitions[partition];
  const r = info.regions[region];
  return {
    region,
    partition,
    dnsSuffix: info.dnsSuffix,
    ecrAccount: r.ecrAccount ?? info.defaultEcrAccount,
    ecrFips: r.ecrFips === true,
    redHatOwner: info.redHatOwner,
  };
}

export function regionsOf(partition: string): string[] {
  return Object.keys(partitions[partition]?.regions ?? {});
}

/** ECR registry host for EKS images in a region: <account>.dkr.ecr[-fips].<region>.<suffix>. */
export function eksRegistry(facts: RegionFacts, fips = false): string {
  return `${facts.ecrAccount}.dkr.${fips && facts.ecrFips ? 'ecr-fips' : 'ecr'}.${facts.region}.${facts.dnsSuffix}`;
}
