// The build's AWS clients: for the entry scripts, AWS (endpoints from AWS_ENDPOINT_URL*, credentials from the
// default chain); for a rehearsal, the emulator's connection.
import { ec2Client, s3Client, type AwsClients, type AwsConnection } from './clients.ts';

export const buildClients = (connection?: AwsConnection): AwsClients => ({
  s3: (region, unsigned) => s3Client(region, { unsigned, connection }),
  ec2: (region) => ec2Client(region, connection),
});

export const defaultClients: AwsClients = buildClients();
