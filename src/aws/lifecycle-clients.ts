// AWS clients the lifecycle commands use, one factory per service and region. Endpoints follow the SDK's
// AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_<SERVICE> variables unless an AwsConnection points them at an emulator.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { SSMClient } from '@aws-sdk/client-ssm';
import { connectionConfig, type AwsConnection } from './clients.ts';
import { annotateFailures } from './failures.ts';

export interface LifecycleClients {
  ec2(region: string): EC2Client;
  ssm(region: string): SSMClient;
  autoscaling(region: string): AutoScalingClient;
  eks(region: string): EKSClient;
  cloudformation(region: string): CloudFormationClient;
}

/** Clients created once per service and region; `connection` points them at an emulator. */
export function lifecycleClients(connection?: AwsConnection): LifecycleClients {
  const cache = new Map<string, unknown>();
  const once = <T>(key: string, make: () => T): T => {
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  return {
    ec2: (region) => once(`ec2:${region}`, () => annotateFailures(new EC2Client({ region, ...connectionConfig(connection) }), region)),
    ssm: (region) => once(`ssm:${region}`, () => annotateFailures(new SSMClient({ region, ...connectionConfig(connection) }), region)),
    autoscaling: (region) => once(`asg:${region}`, () => annotateFailures(new AutoScalingClient({ region, ...connectionConfig(connection) }), region)),
    eks: (region) => once(`eks:${region}`, () => annotateFailures(new EKSClient({ region, ...connectionConfig(connection) }), region)),
    cloudformation: (region) => once(`cfn:${region}`, () => annotateFailures(new CloudFormationClient({ region, ...connectionConfig(connection) }), region)),
  };
}

/** The region a command works in when none is given: AWS_REGION, AWS_DEFAULT_REGION, else us-west-2. */
export const defaultRegion = (env: NodeJS.ProcessEnv): string => env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-west-2';
