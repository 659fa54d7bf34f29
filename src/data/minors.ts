// Supported Kubernetes minors, their per-minor defaults and their EKS lifecycle (data/kubernetes-minors.json).
// Nothing here reads the clock: callers pass today's date.
import { containerd1LastMinor, kubernetesMinors, type EksLifecycle, type UpstreamVersions } from './catalog.ts';

export const supportedMinors = (): string[] => Object.keys(kubernetesMinors).sort(compareVersions);

export function minorDefaults(minor: string): Record<string, unknown> {
  return structuredClone(kubernetesMinors[minor]?.defaults ?? {});
}

/** The versions `make upstream` builds for a minor, or undefined where its source is not served (no upstream block). */
export const minorUpstream = (minor: string): UpstreamVersions | undefined => structuredClone(kubernetesMinors[minor]?.upstream);

/** Minors whose components can be built from source, oldest first. */
export const minorsWithUpstream = (): string[] => supportedMinors().filter((m) => kubernetesMinors[m]?.upstream !== undefined);

export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');

/** Numeric comparison of dotted versions: 1.9 < 1.10, 1.28.3 < 1.28.15. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** kubelet of this minor refuses containerd 1.x (1.36 onwards). */
export const needsContainerd2 = (minor: string): boolean => compareVersions(minor, containerd1LastMinor) > 0;

/** Where a minor stands on EKS on a given day. */
export type EksStatus = 'not yet on EKS' | 'standard support' | 'extended support' | 'past extended support';

export interface MinorLifecycle extends EksLifecycle {
  minor: string;
  status: EksStatus;
}

/** The day (UTC) of a Date as YYYY-MM-DD, the form the data's dates take. */
export const isoDay = (date: Date): string => date.toISOString().slice(0, 10);

export function minorLifecycle(minor: string, today: Date): MinorLifecycle {
  const eks = kubernetesMinors[minor]?.eks ?? { released: null, end_of_standard_support: null, end_of_extended_support: null };
  const day = isoDay(today);
  // A support period ends at the end of its last day.
  const after = (date: string | null) => date !== null && day > date;
  const status: EksStatus =
    eks.released === null || day < eks.released
      ? 'not yet on EKS'
      : after(eks.end_of_extended_support)
        ? 'past extended support'
        : after(eks.end_of_standard_support)
          ? 'extended support'
          : 'standard support';
  return { minor, ...eks, status };
}

/** Minors an EKS cluster can still run (or will: not yet on EKS), i.e. not past extended support, oldest first. */
export const minorsInSupport = (today: Date): string[] => supportedMinors().filter((m) => minorLifecycle(m, today).status !== 'past extended support');

/**
 * A clear warning for a build of a minor EKS no longer runs (past extended support) or does not run yet;
 * undefined while EKS supports it. Names the date and suggests newer minors.
 */
export function lifecycleWarning(minor: string, today: Date): string | undefined {
  const life = minorLifecycle(minor, today);
  if (life.status === 'past extended support') {
    const newer = minorsInSupport(today).filter((m) => compareVersions(m, minor) > 0 && minorLifecycle(m, today).status !== 'not yet on EKS');
    const oldest = newer[0];
    const newest = newer.at(-1);
    const suggestion = oldest
      ? ` Build a newer minor: ${oldest} (EKS ${minorLifecycle(oldest, today).status} until ${endOf(minorLifecycle(oldest, today))})${newest && newest !== oldest ? ` or the newest, ${newest}` : ''}, e.g. 'make ${newest ?? oldest}'.`
      : '';
    return (
      `Kubernetes ${minor} left EKS extended support on ${life.end_of_extended_support}: EKS no longer runs clusters of this version ` +
      `(they were upgraded automatically), so nodes from this image can join none. The image is built anyway.${suggestion}`
    );
  }
  if (life.status === 'not yet on EKS') {
    return `EKS does not offer Kubernetes ${minor} yet (no EKS release date in data/kubernetes-minors.json): the image is built from the bucket's binaries, but no EKS cluster runs ${minor} until EKS releases it.`;
  }
  return undefined;
}

const endOf = (life: MinorLifecycle): string =>
  (life.status === 'extended support' ? life.end_of_extended_support : life.end_of_standard_support) ?? 'a date EKS has not announced';
