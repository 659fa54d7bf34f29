// Reading, for `make stage`: the request (stage options, the build's configuration, mirror and source; every
// problem reported together before any AWS call) and what AWS says about it (the Kubernetes build and source AMI
// a build of this configuration would use, whether the mirror bucket is usable, which optional artifacts the
// source bucket lacks). Nothing here writes anything; stage-plan.ts decides, stage.ts and run.ts apply.
import { HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { resolve as resolvePath } from 'node:path';
import type { AwsClients } from '../aws/clients.ts';
import { partitionOf } from '../data/partitions.ts';
import { ConfigError, ConfigErrors } from '../errors.ts';
import { repoPath } from '../paths.ts';
import { resolveKubernetes, resolveSourceAmi, type Log } from '../resolve/resolve.ts';
import { configure } from '../variables/configure.ts';
import { StageError } from './errors.ts';
import { readStageOptions } from './options.ts';
import { unsignedFrom, wantedArtifacts, type Bucket, type StageInventory, type StageRequest } from './stage-plan.ts';

/** The request from the words and the environment, or every problem with it at once. */
export async function readStageRequest(words: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<StageRequest> {
  const { options, buildWords } = readStageOptions(words, env);
  const config = await configure(buildWords, env);
  const v = config.values;
  const mirror = { bucket: v.binary_bucket_name, region: v.binary_bucket_region };
  const source = { name: options.source_bucket, region: options.source_region };
  const ssmRegion = options.ssm_region || v.aws_region;
  const problems: ConfigError[] = [];
  if (config.sourceOf.binary_bucket_name === 'default' || mirror.bucket === source.name) {
    problems.push(
      new ConfigError(
        'binary_bucket_name',
        mirror.bucket,
        `your mirror bucket, not ${source.name} (the bucket staged from)`,
        'make stage copies into binary_bucket_name.',
      ),
    );
  }
  if (!partitionOf(source.region)) problems.push(new ConfigError('source_region', source.region, 'a region listed in data/partitions.json'));
  if (!partitionOf(ssmRegion)) problems.push(new ConfigError('ssm_region', ssmRegion, 'a region listed in data/partitions.json'));
  if (problems.length) throw new ConfigErrors(problems);
  return {
    words,
    options,
    config,
    mirror,
    source,
    ssmRegion,
    baseUrls: { github: options.github_base_url, awsCli: options.awscli_base_url },
    keysDir: resolvePath(cwd, options.keys_dir || repoPath('provisioners', 'lib', 'keys')),
    cacheDir: resolvePath(cwd, options.cache_dir),
    lockPath: resolvePath(cwd, options.lock_file),
    githubToken: env.GITHUB_TOKEN || undefined,
    caBundlePath: env.AWS_CA_BUNDLE || undefined,
  };
}

/** What a build of the request would install, discovered in the source bucket, and the mirror checked. */
export async function readInventory(request: StageRequest, clients: AwsClients, log: Log): Promise<StageInventory> {
  const { config, source, mirror } = request;
  const unsigned = unsignedFrom(mirror);
  const lookups = { s3: (region: string) => clients.s3(region, unsigned(region)), ec2: clients.ec2 };
  const k = await resolveKubernetes(
    { ...config, values: { ...config.values, binary_bucket_name: source.name, binary_bucket_region: source.region } },
    lookups,
    log,
  );
  const values = { ...k.config.values, binary_bucket_name: mirror.bucket, binary_bucket_region: mirror.region };
  const { sourceAmi } = await resolveSourceAmi({ ...k.config, values }, lookups, log);
  log(`Kubernetes ${k.kubernetes.version} (${k.kubernetes.buildDate}), source AMI ${sourceAmi.id} (${sourceAmi.name})`);
  await checkMirror(clients.s3(mirror.region, false), mirror);
  const absent = await absentOptional(request, { kubernetes: k.kubernetes, sourceAmi, values, absent: [] }, clients, log);
  return { kubernetes: k.kubernetes, sourceAmi, values, absent };
}

async function checkMirror(s3: S3Client, mirror: Bucket): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: mirror.bucket }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    throw new StageError(
      status === 404
        ? `the mirror bucket ${mirror.bucket} does not exist in ${mirror.region}; create it first (aws s3 mb s3://${mirror.bucket} --region ${mirror.region}).`
        : `cannot use the mirror bucket ${mirror.bucket} (${mirror.region}): ${(error as Error).name}${status ? ` (HTTP ${status})` : ''}; the credentials in use must be able to write it.`,
    );
  }
}

/**
 * The optional binaries of the EKS bucket (data/artifacts.json: aws-iam-authenticator) the source bucket does
 * not carry for this build: the instance skips them the same way (provisioners/kubernetes.sh). Any answer other
 * than "not found" counts as present, so staging reports the real problem.
 */
async function absentOptional(request: StageRequest, inventory: StageInventory, clients: AwsClients, log: Log): Promise<string[]> {
  const absent: string[] = [];
  for (const spec of wantedArtifacts(request, inventory)) {
    if (!(spec.optional && spec.fromBinaryBucket && spec.origin.kind === 's3')) continue;
    try {
      await clients
        .s3(request.source.region, unsignedFrom(request.mirror)(request.source.region))
        .send(new HeadObjectCommand({ Bucket: spec.origin.bucket, Key: spec.origin.key }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) {
        log(`${spec.name} is not in s3://${spec.origin.bucket}/${spec.origin.key}: not staged (optional; bootstrap.sh falls back)`);
        absent.push(spec.name);
      }
    }
  }
  return absent;
}
