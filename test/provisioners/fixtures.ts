// Stand-in artifacts for the provisioner tests and the loopback servers that serve them:
//  - an HTTP server on 127.0.0.1 playing GitHub releases (GITHUB_BASE_URL=http://127.0.0.1:P/gh) and S3
//    (BINARY_BUCKET_ENDPOINT=http://127.0.0.1:P/s3, path-style: /s3/<bucket>/<key>), which also carries the
//    amazon-ssm-<region> bucket and the github/ mirror used when PULL_CNI_FROM_GITHUB=false;
//  - an HTTPS server on 127.77.0.1:443 for awscli.amazonaws.com (the sandbox's /etc/hosts points the name
//    there and trusts the test CA), which is where AWSCLI_BASE_URL points on real builds.
// Binaries are small shell scripts printing the version the real ones print; tarballs are shaped like the
// real releases (containerd: bin/…, CNI: ./<plugin>); checksum files use each project's real format.
// Signatures come from a throw-away GnuPG key that replaces the committed public keys in $WORK_DIR/lib/keys.
import { capture } from '../support/spawn.ts';
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { expect } from 'chai';
import { Sandbox, type SandboxOptions } from '../support/sandbox.ts';
import { requireTool } from '../support/tools.ts';
import { standInProgram } from '../../src/rehearse/stand-ins.ts';
import { containerdAsset, EKS_BINARIES, mirrorKeys } from '../../src/stage/artifacts.ts';
import { provisionerEnvironment, type ProvisionerInputs } from '../../src/plan/provisioner-environment.ts';

export const VERSIONS = {
  kubernetes: '1.28.15',
  buildDate: '2024-11-22',
  containerd: '1.7.27',
  containerd2: '2.0.4',
  runc: '1.2.6',
  cni: 'v1.6.2',
};
export const BUCKET = 'amazon-eks';
/** A bucket whose aws-iam-authenticator.sha256 does not match the binary. */
export const BAD_BUCKET = 'eks-bad-checksum';
/** A bucket whose build carries no aws-iam-authenticator (optional: bootstrap.sh falls back to the AWS CLI). */
export const NO_AUTHENTICATOR_BUCKET = 'eks-no-authenticator';
export const AWSCLI_IP = '127.77.0.1';
export const IPVS_MODULES = 'ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_sh ip_vs_dh ip_vs_sed ip_vs_nq ip_vs_mh nf_conntrack';

