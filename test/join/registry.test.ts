// The ECR stand-in with real clients: curl sees what containerd's resolver sees (401 + Basic challenge for an
// anonymous pull of a private repository, the manifest with the right media type and digest with AWS:<password>),
// and skopeo pulls whole images through it and gets the digests the layout holds.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPodImage, MEDIA, type BuiltImage } from '../../src/rehearse/join/images.ts';
import { createClusterPki, type ClusterPki } from '../../src/rehearse/join/pki.ts';
import { RegistryStandIn } from '../../src/rehearse/join/registry.ts';
import { captureAsync } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';

const HOST = '602401143452.dkr.ecr.us-west-2.amazonaws.com';
const PASSWORD = 'ecr-token-for-the-rehearsal';

describe('ECR stand-in registry (curl, skopeo)', function () {
  this.timeout(60_000);
  let dir: string;
  let pki: ClusterPki;
  let privateImage: BuiltImage;
  let publicImage: BuiltImage;
  let registry: RegistryStandIn;
  let certDir: string;

  const curl = async (path: string, ...args: string[]) => {
    const result = await captureAsync(
      'curl',
      [
        '-sS',
        '--cacert',
        pki.ca.certFile,
        '--resolve',
        `${HOST}:${registry.port}:127.0.0.1`,
        '-D',
        '-',
        '-o',
        join(dir, 'body'),
        ...args,
        `https://${HOST}:${registry.port}${path}`,
      ],
      { timeout: 30_000 },
    );
    expect(result.status, result.stderr).to.equal(0);
    const [statusLine, ...lines] = result.stdout.trim().split(/\r?\n/);
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    const body = args.includes('-I') ? Buffer.alloc(0) : readFileSync(join(dir, 'body'));
    return { status: Number(statusLine!.split(' ')[1]), headers, body };
  };
  const basic = (password: string) => ['-u', `AWS:${password}`];
  const sha = (body: Buffer) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
  const skopeo = (...args: string[]) => captureAsync('skopeo', args, { timeout: 30_000 });

  before(async () => {
    requireTool('curl', 'the registry test');
    requireTool('skopeo', 'pulling through the registry stand-in (apt-get install skopeo)');
    dir = mkdtempSync(join(tmpdir(), 'join-registry-'));
    pki = await createClusterPki(join(dir, 'pki'), { registryHosts: [HOST] });
    const cacheDir = join(dir, 'images');
    privateImage = buildPodImage({ binary: '/bin/busybox', path: 'bin/busybox', cmd: ['sleep', '1'], tag: '3.10', cacheDir });
    publicImage = buildPodImage({ binary: '/bin/busybox', path: 'bin/busybox', cmd: ['httpd', '-f', '-p', '8080'], tag: 'latest', cacheDir });
    registry = await new RegistryStandIn({
      host: '127.0.0.1',
      tls: pki.registry,
      password: PASSWORD,
      realm: `https://${HOST}/`,
      repositories: { 'eks/pause': { layout: privateImage.layout, private: true }, 'rehearsal/test-pod': { layout: publicImage.layout, private: false } },
    }).start();
    certDir = join(dir, 'certs');
    mkdirSync(certDir);
    copyFileSync(pki.ca.certFile, join(certDir, 'ca.crt'));
  });
  after(async () => {
    await registry?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses an anonymous pull of a private repository with ECR's Basic challenge, and records it", async () => {
    for (const method of [[], ['-I']]) {
      const answer = await curl('/v2/eks/pause/manifests/3.10', ...method);
      expect(answer.status).to.equal(401);
      expect(answer.headers['www-authenticate']).to.equal(`Basic realm="https://${HOST}/",service="ecr.amazonaws.com"`);
    }
    const refused = registry.refusedAnonymous();
    expect(refused.map((r) => [r.method, r.path, r.repository])).to.deep.include.members([
      ['GET', '/v2/eks/pause/manifests/3.10', 'eks/pause'],
      ['HEAD', '/v2/eks/pause/manifests/3.10', 'eks/pause'],
    ]);
    expect(refused.every((r) => !r.authorized)).to.equal(true);
  });

  it('refuses a wrong password and blobs of a private repository too', async () => {
    expect((await curl('/v2/eks/pause/manifests/3.10', ...basic('not-the-token'))).status).to.equal(401);
    expect((await curl(`/v2/eks/pause/blobs/${privateImage.layerDigest}`)).status).to.equal(401);
    expect(registry.requests.at(-2)).to.include({ credentials: 'invalid', status: 401, authorized: false });
  });

  it('serves the tag with AWS:<password>: the index, its media type and digest; then manifest and blobs by digest', async () => {
    const index = await curl('/v2/eks/pause/manifests/3.10', ...basic(PASSWORD));
    expect(index.status).to.equal(200);
    expect(index.headers['content-type']).to.equal(MEDIA.index);
    expect(index.headers['docker-content-digest']).to.equal(privateImage.indexDigest);
    expect(sha(index.body)).to.equal(privateImage.indexDigest);
    const head = await curl('/v2/eks/pause/manifests/3.10', '-I', ...basic(PASSWORD));
    expect([head.status, head.headers['docker-content-digest'], Number(head.headers['content-length'])]).to.deep.equal([
      200,
      privateImage.indexDigest,
      index.body.length,
    ]);

    const manifestDigest = (JSON.parse(index.body.toString()) as { manifests: { digest: string }[] }).manifests[0]!.digest;
    const manifest = await curl(`/v2/eks/pause/manifests/${manifestDigest}`, ...basic(PASSWORD));
    expect([manifest.status, manifest.headers['content-type'], sha(manifest.body)]).to.deep.equal([200, MEDIA.manifest, manifestDigest]);
    const layerDigest = (JSON.parse(manifest.body.toString()) as { layers: { digest: string }[] }).layers[0]!.digest;
    const layer = await curl(`/v2/eks/pause/blobs/${layerDigest}`, ...basic(PASSWORD));
    expect([layer.status, sha(layer.body), layer.headers['docker-content-digest']]).to.deep.equal([200, layerDigest, layerDigest]);
    expect(registry.requests.at(-1)).to.include({ credentials: 'valid', authorized: true, status: 200 });
  });

  it('serves a public repository anonymously; unknown tags, repositories and writes fail as a registry fails', async () => {
    expect((await curl('/v2/rehearsal/test-pod/manifests/latest')).status).to.equal(200);
    expect((await curl('/v2/rehearsal/test-pod/manifests/nope')).status).to.equal(404);
    expect((await curl('/v2/rehearsal/test-pod/blobs/sha256:../../etc/passwd')).status).to.equal(404);
    expect((await curl('/v2/other/manifests/latest', ...basic(PASSWORD))).status).to.equal(404);
    expect((await curl('/v2/rehearsal/test-pod/blobs/uploads/', '-X', 'POST')).status).to.equal(405);
  });

  it("skopeo pulls the private image only with the password, with the layout's digests", async () => {
    const reference = `docker://127.0.0.1:${registry.port}/eks/pause:3.10`;
    const anonymous = await skopeo('inspect', '--cert-dir', certDir, '--raw', reference);
    expect(anonymous.status).to.not.equal(0);
    expect(anonymous.stderr).to.match(/401|unauthorized|authentication required/i);

    const target = join(dir, 'pulled');
    const copy = await skopeo(
      'copy',
      '--src-cert-dir',
      certDir,
      '--src-creds',
      `AWS:${PASSWORD}`,
      '--all',
      '--preserve-digests',
      reference,
      `oci:${target}:3.10`,
    );
    expect(copy.status, copy.stderr).to.equal(0);
    const pulled = JSON.parse(readFileSync(join(target, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    expect(pulled.manifests.map((m) => m.digest)).to.deep.equal([privateImage.indexDigest]);
    const config = await skopeo('inspect', '--config', `oci:${target}:3.10`);
    expect(config.status, config.stderr).to.equal(0);
    expect((JSON.parse(config.stdout) as { config: { Cmd: string[] } }).config.Cmd).to.deep.equal(['sleep', '1']);
  });

  it('skopeo pulls the public image anonymously', async () => {
    const result = await skopeo('inspect', '--cert-dir', certDir, `docker://127.0.0.1:${registry.port}/rehearsal/test-pod:latest`);
    expect(result.status, result.stderr).to.equal(0);
    expect((JSON.parse(result.stdout) as { Digest: string }).Digest).to.equal(publicImage.indexDigest);
  });

  it('stop() closes the listener and every connection, and is idempotent', async () => {
    const port = registry.port;
    await Promise.all([registry.stop(), registry.stop()]);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused).to.equal(true);
  });
});
