// Build: `packer build` with timestamped, streamed output. Ctrl-C reaches Packer, which then terminates
// its instance and deletes its temporary key pair and security group; the exit status is Packer's.
import { join } from 'node:path';
import type { Runner } from '../process/run.ts';
import { TEMPLATE_FILE } from '../layout.ts';

export interface BuildOutcome {
  exitCode: number;
  seconds: number;
  /** Lines that name created artifacts, e.g. "us-west-2: ami-0123…". */
  artifactLines: string[];
  /** The provisioner script that was running when the build failed. */
  failedStep?: string;
}

export async function runPackerBuild(runner: Runner, dir: string, modern: boolean, env: NodeJS.ProcessEnv): Promise<BuildOutcome> {
  const started = Date.now();
  const template = join(dir, TEMPLATE_FILE);
  if (modern) {
    const init = await runner.stream('packer', ['init', template], { env });
    if (init !== 0) return { exitCode: init, seconds: (Date.now() - started) / 1000, artifactLines: [] };
  }
  const artifactLines: string[] = [];
  let currentStep: string | undefined;
  const exitCode = await runner.stream('packer', ['build', '-timestamp-ui', '-color=false', template], {
    env: { ...env, PACKER_NO_COLOR: '1' },
    onLine: (line) => {
      const step = /Provisioning with shell script: .*\/([^/\s]+\.sh)\s*$/.exec(line);
      if (step) currentStep = step[1];
      if (/^[a-z0-9-]+: ami-[0-9a-f]+/.test(line.replace(/^.*?--> [^:]+: /, '').trim())) artifactLines.push(line.trim());
    },
  });
  return { exitCode, seconds: (Date.now() - started) / 1000, artifactLines, failedStep: exitCode === 0 ? undefined : currentStep };
}
