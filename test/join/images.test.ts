// The join rehearsal's images: the pause image compiled from the Kubernetes source answers -v with its version,
// its layout is self-consistent (every digest is its blob's sha256), a real client (skopeo) reads it as an OCI
// archive with the entrypoint and user upstream's image has, and two builds of the same input are identical.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildPauseImage,
  buildPodImage,
  MEDIA,
  REF_NAME,
  CONTAINERD_NAME,
  writeOciArchive,
  type BuiltImage,
  type Descriptor,
} from '../../src/rehearse/join/images.ts';
import { capture } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';

// The Kubernetes release whose pause source the newest minor's rehearsal compiles (issue 11's example).
const KUBERNETES = '1.36.3';
const REFERENCE = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10';
const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('join images (gcc, skopeo)', function () {
  this.timeout(300_000);
  let dir: string;
  let pause: BuiltImage;

  before(async () => {
    for (const tool of ['go', 'gcc', 'strip', 'skopeo', 'tar']) requireTool(tool, 'building and checking the join rehearsal images');
    dir = mkdtempSync(join(tmpdir(), 'join-images-'));
    pause = await buildPauseImage({ kubernetesVersion: KUBERNETES, tag: '3.10', reference: REFERENCE, cacheDir: join(dir, 'cache-a') });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const blob = (image: BuiltImage, digest: string) => readFileSync(join(image.layout, 'blobs', 'sha256', digest.replace('sha256:', '')));

  it('the pause binary from the Kubernetes source is static and answers -v with the stamped version', () => {
    const extracted = join(dir, 'rootfs');
    mkdirSync(extracted);
    const untar = capture('tar', ['-xzf', join(pause.layout, 'blobs', 'sha256', pause.layerDigest.slice(7)), '-C', extracted]);
    expect(untar.status, untar.stderr).to.equal(0);
    const version = capture(join(extracted, 'pause'), ['-v']);
    expect(version.stdout.trim()).to.equal(`pause.c v3.10-v${KUBERNETES}`);
    expect(capture('file', [join(extracted, 'pause')]).stdout).to.match(/statically linked/);
  });

  it('every digest in the layout is the sha256 of its blob, from index.json down to the layer', () => {
    const top = JSON.parse(readFileSync(join(pause.layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    expect(top.manifests).to.have.length(1);
    expect(top.manifests[0]!.annotations).to.deep.equal({ [REF_NAME]: '3.10', [CONTAINERD_NAME]: REFERENCE });
    for (const file of readdirSync(join(pause.layout, 'blobs', 'sha256'))) {
      expect(sha(readFileSync(join(pause.layout, 'blobs', 'sha256', file))), file).to.equal(file);
    }
    const check = (d: Descriptor) => expect([d.size, sha(blob(pause, d.digest))]).to.deep.equal([blob(pause, d.digest).length, d.digest.slice(7)]);
    const indexDescriptor = top.manifests[0]!;
    check(indexDescriptor);
    const index = JSON.parse(blob(pause, indexDescriptor.digest).toString()) as { mediaType: string; manifests: Descriptor[] };
    expect(index.mediaType).to.equal(MEDIA.index);
    expect(index.manifests.map((m) => [m.mediaType, m.platform])).to.deep.equal([[MEDIA.manifest, { architecture: 'amd64', os: 'linux' }]]);
    const manifest = JSON.parse(blob(pause, index.manifests[0]!.digest).toString()) as { config: Descriptor; layers: Descriptor[] };
    [manifest.config, ...manifest.layers].forEach(check);
    const config = JSON.parse(blob(pause, manifest.config.digest).toString()) as { rootfs: { diff_ids: string[] } };
    const tar = capture('sh', ['-c', `gzip -dc < '${join(pause.layout, 'blobs', 'sha256', pause.layerDigest.slice(7))}' | sha256sum`]).stdout.split(' ')[0];
    expect(config.rootfs.diff_ids).to.deep.equal([`sha256:${tar}`]);
  });

  it("skopeo reads the oci-archive: linux/amd64, entrypoint /pause, user 65535:65535, the layout's digests", () => {
    const archive = join(dir, 'pause.tar');
    writeOciArchive(pause, archive);
    const config = capture('skopeo', ['inspect', '--config', `oci-archive:${archive}`]);
    expect(config.status, config.stderr).to.equal(0);
    const parsed = JSON.parse(config.stdout) as { architecture: string; os: string; config: { Entrypoint: string[]; User: string } };
    expect([parsed.os, parsed.architecture, parsed.config.Entrypoint, parsed.config.User]).to.deep.equal(['linux', 'amd64', ['/pause'], '65535:65535']);
    const copied = join(dir, 'copied');
    const copy = capture('skopeo', ['copy', '--all', '--preserve-digests', `oci-archive:${archive}`, `oci:${copied}:3.10`]);
    expect(copy.status, copy.stderr).to.equal(0);
    expect(readdirSync(join(copied, 'blobs', 'sha256'))).to.include.members(
      [pause.indexDigest, pause.manifestDigest, pause.layerDigest].map((d) => d.slice(7)),
    );
    const listing = capture('tar', ['-tvzf', join(pause.layout, 'blobs', 'sha256', pause.layerDigest.slice(7))]).stdout;
    expect(listing).to.match(/^-rwxr-xr-x root\/root .* 1970-01-01 00:00 pause$/m);
  });

  it('the same input builds the same digests (a second cache), and a cached build is reused', async () => {
    const again = await buildPauseImage({ kubernetesVersion: KUBERNETES, tag: '3.10', reference: REFERENCE, cacheDir: join(dir, 'cache-b') });
    expect([again.indexDigest, again.manifestDigest, again.layerDigest]).to.deep.equal([pause.indexDigest, pause.manifestDigest, pause.layerDigest]);
    expect(again.layout).to.not.equal(pause.layout);
    const cached = await buildPauseImage({ kubernetesVersion: KUBERNETES, tag: '3.10', reference: REFERENCE, cacheDir: join(dir, 'cache-a') });
    expect(cached.layout).to.equal(pause.layout);
    expect(readdirSync(join(dir, 'cache-a')).filter((d) => d.includes('.partial'))).to.deep.equal([]);
  });

  it("a pod image around a static binary runs its command (busybox httpd as the entrypoint's argument)", () => {
    const pod = buildPodImage({ binary: '/bin/busybox', path: 'bin/busybox', cmd: ['httpd', '-f', '-p', '8080'], tag: 'v1', cacheDir: join(dir, 'cache-a') });
    const config = JSON.parse(blob(pod, pod.configDigest).toString()) as { config: { Entrypoint: string[]; Cmd: string[] } };
    expect([config.config.Entrypoint, config.config.Cmd]).to.deep.equal([['/bin/busybox'], ['httpd', '-f', '-p', '8080']]);
    const root = join(dir, 'pod-root');
    mkdirSync(root);
    expect(capture('tar', ['-xzf', join(pod.layout, 'blobs', 'sha256', pod.layerDigest.slice(7)), '-C', root]).status).to.equal(0);
    expect(capture(join(root, 'bin', 'busybox'), ['echo', 'runs']).stdout.trim()).to.equal('runs');
  });
});
