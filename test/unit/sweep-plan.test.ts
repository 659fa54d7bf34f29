// The sweep's planning, without AWS: given an inventory, which builds of each cell stay, which older images are
// held back by a reference (and why), and which images and snapshots go. The inventory reading and the
// applying run against the emulator in test/lifecycle/ssm-sweep.test.ts.
import { expect } from 'chai';
import type { Cell } from '../../src/lifecycle/matrix.ts';
import { ANY_IMAGE, cellOfTags, describePlan, planSweep, type Inventory, type SweptImage } from '../../src/lifecycle/sweep-plan.ts';

const WEST = 'us-west-2';
const EAST = 'us-east-1';
const rhel9: Cell = { k8s: '1.28', rhel_version: 9, arch: 'x86_64', variant: 'standard' };
const rhel8: Cell = { k8s: '1.28', rhel_version: 8, arch: 'x86_64', variant: 'standard' };

const image = (region: string, id: string, name: string, created: string, snapshots: string[] = [`snap-${id}`], cell = rhel9): SweptImage => ({
  region,
  imageId: id,
  name,
  created,
  cell,
  snapshots,
});

function inventoryOf(images: SweptImage[], references: [string, string[]][] = [], untagged = 0): Inventory {
  const snapshotUsers = new Map<string, string[]>();
  for (const i of images) for (const s of i.snapshots) snapshotUsers.set(`${i.region}/${s}`, [...(snapshotUsers.get(`${i.region}/${s}`) ?? []), i.imageId]);
  return { images, untagged, snapshotUsers, references: new Map(references) };
}

const removed = (plan: ReturnType<typeof planSweep>) => plan.cells.flatMap((c) => c.remove.map((r) => `${r.image.region}:${r.image.imageId}`)).sort();

