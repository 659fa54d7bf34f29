// The cell-selecting options shared by `make matrix` and `make all` (k8s=… rhel_version=… arch=… variant=…).
import type { CellFilter } from './matrix.ts';
import type { OptionSpecs } from './options.ts';

export const cellFilterOptions = {
  k8s: { kind: 'list', default: [], pattern: '[0-9]+\\.[0-9]+', format: 'Kubernetes minors such as 1.28', description: 'Only these Kubernetes minors' },
  rhel_version: { kind: 'list', default: [], pattern: '[0-9]+', format: 'RHEL majors', description: 'Only these RHEL majors' },
  arch: { kind: 'list', default: [], pattern: 'x86_64|arm64', format: 'x86_64 or arm64', description: 'Only these architectures' },
  variant: { kind: 'list', default: [], pattern: '[a-z0-9-]+', format: 'variant names', description: 'Only these variants' },
  include_unsupported: { kind: 'boolean', default: false, description: 'Keep Kubernetes minors past EKS extended support (left out by default)' },
} satisfies OptionSpecs;

export function cellFilterFrom(values: { k8s: string[]; rhel_version: string[]; arch: string[]; variant: string[] }, positional: string[] = []): CellFilter {
  return { k8s: [...values.k8s, ...positional], rhel_version: values.rhel_version, arch: values.arch, variant: values.variant };
}
