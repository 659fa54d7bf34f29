// Files the build generates for the image from data/ (one source for the host side and the node): the ECR
// account table bootstrap.sh reads, and the kubelet image credential provider configuration. render.ts writes
// them into generated/; provisioners/rootfs.sh installs them.
import credentialProviderJson from '../../data/ecr-credential-provider.json' with { type: 'json' };
import { partitions } from '../data/catalog.ts';
import { compareVersions } from '../data/minors.ts';

export const ECR_ACCOUNTS_FILE = 'ecr-accounts.txt';
export const CREDENTIAL_PROVIDER_CONFIG_FILE = 'ecr-credential-provider-config.json';

interface MatchImage {
  pattern: string;
  sinceKubernetes?: string;
}

/** `<region> <account>` for every region of data/partitions.json, sorted by region. */
export function ecrAccountsFile(): string {
  const lines = Object.values(partitions)
    .flatMap((p) => Object.entries(p.regions).map(([region, info]) => `${region} ${info.ecrAccount ?? p.defaultEcrAccount}`))
    .sort();
  return [
    '# ECR account serving EKS images (pause, kube-proxy, VPC CNI) per region, read by /etc/eks/bootstrap.sh.',
    '# Generated at build time from data/partitions.json; do not edit on the image.',
    '# <region> <account>',
    ...lines,
    '',
  ].join('\n');
}

/** The registries the ecr-credential-provider shipped for this Kubernetes minor can authenticate. */
export function credentialProviderMatchImages(kubernetesMinor: string): string[] {
  return (credentialProviderJson.matchImages as MatchImage[])
    .filter((m) => !m.sinceKubernetes || compareVersions(kubernetesMinor, m.sinceKubernetes) >= 0)
    .map((m) => m.pattern);
}

/** /etc/eks/image-credential-provider/config.json for kubelet (CredentialProviderConfig v1). */
export function credentialProviderConfig(kubernetesMinor: string): string {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1',
    kind: 'CredentialProviderConfig',
    providers: [
      {
        name: 'ecr-credential-provider',
        apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
        defaultCacheDuration: credentialProviderJson.defaultCacheDuration,
        matchImages: credentialProviderMatchImages(kubernetesMinor),
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Every generated image file of a build, by file name under generated/. */
export function imageFiles(kubernetesMinor: string): Record<string, string> {
  return {
    [ECR_ACCOUNTS_FILE]: ecrAccountsFile(),
    [CREDENTIAL_PROVIDER_CONFIG_FILE]: credentialProviderConfig(kubernetesMinor),
  };
}
