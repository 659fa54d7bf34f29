// `make all emulator=true dry_run=true`: every matrix cell resolved, rendered and validated offline, against a
// moto_server holding what the cells look up: a binary bucket with one build of each minor for both
// architectures, and a Red Hat image for each RHEL major and architecture. CI runs this on every pull request.
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { s3Client } from '../aws/clients.ts';
import { partitions } from '../data/catalog.ts';
import { PUBLIC_EKS_BUCKET } from '../layout.ts';
import { startMoto, type CatalogImage, type Moto } from '../rehearse/emulator.ts';
import type { Cell } from './matrix.ts';

const REHEARSAL_BUILD_DATE = '2025-01-01';
const RHEL_RELEASE: Record<number, string> = { 8: '8.10.0', 9: '9.5.0' };

export function rehearsalImages(cells: Cell[]): CatalogImage[] {
  const owner = partitions.aws.redHatOwner ?? '309956199498';
  const seen = new Set<string>();
  const images: CatalogImage[] = [];
  for (const cell of cells) {
    const key = `${cell.rhel_version}/${cell.arch}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const release = RHEL_RELEASE[cell.rhel_version] ?? `${cell.rhel_version}.0.0`;
    images.push({
      ami_id: `ami-0f${String(cell.rhel_version).padStart(2, '0')}${cell.arch === 'arm64' ? 'a' : 'b'}0000000000000`,
      name: `RHEL-${release}_HVM-20250115-${cell.arch}-1-Hourly2-GP3`,
      owner_id: owner,
      architecture: cell.arch,
      root_device_name: '/dev/sda1',
    });
  }
  return images;
}

export function rehearsalObjects(cells: Cell[]): string[] {
  const keys = new Set<string>();
  for (const cell of cells) {
    for (const arch of ['amd64', 'arm64']) {
      const base = `${cell.k8s}.0/${REHEARSAL_BUILD_DATE}/bin/linux/${arch}/kubelet`;
      keys.add(base);
      keys.add(`${base}.sha256`);
    }
  }
  return [...keys];
}

/** Start the emulator and seed it; the returned env points builds at it. */
export async function startRehearsalEmulator(cells: Cell[], bucket: string = PUBLIC_EKS_BUCKET.name, region: string = PUBLIC_EKS_BUCKET.region): Promise<Moto> {
  const moto = await startMoto({ amis: rehearsalImages(cells) });
  try {
    const s3 = s3Client(region, { connection: moto.connection });
    await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as never } }));
    for (const key of rehearsalObjects(cells)) {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: key.endsWith('.sha256') ? '0'.repeat(64) : 'rehearsal kubelet' }));
    }
  } catch (error) {
    await moto.stop();
    throw error;
  }
  return moto;
}
