// What the emulator must hold for a rehearsal of a given configuration: the source image, the binary bucket
// with the real upstream binaries built from their pinned source (src/upstream/) in the bucket's and the GitHub
// releases' layout with their checksum files (and an older build and a windows-only folder, so discovery really
// chooses), the regional SSM agent bucket (or, for a mirror build, the SSM agent in the binary bucket), and the
// key pair Packer logs in with. Only the AWS-signed installers (AWS CLI, SSM agent) are stand-ins.
import { CreateBucketCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ImportKeyPairCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { regionFacts } from '../data/partitions.ts';
import { supportedMinors } from '../data/minors.ts';
import { defaultSourceAmiFilter } from '../resolve/source-ami.ts';
import { bucketArch } from '../resolve/kubernetes-build.ts';
import { SSM_MIRROR_PREFIX } from '../stage/artifacts.ts';
import type { BuildVariables } from '../variables/declarations.ts';
import type { CatalogImage } from './emulator.ts';
import type { Signer } from './signer.ts';
import { awsCliInstaller, keysBelow, ssmAgent, type StandInVersions } from './stand-ins.ts';
import { minorUpstream } from '../data/minors.ts';
import { ensureUpstream, layOutRelease, upstreamForBuild, type BuiltComponents } from '../upstream/index.ts';

export interface SeedPlan {
  minor: string;
  versions: StandInVersions;
  /** An older build and a newer windows-only folder that discovery must pass over. */
  decoys: { olderVersion: string; windowsOnlyDate: string };
}

const today = () => new Date().toISOString().slice(0, 10);

export function seedPlan(values: BuildVariables, minor: string): SeedPlan {
  const chosenMinor = minor || supportedMinors().at(-1)!;
  // The version whose source the minor pins (upstreamForBuild refuses a minor without one before anything starts).
  const version = values.kubernetes_version || minorUpstream(chosenMinor)?.kubernetes || `${chosenMinor}.0`;
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
    decoys: { olderVersion: olderPatch(version), windowsOnlyDate: '2099-12-31' },
  };
}

/** The patch release before this one (x.y.0 has none inside its minor: an x.y.0-rc.0 folder stands in). */
function olderPatch(version: string): string {
  const [major, minor, patch] = version.split('.').map(Number);
  return patch > 0 ? `${major}.${minor}.${patch - 1}` : `${major}.${minor}.0-rc.0`;
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
    // The SHA-256 in a header, as staging sends it: S3 checks it, and the SDK then streams the body as is rather
    // than in aws-chunked encoding with a trailing checksum, which the emulator decodes some 40 times slower.
    const sha256 = createHash('sha256').update(readFileSync(path)).digest('base64');
    // Public like the real amazon-eks and amazon-ssm-<region> buckets: the provisioners read them anonymously.
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: createReadStream(path), ContentLength: size, ChecksumSHA256: sha256, ACL: 'public-read' }));
    bytes += size;
  }
  return bytes;
}

/**
 * The upstream components this configuration installs and the rehearsal runs, from the cache or built from
 * their pinned source (minutes when cold, a second when warm), one progress line each.
 */
export async function upstreamBuilds(values: BuildVariables, seed: SeedPlan, log: (line: string) => void): Promise<BuiltComponents> {
  const builds: BuiltComponents = {};
  for (const wanted of upstreamForBuild(values, seed.minor)) {
    const version = wanted.component === 'kubernetes' ? seed.versions.kubernetesVersion : wanted.version;
    const build = await ensureUpstream(wanted.component, version, { log });
    log(`  ${wanted.component} ${build.version}: ${build.cached ? 'cached' : `built in ${build.seconds.toFixed(0)} s`}`);
    builds[wanted.component] = build;
  }
  return builds;
}

/** Lays out and uploads the upstream release files and the signed installers; returns the bytes staged. */
export async function seedArtifacts(s3For: (region: string) => S3Client, values: BuildVariables, seed: SeedPlan, builds: BuiltComponents, workDir: string, signer: Signer): Promise<number> {
  const bucketDir = join(workDir, 'bucket');
  const ssmDir = join(workDir, 'ssm');
  mkdirSync(bucketDir, { recursive: true });
  layOutRelease(bucketDir, join(workDir, 'scratch'), { kubernetesVersion: seed.versions.kubernetesVersion, buildDate: seed.versions.buildDate, binaryArch: seed.versions.binaryArch }, builds);
  // An older build discovery must pass over: a folder marker, never installed.
  const older = join(bucketDir, seed.decoys.olderVersion, seed.versions.buildDate, 'bin', 'linux', seed.versions.binaryArch);
  mkdirSync(older, { recursive: true });
  writeFileSync(join(older, 'kubelet'), 'an older build the rehearsal\'s discovery must pass over\n');
  const windowsOnly = join(bucketDir, seed.versions.kubernetesVersion, seed.decoys.windowsOnlyDate, 'bin', 'windows', 'amd64');
  mkdirSync(windowsOnly, { recursive: true });
  // A real windows-only date holds kubelet.exe and friends; one file makes the folder exist.
  writeFileSync(join(windowsOnly, 'kubelet.exe'), 'windows stand-in\n');
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
