// kube-apiserver's webhook token authenticator for the join rehearsal, standing in for the EKS IAM authenticator.
// The node's kubelet authenticates exactly as on EKS: its kubeconfig (written by bootstrap.sh) runs
// `aws-iam-authenticator token -i <cluster>` (or `aws eks get-token`), which presigns an STS GetCallerIdentity
// request with the node role's credentials, signs the x-k8s-aws-id header (the cluster name) into it and sends
// `k8s-aws-v1.` + base64url(URL) as its bearer token. kube-apiserver hands the token to this webhook as a
// TokenReview (authentication.k8s.io/v1).
//
// The checks are the real authenticator's format checks (prefix, size, https, an STS host of a known partition,
// path /, only the presigning query parameters each once, Action=GetCallerIdentity, x-k8s-aws-id among the
// signed headers, X-Amz-Expires within 0-900, not older than 15 minutes after X-Amz-Date: STS honours presigned
// URLs for 15 minutes whatever X-Amz-Expires says, and the kubelet reuses a token for 14). What cannot happen
// offline is the authenticator's last step, sending the URL to STS, which checks the signature (and with it the
// cluster name) and names the caller's role. Instead the access key of X-Amz-Credential is looked up in a
// configured map access key → node name: the rehearsal knows the one key its metadata service hands the node's
// role, and maps it to the node's name as the aws-auth entry of a node role does
// (system:node:{{EC2PrivateDNSName}} in groups system:bootstrappers and system:nodes). An unknown key is refused.
import { timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { allRegions, regionFacts } from '../../data/partitions.ts';
import type { KeyPair } from './pki.ts';
import { startTlsServer, type TlsServer } from './tls-server.ts';

export const TOKEN_PREFIX = 'k8s-aws-v1.';
const MAX_TOKEN_BYTES = 4096;
const PRESIGNED_LIFETIME_MS = 15 * 60 * 1000;
const ALLOWED_PARAMETERS = new Set([
  'action',
  'version',
  'x-amz-algorithm',
  'x-amz-credential',
  'x-amz-date',
  'x-amz-expires',
  'x-amz-security-token',
  'x-amz-signature',
  'x-amz-signedheaders',
]);
export const NODE_GROUPS = ['system:bootstrappers', 'system:nodes'];

/** Every STS host name the authenticator accepts: the global endpoint and each region's, from data/partitions.json. */
export function stsHosts(): Set<string> {
  const hosts = new Set(['sts.amazonaws.com']);
  for (const region of allRegions()) hosts.add(`sts.${region}.${regionFacts(region)!.dnsSuffix}`);
  return hosts;
}

export type TokenVerdict = { ok: true; accessKeyId: string; issuedAt: Date } | { ok: false; reason: string };

/** The authenticator's format checks of a `k8s-aws-v1.` token (no STS call; see the file comment). */
export function inspectToken(token: string, now: Date, hosts: Set<string> = stsHosts()): TokenVerdict {
  const refuse = (reason: string): TokenVerdict => ({ ok: false, reason });
  if (Buffer.byteLength(token) > MAX_TOKEN_BYTES) return refuse('token is too large');
  if (!token.startsWith(TOKEN_PREFIX)) return refuse(`token is missing the "${TOKEN_PREFIX}" prefix`);
  const encoded = token.slice(TOKEN_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return refuse('token is not base64url (RFC 4648, no padding)');
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    return refuse('token does not decode to a URL');
  }
  if (url.protocol !== 'https:') return refuse(`unexpected scheme "${url.protocol.replace(/:$/, '')}" in the presigned URL`);
  if (!hosts.has(url.host)) return refuse(`unexpected host "${url.host}" in the presigned URL (not an STS endpoint)`);
  if (url.pathname !== '/') return refuse('unexpected path in the presigned URL');
  const parameters = new Map<string, string>();
  for (const key of new Set(url.searchParams.keys())) {
    if (!ALLOWED_PARAMETERS.has(key.toLowerCase())) return refuse(`query parameter "${key}" is not one of a presigned GetCallerIdentity URL`);
    const values = url.searchParams.getAll(key);
    if (values.length !== 1 || parameters.has(key.toLowerCase())) return refuse(`query parameter "${key}" appears more than once`);
    parameters.set(key.toLowerCase(), values[0]!);
  }
  if (parameters.get('action') !== 'GetCallerIdentity') return refuse('the presigned URL is not an sts:GetCallerIdentity request');
  const signed = (parameters.get('x-amz-signedheaders') ?? '').split(';').map((h) => h.toLowerCase());
  if (!signed.includes('x-k8s-aws-id')) return refuse('the client did not sign the x-k8s-aws-id header (the cluster name) into the presigned URL');
  const expires = Number(parameters.get('x-amz-expires'));
  if (!/^\d+$/.test(parameters.get('x-amz-expires') ?? '') || expires > 900)
    return refuse(`invalid X-Amz-Expires "${parameters.get('x-amz-expires') ?? ''}" (0-900 seconds)`);
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(parameters.get('x-amz-date') ?? '');
  if (!date) return refuse('X-Amz-Date is missing or not YYYYMMDDTHHMMSSZ');
  const issuedAt = new Date(Date.UTC(Number(date[1]), Number(date[2]) - 1, Number(date[3]), Number(date[4]), Number(date[5]), Number(date[6])));
  if (now.getTime() > issuedAt.getTime() + PRESIGNED_LIFETIME_MS)
    return refuse(`the token expired: X-Amz-Date ${issuedAt.toISOString()} is more than 15 minutes ago`);
  const accessKeyId = (parameters.get('x-amz-credential') ?? '').split('/')[0] ?? '';
  if (!/^[A-Z0-9]{16,128}$/.test(accessKeyId)) return refuse('X-Amz-Credential names no access key');
  if (!parameters.get('x-amz-signature')) return refuse('the presigned URL has no X-Amz-Signature');
  return { ok: true, accessKeyId, issuedAt };
}

export interface TokenWebhookOptions {
  /** 127.0.0.1: only kube-apiserver on this machine calls it. */
  host: string;
  port?: number;
  tls: KeyPair;
  /** Access key id (what the node's role credentials carry) → node name (the instance's PrivateDnsName). */
  nodes: Record<string, string>;
  /** For tests of expiry; default the clock. */
  now?: () => Date;
  /** Each review, one line (user, accepted or refused, why). */
  log?: (line: string) => void;
}

export interface TokenReviewRecord {
  at: string;
  accepted: boolean;
  user?: string;
  accessKeyId?: string;
  reason: string;
}

interface TokenReview {
  apiVersion?: string;
  kind?: string;
  spec?: { token?: string };
}

export class TokenWebhook {
  private server?: TlsServer;
  private readonly hosts = stsHosts();
  readonly reviews: TokenReviewRecord[] = [];
  port = 0;

  constructor(private readonly options: TokenWebhookOptions) {
    for (const [key, node] of Object.entries(options.nodes)) {
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(node)) throw new Error(`token webhook: node name '${node}' (for ${key}) is not a valid node name`);
    }
  }

  async start(): Promise<this> {
    this.server = await startTlsServer(this.options, (req, res) => this.handle(req, res));
    this.port = this.server.port;
    return this;
  }

  /** The URL kube-apiserver posts TokenReviews to. */
  get url(): string {
    return `https://${this.options.host}:${this.port}/authenticate`;
  }

  /** The kubeconfig for kube-apiserver's --authentication-token-webhook-config-file (the webhook is the "cluster"). */
  writeKubeconfig(file: string, caFile: string): void {
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'iam-authenticator', cluster: { server: this.url, 'certificate-authority': caFile } }],
      users: [{ name: 'kube-apiserver', user: {} }],
      contexts: [{ name: 'webhook', context: { cluster: 'iam-authenticator', user: 'kube-apiserver' } }],
      'current-context': 'webhook',
    };
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  }

  /** The verdict on one token, as the webhook gives it. */
  review(token: string): TokenReviewRecord {
    const at = (this.options.now?.() ?? new Date()).toISOString();
    const verdict = inspectToken(token, new Date(at), this.hosts);
    if (!verdict.ok) return { at, accepted: false, reason: verdict.reason };
    const node = Object.entries(this.options.nodes).find(
      ([key]) => key.length === verdict.accessKeyId.length && timingSafeEqual(Buffer.from(key), Buffer.from(verdict.accessKeyId)),
    )?.[1];
    if (!node)
      return {
        at,
        accepted: false,
        accessKeyId: verdict.accessKeyId,
        reason: `access key ${verdict.accessKeyId} is mapped to no node (not the node role's credentials)`,
      };
    return {
      at,
      accepted: true,
      user: `system:node:${node}`,
      accessKeyId: verdict.accessKeyId,
      reason: `presigned GetCallerIdentity by ${verdict.accessKeyId}, issued ${verdict.issuedAt.toISOString()}`,
    };
  }

  stop(): Promise<void> {
    return this.server?.stop() ?? Promise.resolve();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const reply = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method !== 'POST' || (req.url ?? '').split('?')[0] !== '/authenticate') return reply(404, { message: 'POST /authenticate only' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > 64 * 1024) return void req.destroy();
      chunks.push(chunk);
    });
    req.on('end', () => {
      let request: TokenReview;
      try {
        request = JSON.parse(Buffer.concat(chunks).toString('utf8')) as TokenReview;
      } catch {
        return reply(400, { message: 'the body is not JSON' });
      }
      if (request.kind !== 'TokenReview' || !['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'].includes(request.apiVersion ?? '')) {
        return reply(400, { message: 'expected a TokenReview of authentication.k8s.io/v1' });
      }
      const record = this.review(request.spec?.token ?? '');
      this.reviews.push(record);
      this.options.log?.(
        `token review: ${record.accepted ? `accepted ${record.user}` : 'refused'}${record.accessKeyId ? ` (access key ${record.accessKeyId})` : ''}: ${record.reason}`,
      );
      const status = record.accepted
        ? { authenticated: true, user: { username: record.user, uid: `aws-iam-authenticator:${record.accessKeyId}`, groups: NODE_GROUPS } }
        : { authenticated: false, error: record.reason };
      reply(200, { apiVersion: request.apiVersion, kind: 'TokenReview', status });
    });
  }
}
