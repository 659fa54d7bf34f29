// The commit a build comes from, for AMI tags: HEAD, marked -dirty when the work tree has changes.
import type { Runner } from './run.ts';
import { repoPath } from '../paths.ts';

export async function gitCommit(runner: Runner, env: NodeJS.ProcessEnv): Promise<string> {
  const head = await runner.capture('git', ['rev-parse', 'HEAD'], { cwd: repoPath() }).catch(() => undefined);
  if (!head || head.exitCode !== 0) return env.GITHUB_SHA || 'unknown';
  const status = await runner.capture('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repoPath() });
  return `${head.stdout.trim()}${status.stdout.trim() ? '-dirty' : ''}`;
}
