// The join rehearsal's node: the image's disk booted by qemu with a real kernel (Debian's 6.1, the one the IPVS
// kernel test uses), systemd as init, so that systemd-modules-load loads the image's modules-load.d lists and
// containerd and the kubelet run under systemd as on EC2. TCG only: /dev/kvm exists on these machines but nested
// virtualisation hangs. Networking is qemu's user mode: the guest is 10.0.2.15 and reaches the host's 127.0.0.1
// as 10.0.2.2; the host reaches the guest only through the forwards named here, bound on 127.0.0.1.
//
// Every qemu started here is in a registry (nodeVms by default): a caller's failure path and its SIGINT
// handler call killAll(), and a process that exits with a node still running kills it on the way out.
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, readlinkSync, readSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processRunner, signalGroup, startDetached, type RunResult, type Runner } from '../../process/run.ts';
import type { NodeKernel } from './node-disk.ts';

export interface HostForward {
  guestPort: number;
  /** A port on the host's 127.0.0.1; default: a free one. */
  hostPort?: number;
}

export interface BootOptions {
  /** Raw ext4 image with the node's root (prepareNodeDisk). */
  disk: string;
  kernel: Pick<NodeKernel, 'vmlinuz' | 'initrd'>;
  /** Default 2560: containerd, the kubelet and kube-proxy together. */
  memoryMiB?: number;
  /** Default 2 (TCG runs one host thread per vCPU). */
  cpus?: number;
  /** The serial console (kernel and systemd messages) is written here. */
  consoleLog: string;
  /** Forwards besides SSH's, all on 127.0.0.1. */
  hostForwards?: HostForward[];
  /** Private key the guest's sshUser accepts. */
  sshKey: string;
  sshUser: string;
  /** Appended to the kernel command line. */
  kernelArgs?: string[];
  /** Writes go to a throw-away overlay instead of the disk image. */
  snapshot?: boolean;
  registry?: VmRegistry;
  runner?: Runner;
  /** How host ports are chosen (default freePort); a test substitutes a taken port to see qemu's bind fail. */
  pickPort?: () => Promise<number>;
}

export interface SshResult extends RunResult {
  timedOut: boolean;
}

/** The node's SSH port on the host is chosen free; another process may take it first, then qemu is started again. */
const BIND_ATTEMPTS = 5;

/** Kernel arguments every node boots with. */
const BASE_KERNEL_ARGS = [
  'console=ttyS0',
  'root=/dev/vda',
  // No fstab entry for / in the image (AMIs get one from cloud-init's growpart setup): mount it writable at once.
  'rw',
  // A failure in the initramfs (no init on the disk, no root device) reboots at once, and -no-reboot makes
  // that qemu's exit: the caller learns of it now rather than at its deadline.
  'panic=-1',
  // The rehearsal's root has no udev (RHEL's has systemd-udev), so device units never appear: the serial getty
  // would hold boot for 90 s waiting for dev-ttyS0.device. No one logs in on the console.
  'systemd.mask=serial-getty@ttyS0.service',
];

export class VmRegistry {
  private readonly running = new Set<NodeVm>();
  private hooked = false;

  add(vm: NodeVm): void {
    this.running.add(vm);
    if (!this.hooked) {
      this.hooked = true;
      // Last resort: the process is exiting (an uncaught error, process.exit) with nodes still running.
      process.once('exit', () => {
        for (const node of this.running) node.killNow();
      });
    }
  }

  delete(vm: NodeVm): void {
    this.running.delete(vm);
  }

  get size(): number {
    return this.running.size;
  }

  /** Kills every node still running and waits for their qemu processes to exit. */
  async killAll(): Promise<void> {
    await Promise.all([...this.running].map((vm) => vm.kill()));
  }
}

/** Nodes started without a registry of their own. */
export const nodeVms = new VmRegistry();

