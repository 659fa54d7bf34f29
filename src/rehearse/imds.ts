// The rehearsal's instance metadata service (IMDSv2), which the emulator does not provide to the target: a
// session token first, then the instance's launch key (cleanup.sh removes it from authorized_keys) and, when the
// build names iam_instance_profile, that profile's role and throw-away credentials (sandbox-image.sh gets an ECR
// token with them through the AWS CLI stand-in). Without a profile the instance has no role, as on EC2. The
// provisioners reach it through IMDS_ENDPOINT, which real builds leave unset.
import { CreateInstanceProfileCommand, CreateRoleCommand, AddRoleToInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { randomBytes } from 'node:crypto';
import { connectionConfig, type AwsConnection } from '../aws/clients.ts';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetadataOptions {
  host: string;
  publicKey: string;
  /** The instance profile's role name; undefined: no role. */
  role?: string;
  /** A joining node's identity (bootstrap.sh reads it); the build instance needs none. */
  instance?: InstanceIdentity;
}

export interface InstanceIdentity {
  instanceId: string;
  instanceType: string;
  region: string;
  availabilityZone: string;
  localIpv4: string;
  localHostname: string;
  mac: string;
  /** amazonaws.com, amazonaws.com.cn, … (the partition's DNS suffix). */
  domain: string;
  vpcCidr: string;
}

/** meta-data paths → values for an instance identity. */
function identityPaths(identity: InstanceIdentity): Map<string, string> {
  return new Map([
    ['instance-id', identity.instanceId],
    ['instance-type', identity.instanceType],
    ['placement/region', identity.region],
    ['placement/availability-zone', identity.availabilityZone],
    ['local-ipv4', identity.localIpv4],
    ['local-hostname', identity.localHostname],
    ['mac', identity.mac],
    ['services/domain', identity.domain],
    [`network/interfaces/macs/${identity.mac}/vpc-ipv4-cidr-blocks`, identity.vpcCidr],
  ]);
}

export class MetadataStandIn {
  private server?: Server;
  private readonly token = randomBytes(16).toString('hex');
  endpoint = '';

  constructor(private readonly options: MetadataOptions) {}

  async start(): Promise<this> {
    const { publicKey, role, instance } = this.options;
    const identity = instance ? identityPaths(instance) : new Map<string, string>();
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      const ttl = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
      if (req.method === 'PUT' && path === '/latest/api/token' && ttl) {
        // IMDS echoes the token's lifetime; the AWS SDKs read it and fall back to IMDSv1 (refused here) without it.
        res.writeHead(200, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) }).end(this.token);
        return;
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== this.token) {
        res.writeHead(401).end();
        return;
      }
      const metaData = path.startsWith('/latest/meta-data/') ? path.slice('/latest/meta-data/'.length) : undefined;
      if (metaData !== undefined && identity.has(metaData)) {
        res.end(identity.get(metaData));
      } else if (path === '/latest/meta-data/public-keys/0/openssh-key') {
        res.end(publicKey);
      } else if (path === '/latest/meta-data/iam/security-credentials/' && role) {
        res.end(role);
      } else if (path === `/latest/meta-data/iam/security-credentials/${role}` && role) {
        const credentials = {
          Code: 'Success',
          Type: 'AWS-HMAC',
          AccessKeyId: 'ASIAREHEARSALSTANDIN',
          SecretAccessKey: randomBytes(20).toString('hex'),
          Token: randomBytes(32).toString('base64'),
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        };
        res.end(JSON.stringify(credentials));
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, this.options.host, resolve);
    });
    this.endpoint = `http://${this.options.host}:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** The instance profile Packer names in RunInstances must exist in the emulator's IAM, with a role in it. */
export async function createInstanceProfile(region: string, name: string, connection?: AwsConnection): Promise<void> {
  const iam = new IAMClient({ region, ...connectionConfig(connection) });
  const assume = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(assume) }));
  await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: name }));
  await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: name, RoleName: name }));
}
