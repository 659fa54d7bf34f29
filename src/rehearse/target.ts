// The rehearsal's build instance: a Debian root filesystem booted with systemd-nspawn in a network namespace
// of its own, reached over a veth pair, with sshd for Packer's SSH communicator. Only what a Debian root
// cannot do is stubbed (rehearsal/stubs/). A reboot asked for by a provisioner restarts the container.
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { ToolError } from '../errors.ts';
import { repoPath } from '../paths.ts';
import { onPath, runSync, startDetached } from '../process/run.ts';
import { debianRootTarball } from './debian-root.ts';

const HOSTNAME = 'eks-rehearsal';
/** What the provisioners use on the instance besides what they install themselves. */
export const ROOT_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'openssh-server', 'sudo', 'kmod', 'iproute2', 'curl', 'ca-certificates',
  'jq', 'gnupg', 'logrotate', 'unzip', 'procps',
  // The real nft, as RHEL 9/10's nftables package provides it (the dnf stand-in installs no binaries): validate.sh
  // checks its version for kube-proxy's nftables mode.
  'nftables',
  // What base-os.sh installs with dnf for kube-proxy (the dnf stand-in lays no binaries): Debian's builds of the
  // same upstream tools, so a joined node's kube-proxy really programs IPVS, ipset and iptables.
  'ipvsadm', 'ipset', 'iptables', 'conntrack',
];

