// `make rehearse 1.28 stage=true`: the air-gapped path end to end, inside the emulator. The emulator plays
// upstream (the amazon-eks bucket in us-west-2 with the stand-ins, the GitHub releases and the AWS CLI site as
// plain HTTP paths in it, amazon-ssm-<region>); the real `make stage` code (src/stage/run.ts) verifies and
// mirrors every artifact into binary_bucket_name and writes a lock; the build then replays that lock, so the
// instance reads nothing but the mirror and checks every download against the lock's digests.
import { ListObjectsV2Command, PutObjectAclCommand, type S3Client } from '@aws-sdk/client-s3';
import { join } from 'node:path';
import { ec2Client, s3Client, type AwsConnection } from '../aws/clients.ts';
import { LOCK_FILE, PUBLIC_EKS_BUCKET } from '../layout.ts';
import type { Runner } from '../process/run.ts';
import { runStage } from '../stage/run.ts';
import type { Configuration } from '../variables/configure.ts';
import type { BuiltComponents } from '../upstream/index.ts';
import { createBucket, seedArtifacts, type SeedPlan } from './seed.ts';
import type { Signer } from './signer.ts';

/** The bucket `make stage` reads the EKS binaries from by default; the emulator holds stand-ins there. */
export const UPSTREAM_EKS_BUCKET: string = PUBLIC_EKS_BUCKET.name;
const UPSTREAM_EKS_REGION: string = PUBLIC_EKS_BUCKET.region;
/** The mirror when the rehearsal is not told one (binary_bucket_name unset). */
export const REHEARSAL_MIRROR = 'eks-ami-rehearsal-mirror';

export interface StagedRehearsal {
  /** The build's words: the rehearsal's, the mirror when defaulted, and lock=<the lock written>. */
  buildWords: string[];
  lockPath: string;
  seededBytes: number;
}

export interface StageInput {
  words: string[];
  config: Configuration;
  seed: SeedPlan;
  /** The upstream binaries the emulator's upstream holds (src/upstream/). */
  builds: BuiltComponents;
  work: string;
  signer: Signer;
  /** The rehearsal's copy of provisioners/lib/keys, which trusts its signer: staging checks signatures there. */
  keysDir: string;
  /** How to reach the emulator (its S3 also serves the GitHub and AWS CLI stand-ins over plain HTTP). */
  connection: Required<AwsConnection>;
  runner: Runner;
  log: (line: string) => void;
}

export async function stageIntoEmulator(input: StageInput): Promise<StagedRehearsal> {
  const { config, log } = input;
  const upstreamValues = { ...config.values, binary_bucket_name: UPSTREAM_EKS_BUCKET, binary_bucket_region: UPSTREAM_EKS_REGION, pull_cni_from_github: true };
  const { connection } = input;
  const seededBytes = await seedArtifacts(
    (region) => s3Client(region, { connection }),
    upstreamValues,
    input.seed,
    input.builds,
    join(input.work, 'artifacts'),
    input.signer,
  );

  const words = config.sourceOf.binary_bucket_name === 'default' ? [...input.words, `binary_bucket_name=${REHEARSAL_MIRROR}`] : [...input.words];
  const mirror = {
    bucket: config.sourceOf.binary_bucket_name === 'default' ? REHEARSAL_MIRROR : config.values.binary_bucket_name,
    region: config.values.binary_bucket_region,
  };
  // The operator creates the mirror bucket before `make stage`; here the rehearsal does, empty.
  await createBucket(s3Client(mirror.region, { connection }), mirror.bucket, mirror.region);

  const lockPath = join(input.work, LOCK_FILE);
  const upstream = `${connection.endpoint}/${UPSTREAM_EKS_BUCKET}`;
  // Only what points staging at the stand-ins; nothing from the caller's environment (a GITHUB_TOKEN there is
  // for real staging, not for this). The clients below reach the emulator.
  const stageWords = [
    `github_base_url=${upstream}/github`,
    `awscli_base_url=${upstream}/awscli`,
    `source_bucket=${UPSTREAM_EKS_BUCKET}`,
    `source_region=${UPSTREAM_EKS_REGION}`,
    `keys_dir=${input.keysDir}`,
    `cache_dir=${join(input.work, 'stage-cache')}`,
    `lock_file=${lockPath}`,
    'progress_ms=0',
  ];
  await runStage([...words, ...stageWords], {
    env: { PACKER_VARIABLE_FILE: process.env.PACKER_VARIABLE_FILE },
    log,
    write: log,
    s3: (region, unsigned) => s3Client(region, { unsigned, connection }),
    ec2: (region) => ec2Client(region, connection),
    cwd: input.work,
    runner: input.runner,
  });
  await openToAnonymousReads(s3Client(mirror.region, { connection }), mirror.bucket);
  return { buildWords: [...words, `lock=${lockPath}`], lockPath, seededBytes };
}

/**
 * The mirror `make stage` fills is private. A real instance reads it signed with its role (lib/s3-get.py, with
 * python3), which the Debian target has not; so the rehearsal lets anonymous readers in, as a mirror's bucket
 * policy for the build's VPC endpoint would (the instance tries anonymous reads first).
 */
async function openToAnonymousReads(s3: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) await s3.send(new PutObjectAclCommand({ Bucket: bucket, Key: object.Key!, ACL: 'public-read' }));
    token = page.NextContinuationToken;
  } while (token);
}
