// One emulator holding what a build looks up: the EKS binary bucket (published history, full 1.28/1.29 sets),
// a GovCloud mirror bucket, and Red Hat, GovCloud and customer STIG images. Tests (test/support/emulated-aws.ts)
// and the plan benchmark start it.
import { s3Client } from '../aws/clients.ts';
import { PUBLIC_EKS_BUCKET } from '../layout.ts';
import { startMoto, type Moto } from '../rehearse/emulator.ts';
import { createBucket, historyObjects, putObjects } from './eks-bucket.ts';
import { CUSTOMER, image, RED_HAT_GOV, redHatCatalog } from './images.ts';

export async function startEmulatedAws(): Promise<Moto> {
  const moto = await startMoto({
    amis: [...redHatCatalog(), ...redHatCatalog(RED_HAT_GOV), image('RHEL9_STIG_BASE_2023-04-14', CUSTOMER, '2023-04-15')],
  });
  const s3 = s3Client('us-west-2', { connection: moto.connection });
  const objects = historyObjects({ fullMinors: ['1.28', '1.29'] });
  for (const bucket of [PUBLIC_EKS_BUCKET.name, 'my-eks-bucket']) {
    await createBucket(s3, bucket);
    await putObjects(s3, bucket, objects);
  }
  return moto;
}
