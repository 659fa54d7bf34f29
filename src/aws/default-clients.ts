// Real AWS clients for the entry scripts (endpoints from AWS_ENDPOINT_URL*, credentials from the default chain).
import type { AwsClients } from '../resolve/resolve.ts';
import { ec2Client, s3Client } from './clients.ts';

export const defaultClients: AwsClients = {
  s3: (region, unsigned) => s3Client(region, { unsigned }),
  ec2: (region) => ec2Client(region),
};
