// The local AWS emulator (moto_server) for offline rehearsals and tests: S3 and EC2 on a free port.
// moto_server comes from PyPI (`pip install 'moto[server]'`); python3 must be able to import it.
import type { ChildProcess } from 'node:child_process';
import type { AwsConnection } from '../aws/clients.ts';
import { ToolError } from '../errors.ts';
import { runSync, startDetached } from '../process/run.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface CatalogImage {
  ami_id: string;
  name: string;
  owner_id: string;
  architecture: 'x86_64' | 'arm64';
  creation_date?: string;
  root_device_name?: string;
  root_device_type?: string;
  virtualization_type?: string;
  state?: string;
  description?: string;
  public?: boolean;
}

export interface Moto {
  endpoint: string;
  port: number;
  /** Environment that points child processes (Packer, the AWS CLI, our scripts) at this emulator. */
  env: Record<string, string>;
  /** What our own AWS clients pass to reach it (endpoint and its fake credentials). */
  connection: Required<AwsConnection>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Credentials moto accepts; obviously fake, so a leak of them into any output is easy to spot. */
export const FAKE_CREDENTIALS = {
  AWS_ACCESS_KEY_ID: 'AKIAFAKETESTKEY00001',
  AWS_SECRET_ACCESS_KEY: 'fake/secret/never-to-appear-anywhere',
};

export async function startMoto(options: { amis?: CatalogImage[]; host?: string } = {}): Promise<Moto> {
  if (runSync('python3', ['-c', 'import moto']).exitCode !== 0) {
    throw new ToolError("moto_server is not available: python3 cannot import moto. Install it with pip install 'moto[server]'.");
  }
  const port = await freePort();
  const host = options.host ?? '127.0.0.1';
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.amis) {
    const dir = mkdtempSync(join(tmpdir(), 'moto-amis-'));
    const catalog = join(dir, 'amis.json');
    writeFileSync(catalog, JSON.stringify(options.amis.map(withImageDefaults)));
    env.MOTO_AMIS_PATH = catalog;
  }
  // Its own process group, so a terminal's Ctrl-C does not take the emulator away while Packer cleans up in it.
  const child: ChildProcess = startDetached('python3', [join(here, 'moto_launcher.py'), '-H', host, '-p', String(port)], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  const endpoint = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  await waitForHttp(`${endpoint}/moto-api/`, child, () => stderr);
  return {
    endpoint,
    port,
    connection: { endpoint, credentials: { accessKeyId: FAKE_CREDENTIALS.AWS_ACCESS_KEY_ID, secretAccessKey: FAKE_CREDENTIALS.AWS_SECRET_ACCESS_KEY } },
    env: {
      AWS_ENDPOINT_URL: endpoint,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_REGION: 'us-west-2',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
      ...FAKE_CREDENTIALS,
    },
    async reset() {
      await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function withImageDefaults(image: CatalogImage) {
  return {
    root_device_type: 'ebs',
    virtualization_type: 'hvm',
    state: 'available',
    public: true,
    description: image.name,
    ...image,
  };
}

async function waitForHttp(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited early (${child.exitCode}):\n${stderr()}`);
    try {
      const response = await fetch(url);
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`moto_server did not answer on ${url} within 30 s:\n${stderr()}`);
}
