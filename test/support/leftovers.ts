// What a rehearsal must not leave behind once it has ended, however it ended: its network namespace, mounts,
// working directory and processes, and the join's node, control plane and SSH connection.
import { existsSync, readFileSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { capture } from './spawn.ts';

/** What is left of the rehearsal run by process `pid` (its names carry the pid). */
export function rehearsalLeftovers(pid: number): string[] {
  const found: string[] = [];
  const netns = capture('ip', ['netns', 'list']).stdout;
  if (netns.includes(`eks-rehearsal-${pid}`)) found.push(`network namespace eks-rehearsal-${pid}`);
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (mounts.includes(`.rehearsal-${pid}`)) found.push('a mount under the rehearsal directory');
  if (existsSync(repoPath('build', `.rehearsal-${pid}`))) found.push('the rehearsal working directory');
  const ps = capture('ps', ['-eo', 'pid,args']).stdout;
  for (const line of ps.split('\n')) {
    if (line.includes(`.rehearsal-${pid}`) || line.includes(`eks-rehearsal-${pid}`)) found.push(`process: ${line.trim()}`);
  }
  return found;
}

/** Processes a join starts (the node's qemu and SSH connection, the control plane); none may outlive it. */
export function joinLeftovers(): string[] {
  return capture('ps', ['-eo', 'args'])
    .stdout.split('\n')
    .filter((line) => /qemu-system-x86_64 .*node\.img|\/etcd |kube-apiserver |kube-controller-manager |ssh -M -N .*eks-node-/.test(line));
}
