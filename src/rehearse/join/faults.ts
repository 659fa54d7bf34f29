// Broken nodes the join must refuse, each with the cause its failure has to name. A fault changes a copy of the
// image's root (never the build's own), the kernel modules the node boots with, or the CA bootstrap.sh is given.
// The rehearsal's tests use them (src/rehearse/rehearse.ts `joinFaults`); they are not a command-line option.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../paths.ts';
import { runSync } from '../../process/run.ts';
import sourcesJson from '../../../data/upstream-sources.json' with { type: 'json' };
import { ensureUpstream } from '../../upstream/index.ts';
import type { ExtraFile } from './node-disk.ts';
import { createCertificateAuthority } from './pki.ts';

export const JOIN_FAULTS = ['pause-not-cached', 'wrong-ca', 'containerd-1.5', 'containerd-1.7', 'ipvs-module-missing'] as const;
export type JoinFault = (typeof JOIN_FAULTS)[number];

export interface FaultedNode {
  /** The root the node boots (a changed copy, or the build's own when the fault lies elsewhere). */
  rootfs: string;
  extraFiles: ExtraFile[];
  /** The CA bootstrap.sh is given instead of the cluster's. */
  caB64?: string;
}

/**
 * What each fault must lead to: a join that fails naming the cause a user needs to see. Of the two older
 * containerd releases, 1.5 cannot work with the kubelet at all (it serves only the v1alpha2 CRI); 1.7 under kubelet
 * 1.36, which the build refuses, is reported as what the real binaries do: kubelet 1.36.3 still starts, falling
 * back to its own cgroupDriver, and the join warns that the runtime lacks the CRI RuntimeConfig call.
 */
export const FAULT_EXPECTATIONS: Record<JoinFault, { joins: boolean; says: RegExp }> = {
  // containerd pulls the sandbox image without credentials; the ECR stand-in answers 401 as ECR does.
  'pause-not-cached': { joins: false, says: /no basic auth credentials|401|[Uu]nauthorized/ },
  'wrong-ca': { joins: false, says: /x509: certificate signed by unknown authority/ },
  // The kubelet speaks only the v1 CRI (since 1.26); containerd 1.5 answers only v1alpha2, and the kubelet exits.
  'containerd-1.5': { joins: false, says: /does not serve the CRI v1 API.*unknown service runtime\.v1\.RuntimeService/ },
  'containerd-1.7': { joins: true, says: /does not implement the CRI RuntimeConfig call/ },
  'ipvs-module-missing': { joins: false, says: /can't use the IPVS proxier/ },
};

/** A writable copy of the image's root (reflinked where the file system can). */
function copyRoot(rootfs: string, work: string): string {
  const copy = join(work, 'faulted-rootfs');
  rmSync(copy, { recursive: true, force: true });
  const result = runSync('cp', ['-a', '--reflink=auto', rootfs, copy]);
  if (result.exitCode !== 0) throw new Error(`could not copy the image's root for a fault: ${result.stderr}`);
  return copy;
}

export async function applyFault(
  fault: JoinFault,
  input: { rootfs: string; work: string; kernelRelease: string; pauseImage: string; log?: (line: string) => void },
): Promise<FaultedNode> {
  mkdirSync(input.work, { recursive: true });
  switch (fault) {
    case 'pause-not-cached': {
      // An image built without sandbox-image.sh: no pause image in containerd's store and no export of it.
      const root = copyRoot(input.rootfs, input.work);
      rmSync(join(root, 'var/lib/containerd'), { recursive: true, force: true });
      mkdirSync(join(root, 'var/lib/containerd'), { mode: 0o711 });
      rmSync(join(root, 'etc/eks/pause-image.tar'), { force: true });
      return { rootfs: root, extraFiles: [] };
    }
    case 'wrong-ca': {
      const other = await createCertificateAuthority(join(input.work, 'other-ca'), 'unrelated-ca');
      return { rootfs: input.rootfs, extraFiles: [], caB64: readFileSync(other.certFile).toString('base64') };
    }
    case 'containerd-1.5':
    case 'containerd-1.7':
      return { rootfs: await withOtherContainerd(input, sourcesJson.joinFaults[fault]), extraFiles: [] };
    case 'ipvs-module-missing': {
      // The round-robin scheduler is neither in the image's list nor among the kernel's modules (as on an image
      // without the package that carries it): the kernel cannot load it on demand either, as it otherwise would.
      const root = copyRoot(input.rootfs, input.work);
      const list = join(root, 'etc/modules-load.d/ipvs.conf');
      if (existsSync(list)) writeFileSync(list, readFileSync(list, 'utf8').replace(/^ip_vs_rr\n/m, ''));
      const module = `/lib/modules/${input.kernelRelease}/kernel/net/netfilter/ipvs/ip_vs_rr.ko`;
      return { rootfs: root, extraFiles: [{ path: module, content: '' }] };
    }
  }
}

/**
 * A Kubernetes 1.36+ image given an older containerd than the build allows (containerd1LastMinor refuses 1.x):
 * its binaries, and the configuration schema containerd.sh renders for 1.x (version 2, read by 1.5 and 1.7 alike).
 */
async function withOtherContainerd(
  input: { rootfs: string; work: string; pauseImage: string; log?: (line: string) => void },
  version: string,
): Promise<string> {
  const root = copyRoot(input.rootfs, input.work);
  // Built from the module proxy on first use (about a minute), then cached like the build's own binaries.
  const old = await ensureUpstream('containerd', version, { log: input.log });
  for (const name of ['containerd', 'containerd-shim-runc-v2', 'ctr']) cpSync(old.binaries[name], join(root, 'usr/bin', name));
  const template = readFileSync(repoPath('rootfs', 'etc', 'containerd', 'config-1.7.toml.tmpl'), 'utf8');
  writeFileSync(join(root, 'etc/containerd/config.toml'), template.replaceAll('@PAUSE_IMAGE@', input.pauseImage));
  // containerd 1.x cannot read 2.x's metadata store: the pause image comes back from the build's export.
  rmSync(join(root, 'var/lib/containerd'), { recursive: true, force: true });
  mkdirSync(join(root, 'var/lib/containerd'), { mode: 0o711 });
  return root;
}
