// Stand-in artifacts for an offline rehearsal, laid out exactly as a build reads them from the binary bucket
// (and its GitHub mirror), with checksum files in each project's real format. Binaries are small shell
// scripts that answer --version the way the real ones do, so the provisioners' version checks run for real.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { repoPath } from '../paths.ts';
import { containerdAsset } from '../stage/artifacts.ts';
import type { Signer } from './signer.ts';

export interface StandInVersions {
  kubernetesVersion: string;
  buildDate: string;
  containerd: string;
  runc: string;
  cni: string;
  binaryArch: 'amd64' | 'arm64';
  awsCliArch: 'x86_64' | 'aarch64';
  /** RHEL 8 gets containerd 2.x's static release build (containerdAsset). */
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
  const result = spawnSync('tar', ['-czf', out, '-C', dir, what]);
  if (result.status !== 0) throw new Error(`tar failed for ${out}: ${result.stderr}`);
}

/** The EKS binaries of one build folder: <version>/<date>/bin/linux/<arch>/<binary> + .sha256. */
export function eksBinaries(bucketDir: string, v: StandInVersions): void {
  const prefix = join(bucketDir, v.kubernetesVersion, v.buildDate, 'bin', 'linux', v.binaryArch);
  const binaries: Record<string, string> = {
    kubelet: `echo "Kubernetes v${v.kubernetesVersion}"`,
    kubectl: `echo "Client Version: v${v.kubernetesVersion}"`,
    'kube-proxy': `echo "Kubernetes v${v.kubernetesVersion}"`,
    'ecr-credential-provider': 'echo "ecr-credential-provider rehearsal stand-in"',
    'aws-iam-authenticator': 'echo "{\\"Version\\":\\"0.6.27\\"}"',
  };
  for (const [name, body] of Object.entries(binaries)) {
    const file = put(join(prefix, name), script(body), 0o755);
    put(`${file}.sha256`, `${sha256(file)}  ${name}\n`);
  }
}

/** containerd, runc and CNI release assets under github/<owner>/<repo>/releases/download/<tag>/. */
export function githubReleases(bucketDir: string, workDir: string, v: StandInVersions): void {
  const releases = join(bucketDir, 'github');
  const containerdRoot = join(workDir, `containerd-${v.containerd}`);
  put(join(containerdRoot, 'bin', 'containerd'), standInProgram('containerd', { VERSION: `v${v.containerd}` }), 0o755);
  put(join(containerdRoot, 'bin', 'ctr'), standInProgram('ctr'), 0o755);
  for (const name of ['containerd-shim-runc-v2', 'containerd-stress']) {
    put(join(containerdRoot, 'bin', name), script(`echo "${name} v${v.containerd}"`), 0o755);
  }
  const asset = containerdAsset(v.containerd, v.binaryArch, v.rhelVersion);
  const containerdOut = join(releases, 'containerd/containerd/releases/download', `v${v.containerd}`, asset);
  tar(containerdOut, containerdRoot, 'bin');
  put(`${containerdOut}.sha256sum`, `${sha256(containerdOut)}  ${asset}\n`);

  const runcDir = join(releases, 'opencontainers/runc/releases/download', `v${v.runc}`);
  const runc = put(join(runcDir, `runc.${v.binaryArch}`), script(`printf 'runc version ${v.runc}\\ncommit: rehearsal\\nspec: 1.2.0\\n'`), 0o755);
  put(join(runcDir, 'runc.sha256sum'), `${sha256(runc)}  runc.${v.binaryArch}\n`);

  const cniRoot = join(workDir, 'cni');
  for (const plugin of ['bandwidth', 'bridge', 'host-local', 'loopback', 'portmap', 'ptp', 'tuning', 'vlan']) {
    put(join(cniRoot, plugin), script(`echo "CNI ${plugin} plugin ${v.cni}"`), 0o755);
  }
  const cniAsset = `cni-plugins-linux-${v.binaryArch}-${v.cni}.tgz`;
  const cniOut = join(releases, 'containernetworking/plugins/releases/download', v.cni, cniAsset);
  tar(cniOut, cniRoot, '.');
  put(`${cniOut}.sha256`, `${sha256(cniOut)}  ${cniAsset}\n`);
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
  const result = spawnSync('zip', ['-qr', zip, 'aws'], { cwd: root });
  if (result.status !== 0) throw new Error(`zip failed for the AWS CLI stand-in: ${result.stderr}`);
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
