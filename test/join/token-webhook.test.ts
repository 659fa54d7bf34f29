// The IAM authenticator stand-in, fed by the real token makers a node uses: `aws eks get-token` (the AWS CLI)
// and aws-iam-authenticator (built from source by the upstream cache), presigning offline with throw-away
// credentials. Well-formed tokens of the node role's key map to the node; anything else is refused with the reason.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterPki, type ClusterPki } from '../../src/rehearse/join/pki.ts';
import { inspectToken, TOKEN_PREFIX, TokenWebhook } from '../../src/rehearse/join/token-webhook.ts';
import { captureAsync } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';
import { requireUpstreamBinary } from './upstream-binaries.ts';

const NODE_KEY = 'ASIAREHEARSALSTANDIN';
const OTHER_KEY = 'AKIAFAKETESTKEY00001';
const NODE = 'ip-10-0-2-15.us-west-2.compute.internal';
const CLUSTER = 'rehearsal';

describe('token webhook (aws eks get-token, aws-iam-authenticator)', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: ClusterPki;
  let webhook: TokenWebhook;
  const logged: string[] = [];
  let clock = () => new Date();

  /** A token from a real client, presigned with `accessKey`'s throw-away credentials (no network involved). */
  const tokenFrom = async (client: 'aws' | 'aws-iam-authenticator', accessKey: string): Promise<string> => {
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: 'throw-away-secret-never-used-against-aws',
      AWS_SESSION_TOKEN: 'throw-away-session-token',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const result =
      client === 'aws'
        ? await captureAsync('aws', ['eks', 'get-token', '--cluster-name', CLUSTER, '--region', 'us-west-2'], { env, timeout: 30_000 })
        : await captureAsync(
            requireUpstreamBinary('aws-iam-authenticator', 'sigs.k8s.io/aws-iam-authenticator'),
            ['token', '-i', CLUSTER, '--region', 'us-west-2'],
            { env, timeout: 30_000 },
          );
    expect(result.status, result.stderr).to.equal(0);
    return (JSON.parse(result.stdout) as { status: { token: string } }).status.token;
  };

  const review = (token: string, apiVersion = 'authentication.k8s.io/v1') =>
    new Promise<{ status: { authenticated: boolean; user?: { username: string; groups: string[] }; error?: string } }>((resolve, reject) => {
      const body = JSON.stringify({ apiVersion, kind: 'TokenReview', spec: { token } });
      const req = request(webhook.url, { method: 'POST', ca: readFileSync(pki.ca.certFile), headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve(JSON.parse(text) as never));
      });
      req.once('error', reject);
      req.end(body);
    });

  /** The token with its presigned URL edited (the webhook cannot check signatures, so an edit tests one rule). */
  const edited = (token: string, edit: (url: URL) => void): string => {
    const url = new URL(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url').toString());
    edit(url);
    return TOKEN_PREFIX + Buffer.from(url.toString()).toString('base64url');
  };

  before(async () => {
    requireTool('aws', 'making tokens as `aws eks get-token` does');
    dir = mkdtempSync(join(tmpdir(), 'join-webhook-'));
    pki = await createClusterPki(join(dir, 'pki'), { registryHosts: ['registry.rehearsal'] });
    webhook = await new TokenWebhook({
      host: '127.0.0.1',
      tls: pki.tokenWebhook,
      nodes: { [NODE_KEY]: NODE },
      now: () => clock(),
      log: (l) => logged.push(l),
    }).start();
  });
  afterEach(() => (clock = () => new Date()));
  after(async () => {
    await webhook?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const client of ['aws', 'aws-iam-authenticator'] as const) {
    it(`accepts a token from ${client} signed with the node role's key, as system:node:<name> in system:nodes`, async () => {
      const answer = await review(await tokenFrom(client, NODE_KEY));
      expect(answer.status.authenticated, answer.status.error).to.equal(true);
      expect(answer.status.user!.username).to.equal(`system:node:${NODE}`);
      expect(answer.status.user!.groups).to.include('system:nodes');
      expect(logged.at(-1)).to.match(new RegExp(`accepted system:node:${NODE.replaceAll('.', '\\.')} \\(access key ${NODE_KEY}\\)`));
    });
  }

  it('refuses a well-formed token of another access key, naming it', async () => {
    const answer = await review(await tokenFrom('aws', OTHER_KEY));
    expect(answer.status.authenticated).to.equal(false);
    expect(answer.status.error).to.match(new RegExp(`access key ${OTHER_KEY} is mapped to no node`));
    expect(webhook.reviews.at(-1)).to.include({ accepted: false, accessKeyId: OTHER_KEY });
  });

  it('refuses garbage, tokens without the signed cluster header, other hosts and expired tokens, each with its reason', async () => {
    const good = await tokenFrom('aws', NODE_KEY);
    const cases: [string, RegExp][] = [
      ['not-a-token', /missing the "k8s-aws-v1\." prefix/],
      [`${TOKEN_PREFIX}!!!`, /not base64url/],
      [edited(good, (u) => u.searchParams.set('X-Amz-SignedHeaders', 'host')), /did not sign the x-k8s-aws-id header/],
      [edited(good, (u) => (u.host = 'sts.evil.example')), /unexpected host "sts\.evil\.example"/],
      [edited(good, (u) => u.searchParams.set('Action', 'AssumeRole')), /not an sts:GetCallerIdentity request/],
      [edited(good, (u) => u.searchParams.append('Action', 'GetCallerIdentity')), /more than once/],
      [edited(good, (u) => u.searchParams.set('X-Amz-Expires', '3600')), /invalid X-Amz-Expires/],
      [edited(good, (u) => u.searchParams.set('Extra', '1')), /"Extra" is not one of/],
    ];
    for (const [token, reason] of cases) {
      const answer = await review(token);
      expect(answer.status.authenticated, token).to.equal(false);
      expect(answer.status.error).to.match(reason);
    }
    // STS honours a presigned URL for 15 minutes after X-Amz-Date, whatever X-Amz-Expires (60) says.
    clock = () => new Date(Date.now() + 14 * 60_000);
    expect((await review(good)).status.authenticated).to.equal(true);
    clock = () => new Date(Date.now() + 16 * 60_000);
    const expired = await review(good);
    expect([expired.status.authenticated, expired.status.error]).to.satisfy(([ok, error]: [boolean, string]) => !ok && /expired/.test(error));
    expect(logged.filter((l) => l.includes('refused')).length).to.be.at.least(cases.length + 1);
  });

  it("inspectToken knows every partition's regional STS host (data/partitions.json)", async () => {
    const good = await tokenFrom('aws', NODE_KEY);
    for (const host of ['sts.us-gov-west-1.amazonaws.com', 'sts.cn-north-1.amazonaws.com.cn', 'sts.amazonaws.com']) {
      expect(
        inspectToken(
          edited(good, (u) => (u.host = host)),
          new Date(),
        ).ok,
        host,
      ).to.equal(true);
    }
  });

  it('writes the kubeconfig kube-apiserver reads, pointing at the webhook with the cluster CA', () => {
    const file = join(dir, 'webhook.kubeconfig');
    webhook.writeKubeconfig(file, pki.ca.certFile);
    const config = JSON.parse(readFileSync(file, 'utf8')) as { clusters: { cluster: { server: string; 'certificate-authority': string } }[] };
    expect(config.clusters[0]!.cluster).to.deep.equal({ server: `https://127.0.0.1:${webhook.port}/authenticate`, 'certificate-authority': pki.ca.certFile });
  });
});