function must(command: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const result = capture(command, args, { env: env ?? process.env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

function put(file: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
  chmodSync(file, mode);
}

const script = (body: string): string => `#!/bin/sh\n${body}\n`;

export interface Fixtures {
  dir: string;
  www: string;
  /** Armored public key of the test signer (replaces lib/keys/*.asc in the sandbox). */
  signingKey: string;
  caCert: string;
  baseUrl: string;
  requests: string[];
  close(): Promise<void>;
}

function buildSigner(dir: string): { sign: (file: string) => void; publicKey: string } {
  const home = join(dir, 'gnupg');
  mkdirSync(home, { mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  // RSA like the published AWS CLI and SSM agent keys: the STIG variant verifies them with the kernel in FIPS
  // mode, where libgcrypt refuses EdDSA signatures.
  must('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', 'EKS provisioner tests <tests@example.invalid>', 'rsa3072', 'sign', '1d'], env);
  const publicKey = must('gpg', ['--batch', '--armor', '--export'], env);
  return {
    publicKey,
    sign: (file) => {
      must('gpg', ['--batch', '--yes', '--detach-sign', '--output', `${file}.sig`, file], env);
    },
  };
}

function buildCa(dir: string): { caCert: string; key: string; cert: string } {
  const ca = join(dir, 'tls');
  mkdirSync(ca);
  const p = (n: string) => join(ca, n);
  must('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=EKS provisioner test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  must('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=awscli.amazonaws.com', '-keyout', p('server.key'), '-out', p('server.csr')]);
  writeFileSync(p('ext.cnf'), 'subjectAltName=DNS:awscli.amazonaws.com\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  must('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2',
    '-extfile', p('ext.cnf'), '-out', p('server.crt')]);
  return { caCert: readFileSync(p('ca.crt'), 'utf8'), key: readFileSync(p('server.key'), 'utf8'), cert: readFileSync(p('server.crt'), 'utf8') };
}

function buildArtifacts(dir: string, sign: (file: string) => void): string {
  const www = join(dir, 'www');
  const stage = join(dir, 'stage');
  const gh = join(www, 'gh');

  // containerd release tarballs (bin/containerd, bin/containerd-shim-runc-v2, bin/ctr, bin/containerd-stress), and
  // for 2.x also the project's static build (containerd-static-…) that RHEL 8 installs. containerd and ctr are
  // the shared stand-ins of rehearsal/stand-ins/ (a daemon that can run, an image store); no real binaries offline.
  // Asset names from src/stage/artifacts.ts, which `make stage` uses too: the step must ask for exactly these.
  for (const [version, assets] of [
    [VERSIONS.containerd, [containerdAsset(VERSIONS.containerd, 'amd64', 9)]],
    [VERSIONS.containerd2, [containerdAsset(VERSIONS.containerd2, 'amd64', 9), containerdAsset(VERSIONS.containerd2, 'amd64', 8)]],
  ] as const) {
    for (const asset of assets) {
      const root = join(stage, asset);
      const flavour = asset.includes('-static-') ? 'static' : 'dynamic';
      put(join(root, 'bin/containerd'), standInProgram('containerd', { VERSION: `v${version}` }).replace('rehearsal-stand-in', `${flavour}-stand-in`), 0o755);
      put(join(root, 'bin/ctr'), standInProgram('ctr'), 0o755);
      for (const b of ['containerd-shim-runc-v2', 'containerd-stress']) put(join(root, 'bin', b), script(`echo "${b} v${version}"`), 0o755);
      const out = join(gh, `containerd/containerd/releases/download/v${version}/${asset}`);
      mkdirSync(dirname(out), { recursive: true });
      must('tar', ['-czf', out, '-C', root, 'bin']);
      put(`${out}.sha256sum`, `${sha256(out)}  ${asset}\n`);
    }
  }
  // runc: one binary per arch and a runc.sha256sum listing them all.
  const runcDir = join(gh, `opencontainers/runc/releases/download/v${VERSIONS.runc}`);
  put(join(runcDir, 'runc.amd64'), script(`printf 'runc version ${VERSIONS.runc}\\ncommit: v${VERSIONS.runc}-0-g0e8c5d7\\nspec: 1.2.0\\n'`), 0o755);
  put(join(runcDir, 'runc.arm64'), 'not for this arch\n');
  put(join(runcDir, 'runc.sha256sum'), `${sha256(join(runcDir, 'runc.amd64'))}  runc.amd64\n${sha256(join(runcDir, 'runc.arm64'))}  runc.arm64\n`);
  // CNI plugins: flat tarball with ./<plugin>.
  const cniRoot = join(stage, 'cni');
  for (const plugin of ['bandwidth', 'bridge', 'host-local', 'loopback', 'portmap', 'ptp', 'tuning']) {
    put(join(cniRoot, plugin), script(`echo "CNI ${plugin} plugin ${VERSIONS.cni}"`), 0o755);
  }
  const cniAsset = `cni-plugins-linux-amd64-${VERSIONS.cni}.tgz`;
  const cniOut = join(gh, `containernetworking/plugins/releases/download/${VERSIONS.cni}/${cniAsset}`);
  mkdirSync(dirname(cniOut), { recursive: true });
  must('tar', ['-czf', cniOut, '-C', cniRoot, '.']);
  put(`${cniOut}.sha256`, `${sha256(cniOut)}  ${cniAsset}\n`);

  // The EKS binary bucket (and a copy with one wrong checksum), plus the GitHub mirror inside it: every EKS
  // binary data/artifacts.json lists, at its key.
  const answers: Record<string, string> = {
    kubelet: script(`echo "Kubernetes v${VERSIONS.kubernetes}"`),
    'ecr-credential-provider': script('echo "ecr-credential-provider stand-in"'),
    'aws-iam-authenticator': script('echo "{\\"Version\\":\\"0.6.27\\"}"'),
  };
  for (const bucket of [BUCKET, BAD_BUCKET, NO_AUTHENTICATOR_BUCKET]) {
    for (const name of EKS_BINARIES) {
      const content = answers[name];
      if (content === undefined) throw new Error(`data/artifacts.json lists the EKS binary ${name}, which has no stand-in in test/provisioners/fixtures.ts`);
      if (bucket === NO_AUTHENTICATOR_BUCKET && name === 'aws-iam-authenticator') continue;
      const keys = mirrorKeys(name, 'amd64', { kubernetesVersion: VERSIONS.kubernetes, buildDate: VERSIONS.buildDate });
      const file = join(www, 's3', bucket, keys.key);
      put(file, content, 0o755);
      const digest = bucket === BAD_BUCKET && name === 'aws-iam-authenticator' ? '0'.repeat(64) : sha256(file);
      put(join(www, 's3', bucket, keys.checksumKey), `${digest}  ${name}\n`);
    }
  }
  cpSync(gh, join(www, 's3', BUCKET, 'github'), { recursive: true });

  // SSM agent in its regional bucket, with a detached signature.
  const ssm = join(www, 's3', 'amazon-ssm-us-west-2', 'latest', 'linux_amd64', 'amazon-ssm-agent.rpm');
  put(ssm, 'stand-in RPM payload for amazon-ssm-agent\n');
  sign(ssm);

  // AWS CLI v2 installer zip: aws/install + aws/dist/aws, signed.
  const cli = join(stage, 'awscli');
  put(join(cli, 'aws/dist/aws'), standInProgram('aws', { ARCH: 'x86_64' }), 0o755);
  put(join(cli, 'aws/install'), script([
    'set -eu',
    'install_dir=/usr/local/aws-cli bin_dir=/usr/local/bin',
    'while [ $# -gt 0 ]; do case $1 in --install-dir) install_dir=$2; shift ;; --bin-dir) bin_dir=$2; shift ;; esac; shift; done',
    'here=$(dirname "$0")',
    'mkdir -p "$install_dir/v2/2.22.35/bin" "$bin_dir"',
    'cp "$here/dist/aws" "$install_dir/v2/2.22.35/bin/aws"',
    'ln -sfn 2.22.35 "$install_dir/v2/current"',
    'ln -sfn "$install_dir/v2/current/bin/aws" "$bin_dir/aws"',
  ].join('\n')), 0o755);
  const zip = join(www, 'awscli', 'awscli-exe-linux-x86_64.zip');
  mkdirSync(dirname(zip), { recursive: true });
  capture('zip', ['-qr', zip, 'aws'], { cwd: cli });
  if (!existsSync(zip)) throw new Error('zip failed to build the AWS CLI stand-in');
  sign(zip);

  // The mirror `make stage` fills: the AWS CLI and the SSM agent (with signatures) in the binary bucket too.
  const mirror = join(www, 's3', BUCKET);
  for (const [name, file] of [['aws-cli', zip], ['ssm-agent', ssm]] as const) {
    const keys = mirrorKeys(name, 'amd64');
    cpSync(file, join(mirror, keys.key));
    cpSync(`${file}.sig`, join(mirror, keys.checksumKey));
  }
  return www;
}

function serve(root: string, requests: string[]) {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = join(root, normalize(path));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(readFileSync(file));
  };
}

let shared: Promise<Fixtures> | undefined;

/** Builds the artifacts and starts the servers once per mocha process. */
export function fixtures(): Promise<Fixtures> {
  shared ??= start();
  return shared;
}

async function start(): Promise<Fixtures> {
  for (const tool of ['gpg', 'openssl', 'zip', 'tar']) requireTool(tool, 'building stand-in artifacts for the provisioner tests');
  const dir = mkdtempSync(join(tmpdir(), 'eks-artifacts-'));
  // Whatever happens to the run: stop the signer's gpg-agent and remove the artifacts.
  process.once('exit', () => {
    capture('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'all']);
    rmSync(dir, { recursive: true, force: true });
  });
  const signer = buildSigner(dir);
  const tls = buildCa(dir);
  const www = buildArtifacts(dir, signer.sign);
  const requests: string[] = [];
  const plain = http.createServer(serve(www, requests));
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const secure = https.createServer({ key: tls.key, cert: tls.cert }, serve(join(www, 'awscli'), requests));
  await new Promise<void>((resolve, reject) => {
    secure.once('error', reject);
    secure.listen(443, AWSCLI_IP, resolve);
  });
  // Never keep mocha alive on their account.
  plain.unref();
  secure.unref();
  const port = (plain.address() as AddressInfo).port;
  return {
    dir,
    www,
    signingKey: signer.publicKey,
    caCert: tls.caCert,
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      await Promise.all([new Promise((r) => plain.close(r)), new Promise((r) => secure.close(r))]);
      rmSync(dir, { recursive: true, force: true });
      shared = undefined;
    },
  };
}

/**
 * The contract's environment (src/plan/provisioner-environment.ts, the function the plan uses) for a RHEL 9
 * x86_64 build against the local servers; `overrides` then replace any variable (also with invalid values).
 */
export function contractEnv(f: Fixtures, overrides: Record<string, string> = {}): Record<string, string> {
  const build: ProvisionerInputs = {
    aws_region: 'us-west-2',
    partition: 'aws',
    kubernetes_version: VERSIONS.kubernetes,
    kubernetes_build_date: VERSIONS.buildDate,
    arch: 'x86_64',
    rhel_version: 9,
    pause_image: '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10',
    // The Debian root has no nft: the nftables readiness check runs in kube-proxy-modes.test.ts with Debian's nftables.
    kube_proxy_modes: ['ipvs'],
    lock: null,
    variables: {
      binary_bucket_name: BUCKET,
      binary_bucket_region: 'us-west-2',
      pull_cni_from_github: true,
      cni_plugin_version: VERSIONS.cni,
      containerd_version: VERSIONS.containerd,
      runc_version: VERSIONS.runc,
      ipvs_modules: IPVS_MODULES.split(' '),
      variant: 'standard',
      stig_min_score: 0,
    },
  };
  return { ...provisionerEnvironment(build, { BINARY_BUCKET_ENDPOINT: `${f.baseUrl}/s3`, GITHUB_BASE_URL: `${f.baseUrl}/gh` }), ...overrides };
}

/** Sandbox options wiring the fixtures in: test signing key, test CA, awscli.amazonaws.com → loopback. */
export function sandboxOptions(f: Fixtures) {
  return {
    trustedCa: f.caCert,
    hosts: [`${AWSCLI_IP} awscli.amazonaws.com`],
    libOverrides: { 'keys/aws-cli-v2.asc': f.signingKey, 'keys/amazon-ssm-agent.asc': f.signingKey },
  };
}

/**
 * For a describe block: the shared fixtures, a fresh sandbox per test (destroyed after it), and `ok` to run a
 * step that must succeed. `f()` is available from the first test on.
 */
export function sandboxSuite() {
  let shared: Fixtures | undefined;
  let sandbox: Sandbox | undefined;
  before(async () => {
    shared = await fixtures();
  });
  afterEach(() => {
    sandbox?.destroy();
    sandbox = undefined;
  });
  const f = (): Fixtures => shared!;
  const fresh = (overrides: Partial<SandboxOptions> = {}): Sandbox => (sandbox = Sandbox.create({ ...sandboxOptions(f()), ...overrides }));
  const ok = async (sb: Sandbox, script: string, env = contractEnv(f())) => {
    const result = await sb.runStep(script, env);
    expect(result.status, `${script}: ${result.output}`).to.equal(0);
    return result;
  };
  return { f, fresh, ok };
}
