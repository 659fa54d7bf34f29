// Reviewed snapshots of rendered text (test/fixtures/*.snapshot).
import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * The reviewed snapshot of the current-Packer rendering. Writing it is a deliberate act (UPDATE_SNAPSHOTS=1, then
 * review the diff); a missing snapshot is a failure, never silently recreated from whatever renders today.
 */
export function expectSnapshot(text: string, snapshot: string, update = process.env.UPDATE_SNAPSHOTS === '1'): void {
  if (update) writeFileSync(snapshot, text);
  if (!existsSync(snapshot)) throw new Error(`The snapshot ${snapshot} is missing. Render it deliberately with UPDATE_SNAPSHOTS=1 and review it before committing.`);
  expect(text, `differs from ${snapshot}; after a deliberate change run with UPDATE_SNAPSHOTS=1 and review the diff`).to.equal(readFileSync(snapshot, 'utf8'));
}
