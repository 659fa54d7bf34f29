// One emulator holding what a build looks up: the EKS binary bucket (published history, full 1.28/1.29 sets),
// a GovCloud mirror bucket, and Red Hat, GovCloud and customer STIG images.
import { s3Client } from '../../src/aws/clients.ts';
import { createBucket, historyObjects, putObjects } from './bucket.ts';
import { CUSTOMER, image, RED_HAT_GOV, redHatCatalog } from './images.ts';
import { startMoto, type Moto } from './moto.ts';

export async function startEmulatedAws(): Promise<Moto> {
  const moto = await startMoto({
    amis: [...redHatCatalog(), ...redHatCatalog(RED_HAT_GOV), image('RHEL9_STIG_BASE_2023-04-14', CUSTOMER, '2023-04-15')],
  });
  const s3 = s3Client('us-west-2', { connection: moto.connection });
  const objects = historyObjects({ fullMinors: ['1.28', '1.29'] });
  for (const bucket of ['amazon-eks', 'my-eks-bucket']) {
    await createBucket(s3, bucket);
    await putObjects(s3, bucket, objects);
  }
  return moto;
}

export interface MotoHandle {
  moto?: Moto;
}

/**
 * Mocha hooks for a describe block: the emulator `start` returns runs for the block's tests, with its endpoints and
 * credentials in process.env meanwhile (the scripts and SDK clients under test read them there); restored after.
 */
export function useEmulator(start: () => Promise<Moto>): MotoHandle {
  const handle: MotoHandle = {};
  let saved: NodeJS.ProcessEnv | undefined;
  before(async function () {
    this.timeout(60_000);
    handle.moto = await start();
    saved = { ...process.env };
    Object.assign(process.env, handle.moto.env);
  });
  after(async () => {
    if (saved) process.env = saved;
    await handle.moto?.stop();
  });
  return handle;
}