function must(command: string, args: string[]): string {
  const result = runSync(command, args);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

export function requireRehearsalTools(variant = 'standard'): void {
  if (variant === 'stig' && !existsSync('/usr/share/xml/scap/ssg/content/ssg-rhel9-ds.xml')) {
    throw new ToolError('Rehearsing variant=stig needs the SCAP Security Guide data streams: apt-get install ssg-nondebian.');
  }
  if (process.getuid?.() !== 0) throw new ToolError('The rehearsal needs root (network namespaces, systemd-nspawn, mounts).');
  for (const [tool, pkg] of [['mmdebstrap', 'mmdebstrap'], ['systemd-nspawn', 'systemd-container'], ['ip', 'iproute2'], ['ssh-keygen', 'openssh-client'], ['gpg', 'gnupg'], ['zip', 'zip']]) {
    if (!onPath(tool)) {
      throw new ToolError(`The rehearsal needs ${tool}: apt-get install ${pkg} (or run 'make test-deps').`);
    }
  }
}

/** A cached tarball of the base root (built once by the shared Debian-root builder, ~20 s). */
export function baseRootTarball(): string {
  return debianRootTarball(ROOT_PACKAGES);
}

export interface TargetOptions {
  /** Directory that becomes the target's root filesystem. */
  root: string;
  sshUser: string;
  authorizedKey: string;
  /** Log of the container's console. */
  consoleLog: string;
  /** RHEL release the target claims in /etc/redhat-release (the seeded source image's). */
  rhelRelease?: string;
  /** /etc/hosts lines: the rehearsal's registry answers for ECR's names (no DNS offline). */
  hosts?: string[];
  /** A CA the target trusts as an instance trusts the public CAs that sign ECR's certificates. */
  trustedCa?: string;
}

/**
 * The target's network, known before it exists: this machine's end of the veth pair (where the emulator, the
 * registry and the control plane listen) and the target's end, from the rehearsal's process id.
 */
export function targetNetwork(pid = process.pid): { netns: string; hostLink: string; hostAddress: string; address: string } {
  const n = pid % 250;
  return { netns: `eks-rehearsal-${pid}`, hostLink: `rh${pid % 100000}h`, hostAddress: `10.213.${n}.1`, address: `10.213.${n}.2` };
}

export class Target {
  readonly netns: string;
  readonly hostAddress: string;
  readonly address: string;
  private readonly hostLink: string;
  private child?: ChildProcess;
  private stopping = false;
  private exited?: Promise<number>;
  boots = 0;

  private constructor(readonly options: TargetOptions) {
    ({ netns: this.netns, hostLink: this.hostLink, hostAddress: this.hostAddress, address: this.address } = targetNetwork());
  }

  static create(options: TargetOptions): Target {
    const target = new Target(options);
    target.layRoot();
    target.createNetwork();
    return target;
  }

  private layRoot(): void {
    const { root, sshUser, authorizedKey } = this.options;
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    must('tar', ['-xf', baseRootTarball(), '-C', root]);
    const chroot = (...args: string[]) => must('chroot', [root, ...args]);
    chroot('useradd', '-m', '-s', '/bin/bash', sshUser);
    chroot('usermod', '-p', '*', sshUser); // unlocked for key login, no password
    writeFileSync(join(root, 'etc/sudoers.d', sshUser), `${sshUser} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
    const ssh = join(root, 'home', sshUser, '.ssh');
    mkdirSync(ssh, { recursive: true, mode: 0o700 });
    writeFileSync(join(ssh, 'authorized_keys'), authorizedKey, { mode: 0o600 });
    chroot('chown', '-R', `${sshUser}:${sshUser}`, `/home/${sshUser}/.ssh`);
    writeFileSync(join(root, 'etc/hostname'), `${HOSTNAME}\n`);
    appendFileSync(join(root, 'etc/hosts'), `127.0.1.1 ${HOSTNAME}\n${(this.options.hosts ?? []).map((line) => `${line}\n`).join('')}`);
    if (this.options.trustedCa) {
      writeFileSync(join(root, 'usr/local/share/ca-certificates/eks-rehearsal.crt'), this.options.trustedCa);
      chroot('update-ca-certificates', '--fresh');
    }
    // What a RHEL base has and Debian lacks: SELinux configured enforcing.
    mkdirSync(join(root, 'etc/selinux'), { recursive: true });
    writeFileSync(join(root, 'etc/selinux/config'), 'SELINUX=enforcing\nSELINUXTYPE=targeted\n');
    // And its release file, matching the rehearsal's source image name (inventory.sh records it).
    writeFileSync(join(root, 'etc/redhat-release'), `Red Hat Enterprise Linux release ${this.options.rhelRelease ?? '9.5'} (rehearsal)\n`);
    // And chrony's configuration as RHEL ships it: a pool, no drop-in directory (time-sync.sh adds one).
    writeFileSync(join(root, 'etc/chrony.conf'), 'pool 2.rhel.pool.ntp.org iburst\nsourcedir /run/chrony-dhcp\ndriftfile /var/lib/chrony/drift\nmakestep 1.0 3\nrtcsync\n');
    // Recording stand-ins, first on root's PATH (sudo's secure_path starts with /usr/local/sbin).
    const stubs = repoPath('rehearsal', 'stubs');
    mkdirSync(join(root, '.stubs', 'state'), { recursive: true });
    mkdirSync(join(root, '.stubs', 'payloads'), { recursive: true });
    writeFileSync(join(root, '.stubs', 'calls.log'), '');
    cpSync(join(stubs, '_record.sh'), join(root, '.stubs', '_record.sh'));
    for (const name of readdirSync(stubs).filter((n) => !n.startsWith('_'))) {
      cpSync(join(stubs, name), join(root, 'usr/local/sbin', name));
      chmodSync(join(root, 'usr/local/sbin', name), 0o755);
    }
    // The SSM agent RPM "installs" a unit, so enabling it is real.
    const ssmUnit = join(root, '.stubs/payloads/amazon-ssm-agent/usr/lib/systemd/system/amazon-ssm-agent.service');
    mkdirSync(join(ssmUnit, '..'), { recursive: true });
    writeFileSync(ssmUnit, '[Unit]\nDescription=SSM agent (rehearsal stand-in)\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n');
    // A FIPS kernel's flag after fips-mode-setup --enable and a reboot (rehearsal/target/fips-kernel.sh).
    const target = repoPath('rehearsal', 'target');
    mkdirSync(join(root, 'usr/local/libexec'), { recursive: true });
    cpSync(join(target, 'fips-kernel.sh'), join(root, 'usr/local/libexec/rehearsal-fips-kernel'));
    chmodSync(join(root, 'usr/local/libexec/rehearsal-fips-kernel'), 0o755);
    cpSync(join(target, 'rehearsal-fips-kernel.service'), join(root, 'etc/systemd/system/rehearsal-fips-kernel.service'));
    mkdirSync(join(root, 'etc/systemd/system/sysinit.target.wants'), { recursive: true });
    symlinkSync('/etc/systemd/system/rehearsal-fips-kernel.service', join(root, 'etc/systemd/system/sysinit.target.wants/rehearsal-fips-kernel.service'));
    // RHEL's scap-security-guide content, from Debian's copy of the same project (ssg-nondebian), as the
    // payload the dnf stand-in lays when the STIG step installs the package.
    const ssg = '/usr/share/xml/scap/ssg/content';
    if (existsSync(join(ssg, 'ssg-rhel9-ds.xml'))) {
      const payload = join(root, '.stubs/payloads/scap-security-guide', ssg);
      mkdirSync(payload, { recursive: true });
      for (const major of [8, 9]) cpSync(join(ssg, `ssg-rhel${major}-ds.xml`), join(payload, `ssg-rhel${major}-ds.xml`));
    }
    // State a launched instance has for cleanup to remove.
    mkdirSync(join(root, 'var/lib/cloud/instances/i-rehearsal'), { recursive: true });
    appendFileSync(join(root, 'var/log/cloud-init.log'), 'rehearsal\n');
  }

  private createNetwork(): void {
    const peer = `${this.hostLink.slice(0, -1)}n`;
    must('ip', ['netns', 'add', this.netns]);
    must('ip', ['link', 'add', this.hostLink, 'type', 'veth', 'peer', 'name', peer]);
    must('ip', ['link', 'set', peer, 'netns', this.netns]);
    must('ip', ['addr', 'add', `${this.hostAddress}/30`, 'dev', this.hostLink]);
    must('ip', ['link', 'set', this.hostLink, 'up']);
    // The container gets no CAP_NET_ADMIN: its side is configured from here.
    must('ip', ['-n', this.netns, 'addr', 'add', `${this.address}/30`, 'dev', peer]);
    must('ip', ['-n', this.netns, 'link', 'set', peer, 'up']);
    must('ip', ['-n', this.netns, 'link', 'set', 'lo', 'up']);
  }

  /** Boots the container and waits until sshd answers. */
  async boot(): Promise<void> {
    this.stopping = false;
    this.start();
    await this.waitForSsh(90_000);
  }

  private start(): void {
    this.boots++;
    const log = createWriteStream(this.options.consoleLog, { flags: 'a' });
    const child = startDetached(
      'systemd-nspawn',
      // CAP_IPC_LOCK: root on a real instance has it, and libgcrypt in FIPS mode needs locked memory (gpg aborts without).
      ['--register=no', '--keep-unit', '--quiet', '--console=pipe', `--hostname=${HOSTNAME}`, '--capability=CAP_IPC_LOCK', '-D', this.options.root, '-b', `--network-namespace-path=/run/netns/${this.netns}`],
      // Its own process group: a terminal's Ctrl-C reaches Packer, and the rehearsal then stops the target in order.
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.child = child;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        const status = code ?? (signal ? 128 : 1);
        // 133: the container asked for a reboot (a provisioner's reboot step). Boot it again.
        if (status === 133 && !this.stopping) this.start();
        resolve(status);
      });
    });
  }

  private async waitForSsh(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await canConnect(this.address, 22)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`the rehearsal target did not start sshd within ${timeoutMs / 1000} s; see ${this.options.consoleLog}`);
  }

  /** Orderly shutdown (SIGTERM asks nspawn to power the container off), then SIGKILL if it hangs. */
  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await done;
    clearTimeout(timer);
  }

  destroy(): void {
    runSync('ip', ['netns', 'del', this.netns]);
    runSync('ip', ['link', 'del', this.hostLink]);
  }
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      // sshd sends its banner first; a banner means it is really up.
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}
