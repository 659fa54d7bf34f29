// Expected AWS failures end in a sentence and a documented exit code, never a stack trace: the real CLI without
// any credentials, moto with IAM enforced for a denied call and an unknown key, and a stand-in EC2 endpoint for the
// answers moto cannot give (expired token, opt-in region, throttling), parsed by the real SDK client.
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { expect } from 'chai';
import { capture, entryScript } from '../support/spawn.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ec2Client, type AwsConnection } from '../../src/aws/clients.ts';
import { describeAwsFailure } from '../../src/aws/failures.ts';
import { EXIT } from '../../src/errors.ts';
import { repoPath } from '../../src/paths.ts';
import { startEmulatedAws } from '../support/emulated-aws.ts';
import { make } from '../support/make.ts';
import { FAKE_CREDENTIALS, type Moto } from '../support/moto.ts';
import { requireTool } from '../support/tools.ts';

/** The environment of a fresh machine: no AWS variable at all, an empty home, no instance metadata. */
function bareEnvironment(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_') && !k.startsWith('PKR_')) env[k] = v;
  return { ...env, HOME: home, AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...extra };
}

function build(words: string[], env: NodeJS.ProcessEnv) {
  return capture(...entryScript('build', words), { cwd: repoPath(), env, timeout: 120_000 });
}

const noStackTrace = (text: string) => expect(text).not.to.match(/^\s+at .+:\d+:\d+\)?$/m);

