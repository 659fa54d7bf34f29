// A pass-through HTTP proxy on 127.0.0.1 that counts what goes through it, so every client under test is
// measured at the same place: requests received and response body bytes sent back. Headers (including
// Host, which the SigV4 signature covers) are forwarded unchanged.
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TrafficCount {
  requests: number;
  /** Response body bytes as sent to the client (status line and headers not included). */
  responseBytes: number;
}

export interface CountingProxy {
  endpoint: string;
  /** Totals since start; take a snapshot before and after a run and subtract. */
  snapshot(): TrafficCount;
  stop(): Promise<void>;
}

export const trafficBetween = (before: TrafficCount, after: TrafficCount): TrafficCount => ({
  requests: after.requests - before.requests,
  responseBytes: after.responseBytes - before.responseBytes,
});

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const totals: TrafficCount = { requests: 0, responseBytes: 0 };

  const server = createServer((req, res) => {
    totals.requests++;
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.rawHeaders);
        upRes.on('data', (chunk: Buffer) => (totals.responseBytes += chunk.length));
        upRes.pipe(res);
      },
    );
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`counting proxy: ${error.message}\n`);
    });
    req.pipe(forward);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    snapshot: () => ({ ...totals }),
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
