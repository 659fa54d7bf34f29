// Supported Kubernetes minors and their per-minor defaults (data/kubernetes-minors.json).
import { kubernetesMinors } from './catalog.ts';

export const supportedMinors = (): string[] => Object.keys(kubernetesMinors).sort(compareVersions);

export function minorDefaults(minor: string): Record<string, unknown> {
  return structuredClone(kubernetesMinors[minor] ?? {});
}

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
