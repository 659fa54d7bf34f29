// `make sweep`: keep the newest `keep` builds of every cell, deregister the older images and delete their
// snapshots in every region they were copied to. An image is never touched while anything refers to it: a launch
// template (any version, including `resolve:ssm:` image ids), a launch configuration, an auto scaling group, an
// EKS managed node group, or an SSM parameter under the published prefix. A dry run unless apply=true.
//
// Cells are recognised by the tags every build writes (src/render/render.ts amiTags): kubernetes_version,
// rhel_release, arch, variant. Images without them are not ours and are never considered.
//
// This file is the planning: pure, given an inventory (sweep-inventory.ts reads it from AWS) it decides what
// stays, what goes and why; sweep-apply.ts carries the plan out.
import { cellName, type Cell, type CellFilter } from './matrix.ts';

export interface SweptImage {
  region: string;
  imageId: string;
  name: string;
  created: string;
  cell: Cell;
  snapshots: string[];
}

/** Why an image must stay: "launch template lt-… (name) version 2", "SSM parameter /…/image_id", … */
export type References = Map<string, string[]>;

export interface Inventory {
  images: SweptImage[];
  /** Images owned by the account that carry no cell tags (never touched), per region. */
  untagged: number;
  /** Snapshot id → image ids (any image of ours, tagged or not) that use it, per region: `${region}/${snap}`. */
  snapshotUsers: Map<string, string[]>;
  references: References;
}

export interface BuildGroup {
  /** The AMI name, shared by the copies of one build in every region. */
  name: string;
  created: string;
  images: SweptImage[];
}

export interface CellPlan {
  cell: Cell;
  keep: BuildGroup[];
  /** Older images held back because something refers to them. */
  protectedImages: { image: SweptImage; reasons: string[] }[];
  remove: { image: SweptImage; snapshots: string[]; sharedSnapshots: string[] }[];
}

export interface SweepPlan {
  keep: number;
  regions: string[];
  cells: CellPlan[];
  untagged: number;
}

export const refKey = (region: string, imageId: string) => `${region}/${imageId}`;
/** Reference key standing for every image of a region (a reference that could not be resolved). */
export const ANY_IMAGE = '*';

export function cellOfTags(tags: Record<string, string>): Cell | undefined {
  const { kubernetes_version: version, rhel_release: release, arch, variant } = tags;
  if (!version || !release || !arch || !variant) return undefined;
  const minor = /^([0-9]+\.[0-9]+)\./.exec(version)?.[1];
  const rhel = Number(/^([0-9]+)/.exec(release)?.[1]);
  if (!minor || !Number.isInteger(rhel) || (arch !== 'x86_64' && arch !== 'arm64')) return undefined;
  return { k8s: minor, rhel_version: rhel, arch, variant };
}

export const matchesFilter = (cell: Cell, filter: CellFilter): boolean =>
  (['k8s', 'rhel_version', 'arch', 'variant'] as const).every((k) => filter[k].length === 0 || filter[k].includes(String(cell[k])));

/** Decide, without touching AWS: per cell, the newest `keep` builds stay; older images go unless referenced. */
export function planSweep(inventory: Inventory, keep: number, regions: string[], filter?: CellFilter): SweepPlan {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be ≥ 1, got ${keep}`);
  const byCell = new Map<string, { cell: Cell; builds: Map<string, BuildGroup> }>();
  for (const image of inventory.images) {
    if (filter && !matchesFilter(image.cell, filter)) continue;
    const key = cellName(image.cell);
    const entry = byCell.get(key) ?? { cell: image.cell, builds: new Map() };
    byCell.set(key, entry);
    const build = entry.builds.get(image.name) ?? { name: image.name, created: image.created, images: [] };
    build.images.push(image);
    if (image.created > build.created) build.created = image.created;
    entry.builds.set(image.name, build);
  }
  const removing = new Set<string>();
  const cells: CellPlan[] = [];
  for (const [, { cell, builds }] of [...byCell].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))) {
    const ordered = [...builds.values()].sort((a, b) => b.created.localeCompare(a.created) || b.name.localeCompare(a.name));
    const plan: CellPlan = { cell, keep: ordered.slice(0, keep), protectedImages: [], remove: [] };
    for (const build of ordered.slice(keep)) {
      for (const image of build.images) {
        const reasons = [
          ...(inventory.references.get(refKey(image.region, image.imageId)) ?? []),
          ...(inventory.references.get(refKey(image.region, ANY_IMAGE)) ?? []),
        ];
        if (reasons.length) plan.protectedImages.push({ image, reasons });
        else {
          removing.add(refKey(image.region, image.imageId));
          plan.remove.push({ image, snapshots: [], sharedSnapshots: [] });
        }
      }
    }
    cells.push(plan);
  }
  // A snapshot goes only when every image using it goes (two AMIs can be registered from one snapshot).
  for (const plan of cells) {
    for (const item of plan.remove) {
      for (const snap of item.image.snapshots) {
        const users = inventory.snapshotUsers.get(`${item.image.region}/${snap}`) ?? [];
        const othersStay = users.some((id) => id !== item.image.imageId && !removing.has(refKey(item.image.region, id)));
        (othersStay ? item.sharedSnapshots : item.snapshots).push(snap);
      }
    }
  }
  return { keep, regions, cells, untagged: inventory.untagged };
}

export function describePlan(plan: SweepPlan, apply: boolean): string[] {
  const verb = apply ? 'remove' : 'would remove';
  const lines = [`Sweep of ${plan.regions.join(', ')}: keeping the newest ${plan.keep} build(s) per cell${apply ? '' : ' (dry run; apply=true removes)'}`];
  for (const cell of plan.cells) {
    lines.push(`${cellName(cell.cell)}:`);
    for (const build of cell.keep)
      lines.push(`  keep          ${build.name} (${build.created}) ${build.images.map((i) => `${i.region}:${i.imageId}`).join(' ')}`);
    for (const { image, reasons } of cell.protectedImages) lines.push(`  keep (in use) ${image.name} ${image.region}:${image.imageId}: ${reasons.join('; ')}`);
    for (const { image, snapshots, sharedSnapshots } of cell.remove) {
      lines.push(
        `  ${verb.padEnd(13)} ${image.name} ${image.region}:${image.imageId}` +
          (snapshots.length ? ` and snapshots ${snapshots.join(', ')}` : '') +
          (sharedSnapshots.length ? ` (keeping shared snapshots ${sharedSnapshots.join(', ')})` : ''),
      );
    }
  }
  const total = plan.cells.reduce((n, c) => n + c.remove.length, 0);
  lines.push(
    `${total} image(s) to remove, ${plan.cells.reduce((n, c) => n + c.protectedImages.length, 0)} older image(s) kept because they are in use${plan.untagged ? `, ${plan.untagged} image(s) without cell tags ignored` : ''}.`,
  );
  return lines;
}
