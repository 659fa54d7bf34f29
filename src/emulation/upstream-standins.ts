// Local stand-ins for staging tests and the staging benchmark: a GitHub release server and a pass-through
// proxy in front of moto_server, both able to inject the faults real networks produce, both counting what
// they serve (requests, bytes, concurrent bodies in flight).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Agent, createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type Fault =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Send the headers and `after` bytes of the body, then destroy the socket (ECONNRESET). */
  | { kind: 'reset'; after: number }
  /** Announce the full Content-Length, send `after` bytes, end the response cleanly. */
  | { kind: 'truncate'; after: number }
  /** Serve these bytes instead of the real ones (a tampered or corrupted artifact). */
  | { kind: 'replace'; body: Buffer };

export interface Served {
  method: string;
  path: string;
  range?: string;
  authorization?: string;
  host?: string;
  status: number;
  bytes: number;
}

/**
 * A latch for responses, shared between servers: counted GETs wait at it until `count` of them wait at once (or
 * the test calls release()), then those and all later ones pass. Parallelism becomes observable without delays:
 * a stager that never has `count` downloads out at once never gets an answer, and mocha's timeout fails the test.
 */
export class Barrier {
  private held: (() => void)[] = [];
  private open = false;
  private onHeld: (() => void)[] = [];

  constructor(readonly count = Infinity) {}

  pass(go: () => void): void {
    if (this.open) return go();
    this.held.push(go);
    for (const notify of this.onHeld.splice(0)) notify();
    if (this.held.length >= this.count) this.release();
  }

  /** Resolves once a response waits at the latch. */
  waiting(): Promise<void> {
    return this.held.length ? Promise.resolve() : new Promise((resolve) => this.onHeld.push(resolve));
  }

  release(): void {
    this.open = true;
    for (const go of this.held.splice(0)) go();
  }
}

/** Shared between servers: how many response bodies of interest are in flight, and the most ever. */
export class Inflight {
  now = 0;
  max = 0;
  enter(): void {
    this.now++;
    this.max = Math.max(this.max, this.now);
  }
  leave(): void {
    this.now--;
  }
}

interface FaultRule {
  match: (method: string, path: string) => boolean;
  faults: Fault[];
}

abstract class FaultyServer {
  readonly served: Served[] = [];
  protected rules: FaultRule[] = [];
  protected server!: Server;
  endpoint = '';
  /** Counted in `inflight` when their path matches (e.g. artifact bodies, not checksum files). */
  countInflight: (method: string, path: string) => boolean = () => false;
  /** Where counted GETs wait before their answer, so parallelism can be observed (see Barrier). */
  barrier?: Barrier;

  constructor(readonly inflight = new Inflight()) {}

  /** The next requests matching (a path ending with the string, or the predicate) get these faults, one each, in order. */
  fault(match: string | ((method: string, path: string) => boolean), ...faults: Fault[]): void {
    const fn = typeof match === 'string' ? (_m: string, p: string) => p.endsWith(match) : match;
    this.rules.push({ match: fn, faults: [...faults] });
  }

  /** Faults not yet injected (a test asserts 0, so it knows each fault really happened). */
  pendingFaults(): number {
    return this.rules.reduce((n, r) => n + r.faults.length, 0);
  }

  clearFaults(): void {
    this.rules = [];
  }

  reset(): void {
    this.served.length = 0;
    this.clearFaults();
    this.inflight.max = this.inflight.now;
  }