describe('AWS failures: a sentence and exit code 7, no stack trace', function () {
  this.timeout(180_000);
  let home: string;
  before(() => {
    requireTool('packer', 'the build script (it checks Packer before any AWS call)');
    home = mkdtempSync(join(tmpdir(), 'empty-home-'));
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('without credentials: names the sources tried, how to configure one, and make rehearse', () => {
    const result = build(['1.28', 'dry_run=true'], bareEnvironment(home));
    expect(result.status, result.stderr).to.equal(EXIT.aws);
    expect(result.stderr).to.contain('No AWS credentials were found for s3:ListObjectsV2 in us-west-2');
    expect(result.stderr).to.contain('AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (not set)');
    expect(result.stderr).to.contain(`${home}/.aws/config (missing)`).and.to.contain('skipped: AWS_EC2_METADATA_DISABLED=true');
    expect(result.stderr).to.contain('aws configure').and.to.contain('`make rehearse 1.28`');
    expect(result.stderr).not.to.contain('CredentialsProviderError');
    noStackTrace(result.stderr);
  });

  it('through make: the same sentence, and make reports the script\'s code', () => {
    const result = make(['1.28', 'dry_run=true'], bareEnvironment(home) as Record<string, string>);
    expect(result.stderr).to.contain('No AWS credentials were found').and.to.match(/Error 7$/m);
    noStackTrace(result.stderr);
  });

  describe('moto with IAM enforced', () => {
    let moto: Moto;
    let allowedS3Only: Record<string, string>;
    before(async () => {
      moto = await startEmulatedAws();
      const config = { region: 'us-east-1', endpoint: moto.endpoint, credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY } };
      const iam = new IAMClient(config);
      const sts = new STSClient(config);
      // A role that may read S3 (version discovery) and nothing else, and its temporary credentials.
      const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' }] };
      const role = await iam.send(new CreateRoleCommand({ RoleName: 'builder', AssumeRolePolicyDocument: JSON.stringify(trust) }));
      const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 's3:*', Resource: '*' }] };
      await iam.send(new PutRolePolicyCommand({ RoleName: 'builder', PolicyName: 's3-only', PolicyDocument: JSON.stringify(policy) }));
      const session = (await sts.send(new AssumeRoleCommand({ RoleArn: role.Role!.Arn!, RoleSessionName: 'test' }))).Credentials!;
      allowedS3Only = { AWS_ACCESS_KEY_ID: session.AccessKeyId!, AWS_SECRET_ACCESS_KEY: session.SecretAccessKey!, AWS_SESSION_TOKEN: session.SessionToken! };
      sts.destroy();
      iam.destroy();
      expect((await fetch(`${moto.endpoint}/moto-api/reset-auth`, { method: 'POST', body: '0' })).status).to.equal(200);
    });
    after(async () => moto?.stop());

    const motoEnv = (credentials: Record<string, string>) => bareEnvironment(home, { ...moto.env, ...credentials });

    it('access denied: names the action, the resource and the region', () => {
      // A pinned version skips discovery: the first AWS call is EC2's.
      const result = build(['1.28', 'dry_run=true', 'kubernetes_version=1.28.15', 'kubernetes_build_date=2025-11-05'], motoEnv(allowedS3Only));
      expect(result.status, result.stderr).to.equal(EXIT.aws);
      expect(result.stderr).to.match(/AWS denied ec2:DescribeImages on Owners 309956199498, name RHEL-9\.\*_HVM\S*-x86_64-\* in us-west-2 \((UnauthorizedOperation|AccessDenied)/);
      expect(result.stderr).to.contain('Grant the identity ec2:DescribeImages');
      noStackTrace(result.stderr);
    });

    it('an access key AWS does not know: says the credentials are not valid', () => {
      const result = build(['1.28', 'dry_run=true'], motoEnv({ AWS_ACCESS_KEY_ID: 'AKIAUNKNOWNKEY000000', AWS_SECRET_ACCESS_KEY: 'unknown' }));
      expect(result.status, result.stderr).to.equal(EXIT.aws);
      expect(result.stderr).to.match(/AWS rejected s3:ListObjectsV2 on s3:\/\/amazon-eks\/1\.28\.? in us-west-2: the credentials are not valid there \(InvalidAccessKeyId/);
      noStackTrace(result.stderr);
    });
  });

  describe('answers moto cannot give (a stand-in EC2 endpoint, the real SDK client)', () => {
    let server: Server;
    let answer = { status: 400, code: 'ExpiredToken', message: 'The security token included in the request is expired' };
    let connection: AwsConnection;
    before(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const body = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${answer.code}</Code><Message>${answer.message}</Message></Error></Errors><RequestID>r-1</RequestID></Response>`;
          res.writeHead(answer.status, { 'content-type': 'text/xml' }).end(body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as { port: number }).port;
      connection = { endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY } };
    });
    after(() => {
      server.close();
    });

    const failure = async () => {
      const client = ec2Client('ap-east-1', connection);
      try {
        await client.send(new DescribeImagesCommand({ ImageIds: ['ami-0123456789abcdef0'] }));
      } catch (error) {
        return describeAwsFailure(error, {});
      } finally {
        client.destroy();
      }
      throw new Error('the stand-in answered with success');
    };

    const cases: [string, typeof answer, RegExp][] = [
      ['an expired token', { status: 400, code: 'ExpiredToken', message: 'expired' }, /AWS rejected ec2:DescribeImages on ImageIds ami-0123456789abcdef0 in ap-east-1 because the credentials have expired \(ExpiredToken\)\. Refresh them/],
      ['an opt-in region not enabled (OptInRequired)', { status: 401, code: 'OptInRequired', message: 'You are not subscribed to this service' }, /AWS refused ec2:DescribeImages .* in ap-east-1 \(OptInRequired: .*\)\. ap-east-1 is probably an opt-in region not enabled/],
      ['an opt-in region not enabled (AuthFailure)', { status: 401, code: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials' }, /ap-east-1 is probably an opt-in region not enabled for this account/],
      ['throttling', { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' }, /AWS throttled ec2:DescribeImages on ImageIds ami-0123456789abcdef0 in ap-east-1 \(RequestLimitExceeded\) even after the SDK's retries/],
      ['access denied', { status: 403, code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation.' }, /AWS denied ec2:DescribeImages on ImageIds ami-0123456789abcdef0 in ap-east-1 \(UnauthorizedOperation: .*\)\. Grant the identity ec2:DescribeImages/],
    ];
    for (const [what, reply, message] of cases) {
      it(`${what}: names the action, the resource and the region`, async () => {
        answer = reply;
        const error = await failure();
        expect(error, 'mapped to a user error').not.to.equal(undefined);
        expect(error!.exitCode).to.equal(EXIT.aws);
        expect(error!.message).to.match(message);
      });
    }

    it('an unexpected error is not disguised as one of these', async () => {
      answer = { status: 400, code: 'InvalidAMIID.Malformed', message: 'Invalid id' };
      expect(await failure()).to.equal(undefined);
    });
  });
});
