// Which kube-proxy modes an image is ready for and which an EKS cluster's kube-proxy add-on offers, from
// data/kube-proxy-modes.json. An image's readiness depends only on its RHEL major (the kernel and nft it ships);
// what EKS offers depends only on the cluster's minor. A node can run the modes in both.
import { kubeProxy } from './catalog.ts';
import { compareVersions } from './minors.ts';

/** Modes the image of a RHEL major is ready for, as plan.json and the kube_proxy_modes AMI tag list them. */
export function imageKubeProxyModes(rhelVersion: number): string[] {
  const modes = kubeProxy.imageModes[String(rhelVersion)];
  if (!modes) throw new Error(`data/kube-proxy-modes.json lists no imageModes for RHEL ${rhelVersion}`);
  return [...modes];
}

/** Modes the EKS kube-proxy add-on of a Kubernetes minor accepts (iptables, its default, always). */
export function eksAddonModes(minor: string): string[] {
  return Object.entries(kubeProxy.eksAddon)
    .filter(([, r]) => (r.first === null || compareVersions(minor, r.first) >= 0) && (r.last === null || compareVersions(minor, r.last) <= 0))
    .map(([mode]) => mode);
}

/** Modes a node from this image can run in an EKS cluster of this minor: iptables, plus each mode both support. */
export function usableKubeProxyModes(rhelVersion: number, minor: string): string[] {
  const image = new Set(['iptables', ...imageKubeProxyModes(rhelVersion)]);
  return eksAddonModes(minor).filter((mode) => image.has(mode));
}

export const nftablesRequirements = (): { minKernel: string; minNft: string } => ({ ...kubeProxy.nftables });
