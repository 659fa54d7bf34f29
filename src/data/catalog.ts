// Typed access to the data files under data/. Code reads facts from here; the facts live in JSON.
import partitionsJson from '../../data/partitions.json' with { type: 'json' };
import ipvsJson from '../../data/ipvs.json' with { type: 'json' };
import minorsJson from '../../data/kubernetes-minors.json' with { type: 'json' };
import archJson from '../../data/instance-architectures.json' with { type: 'json' };
import sourceImagesJson from '../../data/source-images.json' with { type: 'json' };
import kubeProxyJson from '../../data/kube-proxy-modes.json' with { type: 'json' };

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
/** EKS lifecycle of a minor (YYYY-MM-DD, null while EKS has not announced it). */
export interface EksLifecycle {
  released: string | null;
  end_of_standard_support: string | null;
  end_of_extended_support: string | null;
}

export interface MinorInfo {
  eks: EksLifecycle;
  /** Build variables this minor changes from the built-in defaults (the per-minor layer). */
  defaults: Record<string, unknown>;
  /** Versions built from Go source for this minor (`make upstream`); absent where the module proxy lacks its source. */
  upstream?: UpstreamVersions;
}

/** Component versions of a minor's `upstream` block, without the leading v. */
export interface UpstreamVersions {
  kubernetes: string;
  cloudProviderAws: string;
  criTools: string;
  etcd: string;
  awsIamAuthenticator: string;
}

export const kubernetesMinors = minorsJson.minors as Record<string, MinorInfo>;
/** The last minor whose kubelet still runs with containerd 1.x. */
export const containerd1LastMinor: string = minorsJson.containerd1LastMinor;
export const instanceArchitectures: {
  arm64FamilyPattern: string;
  arm64Families: string[];
  x86_64Families: string[];
  defaultInstanceType: Record<'x86_64' | 'arm64', string>;
} = archJson;

/** Red Hat's image naming (data/source-images.json): the default name filter and the kinds set aside unless asked for. */
export const sourceImages: {
  defaultNameFilter: string;
  setAside: { kind: string; name: string; marker: string }[];
} = sourceImagesJson;

/** kube-proxy modes (data/kube-proxy-modes.json): what each RHEL major's image is ready for, what EKS's add-on offers per minor. */
export const kubeProxy: {
  imageModes: Record<string, string[]>;
  nftables: { minKernel: string; minNft: string };
  eksAddon: Record<string, { first: string | null; last: string | null }>;
} = kubeProxyJson;