/** A free TCP port on 127.0.0.1 (free now; qemu may still lose a race for it, see BIND_ATTEMPTS). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The last `lines` lines of a file (the console log), read from its end. */
export function fileTail(path: string, lines = 25, maxBytes = 64 * 1024): string {
  if (!existsSync(path)) return '';
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const text = buffer
      .toString('utf8')
      .replaceAll('\r', '')
      .replace(/\x1b(\[[0-9;?]*[A-Za-z]|c)/g, '');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } finally {
    closeSync(fd);
  }
}

/** Whether something on host:port speaks SSH (sshd's banner arrives before any client byte). */
export function sshBanner(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.length >= 4) done(received.startsWith('SSH-'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * Whether process `pid` listens on 127.0.0.1:`port` (IPv4), from /proc: its socket inodes against the LISTEN
 * entries of /proc/net/tcp. Connecting would not tell qemu's listener from another process's.
 */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const socket = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (socket) inodes.add(socket[1]);
      } catch {
        // closed meanwhile
      }
    }
  } catch {
    return false; // the process is gone
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .some((fields) => fields[1] === local && fields[3] === '0A' && inodes.has(fields[9]));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGKILLs a detached child's process group, unless the child has already exited. */
function killGroup(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) signalGroup(child.pid, 'SIGKILL');
}
const shellQuote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class NodeVm {
  readonly exited: Promise<VmExit>;
  private exit?: VmExit;
  private stderr = '';
  /** The SSH master connection later commands share (see multiplex), while it is up. */
  private master?: ChildProcess;
  private readonly controlPath: string;

  constructor(
    private readonly child: ChildProcess,
    readonly sshPort: number,
    /** Guest port → host port on 127.0.0.1. */
    readonly forwards: ReadonlyMap<number, number>,
    private readonly options: BootOptions,
    private readonly registry: VmRegistry,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-8192);
    });
    this.exited = new Promise((resolve) => {
      const ended = (exit: VmExit) => {
        if (this.exit) return;
        this.exit = exit;
        registry.delete(this);
        resolve(exit);
      };
      child.once('exit', (code, signal) => ended({ code, signal }));
      // Never started (no qemu on the PATH): no exit event follows.
      child.once('error', () => {
        if (child.pid === undefined) ended({ code: 127, signal: null });
      });
    });
    registry.add(this);
    // A Unix socket path must stay short (108 bytes): the temporary directory, not the work directory.
    this.controlPath = join(tmpdir(), `eks-node-${process.pid}-${sshPort}.ssh`);
    void this.exited.then(() => this.stopMaster());
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** qemu's own error output (bind failures, a missing disk), kept for messages. */
  get qemuErrors(): string {
    return this.stderr.trim();
  }

  consoleTail(lines = 25): string {
    return fileTail(this.options.consoleLog, lines);
  }

  private describeExit(): string {
    const { code, signal } = this.exit ?? { code: null, signal: null };
    return signal ? `was killed by ${signal}` : `exited with status ${code}`;
  }

  private failure(what: string): Error {
    const errors = this.qemuErrors ? `\nqemu: ${this.qemuErrors}` : '';
    return new Error(`${what}${errors}\nLast lines of the console (${this.options.consoleLog}):\n${this.consoleTail()}`);
  }

  /**
   * Waits until the guest's sshd sends its banner. Fails at once when qemu exits first (a kernel panic, no init
   * on the disk), and when `deadline` settles first; either way with the console's last lines.
   */
  async waitForSsh(deadline: Promise<unknown>): Promise<void> {
    let passed = false;
    let gone = false;
    void deadline.then(
      () => (passed = true),
      () => (passed = true),
    );
    void this.exited.then(() => (gone = true));
    const tick = () => Promise.race([sleep(500), deadline.catch(() => undefined), this.exited]);
    for (;;) {
      if (gone) throw this.failure(`The node's qemu ${this.describeExit()} before sshd answered.`);
      if (passed) throw this.failure(`The node's sshd did not answer on 127.0.0.1:${this.sshPort} before the deadline.`);
      if (await sshBanner('127.0.0.1', this.sshPort)) return this.multiplex();
      await tick();
    }
  }

  /**
   * Opens one SSH connection that every later command rides on (ssh -M, ControlMaster=no for the others). Under
   * TCG each new connection's key exchange runs emulated in the guest and costs about a second, and a join runs
   * dozens of commands (every poll of the node is one). Should the master not come up, commands connect on their
   * own as before.
   */
  private async multiplex(): Promise<void> {
    const args = ['-M', '-N', '-o', `ControlPath=${this.controlPath}`, '-o', 'ControlPersist=no', ...this.sshArgs()];
    const master = startDetached('ssh', args, { stdio: 'ignore' });
    master.once('error', () => undefined);
    const runner = this.options.runner ?? processRunner;
    for (let waited = 0; waited < 20_000 && master.exitCode === null && this.running; waited += 200) {
      const check = await runner.capture('ssh', ['-o', `ControlPath=${this.controlPath}`, '-O', 'check', 'node']);
      if (check.exitCode === 0) {
        this.master = master;
        return;
      }
      await sleep(200);
    }
    killGroup(master);
  }

  private stopMaster(): void {
    const master = this.master;
    this.master = undefined;
    if (master) killGroup(master);
  }

  private sshArgs(): string[] {
    const shared = this.master ? ['-o', 'ControlMaster=no', '-o', `ControlPath=${this.controlPath}`] : [];
    return [
      ...shared,
      '-i',
      this.options.sshKey,
      '-p',
      String(this.sshPort),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      'UserKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ConnectTimeout=10',
      '-o',
      'ServerAliveInterval=5',
      `${this.options.sshUser}@127.0.0.1`,
    ];
  }

  /** Runs a shell command on the node as sshUser; the result says whether the time limit killed it (exit 124). */
  async ssh(command: string, options: { timeoutMs?: number } = {}): Promise<SshResult> {
    const seconds = Math.ceil((options.timeoutMs ?? 60_000) / 1000);
    const runner = this.options.runner ?? processRunner;
    const result = await runner.capture('timeout', ['--kill-after=5', String(seconds), 'ssh', ...this.sshArgs(), '--', command]);
    return { ...result, timedOut: result.exitCode === 124 || result.exitCode === 137 };
  }

  /** Copies a guest file (read as root through sudo, byte for byte) to `hostPath`. */
  async copyFrom(guestPath: string, hostPath: string, options: { timeoutMs?: number } = {}): Promise<void> {
    const seconds = Math.ceil((options.timeoutMs ?? 60_000) / 1000);
    const runner = this.options.runner ?? processRunner;
    const read = this.options.sshUser === 'root' ? `cat -- ${shellQuote(guestPath)}` : `sudo -n cat -- ${shellQuote(guestPath)}`;
    // The shell only redirects ssh's standard output into the file; the command's words stay arguments.
    const script = 'out=$1; shift; exec timeout --kill-after=5 "$@" >"$out"';
    const result = await runner.capture('sh', ['-c', script, 'copy-from', hostPath, String(seconds), 'ssh', ...this.sshArgs(), '--', read]);
    if (result.exitCode !== 0) throw new Error(`Copying ${guestPath} from the node failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }

  /** Orderly shutdown: `systemctl poweroff`, then qemu's exit; SIGKILL after `timeoutMs` (default 60 s). */
  async poweroff(options: { timeoutMs?: number } = {}): Promise<VmExit> {
    if (!this.running) return this.exited;
    const command = this.options.sshUser === 'root' ? 'systemctl poweroff' : 'sudo -n systemctl poweroff';
    // The connection may drop as the node goes down: the outcome that counts is qemu's exit.
    await this.ssh(command, { timeoutMs: 20_000 });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.timeoutMs ?? 60_000)));
    const outcome = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (outcome === 'late') await this.kill();
    return this.exited;
  }

  /** SIGKILLs qemu now (a no-op once it has exited) and waits for its exit. */
  async kill(): Promise<VmExit> {
    this.killNow();
    return this.exited;
  }

  /** Synchronous SIGKILL, for process exit hooks. */
  killNow(): void {
    this.stopMaster();
    // qemu runs in a process group of its own (startDetached): the whole group goes.
    if (this.running) killGroup(this.child);
  }
}

function qemuArgs(options: BootOptions, forwards: Map<number, number>): string[] {
  const hostfwd = [...forwards].map(([guest, host]) => `hostfwd=tcp:127.0.0.1:${host}-:${guest}`).join(',');
  return [
    '-accel',
    'tcg',
    '-cpu',
    'max',
    '-smp',
    String(options.cpus ?? 2),
    '-m',
    String(options.memoryMiB ?? 2560),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-serial',
    `file:${options.consoleLog}`,
    '-kernel',
    options.kernel.vmlinuz,
    '-initrd',
    options.kernel.initrd,
    '-append',
    [...BASE_KERNEL_ARGS, ...(options.kernelArgs ?? [])].join(' '),
    // cache=unsafe: a throw-away node; its disk is not kept past the rehearsal.
    '-drive',
    `file=${options.disk},if=virtio,format=raw,cache=unsafe${options.snapshot ? ',snapshot=on' : ''}`,
    '-nic',
    `user,model=virtio-net-pci,${hostfwd}`,
    // Entropy for sshd, TLS and containerd early in boot.
    '-device',
    'virtio-rng-pci',
  ];
}

/**
 * Starts qemu and returns once it holds its host forwards (not once the guest is up: see waitForSsh). A port
 * taken between choosing and binding makes qemu exit at once; it is then started again with fresh ports.
 */
export async function bootNode(options: BootOptions): Promise<NodeVm> {
  if (!existsSync(options.disk)) throw new Error(`The node disk ${options.disk} does not exist (prepareNodeDisk builds it).`);
  const registry = options.registry ?? nodeVms;
  let lastError = '';
  for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
    const pick = options.pickPort ?? freePort;
    const forwards = new Map<number, number>([[22, await pick()]]);
    for (const forward of options.hostForwards ?? []) forwards.set(forward.guestPort, forward.hostPort ?? (await pick()));
    const sshPort = forwards.get(22)!;
    const child = startDetached('qemu-system-x86_64', qemuArgs(options, forwards), { stdio: ['ignore', 'ignore', 'pipe'] });
    const vm = new NodeVm(child, sshPort, forwards, options, registry);
    const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    const bound = (async () => {
      while (vm.running) {
        if (vm.pid !== undefined && [...forwards.values()].every((port) => listensOn(vm.pid!, port))) return true;
        await sleep(100);
      }
      return false;
    })();
    const outcome = await Promise.race([bound, spawnFailed, sleep(15_000).then(() => 'slow' as const)]);
    if (outcome instanceof Error) {
      await vm.kill();
      throw new Error(`qemu-system-x86_64 could not be started (${outcome.message}): apt-get install qemu-system-x86.`);
    }
    if (outcome === true) return vm;
    if (outcome === 'slow') {
      await vm.kill();
      throw new Error(`qemu did not bind 127.0.0.1:${sshPort} within 15 s.${vm.qemuErrors ? ` qemu: ${vm.qemuErrors}` : ''}`);
    }
    await vm.exited;
    lastError = vm.qemuErrors;
    // qemu 7.2: "Could not set up host forwarding rule 'tcp:…'": someone else took the port; try others.
    if (!/host forwarding rule/i.test(lastError)) throw new Error(`qemu exited at once: ${lastError || 'no message'} (console: ${options.consoleLog})`);
    const fixed = (options.hostForwards ?? []).filter((f) => f.hostPort !== undefined).map((f) => `127.0.0.1:${f.hostPort}`);
    if (fixed.length > 0)
      throw new Error(`qemu could not bind its forwards (${lastError}); is ${fixed.join(' or ')} in use? Leave hostPort out to get a free port.`);
  }
  throw new Error(`qemu could not bind a free port on 127.0.0.1 in ${BIND_ATTEMPTS} attempts: ${lastError}`);
}
