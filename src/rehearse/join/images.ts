// OCI image layouts for the join rehearsal, built here rather than pulled (this machine reaches no container
// registry): the pause image compiled from the Kubernetes pause source, and a test pod image around one static
// binary. Each is one gzip'ed layer, an OCI config, an OCI manifest for one platform and an OCI image index over
// it, which is how registry.k8s.io and ECR publish pause (a tag names an index) and what containerd 1.7 and 2.x
// and the kubelet accept. Builds are deterministic (fixed mtimes and owners in the tar, gzip without a
// timestamp), so the same inputs give the same digests, and cached by content in .cache/join-images/.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repoPath } from '../../paths.ts';
import { processRunner, type Runner } from '../../process/run.ts';
import { tarArchive, withParentDirectories, type TarEntry } from './tar.ts';

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const REF_NAME = 'org.opencontainers.image.ref.name';
/** containerd's `ctr images import` names an image after this annotation when it holds a full reference. */
export const CONTAINERD_NAME = 'io.containerd.image.name';

export type Architecture = 'amd64' | 'arm64';

export interface ImageFile {
  /** Path inside the image, without a leading slash (e.g. 'pause', 'bin/busybox'). */
  path: string;
  /** A file on this machine to copy in. */
  source: string;
  mode: number;
}

