// Runs the real rootfs/etc/eks/bootstrap.sh as if on a node, without touching the host:
//   - a private mount namespace (unshare) with overlays on /etc and /var, so the script writes its real paths and
//     everything it creates lands in an upper directory the test reads afterwards (and nothing else changes);
//   - a local IMDS stand-in that, like EC2 with IMDSv2 required, answers 401 to any request without a session token;
//   - stubs on PATH for systemctl (records argv) and a recording wrapper around the real AWS CLI;
//   - a ctr stand-in with an image store (containerd cannot run here): `images ls`, `pull`, `import` and `label`
//     act on a list of references; an "export" it imports is a text file naming the references it holds.
import { captureAsync, capture } from '../support/spawn.ts';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { ecrAccountsFile } from '../../src/render/image-files.ts';
import { requireTool } from '../support/tools.ts';

export interface InstanceIdentity {
  region: string;
  availabilityZone: string;
  instanceId: string;
  instanceType: string;
  privateIp: string;
  hostname: string;
  mac: string;
  vpcCidrs: string[];
  domain: string;
}

export const defaultIdentity = (overrides: Partial<InstanceIdentity> = {}): InstanceIdentity => ({
  region: 'us-west-2',
  availabilityZone: 'us-west-2a',
  instanceId: 'i-0123456789abcdef0',
  instanceType: 'm5.large',
  privateIp: '10.0.12.34',
  hostname: 'ip-10-0-12-34.us-west-2.compute.internal',
  mac: '0a:1b:2c:3d:4e:5f',
  vpcCidrs: ['10.0.0.0/16'],
  domain: 'amazonaws.com',
  ...overrides,
});

export interface ImdsRequest {
  method: string;
  path: string;
  status: number;
}

/** IMDSv2 only: PUT /latest/api/token issues a token; any other request without it (or with a wrong one) gets 401. */
export class ImdsStandIn {
  identity: InstanceIdentity = defaultIdentity();
  readonly requests: ImdsRequest[] = [];
  /** Served at /latest/user-data; undefined answers 404 (an instance without user data). */
  userData?: string | Buffer;
  private readonly tokens = new Set<string>();
  private server?: Server;
  endpoint = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const reply = (status: number, body = '') => {
        this.requests.push({ method: req.method ?? '', path, status });
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      };
      if (path === '/latest/api/token') {
        if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return reply(400);
        const token = randomBytes(24).toString('base64');
        this.tokens.add(token);
        return reply(200, token);
      }
      const token = req.headers['x-aws-ec2-metadata-token'];
      if (req.method !== 'GET') return reply(405);
      if (typeof token !== 'string' || !this.tokens.has(token)) return reply(401);
      if (path === '/latest/user-data') {
        if (this.userData === undefined) return reply(404);
        this.requests.push({ method: req.method ?? '', path, status: 200 });
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return res.end(this.userData);
      }
      const value = this.metadata().get(path);
      return value === undefined ? reply(404) : reply(200, value);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private metadata(): Map<string, string> {
    const id = this.identity;
    const md = '/latest/meta-data/';
    return new Map([
      [`${md}placement/region`, id.region],
      [`${md}placement/availability-zone`, id.availabilityZone],
      [`${md}instance-id`, id.instanceId],
      [`${md}instance-type`, id.instanceType],
      [`${md}local-ipv4`, id.privateIp],
      [`${md}local-hostname`, id.hostname],
      [`${md}mac`, id.mac],
      [`${md}services/domain`, id.domain],
      [`${md}network/interfaces/macs/${id.mac}/vpc-ipv4-cidr-blocks`, id.vpcCidrs.join('\n')],
    ]);
  }
}

export interface NodeResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** argv of each systemctl call, joined by spaces. */
  systemctl: string[];
  /** argv of each aws call, joined by spaces. */
  aws: string[];
  /** argv of each ctr call, joined by spaces. */
  ctr: string[];
  /** "<reference> <label>" for each `ctr images label` call. */
  labels: string[];
  /** containerd's image store after the run. */
  images: string[];
  /** A file the script wrote (path as on the node), or undefined. */
  file(path: string): string | undefined;
  fileBytes(path: string): Buffer | undefined;
  /** Files under the overlays' upper directories that the script created or changed (paths as on the node). */
  written: string[];
}

export interface NodeOptions {
  imds: ImdsStandIn;
  /** Contents of /etc/eks/eni-max-pods.txt in the image. */
  maxPodsTable: string;
  env?: Record<string, string>;
  /** Extra image files, by absolute path on the node. */
  imageFiles?: Record<string, string>;
  /** References in containerd's image store before the run. */
  containerdImages?: string[];
  /** Extra commands on PATH (name → sh body), e.g. a cloud-init stand-in. */
  stubs?: Record<string, string>;
}

