// The join rehearsal's node VM, for real: a Debian root (the rehearsal's cached base root plus ipvsadm and a
// modules-load list naming five IPVS modules and one that no kernel has) becomes an ext4 disk, Debian's 6.1
// kernel boots it under qemu (TCG) with systemd as init, and the checks run over SSH. Nothing is stubbed.
// Needs root (the disk build mounts an overlay in a mount namespace of its own).
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { runSync } from '../../src/process/run.ts';
import { modulesInKernel, nodeModuleReport, parseModuleReport } from '../../src/rehearse/join/modules-report.ts';
import { hostNodeKernel, nodeKernel, nodeVmFiles, prepareNodeDisk, type NodeKernel } from '../../src/rehearse/join/node-disk.ts';
import { bootNode, freePort, listensOn, VmRegistry, type NodeVm } from '../../src/rehearse/join/vm.ts';
import { requireTool } from '../support/tools.ts';
import { buildNodeRoot, METADATA_PROBES } from './node-root.ts';

const LISTED = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_sh', 'nf_conntrack'];
const NOT_A_MODULE = 'ip_vs_rehearsal_absent';
const USER = 'node-admin';

/** A deadline as a latch: it settles after `ms`, unref'd so it keeps nothing alive. */
const deadlineIn = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
/** The ssh master processes (ssh -M) of the node whose SSH port on this machine is `port`. */
const sshMasters = (port: number) =>
  runSync('ps', ['-eo', 'args'])
    .stdout.split('\n')
    .filter((line) => line.startsWith('ssh -M') && line.includes(`-p ${port} `));

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const timings: Record<string, number> = {};
const timed = async <T>(name: string, work: () => Promise<T>): Promise<T> => {
  const started = Date.now();
  try {
    return await work();
  } finally {
    timings[name] = Date.now() - started;
  }
};

/** debugfs reads the image without mounting it: what mke2fs wrote, not what a kernel makes of it. */
const debugfs = (image: string, request: string) => runSync('debugfs', ['-R', request, image]).stdout;

