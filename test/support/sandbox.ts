// Throw-away Debian root filesystems for running provisioners/*.sh for real.
//
// A minimal bookworm root is built once by the Debian-root builder the rehearsal uses too
// (src/rehearse/debian-root.ts, cached by package list); each Sandbox is an overlayfs over it, so a test
// starts from a clean root in milliseconds and the overlay's upper directory holds exactly what the steps changed. Steps run with
// chroot inside new mount/pid/uts/ipc namespaces (a reboot or a stray mount cannot reach the host), sharing
// the host network so they reach the test's artifact servers on loopback.
//
// Only what a Debian root cannot do is stubbed (rehearsal/stubs/, shared with the offline rehearsal): dnf/rpm, grubby, semanage/restorecon/
// matchpathcon, modprobe/lsmod (no kernel modules on the test host), update-crypto-policies. The stubs
// record their argv in /.stubs/calls.log, read back with calls().
import { cpSync, existsSync, readlinkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, appendFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { capture, captureAsync, mustCapture as must, type Captured } from './spawn.ts';
import { requireTool } from './tools.ts';
import { imageFiles } from '../../src/render/image-files.ts';
import { extractedDebianRoot } from '../../src/rehearse/debian-root.ts';
import { INSTANCE_MANIFEST_FILE, instanceManifest, manifestQueryOfEnvironment, resolveArtifacts } from '../../src/data/artifacts.ts';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
import { WORK_DIR } from '../../src/layout.ts';

export { WORK_DIR };
const STUBS = join(REPO, 'rehearsal', 'stubs');

/** Packages of the cached root. Changing the list changes the cache key. */
export const ROOT_PACKAGES = [
  'systemd', 'systemd-sysv', 'openssh-server', 'kmod', 'iproute2', 'curl', 'ca-certificates', 'jq', 'gnupg',
  'logrotate', 'unzip', 'procps', 'python3',
];

export type RunResult = Captured;

/** The extracted cached root (built on first use by the shared Debian-root builder: ~25 s, then reused). */
export function baseRoot(): string {
  requireTool('mmdebstrap', 'building the Debian root the provisioner tests run in');
  return extractedDebianRoot(ROOT_PACKAGES);
}

const shellQuote = (value: string): string => `'${value.replace(/'/g, `'\\''`)}'`;

export interface SandboxOptions {
  /** Extra setup before any step runs (host paths via sandbox.path()). */
  trustedCa?: string;
  hosts?: string[];
  /** Files to put in $WORK_DIR/lib in place of the repository's (e.g. test signing keys). */
  libOverrides?: Record<string, string>;
}

export class Sandbox {
  readonly dir: string;
  readonly root: string;
  readonly upper: string;
  private mounted = false;

  private constructor() {
    requireTool('unshare', 'running provisioners in namespaces');
    requireTool('chroot', 'running provisioners in a Debian root');
    const lower = baseRoot();
    this.dir = mkdtempSync(join(tmpdir(), 'eks-provisioner-'));
    this.upper = join(this.dir, 'upper');
    this.root = join(this.dir, 'root');
    for (const d of [this.upper, join(this.dir, 'work'), this.root]) mkdirSync(d);
    must('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${this.upper},workdir=${join(this.dir, 'work')}`, this.root]);
    this.mounted = true;
  }

  /** A fresh root with the stubs installed and $WORK_DIR laid out as the Packer template does. */
  static create(options: SandboxOptions = {}): Sandbox {
    const sandbox = new Sandbox();
    try {
      sandbox.setup(options);
    } catch (error) {
      sandbox.destroy();
      throw error;
    }
    return sandbox;
  }

  private setup(options: SandboxOptions): void {
    // Stubs first on root's PATH.
    const stubDir = this.path('/.stubs');
    mkdirSync(join(stubDir, 'state'), { recursive: true });
    mkdirSync(join(stubDir, 'payloads'), { recursive: true });
    writeFileSync(join(stubDir, 'calls.log'), '');
    cpSync(join(STUBS, '_record.sh'), join(stubDir, '_record.sh'));
    for (const name of readdirSync(STUBS).filter((n) => !n.startsWith('_'))) {
      cpSync(join(STUBS, name), this.path(`/usr/local/sbin/${name}`));
      chmodSync(this.path(`/usr/local/sbin/${name}`), 0o755);
    }
    // What the template's first steps create: WORK_DIR with rootfs/, lib/ and generated/.
    const work = this.path(WORK_DIR);
    mkdirSync(work, { recursive: true });
    cpSync(join(REPO, 'rootfs'), join(work, 'rootfs'), { recursive: true });
    cpSync(join(REPO, 'provisioners', 'lib'), join(work, 'lib'), { recursive: true });
    mkdirSync(join(work, 'generated'));
    // The build's generated max-pods table (src/resolve/max-pods.ts makes the real one).
    writeFileSync(join(work, 'generated', 'eni-max-pods.txt'), '# generated for the sandbox\nm5.large 29 110\nt3.medium 17 110\n');
    // The ECR account table and credential provider config render.ts generates from data/ (Kubernetes 1.28 here).
    for (const [name, content] of Object.entries(imageFiles('1.28'))) writeFileSync(join(work, 'generated', name), content);
    for (const [name, content] of Object.entries(options.libOverrides ?? {})) writeFileSync(join(work, 'lib', name), content);
    // State a RHEL base image has and Debian lacks: SELinux configured enforcing.
    mkdirSync(this.path('/etc/selinux'), { recursive: true });
    writeFileSync(this.path('/etc/selinux/config'), 'SELINUX=enforcing\nSELINUXTYPE=targeted\n');
    // and its release file (inventory.sh records the release actually installed).
    writeFileSync(this.path('/etc/redhat-release'), 'Red Hat Enterprise Linux release 9.5 (Plow)\n');
    // and chrony's configuration (RHEL's default names a pool and reads no drop-in directory).
    writeFileSync(this.path('/etc/chrony.conf'), 'pool 2.rhel.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\n');
    // Network fixtures: names of public endpoints routed to loopback servers, and their test CA trusted.
    if (options.hosts?.length) appendFileSync(this.path('/etc/hosts'), `${options.hosts.join('\n')}\n`);
    if (options.trustedCa) appendFileSync(this.path('/etc/ssl/certs/ca-certificates.crt'), options.trustedCa);
  }

  /** Host path of a path inside the sandbox. */
  path(inside: string): string {
    return join(this.root, inside);
  }

  read(inside: string): string {
    return readFileSync(this.path(inside), 'utf8');
  }

  /** Where a symlink inside the sandbox points (undefined when it is not a symlink). */
  linkTarget(inside: string): string | undefined {
    try {
      return readlinkSync(this.path(inside));
    } catch {
      return undefined;
    }
  }

  exists(inside: string): boolean {
    return existsSync(this.path(inside));
  }

  /**
   * Runs a command inside the sandbox (namespaced chroot) with exactly the given environment. Asynchronous
   * on purpose: the artifact servers live in this process and must keep answering while a step runs.
   */
  exec(argv: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const fullEnv: Record<string, string> = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: '/root',
      LANG: 'C.UTF-8',
      ...env,
    };
    const envArgs = Object.entries(fullEnv).map(([k, v]) => shellQuote(`${k}=${v}`)).join(' ');
    const inner = [
      'mount -t proc proc /proc',
      'mount -t tmpfs tmpfs /run',
      'mkdir -p /run/sshd /run/lock',
      `exec env -i ${envArgs} ${argv.map(shellQuote).join(' ')}`,
    ].join(' && ');
    const outer = `mount --rbind /dev ${shellQuote(this.path('/dev'))} && exec chroot ${shellQuote(this.root)} /bin/bash -c ${shellQuote(inner)}`;
    return captureAsync('unshare', ['--mount', '--pid', '--fork', '--uts', '--ipc', '--', 'sh', '-c', outer], { env: { PATH: process.env.PATH } });
  }

  /**
   * Runs a bash script with containerd running: started for this command only (each sandbox command has its own
   * PID namespace) and awaited until ctr answers, the readiness the build's lib/containerd.sh waits for. The
   * 30 s bound only guards against a hang: it fails the command with a message, never decides an outcome.
   */
  withContainerd(script: string): Promise<RunResult> {
    const ready = `/usr/bin/containerd & timeout 30 sh -c 'until ctr version >/dev/null 2>&1; do sleep 0.05; done' || { echo 'containerd did not answer ctr within 30 s' >&2; exit 99; }`;
    return this.exec(['bash', '-c', `${ready}; ${script}`]);
  }

  /** Uploads provisioners/<script> into $WORK_DIR (as Packer does) and runs it with bash as root. */
  runStep(script: string, env: Record<string, string>): Promise<RunResult> {
    this.uploadStep(script, env);
    return this.exec(['bash', `${WORK_DIR}/${script}`], env);
  }

  /** What a build has in $WORK_DIR before a step runs: the script, and the generated artifact manifest. */
  uploadStep(script: string, env: Record<string, string>): void {
    cpSync(join(REPO, 'provisioners', script), this.path(`${WORK_DIR}/${script}`));
    // The artifact manifest the render step writes, for the build this environment describes. An environment
    // that lacks a variable it needs (a test of require_env) gets none: the step reports the variable first.
    let manifest: string | undefined;
    try {
      manifest = instanceManifest(resolveArtifacts(manifestQueryOfEnvironment(env)));
    } catch {
      manifest = undefined;
    }
    // (Not once a step removed WORK_DIR's generated/: validate.sh does, as on a real build.)
    if (manifest !== undefined && existsSync(this.path(`${WORK_DIR}/generated`))) writeFileSync(this.path(`${WORK_DIR}/generated/${INSTANCE_MANIFEST_FILE}`), manifest);
  }

  /** Stub calls recorded so far, optionally for one tool: each is [tool, ...argv]. */
  calls(tool?: string): string[][] {
    const lines = readFileSync(this.path('/.stubs/calls.log'), 'utf8').split('\n').filter(Boolean);
    const calls = lines.map((line) => line.split('\t'));
    return tool ? calls.filter((c) => c[0] === tool) : calls;
  }

  /** Writes a stub's state file (e.g. 'new-kernel' for the dnf stub). */
  setStubState(name: string, content: string): void {
    writeFileSync(this.path(`/.stubs/state/${name}`), content);
  }

  /** Files the dnf stub lays onto / when a local <name>.rpm is installed. */
  addPayload(name: string, files: Record<string, string>): void {
    for (const [inside, content] of Object.entries(files)) {
      const target = join(this.path(`/.stubs/payloads/${name}`), inside);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content);
    }
  }

  destroy(): void {
    if (this.mounted) {
      const result = capture('umount', [this.root]);
      if (result.status !== 0) capture('umount', ['-l', this.root]);
      this.mounted = false;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