const CTR_STUB = (root: string) => `store='${root}/ctr-images'
printf '%s\\n' "$*" >> '${root}/ctr.log'
[ "$1" = --namespace ] && [ "$2" = k8s.io ] && [ "$3" = images ] || { echo "ctr stand-in: unexpected $*" >&2; exit 2; }
sub=$4
shift 4
case $sub in
  ls) ref=\${2#name==}; grep -qxF "$ref" "$store" && echo "$ref"; exit 0 ;;
  pull) for a; do last=$a; done; echo "$last" >> "$store" ;;
  import) cat "$1" >> "$store" ;;
  label) grep -qxF "$1" "$store" || { echo "ctr: image $1 not found" >&2; exit 1; }; echo "$1 $2" >> '${root}/ctr-labels' ;;
  *) echo "ctr stand-in: unexpected images $sub" >&2; exit 2 ;;
esac`;

/** Fails (never skips) unless this host can run the script in a mount namespace. */
export function requireNodeSandbox(): void {
  requireTool('unshare', 'running bootstrap.sh in a private mount namespace');
  requireTool('mount', 'overlay mounts for bootstrap.sh');
  requireTool('curl', 'bootstrap.sh (IMDS calls)');
  requireTool('aws', 'bootstrap.sh (aws eks describe-cluster against moto)');
  if (process.getuid?.() !== 0) throw new Error('the bootstrap tests need root (mount namespaces and overlayfs)');
}

const realAws = (): string => capture('sh', ['-c', 'command -v aws']).stdout.trim();

export function runBootstrap(args: string[], options: NodeOptions): Promise<NodeResult> {
  return runOnNode(['bash', '/etc/eks/bootstrap.sh', ...args], options);
}

/** Runs argv (e.g. bootstrap.sh or the eks-nodeconfig launcher) on the stand-in node. */
export async function runOnNode(argv: string[], options: NodeOptions): Promise<NodeResult> {
  const root = mkdtempSync(join(tmpdir(), 'eks-node-'));
  try {
    const upper = (dir: string) => join(root, 'upper', dir);
    for (const dir of ['etc', 'var']) {
      mkdirSync(upper(dir), { recursive: true });
      mkdirSync(join(root, 'work', dir), { recursive: true });
    }
    // The image: rootfs/etc/eks as shipped, plus what the build adds.
    cpSync(repoPath('rootfs/etc/eks'), upper('etc/eks'), { recursive: true });
    const imageFiles: Record<string, string> = {
      '/etc/eks/eni-max-pods.txt': options.maxPodsTable,
      '/etc/eks/ecr-accounts.txt': ecrAccountsFile(),
      '/etc/eks/image-credential-provider/ecr-credential-provider': '#!/bin/sh\nexit 1\n',
      ...options.imageFiles,
    };
    for (const [path, content] of Object.entries(imageFiles)) {
      const target = join(root, 'upper', path);
      mkdirSync(join(target, '..'), { recursive: true });
      writeFileSync(target, content, { mode: 0o755 });
    }
    const before = new Set(listFiles(join(root, 'upper')));

    const bin = join(root, 'bin');
    mkdirSync(bin);
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    stub('systemctl', `printf '%s\\n' "$*" >> '${root}/systemctl.log'`);
    stub('aws', `printf '%s\\n' "$*" >> '${root}/aws.log'\nexec '${realAws()}' "$@"`);
    stub('ctr', CTR_STUB(root));
    writeFileSync(join(root, 'ctr-images'), (options.containerdImages ?? []).map((r) => `${r}\n`).join(''));
    for (const [name, body] of Object.entries(options.stubs ?? {})) stub(name, body);

    const mounts = ['etc', 'var']
      .map((d) => `mount -t overlay overlay -o lowerdir=/${d},upperdir=${upper(d)},workdir=${join(root, 'work', d)} /${d}`)
      .join(' && ');
    const { status, stdout, stderr } = await captureAsync('unshare', ['--mount', '--propagation', 'private', 'bash', '-c', `${mounts} && exec "$@"`, 'node', ...argv], {
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        HOME: process.env.HOME ?? '/root',
        LANG: 'C.UTF-8',
        IMDS_ENDPOINT: options.imds.endpoint,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...options.env,
      },
    });

    const lines = (name: string) => (existsSync(join(root, name)) ? readFileSync(join(root, name), 'utf8').trim().split('\n') : []);
    const files = new Map<string, Buffer>();
    const written: string[] = [];
    for (const rel of listFiles(join(root, 'upper'))) {
      const content = readFileSync(join(root, 'upper', rel));
      files.set(`/${rel}`, content);
      if (!before.has(rel)) written.push(`/${rel}`);
    }
    return {
      status,
      stdout,
      stderr,
      systemctl: lines('systemctl.log'),
      aws: lines('aws.log'),
      ctr: lines('ctr.log'),
      labels: lines('ctr-labels'),
      images: lines('ctr-images').filter(Boolean),
      file: (path) => files.get(path)?.toString('utf8'),
      fileBytes: (path) => files.get(path),
      written: written.sort(),
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  const out = capture('find', [dir, '-type', 'f', '-printf', '%P\\n']);
  return out.stdout.split('\n').filter(Boolean);
}
