// `make sweep apply=true`, applying a plan (sweep-plan.ts): deregister each image, then delete the snapshots
// the plan lets go with it. A failure is recorded and the sweep goes on; an image that could not be
// deregistered keeps its snapshots.
import { DeleteSnapshotCommand, DeregisterImageCommand } from '@aws-sdk/client-ec2';
import type { LifecycleClients } from '../aws/lifecycle-clients.ts';
import type { SweepPlan } from './sweep-plan.ts';

export interface SweepOutcome {
  deregistered: string[];
  deletedSnapshots: string[];
  failures: string[];
}

export async function applySweep(clients: LifecycleClients, plan: SweepPlan, log: (line: string) => void): Promise<SweepOutcome> {
  const outcome: SweepOutcome = { deregistered: [], deletedSnapshots: [], failures: [] };
  for (const cell of plan.cells) {
    for (const { image, snapshots } of cell.remove) {
      const ec2 = clients.ec2(image.region);
      try {
        await ec2.send(new DeregisterImageCommand({ ImageId: image.imageId }));
        outcome.deregistered.push(`${image.region}/${image.imageId}`);
        log(`deregistered ${image.region} ${image.imageId} ${image.name}`);
      } catch (error) {
        outcome.failures.push(`deregister ${image.region} ${image.imageId}: ${(error as Error).message}`);
        continue; // its snapshots stay: the image may still exist
      }
      for (const snap of snapshots) {
        try {
          await ec2.send(new DeleteSnapshotCommand({ SnapshotId: snap }));
          outcome.deletedSnapshots.push(`${image.region}/${snap}`);
          log(`deleted snapshot ${image.region} ${snap}`);
        } catch (error) {
          outcome.failures.push(`delete snapshot ${image.region} ${snap}: ${(error as Error).message}`);
        }
      }
    }
  }
  return outcome;
}
