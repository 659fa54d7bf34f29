// Typed access to the data files under data/. Code reads facts from here; the facts live in JSON.
import partitionsJson from '../../data/partitions.json' with { type: 'json' };
import ipvsJson from '../../data/ipvs.json' with { type: 'json' };
import minorsJson from '../../data/kubernetes-minors.json' with { type: 'json' };
import archJson from '../../data/instance-architectures.json' with { type: 'json' };

export interface RegionInfo {
  ecrAccount?: string;
  ecrFips?: boolean;
}

export interface PartitionInfo {
  dnsSuffix: string;
  redHatOwner: string | null;
  defaultEcrAccount: string;
  regions: Record<string, RegionInfo>;
}

export const partitions = partitionsJson.partitions as Record<string, PartitionInfo>;
export const ipvs: { modules: string[]; schedulers: string[] } = ipvsJson;
export const kubernetesMinors = minorsJson.minors as Record<string, Record<string, unknown>>;
export const instanceArchitectures: {
  arm64FamilyPattern: string;
  arm64Families: string[];
  x86_64Families: string[];
  defaultInstanceType: Record<'x86_64' | 'arm64', string>;
} = archJson;
