// A private mirror (no anonymous reads), read by the real provisioners with the instance role and nothing
// else: moto_server with IAM enforced (every request's SigV4 signature checked and authorised against the
// caller's IAM policies), and a stand-in for the instance metadata service (IMDSv2, which cannot run here)
// handing out the temporary credentials of a role assumed in moto. aws-cli.sh runs in a throw-away root and
// must fetch the AWS CLI installer itself from the mirror, before any AWS CLI exists.
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { s3Client } from '../../src/aws/clients.ts';
import { repoPath } from '../../src/paths.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { requireTool } from '../support/tools.ts';
import { contractEnv, sandboxSuite } from './fixtures.ts';

const MIRROR = 'private-mirror';
const ASSET = 'awscli-exe-linux-x86_64.zip';

interface RoleCredentials {
  AccessKeyId: string;
  SecretAccessKey: string;
  Token: string;
}

/** IMDSv2: a token from PUT /latest/api/token, required on every metadata read; one role, its credentials. */
class MetadataStandIn {
  private server!: Server;
  endpoint = '';
  credentials: RoleCredentials | undefined;
  readonly requests: { method: string; path: string; token: boolean }[] = [];
  private readonly token = 'imds-session-token-for-tests';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.requests.push({ method: req.method ?? '', path, token: req.headers['x-aws-ec2-metadata-token'] === this.token });
      if (req.method === 'PUT' && path === '/latest/api/token' && req.headers['x-aws-ec2-metadata-token-ttl-seconds']) {
        res.end(this.token);
        return;
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== this.token) {
        res.writeHead(401).end();
        return;
      }
      if (path === '/latest/meta-data/iam/security-credentials/') {
        res.end(this.credentials ? 'eks-build-role' : '');
        return;
      }
      if (path === '/latest/meta-data/iam/security-credentials/eks-build-role' && this.credentials) {
        res.end(JSON.stringify({ Code: 'Success', Type: 'AWS-HMAC', ...this.credentials, Expiration: new Date(Date.now() + 3600_000).toISOString() }));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('provisioners: a private mirror read with the instance role (moto with IAM enforced)', function () {
  this.timeout(120_000);
  const { f, fresh, ok } = sandboxSuite();
  let moto: Moto;
  let imds: MetadataStandIn;
  let reader: RoleCredentials;
  let outsider: RoleCredentials;

  before(async () => {
    requireTool('python3', 'signing S3 requests on the instance (provisioners/lib/s3-get.py)');
    moto = await startMoto();
    const config = { region: 'us-west-2', ...moto.connection };
    const iam = new IAMClient(config);
    const sts = new STSClient(config);
    const s3 = s3Client('us-west-2', { connection: moto.connection });
    // Set up while moto still accepts anything: a private bucket with the staged installer, a role that may
    // read it, a role that may not; then each role's temporary credentials, as an instance profile has.
    await s3.send(new CreateBucketCommand({ Bucket: MIRROR, CreateBucketConfiguration: { LocationConstraint: 'us-west-2' } }));
    for (const name of [ASSET, `${ASSET}.sig`]) {
      await s3.send(new PutObjectCommand({ Bucket: MIRROR, Key: `awscli/${name}`, Body: readFileSync(join(f().www, 'awscli', name)) }));
    }
    const trust = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] });
    const assume = async (role: string, policy?: object): Promise<RoleCredentials> => {
      const made = await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: trust }));
      if (policy) await iam.send(new PutRolePolicyCommand({ RoleName: role, PolicyName: 'mirror', PolicyDocument: JSON.stringify(policy) }));
      const out = await sts.send(new AssumeRoleCommand({ RoleArn: made.Role!.Arn!, RoleSessionName: 'i-0123456789abcdef0' }));
      return { AccessKeyId: out.Credentials!.AccessKeyId!, SecretAccessKey: out.Credentials!.SecretAccessKey!, Token: out.Credentials!.SessionToken! };
    };
    reader = await assume('eks-build-role', { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: `arn:aws:s3:::${MIRROR}/*` }] });
    outsider = await assume('unrelated-role');
    for (const c of [iam, sts, s3]) c.destroy();
    // From here on moto checks every request's signature and the caller's permissions.
    const enforced = await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' });
    expect(enforced.status).to.equal(200);
    imds = await new MetadataStandIn().start();
  });

  after(async () => {
    await imds?.stop();
    await moto?.stop();
  });

  const mirrorEnv = () =>
    contractEnv(f(), {
      PULL_CNI_FROM_GITHUB: 'false',
      BINARY_BUCKET_NAME: MIRROR,
      BINARY_BUCKET_ENDPOINT: moto.endpoint,
      AWSCLI_BASE_URL: 'http://127.0.0.1:9/unreachable',
      IMDS_ENDPOINT: imds.endpoint,
    });

  it('signs exactly as the SigV4 example in the S3 documentation (GET /test.txt, Range bytes=0-9, 2013-05-24)', () => {
    // Values from AWS's published "GET Object" signing example; the expected signature is the one printed there.
    const program = [
      'import datetime, importlib.util, sys',
      'spec = importlib.util.spec_from_file_location("s3get", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)',
      'h = m.sign("GET", "https://examplebucket.s3.amazonaws.com/test.txt", "us-east-1", ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""),',
      '           datetime.datetime(2013, 5, 24, tzinfo=datetime.timezone.utc), {"Range": "bytes=0-9"}, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")',
      'print(h["authorization"])',
    ].join('\n');
    const signed = capture('python3', ['-c', program, repoPath('provisioners', 'lib', 's3-get.py')]);
    expect(signed.status, signed.stderr).to.equal(0);
    expect(signed.stdout.trim()).to.equal(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
  });

  it('refuses anonymous reads (the mirror really is private)', () => {
    const anonymous = capture('curl', ['--silent', '--output', '/dev/null', '--write-out', '%{http_code}', `${moto.endpoint}/${MIRROR}/awscli/${ASSET}`]);
    expect(anonymous.stdout).to.match(/^4[0-9][0-9]$|^5[0-9][0-9]$/);
  });

  it('installs the AWS CLI from the private mirror, reading it signed with the role from IMDSv2', async () => {
    imds.credentials = reader;
    imds.requests.length = 0;
    const sb = fresh();
    const result = await ok(sb, 'aws-cli.sh', mirrorEnv());
    expect(result.stderr).to.include(`anonymous read of ${moto.endpoint}/${MIRROR}/awscli/${ASSET} refused (HTTP 403 access denied); reading it signed with the instance role`);
    expect(result.stderr).to.include('verified the PGP signature of the AWS CLI v2 installer');
    expect((await sb.exec(['aws', '--version'])).stdout).to.match(/^aws-cli\/2\./);
    // IMDSv2 only: a session token first (once per object read: the installer and its signature), then
    // every metadata read with it.
    expect(imds.requests[0]).to.deep.include({ method: 'PUT', path: '/latest/api/token' });
    expect(imds.requests.filter((r) => r.method === 'PUT')).to.have.length(2);
    expect(imds.requests.filter((r) => r.method === 'GET').every((r) => r.token)).to.equal(true);
    // The role's credentials stay out of the build log.
    for (const secret of [reader.SecretAccessKey, reader.Token]) expect(result.output).to.not.include(secret);
  });

  it('fails clearly, leaving nothing behind, when the instance role may not read the mirror', async () => {
    imds.credentials = outsider;
    const sb = fresh();
    const result = await sb.runStep('aws-cli.sh', mirrorEnv());
    expect(result.status).to.not.equal(0);
    // The failure says what each attempt was answered: the anonymous read, then the signed one with S3's error code.
    expect(result.stderr).to.include(
      `download failed: s3://${MIRROR}/awscli/${ASSET} (anonymous read: HTTP 403 access denied; signed with the instance role: ${moto.endpoint}/${MIRROR}/awscli/${ASSET}: HTTP 403 AccessDenied (signed with the instance role))`,
    );
    expect(sb.exists('/usr/local/bin/aws')).to.equal(false);
    expect(sb.exists(`/var/lib/eks-build/scratch/aws-cli/awscliv2.zip.part`)).to.equal(false);
  });

  it('a wrong secret is refused by S3 (SignatureDoesNotMatch), and an instance without a role says so', async () => {
    imds.credentials = { ...reader, SecretAccessKey: `${reader.SecretAccessKey.slice(0, -4)}XXXX` };
    const sb = fresh();
    const forged = await sb.runStep('aws-cli.sh', mirrorEnv());
    expect(forged.status).to.not.equal(0);
    expect(forged.stderr).to.match(/HTTP 403 SignatureDoesNotMatch \(signed with the instance role\)/);
    imds.credentials = undefined;
    const roleless = await sb.runStep('aws-cli.sh', mirrorEnv());
    expect(roleless.status).to.not.equal(0);
    expect(roleless.stderr).to.include('the instance has no IAM role (instance profile); attach one that may read the bucket');
  });
});