describe('join: the node VM (qemu, real kernel, systemd)', function () {
  this.timeout(600_000);
  let work: string;
  let kernel: NodeKernel;
  let root: string;
  let disk: string;
  let key: string;
  const registry = new VmRegistry();

  before(async function () {
    for (const tool of [
      'qemu-system-x86_64',
      'mke2fs',
      'debugfs',
      'unshare',
      'mount',
      'ssh',
      'ssh-keygen',
      'timeout',
      'apt-get',
      'dpkg',
      'setcap',
      'mknod',
      'du',
    ]) {
      requireTool(tool, 'the join node VM test');
    }
    if (process.getuid?.() !== 0) throw new Error('The join node VM test needs root (overlay mounts in a mount namespace, chroot).');
    kernel = await nodeKernel();
    work = mkdtempSync(join(tmpdir(), 'node-vm-test-'));
    key = join(work, 'id_ed25519');
    runSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    root = join(work, 'root');
    buildNodeRoot({ root, sshUser: USER, authorizedKey: readFileSync(`${key}.pub`, 'utf8'), modules: [...LISTED, NOT_A_MODULE] });
  });

  after(async function () {
    await registry.killAll();
    if (work) rmSync(work, { recursive: true, force: true });
    console.log(`      timings (ms): ${JSON.stringify(timings)}`);
  });

  describe('the disk', function () {
    before(async function () {
      disk = join(work, 'node.img');
      const built = await timed('diskBuild', () =>
        prepareNodeDisk({
          rootfs: root,
          out: disk,
          kernel,
          extraFiles: [...nodeVmFiles(), { path: '/etc/hosts', content: '10.0.2.2 control-plane.rehearsal\n', append: true }],
        }),
      );
      timings.diskSizeMiB = built.sizeMiB;
      timings.diskUsedMiB = built.usedMiB;
    });

    it('keeps owners, modes, the setuid bit, file capabilities, symlinks and device nodes', function () {
      const setuid = debugfs(disk, `stat ${METADATA_PROBES.setuid}`);
      expect(setuid).to.match(/Mode:\s+04750/);
      expect(setuid).to.match(/User:\s+1234\s+Group:\s+5678/);
      // The capability is an xattr (security.capability); ea_list shows it by name.
      expect(debugfs(disk, `ea_list ${METADATA_PROBES.setuid}`)).to.include('security.capability');
      expect(debugfs(disk, `stat ${METADATA_PROBES.device}`)).to.match(/Type: character special[\s\S]*Device major\/minor number: 01:03/);
      expect(debugfs(disk, `stat ${METADATA_PROBES.symlink}`)).to.include(`Fast link dest: "${METADATA_PROBES.symlinkTarget}"`);
      // sudo refuses a sudoers file with other modes.
      expect(debugfs(disk, `stat /etc/sudoers.d/${USER}`)).to.match(/Mode:\s+0440/);
    });

    it("adds the kernel's modules and the extra files without touching the source root", function () {
      // Merged /usr: the modules land in usr/lib/modules, where /lib/modules leads.
      expect(debugfs(disk, `stat /usr/lib/modules/${kernel.release}/modules.dep`)).to.include('Type: regular');
      expect(debugfs(disk, 'cat /etc/hosts')).to.equal('127.0.0.1 localhost\n127.0.1.1 rehearsal-node\n10.0.2.2 control-plane.rehearsal\n');
      expect(existsSync(join(root, 'usr/lib/modules', kernel.release))).to.equal(false);
      expect(readFileSync(join(root, 'etc/hosts'), 'utf8')).to.not.include('control-plane');
      expect(existsSync(join(root, 'etc/systemd/network/10-rehearsal-node.network'))).to.equal(false);
      expect(runSync('findmnt', ['-rn', '-t', 'overlay', '-o', 'SOURCE']).stdout).to.not.include('rehearsal-node');
    });
  });

  describe('the booted node', function () {
    let vm: NodeVm;
    let state: string;

    before(async function () {
      const started = Date.now();
      vm = await bootNode({ disk, kernel, consoleLog: join(work, 'console.log'), sshKey: key, sshUser: USER, registry, memoryMiB: 2560, cpus: 2 });
      await vm.waitForSsh(deadlineIn(240_000));
      timings.bootToSsh = Date.now() - started;
      const running = await vm.ssh('systemctl is-system-running --wait', { timeoutMs: 240_000 });
      state = running.stdout.trim();
      timings.bootToSystemRunning = Date.now() - started;
    });

    it('boots to a running system (systemd-modules-load does not fail on a module the kernel lacks)', function () {
      expect(state, vm.consoleTail()).to.equal('running');
    });

    it("has systemd-modules-load load the root's list, and reports the module the kernel lacks", async function () {
      const report = await nodeModuleReport(vm);
      expect(report.kernelRelease).to.equal(kernel.release);
      expect(report.lists)
        .to.have.property('/etc/modules-load.d/rehearsal-test.conf')
        .that.deep.equals([...LISTED, NOT_A_MODULE]);
      expect(report.loaded).to.include.members(LISTED);
      expect(report.missing).to.deep.equal([NOT_A_MODULE]);
      expect(report.journal.join('\n'), JSON.stringify(report)).to.include(`Failed to find module '${NOT_A_MODULE}'`);
    });

    it('serves an IPVS virtual service with a real server (ipvsadm)', async function () {
      const ipvs = await vm.ssh('sudo -n ipvsadm -A -t 10.96.0.10:80 -s rr && sudo -n ipvsadm -a -t 10.96.0.10:80 -r 10.0.2.15:22 -m && sudo -n ipvsadm -Ln');
      expect(ipvs.exitCode, ipvs.stderr).to.equal(0);
      expect(ipvs.stdout).to.match(/^TCP\s+10\.96\.0\.10:80 rr/m);
      expect(ipvs.stdout).to.match(/->\s+10\.0\.2\.15:22\s+Masq/);
    });

    it('sees the setuid file with its owner and mode', async function () {
      const stat = await vm.ssh(`stat -c '%u:%g %a %F' ${METADATA_PROBES.setuid} ${METADATA_PROBES.device}`);
      expect(stat.stdout.trim().split('\n')).to.deep.equal(['1234:5678 4750 regular file', '0:0 666 character special file']);
    });

    it('copies a root-only file out of the node', async function () {
      const copy = join(work, 'shadow');
      await vm.copyFrom('/etc/shadow', copy);
      expect(readFileSync(copy, 'utf8')).to.match(new RegExp(`^${USER}:`, 'm'));
    });

    it('runs its commands over one SSH connection (a new handshake costs about a second under TCG)', async function () {
      // sshd names the client's address and port in SSH_CONNECTION: one connection, one client port.
      const ports = new Set<string>();
      for (let i = 0; i < 3; i++) ports.add((await vm.ssh('echo "$SSH_CONNECTION"')).stdout.trim().split(' ')[1]);
      expect(ports.size, [...ports].join(', ')).to.equal(1);
      expect(sshMasters(vm.sshPort)).to.have.length(1);
    });

    it('powers off in order and leaves no qemu process, nor its SSH connection', async function () {
      const pid = vm.pid;
      const exit = await timed('poweroff', () => vm.poweroff({ timeoutMs: 60_000 }));
      expect(exit).to.deep.equal({ code: 0, signal: null });
      expect(alive(pid)).to.equal(false);
      expect(sshMasters(vm.sshPort)).to.deep.equal([]);
      expect(registry.size).to.equal(0);
      await vm.kill(); // idempotent
    });
  });

  describe('failures', function () {
    it('fails a boot whose disk has no init at once, naming the console, and leaves no qemu', async function () {
      const empty = join(work, 'no-init');
      mkdirSync(join(empty, 'etc'), { recursive: true });
      writeFileSync(join(empty, 'etc/hostname'), 'no-init\n');
      const badDisk = join(work, 'no-init.img');
      await prepareNodeDisk({ rootfs: empty, out: badDisk, kernel, headroomMiB: 16 });
      const vm = await bootNode({ disk: badDisk, kernel, consoleLog: join(work, 'no-init.log'), sshKey: key, sshUser: USER, registry, memoryMiB: 512 });
      const started = Date.now();
      const error = await vm.waitForSsh(deadlineIn(240_000)).then(
        () => undefined,
        (e: Error) => e,
      );
      timings.failedBoot = Date.now() - started;
      // At qemu's exit, not at the deadline.
      expect(timings.failedBoot).to.be.below(200_000);
      expect(error?.message).to.match(/qemu exited with status \d+ before sshd answered/);
      // The node initramfs's words, from the console's tail.
      expect(error?.message).to.include('node-initramfs: /dev/vda has no /sbin/init');
      expect(alive(vm.pid)).to.equal(false);
      expect(registry.size).to.equal(0);
    });

    it('starts qemu again on other ports when the chosen SSH port is taken before qemu binds it', async function () {
      const squatter = createServer().listen(0, '127.0.0.1');
      await once(squatter, 'listening');
      const taken = (squatter.address() as AddressInfo).port;
      const picked: number[] = [];
      const pickPort = async () => {
        const port = picked.length === 0 ? taken : await freePort();
        picked.push(port);
        return port;
      };
      try {
        const vm = await bootNode({
          disk,
          kernel,
          consoleLog: join(work, 'retry.log'),
          sshKey: key,
          sshUser: USER,
          registry,
          snapshot: true,
          memoryMiB: 512,
          pickPort,
        });
        expect(picked[0]).to.equal(taken);
        expect(vm.sshPort).to.not.equal(taken);
        expect(listensOn(vm.pid!, vm.sshPort)).to.equal(true);
        await vm.kill();
        expect(registry.size).to.equal(0);
      } finally {
        squatter.close();
      }
    });

    it('names a fixed forward port that is in use, and leaves no qemu', async function () {
      const squatter = createServer().listen(0, '127.0.0.1');
      await once(squatter, 'listening');
      const taken = (squatter.address() as AddressInfo).port;
      try {
        const error = await bootNode({
          disk,
          kernel,
          consoleLog: join(work, 'fixed.log'),
          sshKey: key,
          sshUser: USER,
          registry,
          snapshot: true,
          memoryMiB: 512,
          hostForwards: [{ guestPort: 10250, hostPort: taken }],
        }).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error?.message).to.match(new RegExp(`could not bind its forwards .*is 127\\.0\\.0\\.1:${taken} in use`));
        expect(registry.size).to.equal(0);
      } finally {
        squatter.close();
      }
    });

    it('takes its nodes along when the process exits without cleaning up', async function () {
      const script = join(work, 'exit-with-node.mts');
      writeFileSync(
        script,
        [
          `import { bootNode } from ${JSON.stringify(repoPath('src/rehearse/join/vm.ts'))};`,
          `const vm = await bootNode(${JSON.stringify({ disk, kernel, consoleLog: join(work, 'exit.log'), sshKey: key, sshUser: USER, snapshot: true, memoryMiB: 512 })});`,
          'console.log(vm.pid);',
          'process.exit(3);',
        ].join('\n'),
      );
      const child = runSync('node', ['--import', 'tsx', script], { cwd: repoPath() });
      expect(child.exitCode, child.stderr).to.equal(3);
      const pid = Number(child.stdout.trim());
      expect(pid).to.be.above(0);
      // SIGKILL is sent on the way out; the orphan is then reaped by init.
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      expect(alive(pid), `qemu ${pid} outlived its parent`).to.equal(false);
    });

    it('kills a node that overruns its deadline', async function () {
      const vm = await bootNode({ disk, kernel, consoleLog: join(work, 'deadline.log'), sshKey: key, sshUser: USER, registry, snapshot: true, memoryMiB: 512 });
      const error = await vm.waitForSsh(Promise.resolve()).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error?.message).to.match(/did not answer on 127\.0\.0\.1:\d+ before the deadline/);
      await registry.killAll();
      expect(vm.running).to.equal(false);
      expect(alive(vm.pid)).to.equal(false);
    });
  });
});

