// Where artifact bytes come from: an HTTP(S) URL (GitHub releases or a mirror of them) or an S3 object.
// Both open a stream at a byte offset (Range), so an interrupted download resumes where it stopped, and
// both turn failures into TransientError (retry) or StageError (tell the user).
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { StageError, TransientError } from './errors.ts';

export interface Opened {
  body: Readable;
  /** Offset of the first byte of body (0 when the server ignored the Range). */
  start: number;
  /** Bytes body will deliver, when the server said. */
  length?: number;
  /** Size of the whole object, when known. */
  total?: number;
}

export interface Source {
  /** Where from, for messages and the lock file; never carries a credential. */
  readonly url: string;
  open(offset: number): Promise<Opened>;
}

/** Thrown by open() when the server refuses the Range (416): the caller starts over from byte 0. */
export class RangeNotSatisfiable extends TransientError {
  constructor(url: string) {
    super(`${url}: the server refused to resume (416); starting over`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// HTTP(S)

export interface HttpOptions {
  /** GITHUB_TOKEN: sent as Authorization only to URLs under tokenScope, never across a redirect to another host. */
  token?: string;
  /** GITHUB_BASE_URL: the token goes to URLs below it and nowhere else (not to the AWS CLI site, say). */
  tokenScope?: string;
  /** PEM bundle (AWS_CA_BUNDLE) trusted in addition to Node's roots. */
  caBundle?: string;
  /** Idle socket timeout. */
  timeoutMs?: number;
  maxSockets?: number;
}

export class HttpClient {
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  requests = 0;

  constructor(private readonly options: HttpOptions = {}) {
    const maxSockets = options.maxSockets ?? 8;
    this.http = new HttpAgent({ keepAlive: true, maxSockets });
    this.https = new HttpsAgent({ keepAlive: true, maxSockets, ...(options.caBundle ? { ca: [...rootCertificates, options.caBundle] } : {}) });
  }

  source(url: string): Source {
    return { url, open: (offset) => this.get(url, offset) };
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }

  async get(url: string, offset: number, redirects = 5): Promise<Opened> {
    const origin = new URL(url).host;
    const scope = this.options.tokenScope?.replace(/\/*$/, '/');
    const authorized = Boolean(this.options.token) && scope !== undefined && url.startsWith(scope);
    let current = new URL(url);
    for (let hop = 0; hop <= redirects; hop++) {
      const response = await this.request(current, offset, authorized && current.host === origin).catch((error: NodeJS.ErrnoException) => {
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(error.code ?? '')) {
          throw new StageError(`${url}: the server's TLS certificate is not trusted (${error.code}: ${error.message}); set AWS_CA_BUNDLE to a PEM file with the CA that signed it.`);
        }
        throw error;
      });
      const status = response.statusCode ?? 0;
      if ([301, 302, 303, 307, 308].includes(status) && response.headers.location) {
        response.resume();
        current = new URL(response.headers.location, current);
        continue;
      }
      if (status === 200 || status === 206) return opened(response, offset, url);
      response.resume();
      throw statusError(url, status, response.headers, Boolean(this.options.token));
    }
    throw new StageError(`${url}: more than ${redirects} redirects`);
  }

  private request(url: URL, offset: number, withToken: boolean): Promise<IncomingMessage> {
    const secure = url.protocol === 'https:';
    if (!secure && url.protocol !== 'http:') throw new StageError(`${url.origin}: only http and https URLs can be fetched`);
    const headers: Record<string, string> = { 'user-agent': 'rhel-eks-ami-stage', accept: 'application/octet-stream' };
    if (offset > 0) headers.range = `bytes=${offset}-`;
    if (this.options.token && withToken) headers.authorization = `Bearer ${this.options.token}`;
    this.requests++;
    return new Promise((resolve, reject) => {
      const req = (secure ? httpsRequest : httpRequest)(url, { headers, agent: secure ? this.https : this.http }, resolve);
      req.setTimeout(this.options.timeoutMs ?? 30_000, () => req.destroy(new TransientError(`${url.origin}${url.pathname}: no answer for ${(this.options.timeoutMs ?? 30_000) / 1000} s`)));
      req.on('error', reject);
      req.end();
    });
  }
}

function opened(response: IncomingMessage, offset: number, url: string): Opened {
  const length = response.headers['content-length'] !== undefined ? Number(response.headers['content-length']) : undefined;
  if (response.statusCode === 206) {
    const range = parseContentRange(response.headers['content-range']);
    if (!range || range.start !== offset) {
      response.destroy();
      throw new TransientError(`${url}: the server answered a different range (${response.headers['content-range'] ?? 'none'}) than bytes=${offset}-`);
    }
    return { body: response, start: range.start, length, total: range.total };
  }
  return { body: response, start: 0, length, total: length };
}

function parseContentRange(header: string | undefined): { start: number; total?: number } | undefined {
  const m = /^bytes ([0-9]+)-[0-9]+\/([0-9]+|\*)$/.exec(header ?? '');
  return m ? { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) } : undefined;
}

function retryAfter(headers: IncomingMessage['headers']): number | undefined {
  const value = headers['retry-after'];
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const date = Date.parse(String(value));
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function statusError(url: string, status: number, headers: IncomingMessage['headers'], hasToken: boolean): Error {
  if ((status === 403 || status === 429) && headers['x-ratelimit-remaining'] === '0') {
    const reset = Number(headers['x-ratelimit-reset']);
    const when = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    return new StageError(
      `GitHub rate limit reached fetching ${url} (HTTP ${status}, x-ratelimit-remaining: 0): no more requests allowed${when}. ` +
        (hasToken ? 'The GITHUB_TOKEN in use has exhausted its quota; wait for the reset or use another token.' : 'Set GITHUB_TOKEN to a GitHub token for a higher limit, or point GITHUB_BASE_URL at a mirror.'),
    );
  }
  if (status >= 500 || status === 429 || status === 408) return new TransientError(`${url}: HTTP ${status}`, retryAfter(headers));
  if (status === 416) return new RangeNotSatisfiable(url);
  if (status === 404) return new StageError(`${url}: not found (HTTP 404). Check the version variables (cni_plugin_version, containerd_version, runc_version) and GITHUB_BASE_URL.`);
  if (status === 401 || status === 403) return new StageError(`${url}: access denied (HTTP ${status})${hasToken ? '; check GITHUB_TOKEN' : ''}.`);
  return new StageError(`${url}: unexpected HTTP ${status}`);
}

export function readCaBundle(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new StageError(`AWS_CA_BUNDLE=${path} cannot be read: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// S3

/** An object in a bucket, read with GetObject (unsigned when the client is). */
export function s3Source(s3: S3Client, bucket: string, key: string, url: string, unsigned = false): Source {
  return {
    url,
    async open(offset) {
      let out;
      try {
        out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(offset > 0 ? { Range: `bytes=${offset}-` } : {}) }));
      } catch (error) {
        const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (e.name === 'NoSuchKey' || status === 404) throw new StageError(`s3://${bucket}/${key}: not found. Check kubernetes_version/kubernetes_build_date and the source bucket.`);
        if (e.name === 'InvalidRange' || status === 416) throw new RangeNotSatisfiable(url);
        if (e.name === 'AccessDenied' || status === 403) {
          throw new StageError(`s3://${bucket}/${key}: access denied (HTTP 403)${unsigned ? '; it was read unsigned (another partition than the mirror), so the bucket must allow anonymous reads' : ''}.`);
        }
        throw error;
      }
      const body = out.Body as Readable;
      const range = parseContentRange(out.ContentRange);
      if (offset > 0 && range && range.start !== offset) {
        body.destroy();
        throw new TransientError(`${url}: S3 answered range ${out.ContentRange} for bytes=${offset}-`);
      }
      const start = range?.start ?? 0;
      return { body, start, length: out.ContentLength, total: range?.total ?? out.ContentLength };
    },
  };
}

/** The whole (small) object a source names, e.g. a checksum file; refuses anything over `limit` bytes. */
export async function readSmall(source: Source, limit = 1024 * 1024): Promise<Buffer> {
  const { body, length } = await source.open(0);
  if (length !== undefined && length > limit) {
    body.destroy();
    throw new StageError(`${source.url}: ${length} bytes, more than a checksum file can be (${limit})`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new StageError(`${source.url}: more than ${limit} bytes, more than a checksum file can be`);
    }
    chunks.push(chunk as Buffer);
  }
  if (length !== undefined && size !== length) throw new TransientError(`${source.url}: truncated body (${size} of ${length} bytes)`);
  return Buffer.concat(chunks);
}
