// `make stage k8s=1.28 binary_bucket_name=B binary_bucket_region=R [arch=…] [concurrency=…]`: resolve what a
// build of this configuration would install, mirror every artifact into B under the key layout builds read, and
// write build.lock.json. Three steps: reading (stage-inventory.ts: the request, then what AWS says), planning
// (stage-plan.ts, pure) and applying (stage.ts copies, then the lock is written). The options are declared in
// options.ts.
import type { S3Client } from '@aws-sdk/client-s3';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { AwsClients } from '../aws/clients.ts';
import { writeLock, type BuildLock } from '../lock/lock.ts';
import { requireGpg } from '../process/gpg.ts';
import { processRunner, type Runner } from '../process/run.ts';
import type { Log } from '../resolve/resolve.ts';
import { ArtifactCache } from './cache.ts';
import { StageError } from './errors.ts';
import { Progress } from './progress.ts';
import { defaultRetry, type RetryPolicy } from './retry.ts';
import { HttpClient, readCaBundle } from './sources.ts';
import { readInventory, readStageRequest } from './stage-inventory.ts';
import { lockFor, planStage, unsignedFrom } from './stage-plan.ts';
import { stageArtifacts, summaryLines, type StagedArtifact } from './stage.ts';
import type { UploadOptions } from './upload.ts';

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
  const { log } = deps;
  const request = await readStageRequest(words, deps.env, deps.cwd);
  const { options, source, mirror } = request;
  const runner = deps.runner ?? processRunner;
  await requireGpg(runner);

  const caBundle = request.caBundlePath ? readCaBundle(request.caBundlePath) : undefined;
  const withCa = (client: S3Client) => quietStreamingWarning(caBundle ? trustCaBundle(client, caBundle) : client);
  // The mirror is written with the caller's credentials; a source bucket is read unsigned when it lies in
  // another partition (the commercial bucket from GovCloud). One client per region and signing, reused.
  const unsignedIn = unsignedFrom(mirror);
  const s3Clients = new Map<string, S3Client>();
  const s3 = (region: string, unsigned: boolean) => {
    const key = `${region}/${unsigned}`;
    if (!s3Clients.has(key)) s3Clients.set(key, withCa(deps.s3(region, unsigned)));
    return s3Clients.get(key)!;
  };
  const sourceS3 = (region: string) => s3(region, unsignedIn(region));
  const mirrorS3 = s3(mirror.region, false);
  const http = new HttpClient({ token: request.githubToken, tokenScope: request.baseUrls.github, caBundle, maxSockets: options.concurrency * 2 });

  try {
    const inventory = await readInventory(request, { s3, ec2: deps.ec2 }, log);
    const plan = planStage(request, inventory);
    log(
      `Staging ${plan.specs.length} artifacts into s3://${mirror.bucket} (${mirror.region}), ${options.concurrency} at a time; cache ${request.cacheDir}${plan.unsignedSource ? `; reading s3://${source.name} unsigned` : ''}`,
    );
    const retry: RetryPolicy = {
      ...defaultRetry,
      attempts: options.retries,
      onRetry: (what, attempt, reason, delay) => log(`${what}: attempt ${attempt} failed (${reason}); retrying in ${(delay / 1000).toFixed(1)} s`),
      ...deps.retry,
    };
    const progress = new Progress(deps.write, options.progress_ms).start();
    let staged: StagedArtifact[];
    let seconds: number;
    try {
      staged = await stageArtifacts(plan.specs, {
        sourceS3: (_bucket, region) => sourceS3(region),
        sourceUnsigned: unsignedIn,
        mirrorS3,
        http,
        cache: new ArtifactCache(request.cacheDir),
        baseUrls: request.baseUrls,
        keysDir: request.keysDir,
        runner,
        mirror,
        concurrency: options.concurrency,
        retry,
        progress,
        upload: deps.upload,
        pinned: request.config.lock?.inputs.sha256ByFile,
      });
    } finally {
      seconds = progress.stop();
    }
    for (const line of summaryLines(staged, seconds, mirror)) deps.write(line);
    const lock = lockFor(plan, staged, deps.now?.() ?? new Date());
    writeLock(request.lockPath, lock);
    return { lock, lockPath: request.lockPath, staged };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      throw new StageError(`an S3 endpoint's TLS certificate is not trusted (${code}: ${(error as Error).message}); set AWS_CA_BUNDLE to a PEM file with the CA that signed it.`);
    }
    throw error;
  } finally {
    http.destroy();
    for (const c of s3Clients.values()) c.destroy();
  }
}
