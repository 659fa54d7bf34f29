// The ECR stand-in of the join rehearsal: a read-only OCI distribution registry over HTTPS that serves OCI image
// layouts. It behaves as ECR does where a node can tell: a private repository answers an anonymous request with
// 401 and `WWW-Authenticate: Basic realm=…` and accepts Basic auth with user AWS and the password
// GetAuthorizationToken would hand out (here: the one the caller configures; any other is a 401 too). That is how
// the rehearsal proves the node had the pause image cached: containerd pulls the sandbox image without
// credentials, so a node lacking it gets this 401. Public repositories (the test pod's image) serve anonymously.
// Every request is recorded, so a test or the rehearsal's summary can show "the registry refused an anonymous pull".
import { timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync, createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { KeyPair } from './pki.ts';
import { startTlsServer, type TlsServer } from './tls-server.ts';

export interface RegistryRepository {
  /** An OCI image layout directory (index.json naming tags with org.opencontainers.image.ref.name). */
  layout: string;
  /** true: Basic auth AWS:<password> required, as every ECR repository requires. */
  private: boolean;
}

export interface RegistryOptions {
  /** Address to listen on (127.0.0.1: the qemu guest's 10.0.2.2 arrives there). */
  host: string;
  /** 0 (default): pick a free port. */
  port?: number;
  tls: KeyPair;
  /** Repository name (e.g. 'eks/pause') → what it serves. */
  repositories: Record<string, RegistryRepository>;
  /** The only password accepted for user AWS (what `aws ecr get-login-password` returns in the rehearsal). */
  password: string;
  /** The realm of the Basic challenge; ECR's is https://<registry host>/. */
  realm?: string;
}

export type Credentials = 'none' | 'valid' | 'invalid';

export interface RegistryRequest {
  at: string;
  method: string;
  path: string;
  status: number;
  repository?: string;
  /** What the request presented: no Authorization header, the configured AWS password, or anything else. */
  credentials: Credentials;
  /** Whether it was served (public repository, or private with valid credentials). */
  authorized: boolean;
}

interface Resolved {
  file: string;
  mediaType: string;
  digest: string;
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const TAGS = /^\/v2\/(.+)\/(tags)\/list$/;

export class RegistryStandIn {
  private server?: TlsServer;
  readonly requests: RegistryRequest[] = [];
  port = 0;

  constructor(private readonly options: RegistryOptions) {
    for (const [name, repository] of Object.entries(options.repositories)) {
      if (!existsSync(join(repository.layout, 'index.json')))
        throw new Error(`registry: repository ${name}: ${repository.layout} is not an OCI image layout (no index.json)`);
    }
    if (options.password.length === 0) throw new Error('registry: the password is empty; private repositories would be open to anyone');
  }

  async start(): Promise<this> {
    this.server = await startTlsServer(this.options, (req, res) => this.handle(req, res));
    this.port = this.server.port;
    return this;
  }

  /** https://host:port, for clients on this machine. */
  get url(): string {
    return `https://${this.options.host}:${this.port}`;
  }

  /** Requests for a private repository that came without credentials and were refused. */
  refusedAnonymous(): RegistryRequest[] {
    return this.requests.filter((r) => r.status === 401 && r.credentials === 'none' && r.repository !== undefined);
  }

  /** Idempotent; closes open keep-alive connections too, so no socket outlives it. */
  stop(): Promise<void> {
    return this.server?.stop() ?? Promise.resolve();
  }

  private credentialsOf(req: IncomingMessage): Credentials {
    const header = req.headers.authorization;
    if (!header) return 'none';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
    if (!match) return 'invalid';
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const expected = Buffer.from(`AWS:${this.options.password}`);
    const given = Buffer.from(decoded);
    return given.length === expected.length && timingSafeEqual(given, expected) ? 'valid' : 'invalid';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0]!;
    const method = req.method ?? 'GET';
    const credentials = this.credentialsOf(req);
    const record = (status: number, authorized: boolean, repository?: string) =>
      this.requests.push({ at: new Date().toISOString(), method, path, status, credentials, authorized, ...(repository ? { repository } : {}) });
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    const fail = (status: number, code: string, message: string, repository?: string) => {
      if (status === 401) res.setHeader('WWW-Authenticate', `Basic realm="${this.options.realm ?? 'https://ecr.rehearsal/'}",service="ecr.amazonaws.com"`);
      const body = JSON.stringify({ errors: [{ code, message }] });
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      record(status, false, repository);
    };
    if (method !== 'GET' && method !== 'HEAD') return fail(405, 'UNSUPPORTED', 'this registry is read-only');
    // ECR answers the version check with a challenge unless the client authenticated; clients then retry with
    // their credentials (or, for public repositories, go on without).
    if (path === '/v2/' || path === '/v2') {
      if (credentials !== 'valid') return fail(401, 'UNAUTHORIZED', 'authentication required');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 });
      res.end(method === 'HEAD' ? undefined : '{}');
      return void record(200, true);
    }
    const route = ROUTE.exec(path) ?? TAGS.exec(path);
    if (!route) return fail(404, 'NOT_FOUND', `no route ${path}`);
    const [, name, kind, reference] = route as unknown as [string, string, 'manifests' | 'blobs' | 'tags', string];
    const repository = this.options.repositories[name];
    if (!repository) return fail(credentials === 'valid' ? 404 : 401, 'NAME_UNKNOWN', `repository ${name} not found`, name);
    if (repository.private && credentials !== 'valid') {
      const why = credentials === 'none' ? 'no basic auth credentials' : 'invalid credentials for user AWS';
      return fail(401, 'UNAUTHORIZED', `${why}: ${name} is a private repository`, name);
    }
    if (kind === 'tags') {
      const body = JSON.stringify({ name, tags: this.tags(repository.layout) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(method === 'HEAD' ? undefined : body);
      return void record(200, true, name);
    }
    const resolved = kind === 'manifests' ? this.manifest(repository.layout, reference) : this.blob(repository.layout, reference);
    if (!resolved) return fail(404, kind === 'manifests' ? 'MANIFEST_UNKNOWN' : 'BLOB_UNKNOWN', `${name}: ${reference} not found`, name);
    const size = statSync(resolved.file).size;
    res.writeHead(200, { 'Content-Type': resolved.mediaType, 'Content-Length': size, 'Docker-Content-Digest': resolved.digest, ETag: `"${resolved.digest}"` });
    record(200, true, name);
    if (method === 'HEAD') return void res.end();
    createReadStream(resolved.file).pipe(res);
  }

  private tags(layout: string): string[] {
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations?: Record<string, string> }[] };
    return index.manifests.flatMap((m) => m.annotations?.['org.opencontainers.image.ref.name'] ?? []);
  }

  /** A manifest or index by tag (the layout's ref.name annotation) or by digest. */
  private manifest(layout: string, reference: string): Resolved | undefined {
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[];
    };
    if (TAG.test(reference)) {
      const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === reference);
      return entry ? this.blob(layout, entry.digest, entry.mediaType) : undefined;
    }
    const resolved = this.blob(layout, reference);
    if (!resolved) return undefined;
    // A manifest's media type is in its own body; a registry must answer with it, not octet-stream.
    try {
      const body = JSON.parse(readFileSync(resolved.file, 'utf8')) as { mediaType?: string };
      return typeof body.mediaType === 'string' ? { ...resolved, mediaType: body.mediaType } : undefined;
    } catch {
      return undefined; // a layer or config blob is no manifest
    }
  }

  private blob(layout: string, digest: string, mediaType = 'application/octet-stream'): Resolved | undefined {
    if (!DIGEST.test(digest)) return undefined;
    const file = join(layout, 'blobs', 'sha256', digest.slice(7));
    if (!existsSync(file)) return undefined;
    return { file, mediaType, digest };
  }
}