export interface ImageSpec {
  /** A short name for the cache directory and logs: 'pause', 'test-pod'. */
  name: string;
  /** The tag the layout's index.json names the image by (org.opencontainers.image.ref.name). */
  tag: string;
  /** The full reference, e.g. 602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10 (for ctr import). */
  reference?: string;
  architecture: Architecture;
  entrypoint: string[];
  cmd?: string[];
  /** "uid:gid"; pause runs as 65535:65535 upstream. */
  user?: string;
  files: ImageFile[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: { architecture: string; os: string };
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  /** The OCI image layout directory (oci-layout, index.json, blobs/sha256/…). Read-only: it is the cache. */
  layout: string;
  tag: string;
  reference?: string;
  /** Digest of the image index the tag names: what a registry answers with Docker-Content-Digest for the tag. */
  indexDigest: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  architecture: Architecture;
}

export interface ImageCacheOptions {
  /** Where built layouts are kept, by content; default .cache/join-images in the repository. */
  cacheDir?: string;
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** Build (or find in the cache) the layout of `spec`. */
export function buildImageLayout(spec: ImageSpec, options: ImageCacheOptions = {}): BuiltImage {
  const cacheDir = options.cacheDir ?? repoPath('.cache', 'join-images');
  const files: TarEntry[] = spec.files.map((f) => ({ path: f.path.replace(/^\/+/, ''), type: 'file', mode: f.mode, content: readFileSync(f.source) }));
  // The key covers everything that reaches a blob, so a changed binary or entrypoint is a new layout.
  const key = sha256(JSON.stringify({ ...spec, files: files.map((f) => ({ path: f.path, mode: f.mode, sha256: sha256(f.content!) })) })).slice(0, 20);
  const layout = join(cacheDir, `${spec.name}-${key}`);
  if (!existsSync(join(layout, 'built.json'))) writeLayout(layout, spec, files);
  return JSON.parse(readFileSync(join(layout, 'built.json'), 'utf8')) as BuiltImage;
}

function writeLayout(layout: string, spec: ImageSpec, files: TarEntry[]): void {
  mkdirSync(join(layout, '..'), { recursive: true });
  // Written beside the final place and renamed: a reader never sees half a layout, and a crash leaves only a
  // .partial directory (removed on the next build of the same image).
  const partial = `${layout}.partial-${randomBytes(4).toString('hex')}`;
  const blobs = join(partial, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (mediaType: string, data: Buffer, extra: Partial<Descriptor> = {}): Descriptor => {
    const digest = `sha256:${sha256(data)}`;
    writeFileSync(join(blobs, digest.slice(7)), data);
    return { mediaType, digest, size: data.length, ...extra };
  };
  try {
    const tar = tarArchive(withParentDirectories(files));
    const layer = put(MEDIA.layer, gzipSync(tar, { level: 9 }));
    const config = put(
      MEDIA.config,
      json({
        created: '1970-01-01T00:00:00Z',
        architecture: spec.architecture,
        os: 'linux',
        config: {
          Entrypoint: spec.entrypoint,
          ...(spec.cmd ? { Cmd: spec.cmd } : {}),
          ...(spec.user ? { User: spec.user } : {}),
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          WorkingDir: '/',
        },
        rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
        history: [{ created: '1970-01-01T00:00:00Z', created_by: `eks-rhel-ami join rehearsal: ${spec.name}` }],
      }),
    );
    const platform = { architecture: spec.architecture, os: 'linux' };
    const manifest = put(MEDIA.manifest, json({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [layer] }), { platform });
    const index = put(MEDIA.index, json({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [manifest] }));
    const annotations: Record<string, string> = { [REF_NAME]: spec.tag, ...(spec.reference ? { [CONTAINERD_NAME]: spec.reference } : {}) };
    writeFileSync(join(partial, 'index.json'), json({ schemaVersion: 2, mediaType: MEDIA.index, manifests: [{ ...index, annotations }] }));
    writeFileSync(join(partial, 'oci-layout'), json({ imageLayoutVersion: '1.0.0' }));
    const built: BuiltImage = {
      layout,
      tag: spec.tag,
      ...(spec.reference ? { reference: spec.reference } : {}),
      indexDigest: index.digest,
      manifestDigest: manifest.digest,
      configDigest: config.digest,
      layerDigest: layer.digest,
      architecture: spec.architecture,
    };
    writeFileSync(join(partial, 'built.json'), json(built));
    rmSync(layout, { recursive: true, force: true });
    renameSync(partial, layout);
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** The layout as an oci-archive (a tar of the layout), which `ctr images import` and `skopeo copy oci-archive:` read. */
export function writeOciArchive(image: BuiltImage, file: string): void {
  const layoutFiles = ['oci-layout', 'index.json'];
  const index = JSON.parse(readFileSync(join(image.layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const digests = new Set([...index.manifests.map((m) => m.digest), image.indexDigest, image.manifestDigest, image.configDigest, image.layerDigest]);
  const entries: TarEntry[] = [
    ...layoutFiles.map((name): TarEntry => ({ path: name, type: 'file', mode: 0o644, content: readFileSync(join(image.layout, name)) })),
    ...[...digests].map((d): TarEntry => ({
      path: `blobs/sha256/${d.slice(7)}`,
      type: 'file',
      mode: 0o644,
      content: readFileSync(join(image.layout, 'blobs', 'sha256', d.slice(7))),
    })),
  ];
  const partial = `${file}.partial`;
  writeFileSync(partial, tarArchive(withParentDirectories(entries)));
  renameSync(partial, file);
}

export interface PauseOptions extends ImageCacheOptions {
  /** The Kubernetes release whose build/pause/linux/pause.c is compiled, e.g. '1.36.3'. */
  kubernetesVersion: string;
  /** The pause image tag (the build's pause_image_tag, e.g. '3.10'). */
  tag: string;
  reference?: string;
  architecture?: Architecture;
  /** Environment for `go` (GOMODCACHE, GOPROXY, GOFLAGS…); default this process's. */
  env?: NodeJS.ProcessEnv;
  runner?: Runner;
}

async function must(runner: Runner, command: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  const result = await runner.capture(command, args, { env, cwd });
  if (result.exitCode !== 0)
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.exitCode}): ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join('\n')}`,
    );
  return result.stdout;
}

/** The Kubernetes module's source directory in Go's module cache (downloaded through the module proxy if absent). */
export async function kubernetesSource(version: string, env?: NodeJS.ProcessEnv, runner: Runner = processRunner): Promise<string> {
  const out = await must(runner, 'go', ['mod', 'download', '-json', `k8s.io/kubernetes@v${version.replace(/^v/, '')}`], env);
  const dir = (JSON.parse(out) as { Dir?: string; Error?: string }).Dir;
  if (!dir) throw new Error(`go mod download k8s.io/kubernetes@v${version} gave no source directory: ${out.trim()}`);
  return dir;
}

/**
 * The pause binary, compiled as upstream's build/pause/Makefile does (gcc -Os -Wall -Werror -static
 * -DVERSION=v<tag>-<rev>, then strip). Upstream's <rev> is `git describe` of the Kubernetes tree; the module
 * proxy's copy has no git history, so it is the Kubernetes version: `pause -v` prints "pause.c v3.10-v1.36.3".
 * Native compilation only: the rehearsal's node is an x86_64 qemu guest on an x86_64 host.
 */
export async function compilePause(options: PauseOptions, outDir: string): Promise<string> {
  const runner = options.runner ?? processRunner;
  const architecture = options.architecture ?? 'amd64';
  const host = process.arch === 'x64' ? 'amd64' : process.arch;
  if (architecture !== host) throw new Error(`compilePause: cannot build pause for ${architecture} on this ${host} machine (no cross compiler)`);
  const source = join(await kubernetesSource(options.kubernetesVersion, options.env, runner), 'build', 'pause', 'linux', 'pause.c');
  mkdirSync(outDir, { recursive: true });
  const binary = join(outDir, 'pause');
  const version = `v${options.tag}-v${options.kubernetesVersion.replace(/^v/, '')}`;
  await must(runner, 'gcc', ['-Os', '-Wall', '-Werror', '-static', `-DVERSION=${version}`, '-o', binary, source]);
  await must(runner, 'strip', [binary]);
  return binary;
}

/** The pause image: /pause from the Kubernetes source, user 65535:65535, entrypoint /pause (upstream's Dockerfile). */
export async function buildPauseImage(options: PauseOptions): Promise<BuiltImage> {
  const work = mkdtempSync(join(tmpdir(), 'pause-build-'));
  try {
    const binary = await compilePause(options, work);
    return buildImageLayout(
      {
        name: 'pause',
        tag: options.tag,
        ...(options.reference ? { reference: options.reference } : {}),
        architecture: options.architecture ?? 'amd64',
        entrypoint: ['/pause'],
        user: '65535:65535',
        files: [{ path: 'pause', source: binary, mode: 0o755 }],
      },
      options,
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface PodImageOptions extends ImageCacheOptions {
  /** A static binary (agnhost; in tests busybox-static) placed at `path` in the image. */
  binary: string;
  path?: string;
  entrypoint?: string[];
  cmd?: string[];
  tag: string;
  reference?: string;
  architecture?: Architecture;
}

/** A test pod image around one static binary: no libc or shell needed, so one file is the whole image. */
export function buildPodImage(options: PodImageOptions): BuiltImage {
  const path = (options.path ?? 'bin/app').replace(/^\/+/, '');
  return buildImageLayout(
    {
      name: 'test-pod',
      tag: options.tag,
      ...(options.reference ? { reference: options.reference } : {}),
      architecture: options.architecture ?? 'amd64',
      entrypoint: options.entrypoint ?? [`/${path}`],
      ...(options.cmd ? { cmd: options.cmd } : {}),
      files: [{ path, source: options.binary, mode: 0o755 }],
    },
    options,
  );
}
