// An HTTPS server of the rehearsal's (the ECR stand-in, the IAM authenticator stand-in): started on a given address
// (port 0: a free one) and stopped for good, open connections included, so a stop never waits on a client's
// keep-alive and nothing outlives the rehearsal.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import type { KeyPair } from './pki.ts';

export interface TlsServer {
  port: number;
  /** Closes the listener and every open connection; idempotent. */
  stop(): Promise<void>;
}

export async function startTlsServer(
  options: { host: string; port?: number; tls: KeyPair },
  handle: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<TlsServer> {
  const server = createServer({ cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) }, handle);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let stopped: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    stop: () =>
      (stopped ??= new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      })),
  };
}
