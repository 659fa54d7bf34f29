// Release-shaped files from the cached upstream binaries, for the rehearsal to seed its bucket and GitHub
// mirror with: the names, keys, tarball members and checksum files exactly as upstream publishes them (the keys
// come from the artifact manifest, data/artifacts.json, as the stand-ins' do). Tarballs are deterministic
// (sorted, owner 0, one mtime, gzip without a name or time), so the same cache entry always gives the same
// checksums.
import { createHash } from 'node:crypto';
import { constants, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { runSync } from '../process/run.ts';
import { EKS_BINARIES, mirrorKeys } from '../stage/artifacts.ts';
import type { UpstreamBuild } from './ensure.ts';
import { recipeOf } from './recipes.ts';

export interface ReleaseVersions {
  /** The EKS bucket folder: <kubernetesVersion>/<buildDate>/bin/linux/<arch>/. */
  kubernetesVersion: string;
  buildDate: string;
  binaryArch: 'amd64' | 'arm64';
}

/** Built components by name (kubernetes, ecr-credential-provider, aws-iam-authenticator, containerd, runc, cni-plugins). */
export type BuiltComponents = Record<string, UpstreamBuild>;

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function place(from: string, to: string): string {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to, constants.COPYFILE_FICLONE);
  return to;
}

/** "<hex>  <name>\n": the sha256sum format every one of these projects publishes. */
function checksumFile(file: string, name: string, out: string): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${sha256(file)}  ${name}\n`);
}

function build(builds: BuiltComponents, component: string): UpstreamBuild {
  const found = builds[component];
  if (!found) throw new Error(`upstream release layout: no ${component} build was given (have: ${Object.keys(builds).join(', ') || 'none'})`);
  return found;
}

function binary(b: UpstreamBuild, name: string): string {
  const file = b.binaries[name];
  if (!file) throw new Error(`upstream release layout: ${b.component} ${b.version} has no ${name} (has: ${Object.keys(b.binaries).join(', ')})`);
  return file;
}

function tarball(out: string, dir: string, what: string, mtimeOf: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const mtime = Math.floor(statSync(mtimeOf).mtimeMs / 1000);
  const args = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${mtime}`, '--use-compress-program=gzip -n', '-cf', out, '-C', dir, what];
  const result = runSync('tar', args);
  if (result.exitCode !== 0) throw new Error(`tar failed for ${out}: ${result.stderr}`);
}

/** The EKS bucket's binaries (<version>/<date>/bin/linux/<arch>/<name> + <name>.sha256), from whichever build made each. */
export function layOutEksBinaries(bucketDir: string, v: ReleaseVersions, builds: BuiltComponents): string[] {
  const written: string[] = [];
  for (const name of EKS_BINARIES) {
    const from = Object.values(builds).find((b) => b.binaries[name])?.binaries[name];
    if (!from) throw new Error(`upstream release layout: data/artifacts.json lists the EKS binary ${name}, which none of the given builds has`);
    const { key, checksumKey } = mirrorKeys(name, v.binaryArch, { kubernetesVersion: v.kubernetesVersion, buildDate: v.buildDate });
    checksumFile(place(from, join(bucketDir, key)), name, join(bucketDir, checksumKey));
    written.push(key, checksumKey);
  }
  return written;
}

/**
 * containerd's release tarball (bin/…, under both the usual and, for 2.x, the static asset name RHEL 8 gets:
 * these binaries are static either way), runc.<arch> with runc.sha256sum, and the CNI plugins' tgz, under the
 * mirror's github/<owner>/<repo>/releases/download/<tag>/ keys.
 */
export function layOutGithubReleases(bucketDir: string, workDir: string, v: ReleaseVersions, builds: BuiltComponents): string[] {
  const written: string[] = [];
  const containerd = build(builds, 'containerd');
  const root = join(workDir, `containerd-${containerd.version}`);
  rmSync(root, { recursive: true, force: true });
  const members = recipeOf('containerd').releaseFiles ?? [];
  for (const member of members) place(binary(containerd, basename(member)), join(root, member));
  const tgz = join(workDir, `containerd-${containerd.version}.tar.gz`);
  tarball(tgz, root, 'bin', binary(containerd, 'containerd'));
  const containerdKeys = [8, 9].map((rhelVersion) => mirrorKeys('containerd', v.binaryArch, { containerdVersion: containerd.version, rhelVersion }));
  for (const { key, checksumKey } of new Map(containerdKeys.map((k) => [k.key, k])).values()) {
    checksumFile(place(tgz, join(bucketDir, key)), basename(key), join(bucketDir, checksumKey));
    written.push(key, checksumKey);
  }

  const runc = build(builds, 'runc');
  const runcKeys = mirrorKeys('runc', v.binaryArch, { runcVersion: runc.version });
  checksumFile(place(binary(runc, 'runc'), join(bucketDir, runcKeys.key)), basename(runcKeys.key), join(bucketDir, runcKeys.checksumKey));
  written.push(runcKeys.key, runcKeys.checksumKey);

  const cni = build(builds, 'cni-plugins');
  const cniRoot = join(workDir, `cni-plugins-${cni.version}`);
  rmSync(cniRoot, { recursive: true, force: true });
  for (const [name, file] of Object.entries(cni.binaries)) place(file, join(cniRoot, name));
  const cniKeys = mirrorKeys('cni-plugins', v.binaryArch, { cniPluginVersion: `v${cni.version}` });
  const cniOut = join(bucketDir, cniKeys.key);
  tarball(cniOut, cniRoot, '.', binary(cni, 'bridge'));
  checksumFile(cniOut, basename(cniKeys.key), join(bucketDir, cniKeys.checksumKey));
  written.push(cniKeys.key, cniKeys.checksumKey);
  return written;
}

/** Both of the above: every release-shaped file a build of these versions downloads. Returns the keys written. */
export function layOutRelease(bucketDir: string, workDir: string, v: ReleaseVersions, builds: BuiltComponents): string[] {
  return [...layOutEksBinaries(bucketDir, v, builds), ...layOutGithubReleases(bucketDir, workDir, v, builds)];
}
