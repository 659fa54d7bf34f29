// A node root for the VM tests: the rehearsal's cached Debian base root (src/rehearse/target.ts), a user who
// logs in with the test's key, Debian's ipvsadm (apt-get download into .cache/debs/ipvsadm, signatures checked
// by apt, installed with dpkg in a chroot), a modules-load list, and files whose metadata the disk must keep.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { runSync } from '../../src/process/run.ts';
import { baseRootTarball } from '../../src/rehearse/target.ts';

/** ipvsadm and the libraries the base root lacks. */
const IPVSADM_PACKAGES = ['ipvsadm', 'libnl-3-200', 'libnl-genl-3-200', 'libpopt0'];
const DEB_CACHE = repoPath('.cache', 'debs', 'ipvsadm');

function must(command: string, args: string[]): string {
  const result = runSync(command, args);
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.exitCode}): ${result.stderr}`);
  return result.stdout;
}

function ipvsadmDebs(): string[] {
  const debs = () => (existsSync(DEB_CACHE) ? readdirSync(DEB_CACHE).filter((f) => f.endsWith('.deb')) : []);
  if (debs().length < IPVSADM_PACKAGES.length) {
    mkdirSync(DEB_CACHE, { recursive: true });
    const got = runSync('apt-get', ['download', ...IPVSADM_PACKAGES], { cwd: DEB_CACHE });
    if (got.exitCode !== 0) throw new Error(`apt-get download ${IPVSADM_PACKAGES.join(' ')} failed: ${got.stderr}`);
  }
  return debs().map((f) => join(DEB_CACHE, f));
}

export interface NodeRootOptions {
  root: string;
  sshUser: string;
  authorizedKey: string;
  /** Written to /etc/modules-load.d/rehearsal-test.conf. */
  modules: string[];
}

/** Files whose owner, mode and xattrs the disk must keep (checked by the test). */
export const METADATA_PROBES = {
  dir: '/srv/node-test',
  /** Owned 1234:5678, mode 4750, with the file capability cap_net_raw+ep (the security.capability xattr). */
  setuid: '/srv/node-test/setuid-tool',
  /** Character device 1,3 (a copy of /dev/null). */
  device: '/srv/node-test/null',
  symlink: '/srv/node-test/link',
  symlinkTarget: 'setuid-tool',
};

export function buildNodeRoot(options: NodeRootOptions): void {
  const { root, sshUser } = options;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  must('tar', ['-xf', baseRootTarball(), '-C', root]);
  const debs = ipvsadmDebs();
  const staged = join(root, 'tmp', 'node-test-debs');
  mkdirSync(staged);
  for (const deb of debs) must('cp', [deb, staged]);
  must('chroot', [root, 'sh', '-c', 'dpkg -i /tmp/node-test-debs/*.deb']);
  rmSync(staged, { recursive: true });

  must('chroot', [root, 'useradd', '-m', '-s', '/bin/bash', sshUser]);
  must('chroot', [root, 'usermod', '-p', '*', sshUser]);
  writeFileSync(join(root, 'etc/sudoers.d', sshUser), `${sshUser} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  mkdirSync(join(root, 'home', sshUser, '.ssh'), { mode: 0o700 });
  writeFileSync(join(root, 'home', sshUser, '.ssh/authorized_keys'), options.authorizedKey, { mode: 0o600 });
  must('chroot', [root, 'chown', '-R', `${sshUser}:${sshUser}`, `/home/${sshUser}/.ssh`]);
  // As the image leaves it (cleanup.sh): no SSH host keys; the node makes its own at boot (nodeVmFiles).
  for (const file of readdirSync(join(root, 'etc/ssh')).filter((f) => f.startsWith('ssh_host_'))) rmSync(join(root, 'etc/ssh', file));
  writeFileSync(join(root, 'etc/hostname'), 'rehearsal-node\n');
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1 localhost\n127.0.1.1 rehearsal-node\n');
  writeFileSync(join(root, 'etc/modules-load.d/rehearsal-test.conf'), `# the VM test's list\n${options.modules.join('\n')}\n`);

  const probes = METADATA_PROBES;
  mkdirSync(join(root, probes.dir), { recursive: true });
  must('cp', [join(root, 'usr/bin/true'), join(root, probes.setuid)]);
  must('chown', ['1234:5678', join(root, probes.setuid)]);
  must('chmod', ['4750', join(root, probes.setuid)]);
  // After chown and chmod: a chown drops file capabilities.
  must('setcap', ['cap_net_raw+ep', join(root, probes.setuid)]);
  must('mknod', ['-m', '0666', join(root, probes.device), 'c', '1', '3']);
  symlinkSync(probes.symlinkTarget, join(root, probes.symlink));
}
