// `make stage k8s=1.28 binary_bucket_name=B binary_bucket_region=R [arch=…]`: resolve what a build of this
// configuration would install, mirror every artifact into B under the key layout builds read, and write
// build.lock.json. Run options that are not build variables come from the environment (see STAGE_ENV).
import { HeadBucketCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpsAgent } from 'node:https';
import { resolve as resolvePath } from 'node:path';
import { rootCertificates } from 'node:tls';
import type { AwsClients } from '../aws/clients.ts';
import { partitionOf } from '../data/partitions.ts';
import { ConfigError, ConfigErrors } from '../errors.ts';
import { bucketArch } from '../resolve/kubernetes-build.ts';
import { resolveKubernetes, resolveSourceAmi, type Log } from '../resolve/resolve.ts';
import { configure } from '../variables/configure.ts';
import { repoPath } from '../paths.ts';
import { requireGpg } from '../process/gpg.ts';
import { processRunner, type Runner } from '../process/run.ts';
import { artifactsFor, DEFAULT_BASE_URLS, type ArtifactSpec, type BaseUrls } from './artifacts.ts';
import { ArtifactCache } from './cache.ts';
import { StageError } from './errors.ts';
import { LOCK_FILE, PUBLIC_EKS_BUCKET } from '../layout.ts';
import { LOCK_VERSION, writeLock, type BuildLock } from '../lock/lock.ts';
import { Progress } from './progress.ts';
import { defaultRetry, type RetryPolicy } from './retry.ts';
import { HttpClient, readCaBundle } from './sources.ts';
import type { UploadOptions } from './upload.ts';
import { stageArtifacts, summaryLines, type StagedArtifact } from './stage.ts';

/** Environment variables `make stage` reads (candidates for run options; see the report to the lead). */
export const STAGE_ENV = {
  STAGE_CONCURRENCY: 'artifacts staged at once (default 4)',
  STAGE_CACHE_DIR: 'local content-addressed cache (default .cache/artifacts)',
  STAGE_LOCK_FILE: 'lock file written (default build.lock.json)',
  STAGE_SOURCE_BUCKET: 'bucket the EKS binaries are read from (default amazon-eks)',
  STAGE_SOURCE_REGION: 'its region (default us-west-2)',
  STAGE_RETRIES: 'attempts per request, the first included (default 6)',
  STAGE_PROGRESS_MS: 'progress line interval in ms (default 1000; 0 = none)',
  GITHUB_BASE_URL: 'GitHub (or a mirror of its release downloads) (default https://github.com)',
  AWSCLI_BASE_URL: 'where awscli-exe-linux-<arch>.zip and its .sig are downloaded (default https://awscli.amazonaws.com)',
  STAGE_SSM_REGION: 'region whose amazon-ssm-<region> bucket the SSM agent RPM is read from (default: aws_region)',
  STAGE_KEYS_DIR: 'public keys the AWS CLI and SSM agent signatures are checked against (default provisioners/lib/keys, which the instance uses too)',
  GITHUB_TOKEN: 'sent as a bearer token to GITHUB_BASE_URL only; never logged',
  AWS_CA_BUNDLE: 'PEM file of extra CAs trusted for HTTPS (GitHub and S3)',
} as const;

/** The S3 and EC2 clients (AwsClients) and the rest of what staging reads from outside. */
export interface StageRunDeps extends AwsClients {
  env: NodeJS.ProcessEnv;
  log: Log;
  /** Progress and summary lines (stderr in the script). */
  write: (line: string) => void;
  /** Directory relative paths (cache, lock) are resolved against. */
  cwd: string;
  retry?: Partial<RetryPolicy>;
  /** Multipart threshold and part size (tests, benchmark). */
  upload?: Partial<UploadOptions>;
  /** Runs gpg (processRunner unless a test substitutes one). */
  runner?: Runner;
  now?: () => Date;
}

export interface StageRunResult {
  lock: BuildLock;
  lockPath: string;
  staged: StagedArtifact[];
}

const intEnv = (env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(name, raw, `a whole number >= ${min}`);
  return n;
};

/** Trust AWS_CA_BUNDLE's CAs (besides Node's) for an SDK client, before its first request. */
export function trustCaBundle(client: S3Client, pem: string): S3Client {
  const handler = client.config.requestHandler as { updateHttpClientConfig?: (key: string, value: unknown) => void };
  handler.updateHttpClientConfig?.('httpsAgent', new HttpsAgent({ keepAlive: true, maxSockets: 50, ca: [...rootCertificates, pem] }));
  return client;
}

/**
 * The SDK warns on stderr whenever a streaming upload fails, since it cannot retry those itself; staging
 * retries them (with a fresh stream), so the warning only confuses. Other log levels are left alone.
 */