  protected takeFault(method: string, path: string): Fault | undefined {
    for (const rule of this.rules) if (rule.faults.length && rule.match(method, path)) return rule.faults.shift();
    return undefined;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  protected async listen(server: Server, scheme: string): Promise<void> {
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.endpoint = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Applies a status fault; returns true when the request has been answered. */
  protected answerStatus(fault: Fault | undefined, res: ServerResponse, record: Served): boolean {
    if (fault?.kind !== 'status') return false;
    record.status = fault.status;
    res.writeHead(fault.status, { 'content-type': 'application/xml', ...fault.headers });
    res.end(fault.body ?? '');
    return true;
  }

  /** Pipes a body through, applying reset/truncate faults and counting bytes. */
  protected sendBody(body: NodeJS.ReadableStream, res: ServerResponse, record: Served, fault: Fault | undefined, done: () => void): void {
    const limit = fault?.kind === 'reset' || fault?.kind === 'truncate' ? fault.after : Infinity;
    let finished = false;
    const finish = () => {
      if (!finished) {
        finished = true;
        done();
      }
    };
    body.on('data', (chunk: Buffer) => {
      if (record.bytes >= limit) return;
      const part = record.bytes + chunk.length > limit ? chunk.subarray(0, limit - record.bytes) : chunk;
      record.bytes += part.length;
      if (record.bytes < limit) {
        res.write(part);
        return;
      }
      (body as unknown as { destroy?: () => void }).destroy?.();
      // Once this last part has left: destroy the socket (a reset), or end it without completing the announced
      // body (the client sees a short read).
      res.write(part, () => (fault?.kind === 'reset' ? res.socket?.destroy() : res.socket?.end()));
      finish();
    });
    body.on('end', () => {
      res.end();
      finish();
    });
    body.on('error', () => {
      res.socket?.destroy();
      finish();
    });
    res.on('close', finish);
  }
}

// ---------------------------------------------------------------------------------------------------------

export interface Asset {
  /** In memory (tests) or a file on disk (benchmark, tens of MB). */
  body?: Buffer;
  file?: string;
}

/** GitHub releases: GET /<owner>/<repo>/releases/download/<tag>/<asset>, with Range, like github.com. */
export class GitHubStandIn extends FaultyServer {
  readonly assets = new Map<string, Asset>();
  /** Answer release downloads with a 302 to another host name (localhost), as github.com does. */
  redirectHost = '';

  static async start(options: { inflight?: Inflight; tls?: { key: string; cert: string } } = {}): Promise<GitHubStandIn> {
    const s = new GitHubStandIn(options.inflight);
    const handler = (req: IncomingMessage, res: ServerResponse) => s.handle(req, res);
    if (options.tls) await s.listen(createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler) as unknown as Server, 'https');
    else await s.listen(createHttpServer(handler), 'http');
    return s;
  }

  /** Publishes an asset and returns its sha256. */
  put(path: string, asset: Asset | Buffer | string): string {
    const a: Asset = Buffer.isBuffer(asset) ? { body: asset } : typeof asset === 'string' ? { body: Buffer.from(asset) } : asset;
    this.assets.set(path.replace(/^\//, ''), a);
    return a.body ? createHash('sha256').update(a.body).digest('hex') : '';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    let path = url.pathname.replace(/^\//, '');
    const record: Served = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      authorization: req.headers.authorization,
      host: req.headers.host,
      status: 200,
      bytes: 0,
    };
    this.served.push(record);
    if (this.redirectHost && !path.startsWith('objects/')) {
      const port = (this.server.address() as AddressInfo).port;
      record.status = 302;
      res.writeHead(302, { location: `http://${this.redirectHost}:${port}/objects/${path}?signature=abc` });
      res.end();
      return;
    }
    path = path.replace(/^objects\//, '');
    const fault = this.takeFault(record.method, path);
    if (this.answerStatus(fault, res, record)) return;
    const asset = this.assets.get(path);
    if (!asset) {
      record.status = 404;
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('Not Found');
      return;
    }
    const counted = this.countInflight(record.method, path);
    if (counted) this.inflight.enter();
    const respond = () => {
      const real = fault?.kind === 'replace' ? { body: fault.body } : asset;
      const size = real.body ? real.body.length : statSync(real.file!).size;
      const m = /^bytes=([0-9]+)-$/.exec(req.headers.range ?? '');
      const start = m ? Number(m[1]) : 0;
      if (start >= size && m) {
        record.status = 416;
        res.writeHead(416, { 'content-range': `bytes */${size}` });
        res.end();
        if (counted) this.inflight.leave();
        return;
      }
      record.status = m ? 206 : 200;
      res.writeHead(record.status, {
        'content-type': 'application/octet-stream',
        'content-length': String(size - start),
        'accept-ranges': 'bytes',
        ...(m ? { 'content-range': `bytes ${start}-${size - 1}/${size}` } : {}),
      });
      const body = real.body ? bufferStream(real.body.subarray(start)) : createReadStream(real.file!, { start, highWaterMark: 256 * 1024 });
      this.sendBody(body, res, record, fault, () => counted && this.inflight.leave());
    };
    if (this.barrier && counted && record.method === 'GET') this.barrier.pass(respond);
    else respond();
  }
}

function bufferStream(buffer: Buffer): NodeJS.ReadableStream {
  // Chunks of 64 KiB so that partial-body faults land mid-stream.
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += 64 * 1024) chunks.push(buffer.subarray(i, i + 64 * 1024));
  return Readable.from(chunks, { objectMode: false });
}

// ---------------------------------------------------------------------------------------------------------

/** A proxy in front of moto_server: forwards everything, except the faults it is told to inject. */
export class FaultyProxy extends FaultyServer {
  private readonly agent = new Agent({ keepAlive: true });

  static async start(target: string, inflight?: Inflight, tls?: { key: string; cert: string }): Promise<FaultyProxy> {
    const p = new FaultyProxy(inflight);
    const upstream = new URL(target);
    const handler = (req: IncomingMessage, res: ServerResponse) => p.handle(upstream, req, res);
    if (tls) await p.listen(createHttpsServer(tls, handler) as unknown as Server, 'https');
    else await p.listen(createHttpServer(handler), 'http');
    return p;
  }

  private handle(upstream: URL, req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = `${url.pathname}${url.search}`;
    const record: Served = {
      method: req.method ?? 'GET',
      path,
      range: req.headers.range,
      authorization: req.headers.authorization,
      host: req.headers.host,
      status: 0,
      bytes: 0,
    };
    this.served.push(record);
    const fault = this.takeFault(record.method, path);
    if (this.answerStatus(fault, res, record)) {
      req.resume();
      return;
    }
    const counted = this.countInflight(record.method, path);
    if (counted) this.inflight.enter();
    const forward = () => {
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: this.agent },
        (up) => {
          record.status = up.statusCode ?? 502;
          res.writeHead(record.status, up.statusMessage, up.rawHeaders);
          this.sendBody(up, res, record, fault, () => counted && this.inflight.leave());
        },
      );
      out.on('error', () => {
        res.socket?.destroy();
        if (counted) this.inflight.leave();
      });
      req.pipe(out);
    };
    if (this.barrier && counted && record.method === 'GET') this.barrier.pass(forward);
    else forward();
  }

  override async stop(): Promise<void> {
    this.agent.destroy();
    await super.stop();
  }
}

/** Random bytes (incompressible, like binaries). */
export const randomBody = (size: number): Buffer => randomBytes(size);

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** The S3 error document moto/S3 send for throttling. */
export const slowDown = (): Fault => ({
  kind: 'status',
  status: 503,
  body: '<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
});
