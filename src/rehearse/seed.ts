// What the emulator must hold for a rehearsal of a given configuration: the source image, the binary bucket
// with stand-in artifacts (and an older build and a windows-only folder, so discovery really chooses), the
// regional SSM agent bucket (or, for a mirror build, the SSM agent in the binary bucket), and the key pair
// Packer logs in with.
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ImportKeyPairCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { regionFacts } from '../data/partitions.ts';
import { supportedMinors } from '../data/minors.ts';
import { defaultSourceAmiFilter } from '../resolve/source-ami.ts';
import { bucketArch } from '../resolve/kubernetes-build.ts';
import { SSM_MIRROR_PREFIX } from '../stage/artifacts.ts';
import type { BuildVariables } from '../variables/declarations.ts';
import type { CatalogImage } from './emulator.ts';
import type { Signer } from './signer.ts';
import { awsCliInstaller, eksBinaries, githubReleases, keysBelow, ssmAgent, type StandInVersions } from './stand-ins.ts';

export interface SeedPlan {
  minor: string;
  versions: StandInVersions;
  /** An older build and a newer windows-only folder that discovery must pass over. */
  decoys: { olderVersion: string; windowsOnlyDate: string };
}

const today = () => new Date().toISOString().slice(0, 10);

export function seedPlan(values: BuildVariables, minor: string): SeedPlan {
  const chosenMinor = minor || supportedMinors().at(-1)!;
  const version = values.kubernetes_version || `${chosenMinor}.2`;
  const arch = values.arch as 'x86_64' | 'arm64';
  return {
    minor: chosenMinor,
    versions: {
      kubernetesVersion: version,
      buildDate: values.kubernetes_build_date || today(),
      containerd: values.containerd_version,
      runc: values.runc_version,
      cni: values.cni_plugin_version,
      binaryArch: bucketArch(arch),
      awsCliArch: arch === 'x86_64' ? 'x86_64' : 'aarch64',
      rhelVersion: values.rhel_version,
    },
    decoys: { olderVersion: `${chosenMinor}.1`, windowsOnlyDate: '2099-12-31' },
  };
}

/** A source image the configured owner and filter will find (the filter's wildcards filled in). */
export function catalogFor(values: BuildVariables, imageId = 'ami-0e4a5a1c0ffee0001'): CatalogImage[] {
  const facts = regionFacts(values.aws_region);
  const owner = values.source_ami_owners[0] ?? facts?.redHatOwner ?? '123456789012';
  const arch = values.arch as 'x86_64' | 'arm64';
  const filter = values.source_ami_filter_name;
  const name = !filter || filter === defaultSourceAmiFilter(values.rhel_version, arch)
    ? `RHEL-${values.rhel_version === 8 ? '8.10.0' : '9.5.0'}_HVM-20250115-${arch}-7-Hourly2-GP3`
    : filter.replace(/[*?]/g, '-rehearsal-').replace(/--+/g, '-');
  return [{ ami_id: values.source_ami_id || imageId, name, owner_id: owner, architecture: arch, creation_date: '2025-01-15T00:00:00.000Z', root_device_name: '/dev/sda1' }];
}

export async function createBucket(s3: S3Client, bucket: string, region: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: bucket, ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as never } }) }));
}

export async function uploadTree(s3: S3Client, bucket: string, dir: string): Promise<number> {
  let bytes = 0;
  for (const [key, path] of keysBelow(dir)) {
    const size = statSync(path).size;
    // Public like the real amazon-eks and amazon-ssm-<region> buckets: the provisioners read them anonymously.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size, ACL: 'public-read' }));
    bytes += size;
  }
  return bytes;
}

/** Lays out and uploads every stand-in; returns the bytes staged. */
export async function seedArtifacts(s3For: (region: string) => S3Client, values: BuildVariables, seed: SeedPlan, workDir: string, signer: Signer): Promise<number> {
  const bucketDir = join(workDir, 'bucket');
  const ssmDir = join(workDir, 'ssm');
  mkdirSync(bucketDir, { recursive: true });
  eksBinaries(bucketDir, seed.versions);
  eksBinaries(bucketDir, { ...seed.versions, kubernetesVersion: seed.decoys.olderVersion });
  const windowsOnly = join(bucketDir, seed.versions.kubernetesVersion, seed.decoys.windowsOnlyDate, 'bin', 'windows', 'amd64');
  mkdirSync(windowsOnly, { recursive: true });
  // A real windows-only date holds kubelet.exe and friends; one file makes the folder exist.
  writeFileSync(join(windowsOnly, 'kubelet.exe'), 'windows stand-in\n');
  githubReleases(bucketDir, join(workDir, 'scratch'), seed.versions);
  awsCliInstaller(bucketDir, join(workDir, 'scratch'), seed.versions, signer);
  // Each bucket is created through a client of its own region (S3 checks the location constraint).
  const binaries = s3For(values.binary_bucket_region);
  await createBucket(binaries, values.binary_bucket_name, values.binary_bucket_region);
  if (!values.pull_cni_from_github) {
    // A mirror build (what `make stage` leaves): the SSM agent in the binary bucket, no amazon-ssm bucket at all.
    ssmAgent(join(bucketDir, SSM_MIRROR_PREFIX), seed.versions, signer);
    return uploadTree(binaries, values.binary_bucket_name, bucketDir);
  }
  ssmAgent(ssmDir, seed.versions, signer);
  const ssm = s3For(values.aws_region);
  await createBucket(ssm, `amazon-ssm-${values.aws_region}`, values.aws_region);
  return (await uploadTree(binaries, values.binary_bucket_name, bucketDir)) + (await uploadTree(ssm, `amazon-ssm-${values.aws_region}`, ssmDir));
}

export async function importKeyPair(ec2: EC2Client, name: string, publicKey: string): Promise<void> {
  await ec2.send(new ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: Buffer.from(publicKey) }));
}
