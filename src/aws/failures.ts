// Expected AWS failures as sentences a user can act on: no credentials, expired credentials, access denied, a
// region not enabled, throttling. Every client made by src/aws/ records which call failed (service, action,
// resource, region) on the error, so the sentence names them; main() prints it instead of a stack trace.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { EXIT, UserError } from '../errors.ts';

export interface AwsCall {
  service: string;
  action: string;
  resource: string;
  region: string;
}

const CALL = Symbol('awsCall');

interface Annotatable {
  middlewareStack: { add: (middleware: any, options: { step: 'initialize'; name: string; override?: boolean }) => void };
}

/** Record the failing call on every error a client throws (credential errors included: they surface in the chain). */
export function annotateFailures<C extends Annotatable>(client: C, region: string): C {
  client.middlewareStack.add(
    (next: (args: { input: Record<string, unknown> }) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
      async (args: { input: Record<string, unknown> }) => {
        try {
          return await next(args);
        } catch (error) {
          if (error && typeof error === 'object' && !(CALL in error)) {
            const service = (context.clientName ?? '').replace(/Client$/, '').toLowerCase();
            const action = (context.commandName ?? '').replace(/Command$/, '');
            Object.defineProperty(error, CALL, { value: { service, action, resource: resourceOf(args.input), region }, enumerable: false });
          }
          throw error;
        }
      },
    { step: 'initialize', name: 'annotateFailures', override: true },
  );
  return client;
}

export const failedCall = (error: unknown): AwsCall | undefined =>
  error && typeof error === 'object' ? ((error as Record<symbol, AwsCall>)[CALL] ?? undefined) : undefined;

/** What a request was about, from its input: bucket and key or prefix, image ids, owners, names, resource ids. */
function resourceOf(input: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof input.Bucket === 'string') parts.push(`s3://${input.Bucket}/${String(input.Key ?? input.Prefix ?? '')}`);
  for (const key of ['ImageIds', 'Resources', 'Owners', 'Names', 'InstanceTypes', 'SnapshotIds']) {
    const value = input[key];
    if (Array.isArray(value) && value.length) parts.push(`${key} ${value.join(',')}`);
  }
  for (const key of ['ImageId', 'Name', 'Path', 'LaunchTemplateId', 'name', 'clusterName']) {
    if (typeof input[key] === 'string') parts.push(`${key} ${input[key] as string}`);
  }
  const filters = input.Filters;
  if (Array.isArray(filters)) {
    for (const f of filters as { Name?: string; Values?: string[] }[]) if (f.Name === 'name') parts.push(`name ${f.Values?.join(',')}`);
  }
  return parts.join(', ');
}

/** Exit code of a failure AWS or the credential chain reported (README, "Exit codes"). */
export const AWS_EXIT = EXIT.aws;

const DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'UnauthorizedAccess', 'Forbidden', 'AllAccessDisabled']);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const INVALID = new Set(['InvalidClientTokenId', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'InvalidSignatureException']);
const REGION = new Set(['OptInRequired', 'AuthFailure', 'InvalidRegion']);
const THROTTLED = new Set(['Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'SlowDown', 'RequestThrottled', 'RequestThrottledException']);

/** The user-facing error for an expected AWS failure, or undefined for anything else (which keeps its stack). */
export function describeAwsFailure(error: unknown, env: NodeJS.ProcessEnv = process.env): UserError | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = String((error as { Code?: string; code?: string }).Code ?? (error as { code?: string }).code ?? error.name);
  const call = failedCall(error);
  const what = call ? `${call.service}:${call.action}${call.resource ? ` on ${call.resource}` : ''} in ${call.region}` : 'an AWS request';
  if (error.name === 'CredentialsProviderError' || /Could not load credentials from any providers/.test(error.message)) {
    return new UserError(noCredentialsMessage(env, call), AWS_EXIT);
  }
  if (EXPIRED.has(code) || EXPIRED.has(error.name)) {
    return new UserError(`AWS rejected ${what} because the credentials have expired (${code}). Refresh them (for SSO: aws sso login --profile <profile>; otherwise new session credentials) and run the command again.`, AWS_EXIT);
  }
  if (INVALID.has(code) || INVALID.has(error.name)) {
    return new UserError(`AWS rejected ${what}: the credentials are not valid there (${code}: ${error.message}). Check the access key and the profile in use${env.AWS_PROFILE ? ` (AWS_PROFILE=${env.AWS_PROFILE})` : ''}; keys from one partition (e.g. GovCloud) do not work in another.`, AWS_EXIT);
  }
  if (DENIED.has(code) || DENIED.has(error.name)) {
    const permission = call ? ` Grant the identity ${call.service}:${call.action}${call.resource ? ` on ${call.resource}` : ''}.` : '';
    return new UserError(`AWS denied ${what} (${code}: ${error.message}).${permission}`, AWS_EXIT);
  }
  if (REGION.has(code) || REGION.has(error.name)) {
    const region = call?.region ?? 'the region';
    return new UserError(
      `AWS refused ${what} (${code}: ${error.message}). ${region} is probably an opt-in region not enabled for this account (enable it under Account → AWS Regions, or pick aws_region=/ami_regions= among the enabled ones), or the credentials are not valid in it.`,
      AWS_EXIT,
    );
  }
  if (THROTTLED.has(code) || THROTTLED.has(error.name)) {
    return new UserError(`AWS throttled ${what} (${code}) even after the SDK's retries. Wait a minute and run the command again, or run fewer builds at once (make all jobs=1).`, AWS_EXIT);
  }
  return undefined;
}

/** Which credential sources the SDK's default chain tried here, how to configure one, and the offline alternative. */
function noCredentialsMessage(env: NodeJS.ProcessEnv, call: AwsCall | undefined): string {
  const home = env.HOME || homedir();
  const configFile = env.AWS_CONFIG_FILE || join(home, '.aws', 'config');
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || join(home, '.aws', 'credentials');
  const profile = env.AWS_PROFILE || 'default';
  const files = [configFile, credentialsFile].map((f) => `${f} (${existsSync(f) ? `no usable profile "${profile}"` : 'missing'})`).join(' and ');
  const tried = [
    `environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (${env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY ? 'only one of them set' : 'not set'})`,
    `the shared files ${files}, including SSO and credential_process profiles`,
    `web identity (AWS_WEB_IDENTITY_TOKEN_FILE ${env.AWS_WEB_IDENTITY_TOKEN_FILE ? 'set but unusable' : 'not set'})`,
    'the container credentials endpoint (not in a container task)',
    env.AWS_EC2_METADATA_DISABLED === 'true' ? 'the EC2 instance role (skipped: AWS_EC2_METADATA_DISABLED=true)' : 'the EC2 instance role (no instance metadata service answered)',
  ];
  return [
    `No AWS credentials were found${call ? ` for ${call.service}:${call.action} in ${call.region}` : ''}. Tried: ${tried.join('; ')}.`,
    'Configure one: `aws configure` (access keys), `aws configure sso` then `aws sso login` and AWS_PROFILE=<profile>, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN).',
    'Without an AWS account, `make rehearse 1.28` (as root) runs the whole build offline against a local emulator.',
  ].join('\n');
}
