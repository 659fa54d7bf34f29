// The join rehearsal's node disk: the image's root filesystem (the directory the rehearsal leaves in
// build/<ami>/rehearsal/rootfs) as a sparse raw ext4 image that qemu boots as /dev/vda. The source directory is
// only read: a read-only overlay mount (in a mount namespace of its own, so it cannot outlive the build) stacks
// the caller's extra files and the kernel's modules over it, and `mke2fs -d` copies the merged view, keeping
// owners, modes, setuid bits, xattrs (file capabilities), symlinks, hard links and device nodes.
//
// Measured on these 2 cores: ~2.5 s for a 320 MB root alone, ~5 s with the 6.1 kernel's 400 MB of modules
// (hard-linked into the overlay's layer, not copied). That is cheap next to the boot, so there is no cached
// base image: each build's root is new anyway. 9p/virtiofs were rejected: a shared root would be written
// through to the source directory (or need virtiofsd, which is not installed), and containerd's overlayfs
// snapshotter needs a real local file system for its upper directories.
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  chownSync,
  chmodSync,
  readdirSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { repoPath } from '../../paths.ts';
import { processRunner, type Runner } from '../../process/run.ts';

/** The kernel the node boots: qemu loads it directly (-kernel/-initrd), and its modules go onto the disk. */
export interface NodeKernel {
  release: string;
  vmlinuz: string;
  /** An initramfs that can mount an ext4 root on virtio-blk (Debian's initramfs-tools image can). */
  initrd: string;
  /** lib/modules/<release> on the host. */
  modulesDir: string;
}

/** A file laid onto the disk over the root (the source directory is never touched). */
export type ExtraFile =
  | {
      /** Absolute path inside the guest, e.g. /etc/hosts. */
      path: string;
      content: string | Buffer;
      /** Default: the existing file's mode, else 0644. */
      mode?: number;
      /** Default: the existing file's owner, else root. */
      uid?: number;
      gid?: number;
      /** Append to the root's existing file (e.g. /etc/hosts lines) instead of replacing it. */
      append?: boolean;
    }
  | { path: string; symlink: string }
  /** A host file copied in (binaries, a CA bundle); mode and owner as above. */
  | { path: string; source: string; mode?: number; uid?: number; gid?: number };

export interface NodeDiskOptions {
  /** The image's root filesystem directory (read only). */
  rootfs: string;
  /** The raw ext4 image to write (replaced atomically; nothing is left behind on failure). */
  out: string;
  kernel: NodeKernel;
  extraFiles?: ExtraFile[];
  /** Free space on top of the root's size, for containerd's content store and snapshots (default 2 GiB; sparse). */
  headroomMiB?: number;
  runner?: Runner;
}

export interface NodeDisk {
  path: string;
  sizeMiB: number;
  /** What the root, modules and extra files occupy. */
  usedMiB: number;
  durationMs: number;
}

const here = dirname(fileURLToPath(import.meta.url));

/** The newest kernel in /boot with its modules (Debian's linux-image-amd64 on these machines); initrd: Debian's. */
export function hostNodeKernel(boot = '/boot', modules = '/lib/modules'): NodeKernel {
  const releases = (existsSync(boot) ? readdirSync(boot) : [])
    .filter((name) => name.startsWith('vmlinuz-'))
    .map((name) => name.slice('vmlinuz-'.length))
    .filter((release) => existsSync(join(modules, release, 'modules.dep')))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const release = releases.at(-1);
  if (!release) {
    throw new Error(
      `No kernel with modules in ${boot} and ${modules}: the join rehearsal boots the node with Debian's kernel. ` +
        `Run 'apt-get install linux-image-amd64' (or 'make test-deps') as root.`,
    );
  }
  return { release, vmlinuz: join(boot, `vmlinuz-${release}`), initrd: join(boot, `initrd.img-${release}`), modulesDir: join(modules, release) };
}

/**
 * The host's kernel with the node's own small initramfs (node-initramfs.sh; built once per kernel into
 * .cache/node-initramfs, ~0.3 s): it boots ~5 s sooner under TCG than Debian's initrd and loads the NIC driver
 * that the rehearsal's udev-less root would otherwise never load.
 */
