// Stand-in artifacts for an offline rehearsal, laid out exactly as a build reads them from the binary bucket
// (and its GitHub mirror), with checksum files in each project's real format. Binaries are small shell
// scripts that answer --version the way the real ones do, so the provisioners' version checks run for real.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { repoPath } from '../paths.ts';
import { EKS_BINARIES, mirrorKeys } from '../stage/artifacts.ts';
import type { Signer } from './signer.ts';
import { runSync } from '../process/run.ts';

export interface StandInVersions {
  kubernetesVersion: string;
  buildDate: string;
  containerd: string;
  runc: string;
  cni: string;
  binaryArch: 'amd64' | 'arm64';
  awsCliArch: 'x86_64' | 'aarch64';
  /** RHEL 8 gets containerd 2.x's static release build (data/artifacts.json). */
  rhelVersion: number;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const script = (body: string): string => `#!/bin/sh\n${body}\n`;

/**
 * A stand-in program from rehearsal/stand-ins/ (containerd, ctr, aws), shared with the provisioner tests: they
 * keep state (a running daemon, an image store, an ECR token from the instance role) so the steps that use
 * them really round-trip. Placeholders such as @VERSION@ are filled in.
 */
export function standInProgram(name: string, values: Record<string, string> = {}): string {
  let text = readFileSync(repoPath('rehearsal', 'stand-ins', name), 'utf8');
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value);
  return text;
}

function put(file: string, content: string, mode = 0o644): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
  return file;
}

function tar(out: string, dir: string, what: string): void {
  mkdirSync(dirname(out), { recursive: true });
  const result = runSync('tar', ['-czf', out, '-C', dir, what]);
  if (result.exitCode !== 0) throw new Error(`tar failed for ${out}: ${result.stderr}`);
}

/** Mirror keys of one artifact of the manifest (data/artifacts.json) for these versions. */
const keysOf = (name: string, v: StandInVersions) =>
  mirrorKeys(name, v.binaryArch, {
    kubernetesVersion: v.kubernetesVersion,
    buildDate: v.buildDate,
    cniPluginVersion: v.cni,
    containerdVersion: v.containerd,
    runcVersion: v.runc,
    rhelVersion: v.rhelVersion,
  });

/** The EKS binaries the manifest lists, in one build folder: <version>/<date>/bin/linux/<arch>/<binary> + .sha256. */
export function eksBinaries(bucketDir: string, v: StandInVersions): void {
  const answers: Record<string, string> = {
    kubelet: `echo "Kubernetes v${v.kubernetesVersion}"`,
    'ecr-credential-provider': 'echo "ecr-credential-provider rehearsal stand-in"',
    'aws-iam-authenticator': 'echo "{\\"Version\\":\\"0.6.27\\"}"',
  };
  for (const name of EKS_BINARIES) {
    const body = answers[name];
    if (body === undefined) throw new Error(`rehearsal stand-ins: data/artifacts.json lists the EKS binary ${name}, which has no stand-in here`);
    const { key, checksumKey } = keysOf(name, v);
    const file = put(join(bucketDir, key), script(body), 0o755);
    put(join(bucketDir, checksumKey), `${sha256(file)}  ${name}\n`);
  }
}

/** containerd, runc and CNI release assets under github/<owner>/<repo>/releases/download/<tag>/. */
export function githubReleases(bucketDir: string, workDir: string, v: StandInVersions): void {
  const containerdRoot = join(workDir, `containerd-${v.containerd}`);
  put(join(containerdRoot, 'bin', 'containerd'), standInProgram('containerd', { VERSION: `v${v.containerd}` }), 0o755);
  put(join(containerdRoot, 'bin', 'ctr'), standInProgram('ctr'), 0o755);
  for (const name of ['containerd-shim-runc-v2', 'containerd-stress']) {
    put(join(containerdRoot, 'bin', name), script(`echo "${name} v${v.containerd}"`), 0o755);
  }
  const containerd = keysOf('containerd', v);
  const containerdOut = join(bucketDir, containerd.key);
  tar(containerdOut, containerdRoot, 'bin');
  put(join(bucketDir, containerd.checksumKey), `${sha256(containerdOut)}  ${basename(containerd.key)}\n`);

  const runcKeys = keysOf('runc', v);
  const runc = put(join(bucketDir, runcKeys.key), script(`printf 'runc version ${v.runc}\\ncommit: rehearsal\\nspec: 1.2.0\\n'`), 0o755);
  put(join(bucketDir, runcKeys.checksumKey), `${sha256(runc)}  ${basename(runcKeys.key)}\n`);

  const cniRoot = join(workDir, 'cni');
  for (const plugin of ['bandwidth', 'bridge', 'host-local', 'loopback', 'portmap', 'ptp', 'tuning', 'vlan']) {
    put(join(cniRoot, plugin), script(`echo "CNI ${plugin} plugin ${v.cni}"`), 0o755);
  }
  const cni = keysOf('cni-plugins', v);
  const cniOut = join(bucketDir, cni.key);
  tar(cniOut, cniRoot, '.');
  put(join(bucketDir, cni.checksumKey), `${sha256(cniOut)}  ${basename(cni.key)}\n`);
}

/** AWS CLI v2 installer zip (aws/install + aws/dist/aws) and its detached signature, under awscli/. */
export function awsCliInstaller(bucketDir: string, workDir: string, v: StandInVersions, signer: Signer): void {
  const root = join(workDir, 'awscli');
  put(join(root, 'aws/dist/aws'), standInProgram('aws', { ARCH: v.awsCliArch }), 0o755);
  put(
    join(root, 'aws/install'),
    script(
      [
        'set -eu',
        'install_dir=/usr/local/aws-cli bin_dir=/usr/local/bin',
        'while [ $# -gt 0 ]; do case $1 in --install-dir) install_dir=$2; shift ;; --bin-dir) bin_dir=$2; shift ;; esac; shift; done',
        'mkdir -p "$install_dir/v2/2.22.35/bin" "$bin_dir"',
        'cp "$(dirname "$0")/dist/aws" "$install_dir/v2/2.22.35/bin/aws"',
        'ln -sfn 2.22.35 "$install_dir/v2/current"',
        'ln -sfn "$install_dir/v2/current/bin/aws" "$bin_dir/aws"',
      ].join('\n'),
    ),
    0o755,
  );
  const zip = join(bucketDir, 'awscli', `awscli-exe-linux-${v.awsCliArch}.zip`);
  mkdirSync(dirname(zip), { recursive: true });
  const result = runSync('zip', ['-qr', zip, 'aws'], { cwd: root });
  if (result.exitCode !== 0) throw new Error(`zip failed for the AWS CLI stand-in: ${result.stderr}`);
  signer.sign(zip);
}

/** The SSM agent RPM in its regional bucket layout (latest/linux_<arch>/), signed. */
export function ssmAgent(ssmBucketDir: string, v: StandInVersions, signer: Signer): void {
  const rpm = put(join(ssmBucketDir, 'latest', `linux_${v.binaryArch}`, 'amazon-ssm-agent.rpm'), 'rehearsal stand-in for the amazon-ssm-agent RPM\n');
  signer.sign(rpm);
}

/** Every file below a directory as bucket key → host path. */
export function keysBelow(dir: string): Map<string, string> {
  const keys = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else keys.set(relative(dir, path), path);
    }
  };
  walk(dir);
  return keys;
}
