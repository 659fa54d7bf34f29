// AWS clients. By default endpoints come from the SDK's standard variables (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3,
// AWS_ENDPOINT_URL_EC2) and credentials from the default provider chain, never copied anywhere. Code that talks
// to a local emulator passes an AwsConnection instead of changing process.env.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { S3Client } from '@aws-sdk/client-s3';
import { ec2Sdk, s3Sdk } from './sdk.ts';
import { annotateFailures } from './failures.ts';

/** Where a client connects and as whom, when not AWS through the environment (a local emulator). */
export interface AwsConnection {
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** The S3 and EC2 clients a build, `make stage` and the reports use, one per region (tests substitute their own). */
export interface AwsClients {
  s3(region: string, unsigned: boolean): S3Client;
  ec2(region: string): EC2Client;
}

/** The client settings an AwsConnection adds to a region (none for AWS through the environment). */
export function connectionConfig(connection: AwsConnection = {}): { endpoint?: string; credentials?: AwsConnection['credentials'] } {
  return {
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
  };
}

export interface RequestCounter {
  requests: number;
  /** Response body bytes, from Content-Length where the server sends it. */
  bytes: number;
}

/** An S3 client; `unsigned` reads a public bucket anonymously (e.g. the commercial bucket from GovCloud). */
export function s3Client(region: string, opts: { unsigned?: boolean; counter?: RequestCounter; connection?: AwsConnection } = {}): S3Client {
  const client = new (s3Sdk().S3Client)({
    region,
    ...connectionConfig(opts.connection),
    ...(opts.unsigned
      ? {
          credentials: { accessKeyId: 'anonymous', secretAccessKey: 'anonymous' },
          signer: { sign: async (request) => request },
        }
      : {}),
  });
  if (opts.counter) countRequests(client, opts.counter);
  return annotateFailures(client, region);
}

export function ec2Client(region: string, connection?: AwsConnection): EC2Client {
  return annotateFailures(new (ec2Sdk().EC2Client)({ region, ...connectionConfig(connection) }), region);
}

/** The EC2 endpoint the SDK would use from the environment, for Packer's custom_endpoint_ec2 ('' = AWS). */
export function ec2EndpointFromEnv(env: NodeJS.ProcessEnv): string {
  return env.AWS_ENDPOINT_URL_EC2 || env.AWS_ENDPOINT_URL || '';
}

function countRequests(client: S3Client, counter: RequestCounter): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      counter.requests++;
      const result = await next(args);
      const response = result.response as { headers?: Record<string, string> };
      counter.bytes += Number(response.headers?.['content-length'] ?? 0);
      return result;
    },
    { step: 'deserialize', name: 'countRequests' },
  );
}