export async function nodeKernel(options: { kernel?: NodeKernel; cacheDir?: string; runner?: Runner } = {}): Promise<NodeKernel> {
  const kernel = options.kernel ?? hostNodeKernel();
  const runner = options.runner ?? processRunner;
  const build = join(here, 'node-initramfs.sh');
  const init = join(here, 'node-init.sh');
  const dep = statSync(join(kernel.modulesDir, 'modules.dep'));
  const key = createHash('sha256')
    .update(JSON.stringify({ release: kernel.release, dep: [dep.size, dep.mtimeMs], build: readFileSync(build, 'utf8'), init: readFileSync(init, 'utf8') }))
    .digest('hex')
    .slice(0, 16);
  const initrd = join(options.cacheDir ?? repoPath('.cache', 'node-initramfs'), `${kernel.release}-${key}.cpio.gz`);
  if (!existsSync(initrd)) {
    const env = { ...process.env, KVER: kernel.release, MODULES_DIR: kernel.modulesDir, NODE_INIT: init, OUT: initrd };
    const result = await runner.capture('bash', [build], { env });
    if (result.exitCode !== 0) throw new Error(`Building the node's initramfs failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  }
  return { ...kernel, initrd };
}

/**
 * Where `path` (absolute, inside the guest) really lives in `root`, following the root's symlinks as the guest
 * would (merged /usr: /lib/modules is usr/lib/modules). Returned relative to the root.
 */
export function resolveInRoot(root: string, path: string): string {
  const parts = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let hops = 0; parts.length > 0;) {
    const part = parts.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root, ...done, part);
    let link: string | undefined;
    try {
      if (lstatSync(here).isSymbolicLink()) link = readlinkSync(here);
    } catch {
      // Not there (yet): the rest is created as directories.
    }
    if (link === undefined || parts.length === 0) {
      done.push(part);
      continue;
    }
    if (++hops > 40) throw new Error(`too many symbolic links resolving ${path} in ${root}`);
    if (link.startsWith('/')) done.length = 0;
    parts.unshift(...link.split('/').filter(Boolean));
  }
  return done.join('/');
}

/** Creates `rel`'s parent directories in `layer` with the owner and mode they have in the root. */
function mkdirsLike(layer: string, root: string, rel: string): void {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const sub = parts.slice(0, i).join('/');
    const target = join(layer, sub);
    if (existsSync(target)) continue;
    mkdirSync(target);
    // An overlay shows a merged directory with the attributes of its topmost layer: copy the root's.
    const source = join(root, sub);
    const like = existsSync(source) ? statSync(source) : undefined;
    chmodSync(target, like ? like.mode & 0o7777 : 0o755);
    chownSync(target, like?.uid ?? 0, like?.gid ?? 0);
  }
}

function layExtraFile(layer: string, root: string, file: ExtraFile): void {
  if (!file.path.startsWith('/')) throw new Error(`extra file path ${JSON.stringify(file.path)} must be absolute (a path inside the guest)`);
  const rel = resolveInRoot(root, file.path);
  mkdirsLike(layer, root, rel);
  const target = join(layer, rel);
  rmSync(target, { force: true });
  if ('symlink' in file) {
    symlinkSync(file.symlink, target);
    return;
  }
  const original = join(root, rel);
  const existing = existsSync(original) ? statSync(original) : undefined;
  if ('source' in file) {
    copyFileSync(file.source, target);
  } else {
    const base = file.append && existing ? readFileSync(original) : Buffer.alloc(0);
    const separator = base.length > 0 && base[base.length - 1] !== 0x0a ? '\n' : '';
    writeFileSync(target, Buffer.concat([base, Buffer.from(separator), Buffer.from(file.content)]));
  }
  const sourceMode = 'source' in file ? statSync(file.source).mode & 0o7777 : undefined;
  chmodSync(target, file.mode ?? (existing ? existing.mode & 0o7777 : (sourceMode ?? 0o644)));
  chownSync(target, file.uid ?? existing?.uid ?? 0, file.gid ?? existing?.gid ?? 0);
}

async function must(runner: Runner, command: string, args: string[]): Promise<string> {
  const result = await runner.capture(command, args);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.exitCode}): ${result.stderr.trim()}`);
  return result.stdout;
}

async function usedMiB(runner: Runner, dirs: string[]): Promise<number> {
  // Allocated size (not apparent): it is what ext4 needs, block rounding included.
  const out = await must(runner, 'du', ['-s', '-c', '-k', ...dirs]);
  const total = /^(\d+)\s+total$/m.exec(out);
  if (!total) throw new Error(`du printed no total for ${dirs.join(' ')}`);
  return Math.ceil(Number(total[1]) / 1024);
}

/** Builds the node's disk image from the root directory; see the file's header. */
export async function prepareNodeDisk(options: NodeDiskOptions): Promise<NodeDisk> {
  const started = Date.now();
  const runner = options.runner ?? processRunner;
  const { rootfs, out, kernel } = options;
  if (!existsSync(join(rootfs, 'etc'))) throw new Error(`${rootfs} is not a root filesystem (it has no etc/)`);
  for (const path of [rootfs, out]) {
    // The overlay's mount options are separated by ',' and its layers by ':'.
    if (/[,:]/.test(path)) throw new Error(`the node disk cannot be built from or into ${path}: the path contains ',' or ':'`);
  }
  mkdirSync(dirname(out), { recursive: true });
  const work = mkdtempSync(join(dirname(out), `.${basename(out)}.layers-`));
  const partial = `${out}.partial-${process.pid}`;
  try {
    const extra = join(work, 'extra');
    const modules = join(work, 'modules');
    const merged = join(work, 'merged');
    for (const dir of [extra, modules, merged]) mkdirSync(dir);
    for (const file of options.extraFiles ?? []) layExtraFile(extra, rootfs, file);
    // The rehearsal's Debian root carries no kernel (a RHEL image carries its own kernel's modules): the modules
    // of the kernel qemu boots go where the guest's modprobe looks, hard-linked (or copied across file systems).
    const modulesRel = resolveInRoot(rootfs, `/lib/modules/${kernel.release}`);
    mkdirsLike(modules, rootfs, modulesRel);
    const linked = await runner.capture('cp', ['-al', kernel.modulesDir, join(modules, modulesRel)]);
    if (linked.exitCode !== 0) await must(runner, 'cp', ['-a', kernel.modulesDir, join(modules, modulesRel)]);

    const used = await usedMiB(runner, [rootfs, modules, extra]);
    const headroom = options.headroomMiB ?? 2048;
    // ext4's own metadata (inode tables, journal) takes a few percent.
    const sizeMiB = Math.ceil(used * 1.1) + headroom + 64;
    const script = 'mount -t overlay -o "ro,lowerdir=$1:$2:$3" rehearsal-node "$4" && exec mke2fs -q -F -t ext4 -L node-root -d "$4" "$5" "$6"M';
    await must(runner, 'unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      script,
      'node-disk',
      extra,
      modules,
      rootfs,
      merged,
      partial,
      String(sizeMiB),
    ]);
    renameSync(partial, out);
    return { path: out, sizeMiB, usedMiB: used, durationMs: Date.now() - started };
  } finally {
    rmSync(partial, { force: true });
    // Hard links only: removing them leaves the host's modules alone.
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The files a rehearsal root needs to be reachable as a VM under qemu's user networking. The rehearsal's Debian root has no
 * network configuration (a RHEL image has NetworkManager and cloud-init) and no udev, without which
 * systemd-networkd never manages a link: a oneshot unit sets qemu's fixed addresses (guest 10.0.2.15/24, host
 * and gateway 10.0.2.2) on the one NIC before network.target. The root's own /etc/resolv.conf
 * is kept (qemu's resolver would be 10.0.2.3).
 */
const HOST_KEY = '/etc/ssh/ssh_host_ed25519_key';

export function nodeVmFiles(): ExtraFile[] {
  const script = `#!/bin/sh
# The rehearsal node's network under qemu user networking (prepareNodeDisk's nodeNetworkFiles).
set -eu
nic=$(ls /sys/class/net | grep -vx lo | head -n 1)
ip link set lo up
ip link set "$nic" up
ip addr replace 10.0.2.15/24 dev "$nic"
ip route replace default via 10.0.2.2 dev "$nic"
`;
  const unit = `[Unit]
Description=Rehearsal node network (qemu user networking)
DefaultDependencies=no
After=systemd-modules-load.service
Before=network.target network-online.target
Wants=network.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/libexec/rehearsal-node-network

[Install]
WantedBy=network-online.target multi-user.target
`;
  const unitPath = '/etc/systemd/system/rehearsal-node-network.service';
  return [
    { path: '/usr/local/libexec/rehearsal-node-network', content: script, mode: 0o755 },
    { path: unitPath, content: unit },
    { path: '/etc/systemd/system/multi-user.target.wants/rehearsal-node-network.service', symlink: unitPath },
    { path: '/etc/systemd/system/network-online.target.wants/rehearsal-node-network.service', symlink: unitPath },
    // The image leaves no SSH host keys (cleanup.sh removes them; on RHEL sshd-keygen@.service makes new ones at
    // the first boot); Debian's ssh.service does not, so it gets the same step, before its own `sshd -t`. Ed25519
    // only: `ssh-keygen -A` spends ~12 s on the RSA key under TCG.
    {
      path: '/etc/systemd/system/ssh.service.d/rehearsal-host-keys.conf',
      content: [
        '[Service]',
        'ExecStartPre=',
        `ExecStartPre=/bin/sh -c 'test -e ${HOST_KEY} || /usr/bin/ssh-keygen -q -t ed25519 -N "" -f ${HOST_KEY}'`,
        'ExecStartPre=/usr/sbin/sshd -t',
        '',
      ].join('\n'),
    },
  ];
}