describe('join: reading the modules-load lists', function () {
  it('lets /etc hide a same-named list in /usr/lib, and counts built-in modules as loaded', function () {
    const report = parseModuleReport(
      [
        '@@ release',
        '6.1.0-57-amd64',
        '@@ list /etc/modules-load.d/ipvs.conf',
        '# comment',
        'ip_vs',
        'ip-vs-rr',
        '; also a comment',
        '@@ list /usr/lib/modules-load.d/ipvs.conf',
        'ip_vs_wlc',
        '@@ list /usr/lib/modules-load.d/other.conf',
        'overlay',
        'br_netfilter',
        '@@ proc',
        'ip_vs_rr',
        'ip_vs',
        '@@ builtin',
        'kernel/fs/overlayfs/overlay.ko',
        '@@ journal',
        "Failed to find module 'br_netfilter'",
      ].join('\n'),
    );
    expect(report.lists).to.deep.equal({
      '/etc/modules-load.d/ipvs.conf': ['ip_vs', 'ip-vs-rr'],
      '/usr/lib/modules-load.d/other.conf': ['overlay', 'br_netfilter'],
    });
    expect(report.loaded).to.deep.equal(['ip_vs', 'ip-vs-rr', 'overlay']);
    expect(report.missing).to.deep.equal(['br_netfilter']);
    expect(report.journal).to.deep.equal(["Failed to find module 'br_netfilter'"]);
  });

  it("finds every module of the image's lists in Debian's kernel, and not ip_vs_twos", function () {
    const ipvs = JSON.parse(readFileSync(new URL('../../data/ipvs.json', import.meta.url), 'utf8')) as { modules: string[] };
    const kernel = hostNodeKernel();
    // containerd.conf's modules (rootfs/etc/modules-load.d) and data/ipvs.json's, which ipvs.conf is written from.
    const wanted = [
      ...parseModuleReport(
        `@@ list /etc/modules-load.d/containerd.conf\n${readFileSync(new URL('../../rootfs/etc/modules-load.d/containerd.conf', import.meta.url), 'utf8')}`,
      ).listed,
      ...ipvs.modules,
    ];
    expect(modulesInKernel(kernel.modulesDir, [...wanted, 'ip_vs_twos'])).to.deep.equal({ present: wanted, absent: ['ip_vs_twos'] });
  });
});
