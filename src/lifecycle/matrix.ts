// The image matrix (data/matrix.json): supported Kubernetes minors × RHEL majors × architectures × variants.
// `make matrix` prints the cells for GitHub Actions, `make all` builds them, the sweep groups images by them.
// Minors past EKS extended support are left out of "supported" unless asked for; each cell says which kube-proxy
// modes an EKS cluster of its minor can run on its image (data/kube-proxy-modes.json).
import { readFileSync } from 'node:fs';
import { usableKubeProxyModes } from '../data/kube-proxy.ts';
import { minorLifecycle, supportedMinors } from '../data/minors.ts';
import { ConfigError, UserError, EXIT } from '../errors.ts';
import { repoPath } from '../paths.ts';
import { declarations } from '../variables/declarations.ts';

export interface Cell {
  k8s: string;
  rhel_version: number;
  arch: 'x86_64' | 'arm64';
  variant: string;
}

/** A cell with a stable name, as printed by `make matrix` (the name is used for logs and artifacts). */
export interface NamedCell extends Cell {
  name: string;
  /** kube-proxy modes a node from this image can run in an EKS cluster of this minor (iptables always). */
  eks_kube_proxy_modes: string[];
}

/** How "supported" is read: `today` (the caller's clock) leaves out minors past EKS extended support. */
export interface MatrixOptions {
  today?: Date;
  /** Keep minors past EKS extended support (`make matrix include_unsupported=true`). */
  includeUnsupported?: boolean;
}

/** Minors of data/kubernetes-minors.json past EKS extended support on `today`: the matrix leaves them out by default. */
export const unsupportedMinors = (today: Date): string[] => supportedMinors().filter((m) => minorLifecycle(m, today).status === 'past extended support');

export interface MatrixDocument {
  kubernetes: 'supported' | string[];
  rhel_versions: number[];
  arches: string[];
  variants: string[];
  exclude?: Partial<Cell>[];
  include?: Cell[];
}

export const MATRIX_FILE = 'data/matrix.json';
const CELL_KEYS = ['k8s', 'rhel_version', 'arch', 'variant'] as const;

export const cellName = (c: Cell): string => `${c.k8s}-rhel${c.rhel_version}-${c.arch}-${c.variant}`;

/** The build arguments of a cell: `scripts/build.ts <minor> rhel_version=… arch=… variant=…`. */
export const cellBuildWords = (c: Cell): string[] => [c.k8s, `rhel_version=${c.rhel_version}`, `arch=${c.arch}`, `variant=${c.variant}`];

export function loadMatrixDocument(path = repoPath(MATRIX_FILE)): MatrixDocument {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as MatrixDocument;
  } catch (error) {
    throw new UserError(`${path} is not readable JSON: ${(error as Error).message}`, EXIT.config);
  }
}

/** Expand the document into cells, checking every value against what a build accepts. */
export function expandMatrix(doc: MatrixDocument, options: MatrixOptions = {}): NamedCell[] {
  const problems: string[] = [];
  const minors = supportedMinors();
  const leftOut = options.today && !options.includeUnsupported ? unsupportedMinors(options.today) : [];
  const k8s = doc.kubernetes === 'supported' ? minors.filter((m) => !leftOut.includes(m)) : doc.kubernetes;
  if (!Array.isArray(k8s) || k8s.length === 0) problems.push('kubernetes must be "supported" or a non-empty list of minors');
  const rhelAllowed = declarations.rhel_version.enum as readonly number[];
  const archAllowed = declarations.arch.enum as readonly string[];
  const variantAllowed = declarations.variant.enum as readonly string[];
  const check = (what: string, values: unknown, allowed: readonly unknown[]) => {
    if (!Array.isArray(values) || values.length === 0) return problems.push(`${what} must be a non-empty list`);
    for (const v of values) if (!allowed.includes(v)) problems.push(`${what}: ${JSON.stringify(v)} is not one of ${allowed.join(', ')}`);
  };
  check('kubernetes', k8s, minors);
  check('rhel_versions', doc.rhel_versions, rhelAllowed);
  check('arches', doc.arches, archAllowed);
  check('variants', doc.variants, variantAllowed);
  for (const cell of doc.include ?? []) {
    for (const key of CELL_KEYS) if (cell[key] === undefined) problems.push(`include entry ${JSON.stringify(cell)} lacks ${key}`);
    check('include k8s', [cell.k8s], minors);
    check('include rhel_version', [cell.rhel_version], rhelAllowed);
    check('include arch', [cell.arch], archAllowed);
    check('include variant', [cell.variant], variantAllowed);
  }
  for (const entry of doc.exclude ?? []) {
    const unknown = Object.keys(entry).filter((k) => !(CELL_KEYS as readonly string[]).includes(k));
    if (unknown.length || Object.keys(entry).length === 0) problems.push(`exclude entry ${JSON.stringify(entry)} must use only ${CELL_KEYS.join(', ')}`);
  }
  if (problems.length) throw new UserError(`${MATRIX_FILE} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`, EXIT.config);

  const cells: Cell[] = [];
  for (const minor of [...k8s].sort(compareMinor)) {
    for (const rhel of doc.rhel_versions) {
      for (const arch of doc.arches) {
        for (const variant of doc.variants) cells.push({ k8s: minor, rhel_version: rhel, arch: arch as Cell['arch'], variant });
      }
    }
  }
  const excluded = (c: Cell) => (doc.exclude ?? []).some((e) => CELL_KEYS.every((k) => e[k] === undefined || e[k] === c[k]));
  const kept = cells.filter((c) => !excluded(c));
  for (const extra of doc.include ?? []) if (!kept.some((c) => cellName(c) === cellName(extra))) kept.push(extra);
  return kept.map((c) => ({ k8s: c.k8s, rhel_version: c.rhel_version, arch: c.arch, variant: c.variant, name: cellName(c), eks_kube_proxy_modes: usableKubeProxyModes(c.rhel_version, c.k8s) }));
}

export const loadMatrix = (path?: string, options: MatrixOptions = {}): NamedCell[] => expandMatrix(loadMatrixDocument(path), options);

/** Cells selected by name=value filters (k8s=1.28,1.29 rhel_version=9 arch=arm64 variant=standard). */
export interface CellFilter {
  k8s: string[];
  rhel_version: string[];
  arch: string[];
  variant: string[];
}

/** `today`, when given, explains a selection of minors the matrix left out for being past EKS extended support. */
export function filterCells(cells: NamedCell[], filter: CellFilter, today?: Date): NamedCell[] {
  const selected = cells.filter((c) => CELL_KEYS.every((k) => filter[k].length === 0 || filter[k].includes(String(c[k]))));
  if (selected.length === 0) {
    const shown = CELL_KEYS.filter((k) => filter[k].length).map((k) => `${k}=${filter[k].join(',')}`).join(' ');
    const past = today ? filter.k8s.filter((m) => unsupportedMinors(today).includes(m)) : [];
    const hint = past.length
      ? `${past.map((m) => `Kubernetes ${m} left EKS extended support on ${minorLifecycle(m, today!).end_of_extended_support}`).join('; ')}, so the matrix leaves it out: add include_unsupported=true to build it anyway.`
      : "Run 'make matrix' to list the cells.";
    throw new ConfigError('cell filter', shown, `a selection of at least one cell of ${MATRIX_FILE}`, hint);
  }
  return selected;
}

function compareMinor(a: string, b: string): number {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
}
