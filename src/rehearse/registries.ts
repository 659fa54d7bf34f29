// The registries a rehearsal's instance and node pull from, served by one stand-in on this machine's end of the
// target's network, port 443 (the target and the node resolve the names to it through /etc/hosts and trust the
// rehearsal's CA, the way an instance trusts the public CAs that sign ECR's certificates):
// - the build region's EKS ECR registry, eks/pause: private, as every ECR repository is: anonymous pulls get 401,
//   the password `aws ecr get-login-password` returns with the instance role is accepted (sandbox-image.sh);
// - public.ecr.aws/eks-distro/kubernetes/pause: public, the commercial fallback of a build without a role;
// - registry.k8s.io/e2e-test-images/agnhost: public, the joined node's test pod.
// The pause image is compiled from the Kubernetes source the minor pins; agnhost is built with it (src/upstream/).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { regionFacts } from '../data/partitions.ts';
import { pauseImageOf } from '../plan/plan.ts';
import type { BuildVariables } from '../variables/declarations.ts';
import type { BuiltComponents } from '../upstream/index.ts';
import { buildPauseImage, buildPodImage, kubernetesSource } from './join/images.ts';
import type { ClusterPki } from './join/pki.ts';
import { RegistryStandIn } from './join/registry.ts';

export const PUBLIC_PAUSE_REPOSITORY = 'public.ecr.aws/eks-distro/kubernetes/pause';
export const AGNHOST_REPOSITORY = 'registry.k8s.io/e2e-test-images/agnhost';

export interface RehearsalRegistries {
  registry: RegistryStandIn;
  /** The names the registry answers for (its certificate's, and the /etc/hosts lines'). */
  hostNames: string[];
  /** The build's pause image reference (the plan's). */
  pauseImage: string;
  /** The joined node's test pod image reference. */
  podImage: string;
  /** /etc/hosts lines pointing the names at `address`. */
  hostsLines(address: string): string[];
}

/** What the rehearsal's aws stand-in returns for `ecr get-login-password` with the instance role `role`. */
export const ecrPasswordFor = (role: string): string => Buffer.from(`stand-in-ecr-token-for-role-${role}\n`).toString('base64');

/** The registry host names a build of these values pulls from, known before the PKI is made. */
export function registryHostNames(values: BuildVariables): string[] {
  const facts = regionFacts(values.aws_region);
  if (!facts) throw new Error(`unknown region ${values.aws_region}`);
  const pauseHost = pauseImageOf(values, facts).split('/')[0];
  return [...new Set([pauseHost, PUBLIC_PAUSE_REPOSITORY.split('/')[0], AGNHOST_REPOSITORY.split('/')[0]])];
}

export async function startRegistries(input: {
  values: BuildVariables;
  host: string;
  pki: ClusterPki;
  builds: BuiltComponents;
  kubernetesVersion: string;
  /** The instance (and node) role whose ECR password the private repositories accept. */
  role: string;
}): Promise<RehearsalRegistries> {
  const { values } = input;
  const facts = regionFacts(values.aws_region)!;
  const pauseImage = pauseImageOf(values, facts);
  const [pauseHost, ...pausePath] = pauseImage.split('/');
  const pauseRepository = pausePath.join('/').replace(/:[^:/]+$/, '');
  const pause = await buildPauseImage({ kubernetesVersion: input.kubernetesVersion, tag: values.pause_image_tag });
  const agnhostVersion = readFileSync(join(await kubernetesSource(input.kubernetesVersion), 'test/images/agnhost/VERSION'), 'utf8').trim();
  const agnhostBinary = input.builds.kubernetes?.binaries.agnhost;
  if (!agnhostBinary) throw new Error('the kubernetes build has no agnhost binary (data/upstream-sources.json)');
  const agnhost = buildPodImage({ binary: agnhostBinary, path: 'agnhost', entrypoint: ['/agnhost'], tag: agnhostVersion });
  const strip = (repository: string) => repository.split('/').slice(1).join('/');
  const registry = await new RegistryStandIn({
    host: input.host,
    port: 443,
    tls: input.pki.registry,
    password: ecrPasswordFor(input.role),
    realm: `https://${pauseHost}/`,
    repositories: {
      [pauseRepository]: { layout: pause.layout, private: true },
      [strip(PUBLIC_PAUSE_REPOSITORY)]: { layout: pause.layout, private: false },
      [strip(AGNHOST_REPOSITORY)]: { layout: agnhost.layout, private: false },
    },
  }).start();
  const hostNames = registryHostNames(values);
  return {
    registry,
    hostNames,
    pauseImage,
    podImage: `${AGNHOST_REPOSITORY}:${agnhostVersion}`,
    hostsLines: (address) => hostNames.map((name) => `${address} ${name}`),
  };
}