function quietStreamingWarning(client: S3Client): S3Client {
  const config = client.config as unknown as { logger?: { warn?: (...args: unknown[]) => void } };
  const logger = config.logger;
  config.logger = {
    ...logger,
    warn: (...args: unknown[]) => {
      if (!String(args[0]).includes('non-retryable streaming request')) (logger?.warn ?? console.warn)(...args);
    },
  } as typeof logger;
  return client;
}

export async function runStage(words: string[], deps: StageRunDeps): Promise<StageRunResult> {
  const { env, log } = deps;
  const config = await configure(words, env);
  const v = config.values;
  const mirror = { bucket: v.binary_bucket_name, region: v.binary_bucket_region };
  const source = { name: env.STAGE_SOURCE_BUCKET || PUBLIC_EKS_BUCKET.name, region: env.STAGE_SOURCE_REGION || PUBLIC_EKS_BUCKET.region };
  const problems: ConfigError[] = [];
  if (config.sourceOf.binary_bucket_name === 'default' || mirror.bucket === source.name) {
    problems.push(new ConfigError('binary_bucket_name', mirror.bucket, `your mirror bucket, not ${source.name} (the bucket staged from)`, 'make stage copies into binary_bucket_name.'));
  }
  if (!partitionOf(source.region)) problems.push(new ConfigError('STAGE_SOURCE_REGION', source.region, 'a region listed in data/partitions.json'));
  const concurrency = intEnv(env, 'STAGE_CONCURRENCY', 4, 1);
  const attempts = intEnv(env, 'STAGE_RETRIES', defaultRetry.attempts, 1);
  const progressMs = intEnv(env, 'STAGE_PROGRESS_MS', 1000, 0);
  const baseUrls: BaseUrls = { github: env.GITHUB_BASE_URL || DEFAULT_BASE_URLS.github, awsCli: env.AWSCLI_BASE_URL || DEFAULT_BASE_URLS.awsCli };
  for (const [name, key] of [['GITHUB_BASE_URL', 'github'], ['AWSCLI_BASE_URL', 'awsCli']] as const) {
    if (!/^https?:\/\/[^/]+/.test(baseUrls[key])) problems.push(new ConfigError(name, baseUrls[key], `an http(s) URL such as ${DEFAULT_BASE_URLS[key]}`));
  }
  const ssmRegion = env.STAGE_SSM_REGION || v.aws_region;
  if (!partitionOf(ssmRegion)) problems.push(new ConfigError('STAGE_SSM_REGION', ssmRegion, 'a region listed in data/partitions.json'));
  if (problems.length) throw new ConfigErrors(problems);
  const runner = deps.runner ?? processRunner;
  await requireGpg(runner);
  const keysDir = resolvePath(deps.cwd, env.STAGE_KEYS_DIR || repoPath('provisioners', 'lib', 'keys'));

  const caBundle = env.AWS_CA_BUNDLE ? readCaBundle(env.AWS_CA_BUNDLE) : undefined;
  const withCa = (client: S3Client) => quietStreamingWarning(caBundle ? trustCaBundle(client, caBundle) : client);
  // The mirror is written with the caller's credentials; a source bucket is read unsigned when it lies in
  // another partition (the commercial bucket from GovCloud).
  const unsignedIn = (region: string) => partitionOf(region) !== partitionOf(mirror.region);
  const unsigned = unsignedIn(source.region);
  const sourceClients = new Map<string, S3Client>();
  const sourceS3 = (_bucket: string, region: string) => {
    if (!sourceClients.has(region)) sourceClients.set(region, withCa(deps.s3(region, unsignedIn(region))));
    return sourceClients.get(region)!;
  };
  const mirrorS3 = withCa(deps.s3(mirror.region, false));
  const http = new HttpClient({ token: env.GITHUB_TOKEN || undefined, tokenScope: baseUrls.github, caBundle, maxSockets: concurrency * 2 });
  const clients = { s3: (region: string) => sourceS3(source.name, region), ec2: deps.ec2 };

  try {
    // What a build of this configuration would install, discovered in the source bucket.
    const k = await resolveKubernetes({ ...config, values: { ...v, binary_bucket_name: source.name, binary_bucket_region: source.region } }, clients, log);
    const values = { ...k.config.values, binary_bucket_name: mirror.bucket, binary_bucket_region: mirror.region };
    const { sourceAmi } = await resolveSourceAmi({ ...k.config, values }, clients, log);
    log(`Kubernetes ${k.kubernetes.version} (${k.kubernetes.buildDate}), source AMI ${sourceAmi.id} (${sourceAmi.name})`);

    try {
      await mirrorS3.send(new HeadBucketCommand({ Bucket: mirror.bucket }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      throw new StageError(
        status === 404
          ? `the mirror bucket ${mirror.bucket} does not exist in ${mirror.region}; create it first (aws s3 mb s3://${mirror.bucket} --region ${mirror.region}).`
          : `cannot use the mirror bucket ${mirror.bucket} (${mirror.region}): ${(error as Error).name}${status ? ` (HTTP ${status})` : ''}; the credentials in use must be able to write it.`,
      );
    }

    const arch = values.arch as 'x86_64' | 'arm64';
    const wanted = artifactsFor({
      kubernetesVersion: k.kubernetes.version,
      buildDate: k.kubernetes.buildDate,
      binaryArch: bucketArch(arch),
      cniPluginVersion: values.cni_plugin_version,
      containerdVersion: values.containerd_version,
      rhelVersion: values.rhel_version,
      runcVersion: values.runc_version,
      sourceBucket: source,
      ssmRegion,
    });
    const specs = await withoutMissingOptional(wanted, () => sourceS3(source.name, source.region), log);
    const cacheDir = resolvePath(deps.cwd, env.STAGE_CACHE_DIR || '.cache/artifacts');
    log(`Staging ${specs.length} artifacts into s3://${mirror.bucket} (${mirror.region}), ${concurrency} at a time; cache ${cacheDir}${unsigned ? `; reading s3://${source.name} unsigned` : ''}`);
    const retry: RetryPolicy = {
      ...defaultRetry,
      attempts,
      onRetry: (what, attempt, reason, delay) => log(`${what}: attempt ${attempt} failed (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`),
      ...deps.retry,
    };
    const progress = new Progress(deps.write, progressMs).start();
    let staged: StagedArtifact[];
    let seconds: number;
    try {
      staged = await stageArtifacts(specs, { sourceS3, sourceUnsigned: unsignedIn, mirrorS3, http, cache: new ArtifactCache(cacheDir), baseUrls, keysDir, runner, mirror, concurrency, retry, progress, upload: deps.upload, pinned: config.lock?.inputs.sha256ByFile });
    } finally {
      seconds = progress.stop();
    }
    for (const line of summaryLines(staged, seconds, mirror)) deps.write(line);

    const lock: BuildLock = {
      lockVersion: LOCK_VERSION,
      createdAt: (deps.now?.() ?? new Date()).toISOString(),
      createdBy: `make stage ${words.join(' ')}`.trim(),
      kubernetes: { version: k.kubernetes.version, buildDate: k.kubernetes.buildDate, minor: k.kubernetes.minor },
      arch,
      binaryArch: bucketArch(arch),
      versions: { cni_plugin_version: values.cni_plugin_version, containerd_version: values.containerd_version, runc_version: values.runc_version },
      mirror,
      sourceAmi: { id: sourceAmi.id, name: sourceAmi.name, owner: sourceAmi.owner, region: values.aws_region },
      artifacts: staged.map(({ name, file, origin, url, checksumUrl, key, checksumKey, verifiedBy, sha256, size }) => ({ name, file, origin, url, checksumUrl, key, checksumKey, verifiedBy, sha256, size })),
    };
    const lockPath = resolvePath(deps.cwd, env.STAGE_LOCK_FILE || LOCK_FILE);
    writeLock(lockPath, lock);
    return { lock, lockPath, staged };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      throw new StageError(`an S3 endpoint's TLS certificate is not trusted (${code}: ${(error as Error).message}); set AWS_CA_BUNDLE to a PEM file with the CA that signed it.`);
    }
    throw error;
  } finally {
    http.destroy();
    mirrorS3.destroy();
    for (const c of sourceClients.values()) c.destroy();
  }
}

/**
 * Drops the optional binaries of the EKS bucket (data/artifacts.json: aws-iam-authenticator) the source bucket
 * does not carry for this build: the instance skips them the same way (provisioners/kubernetes.sh). Any answer other
 * than "not found" keeps the artifact, so staging reports the real problem.
 */
async function withoutMissingOptional(specs: ArtifactSpec[], s3For: (spec: ArtifactSpec) => S3Client, log: Log): Promise<ArtifactSpec[]> {
  const kept: ArtifactSpec[] = [];
  for (const spec of specs) {
    if (spec.optional && spec.fromBinaryBucket && spec.origin.kind === 's3') {
      try {
        await s3For(spec).send(new HeadObjectCommand({ Bucket: spec.origin.bucket, Key: spec.origin.key }));
      } catch (error) {
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        if (status === 404) {
          log(`${spec.name} is not in s3://${spec.origin.bucket}/${spec.origin.key}: not staged (optional; bootstrap.sh falls back)`);
          continue;
        }
      }
    }
    kept.push(spec);
  }
  return kept;
}