describe('sweep planning (no AWS)', () => {
  it('recognises cells from build tags only', () => {
    expect(cellOfTags({ kubernetes_version: '1.28.15', rhel_release: '9.5.0', arch: 'x86_64', variant: 'standard' })).to.deep.equal(rhel9);
    expect(cellOfTags({ Name: 'someone-elses-image', arch: 'x86_64' })).to.equal(undefined);
    expect(cellOfTags({ kubernetes_version: '1.28.15', rhel_release: '9.5.0', arch: 'ppc64le', variant: 'standard' })).to.equal(undefined);
  });

  it('keeps the newest `keep` builds of each cell, a build being one AMI name in every region it was copied to', () => {
    const images = [
      image(WEST, 'ami-w3', 'b-3', '2026-03-01'),
      image(EAST, 'ami-e3', 'b-3', '2026-03-01T00:10:00Z'),
      image(WEST, 'ami-w2', 'b-2', '2026-02-01'),
      image(EAST, 'ami-e2', 'b-2', '2026-02-01'),
      image(WEST, 'ami-w1', 'b-1', '2026-01-01'),
      image(WEST, 'ami-8-2', 'c-2', '2026-02-01', undefined, rhel8),
      image(WEST, 'ami-8-1', 'c-1', '2026-01-01', undefined, rhel8),
    ];
    const plan = planSweep(inventoryOf(images), 2, [WEST, EAST]);
    expect(plan.cells.map((c) => [c.cell.rhel_version, c.keep.map((b) => b.name)])).to.deep.equal([
      [8, ['c-2', 'c-1']],
      [9, ['b-3', 'b-2']],
    ]);
    expect(removed(plan)).to.deep.equal(['us-west-2:ami-w1']);
    expect(plan.cells[1].remove[0].snapshots).to.deep.equal(['snap-ami-w1']);
    expect(removed(planSweep(inventoryOf(images), 1, [WEST, EAST]))).to.deep.equal([
      'us-east-1:ami-e2',
      'us-west-2:ami-8-1',
      'us-west-2:ami-w1',
      'us-west-2:ami-w2',
    ]);
  });

  it('holds back an older image something refers to, with the reason, in that region only', () => {
    const images = [image(WEST, 'ami-w2', 'b-2', '2026-02-01'), image(WEST, 'ami-w1', 'b-1', '2026-01-01'), image(EAST, 'ami-e1', 'b-1', '2026-01-01')];
    const plan = planSweep(inventoryOf(images, [[`${WEST}/ami-w1`, ['auto scaling group workers']]]), 1, [WEST, EAST]);
    expect(plan.cells[0].protectedImages.map((p) => [p.image.imageId, p.reasons])).to.deep.equal([['ami-w1', ['auto scaling group workers']]]);
    expect(removed(plan)).to.deep.equal(['us-east-1:ami-e1']);
    expect(describePlan(plan, false).join('\n'))
      .to.contain('keep (in use) b-1 us-west-2:ami-w1: auto scaling group workers')
      .and.to.contain('would remove  b-1 us-east-1:ami-e1');
  });

  it('an unreadable reference holds back every image of its region (fail closed)', () => {
    const images = [image(WEST, 'ami-w2', 'b-2', '2026-02-01'), image(WEST, 'ami-w1', 'b-1', '2026-01-01'), image(EAST, 'ami-e1', 'b-1', '2026-01-01')];
    const plan = planSweep(inventoryOf(images, [[`${WEST}/${ANY_IMAGE}`, ['SSM parameter /x could not be read']]]), 1, [WEST, EAST]);
    expect(removed(plan)).to.deep.equal(['us-east-1:ami-e1']);
    expect(plan.cells[0].protectedImages.map((p) => p.reasons)).to.deep.equal([['SSM parameter /x could not be read']]);
  });

  it('keeps a snapshot another surviving image uses, and never plans keep < 1', () => {
    const images = [image(WEST, 'ami-new', 'b-2', '2026-02-01', ['snap-new']), image(WEST, 'ami-old', 'b-1', '2026-01-01', ['snap-shared', 'snap-old'])];
    const inventory = inventoryOf(images, [], 1);
    inventory.snapshotUsers.set(`${WEST}/snap-shared`, ['ami-old', 'ami-not-ours']);
    const plan = planSweep(inventory, 1, [WEST]);
    expect(plan.cells[0].remove).to.deep.equal([{ image: images[1], snapshots: ['snap-old'], sharedSnapshots: ['snap-shared'] }]);
    expect(describePlan(plan, true).at(-1)).to.equal(
      '1 image(s) to remove, 0 older image(s) kept because they are in use, 1 image(s) without cell tags ignored.',
    );
    expect(() => planSweep(inventory, 0, [WEST])).to.throw(/keep must be/);
  });

  it('a snapshot shared only by images that all go is deleted with them', () => {
    const images = [
      image(WEST, 'ami-3', 'b-3', '2026-03-01'),
      image(WEST, 'ami-2', 'b-2', '2026-02-01', ['snap-both']),
      image(WEST, 'ami-1', 'b-1', '2026-01-01', ['snap-both']),
    ];
    const plan = planSweep(inventoryOf(images), 1, [WEST]);
    expect(plan.cells[0].remove.map((r) => [r.image.imageId, r.snapshots, r.sharedSnapshots])).to.deep.equal([
      ['ami-2', ['snap-both'], []],
      ['ami-1', ['snap-both'], []],
    ]);
  });

  it('leaves cells outside the filter alone', () => {
    const images = [
      image(WEST, 'ami-2', 'b-2', '2026-02-01'),
      image(WEST, 'ami-1', 'b-1', '2026-01-01'),
      image(WEST, 'ami-8-2', 'c-2', '2026-02-01', undefined, rhel8),
      image(WEST, 'ami-8-1', 'c-1', '2026-01-01', undefined, rhel8),
    ];
    const plan = planSweep(inventoryOf(images), 1, [WEST], { k8s: [], rhel_version: ['8'], arch: [], variant: [] });
    expect(removed(plan)).to.deep.equal(['us-west-2:ami-8-1']);
  });
});
