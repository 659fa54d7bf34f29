// The pipeline's wiring with Packer replaced by a recording runner (the only stand-in here: a real
// `packer build` needs an AWS account; the offline rehearsal covers it). AWS is the real emulator.
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClients } from '../../src/aws/default-clients.ts';
import { DescribeImagesCommand, DescribeSnapshotsCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { tmpdir } from 'node:os';
import { describeWithRelease, installedRhelRelease } from '../../src/report/installed-release.ts';
import { ConfigError, EXIT, TemplateError, ToolError } from '../../src/errors.ts';
import { RED_HAT } from '../support/images.ts';
import { fakePacker } from '../support/fake-packer.ts';
import { runPipeline } from '../../src/pipeline.ts';
import { repoPath } from '../../src/paths.ts';
import { onPath, processRunner, runSync, startDetached, type Runner } from '../../src/process/run.ts';
import { writeRunResult, type RunRecord } from '../../src/report/run-result.ts';
import { startEmulatedAws, useEmulator } from '../support/emulated-aws.ts';

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
  useEmulator(startEmulatedAws);
  after(() => {
    rmSync(repoPath('build', 'wiring-test'), { recursive: true, force: true });
    rmSync(repoPath('build', 'wiring-test.invalid'), { recursive: true, force: true });
  });

  const run = (words: string[], runner: Runner, lines: string[] = [], env: NodeJS.ProcessEnv = process.env, record?: RunRecord) =>
    runPipeline(['1.28', 'ami_name=wiring-test', 'ami_regions=us-east-1', ...words], {
      runner,
      clients: defaultClients,
      env,
      log: (line) => lines.push(line),
      record,
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

  it('tags the AMI and its snapshots in every region with the RHEL release installed, and names it in the description', async () => {
    const register = async (region: string) => {
      const out = await defaultClients.ec2(region).send(
        new RegisterImageCommand({ Name: 'wiring-test', RootDeviceName: '/dev/sda1', VirtualizationType: 'hvm', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20 } }] }),
      );
      return out.ImageId!;
    };
    const west = await register('us-west-2');
    const east = await register('us-east-1');
    // inventory.sh's output after the OS update moved 9.5 (the source image) to 9.6.
    const versionInfo = JSON.stringify({ os: 'Red Hat Enterprise Linux 9.6 (Plow)', rhel_release: '9.6', kubelet: 'v1.28.15' });
    const packer = fakePacker({ version: '1.6.6', artifactId: `us-west-2:${west},us-east-1:${east}`, downloads: { 'version-info.json': versionInfo } });
    const lines: string[] = [];
    // moto accepts ModifyImageAttribute but keeps no Description: the request itself is recorded to check it.
    const descriptions: Record<string, string> = {};
    const clients = {
      ...defaultClients,
      ec2: (region: string) => {
        const client = defaultClients.ec2(region);
        client.middlewareStack.add(
          (next, context) => async (args) => {
            const input = args.input as { ImageId?: string; Description?: { Value?: string } };
            if (context.commandName === 'ModifyImageAttributeCommand') descriptions[`${region}/${input.ImageId}`] = input.Description?.Value ?? '';
            return next(args);
          },
          { step: 'initialize', name: 'recordDescriptions' },
        );
        return client;
      },
    };
    try {
      const result = await runPipeline(['1.28', 'ami_name=wiring-test', 'ami_regions=us-east-1'], { runner: processRunner, clients, env: packer.env(), log: (l) => lines.push(l) });
      expect(result.exitCode).to.equal(0);
    } finally {
      packer.remove();
    }
    for (const [region, id] of [['us-west-2', west], ['us-east-1', east]]) {
      const ec2 = defaultClients.ec2(region);
      const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0];
      expect(image.Tags?.find((t) => t.Key === 'rhel_release')?.Value, region).to.equal('9.6');
      expect(descriptions[`${region}/${id}`], region).to.match(/on RHEL 9\.6 \(x86_64, standard/);
      const snapshot = image.BlockDeviceMappings![0].Ebs!.SnapshotId!;
      const tags = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot] }))).Snapshots![0].Tags ?? [];
      expect(tags.find((t) => t.Key === 'rhel_release')?.Value, `${region} snapshot`).to.equal('9.6');
    }
    expect(lines.join('\n')).to.contain('RHEL         9.6 installed');
  });

  it('reads the installed release from version-info.json, falling back to its os string', () => {
    const dir = mkdtempSync(join(tmpdir(), 'version-info-'));
    try {
      expect(installedRhelRelease(dir)).to.equal(undefined);
      writeFileSync(join(dir, 'version-info.json'), JSON.stringify({ os: 'Red Hat Enterprise Linux 8.10 (Ootpa)' }));
      expect(installedRhelRelease(dir)).to.equal('8.10');
      writeFileSync(join(dir, 'version-info.json'), JSON.stringify({ os: 'Red Hat Enterprise Linux 9.6 (Plow)', rhel_release: '9.7' }));
      expect(installedRhelRelease(dir)).to.equal('9.7');
      expect(describeWithRelease('EKS worker on RHEL 9.5.0 (x86_64)', '9.5.0', '9.6')).to.equal('EKS worker on RHEL 9.6 (x86_64)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("exits with Packer's status when the build fails", async () => {
    const lines: string[] = [];
    const result = await run([], recordingRunner(1, []), lines);
    expect(result.exitCode).to.equal(1);
    expect(lines.join('\n')).to.contain('packer build failed with exit code 1');
  });

  it('result_file=: the outcome as JSON, with the AMIs per region after a build and the exit code after a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'run-result-'));
    try {
      for (const exit of [0, 1]) {
        const file = join(dir, `result-${exit}.json`);
        const record: RunRecord = {};
        const result = await run([`result_file=${file}`], recordingRunner(exit, []), [], process.env, record);
        writeRunResult(record, result.exitCode); // what scripts/build.ts does once the exit code is known
        const written = JSON.parse(readFileSync(file, 'utf8'));
        expect(written).to.include({ status: exit ? 'failed' : 'ok', exit_code: exit, dry_run: false, ami_name: 'wiring-test', build_dir: 'build/wiring-test' });
        expect(written.versions).to.include({ kubernetes: '1.28.15' });
        expect(written.amis).to.deep.equal(exit ? [] : [{ region: 'us-west-2', ami: 'ami-0aaa1111bbbb22223' }, { region: 'us-east-1', ami: 'ami-0ccc3333dddd44445' }]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs packer init first with current Packer, then build, on the validated template', async () => {
    // Only Packer 1.6.6 is installed: a recording stand-in plays current Packer through the real process adapter.
    const packer = fakePacker({ version: '1.11.2' });
    try {
      const result = await run([], processRunner, [], packer.env());
      expect(result.exitCode).to.equal(0);
      const template = join(result.dir, 'eks-worker.pkr.hcl');
      const calls = packer.calls().map((c) => c.args);
      const order = calls.map((args) => args[0]);
      expect(order.filter((a) => ['validate', 'init', 'build'].includes(a))).to.deep.equal(['validate', 'init', 'build']);
      expect(calls.find((a) => a[0] === 'init')).to.deep.equal(['init', template]);
      expect(calls.find((a) => a[0] === 'build')!.at(-1)).to.equal(template);
      expect(readFileSync(template, 'utf8')).to.contain('required_plugins');
    } finally {
      packer.remove();
    }
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

  it("refuses session_manager once source_ami_id turns out to be Red Hat's (no SSM agent), before packer runs", async () => {
    const images = await defaultClients.ec2('us-west-2').send(new DescribeImagesCommand({ Owners: [RED_HAT] }));
    const redHat = images.Images!.find((i) => i.Name?.startsWith('RHEL-9.5.0_HVM-20250115-x86_64'))!.ImageId!;
    const calls: Call[] = [];
    try {
      await run(['ssh_interface=session_manager', 'iam_role=EC2Role', `source_ami_id=${redHat}`], recordingRunner(0, calls));
      expect.fail('expected a ConfigError');
    } catch (error) {
      expect(error).to.be.instanceOf(ConfigError);
      expect((error as ConfigError).message).to.contain("which is Red Hat's (owner 309956199498) and ships no SSM agent");
    }
    expect(calls.filter((c) => c.args[0] === 'build' || c.args[0] === 'validate')).to.deep.equal([]);
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

  it('asks S3, EC2 DescribeImages and DescribeInstanceTypes at once, and the max-pods table once a day per region', async () => {
    // Every request's start and end in order: the three look-ups must all have started before any has answered.
    const events: string[] = [];
    const recorded = <C extends { send: (command: never) => Promise<unknown> }>(client: C): C => {
      const send = client.send.bind(client) as (command: { constructor: { name: string } }) => Promise<unknown>;
      (client as { send: unknown }).send = async (command: { constructor: { name: string } }) => {
        const name = command.constructor.name.replace(/Command$/, '');
        events.push(`start ${name}`);
        try {
          return await send(command);
        } finally {
          events.push(`end ${name}`);
        }
      };
      return client;
    };
    const clients = { s3: (region: string, unsigned: boolean) => recorded(defaultClients.s3(region, unsigned)), ec2: (region: string) => recorded(defaultClients.ec2(region)) };
    const runDry = () =>
      runPipeline(['1.28', 'ami_name=wiring-test', 'dry_run=true'], { runner: processRunner, clients, env: process.env, log: () => undefined, buildRoot: 'build/wiring-test-root', now: () => new Date('2026-11-30T10:00:00Z') });
    rmSync(repoPath('build', 'wiring-test-root'), { recursive: true, force: true });
    try {
      const first = await runDry();
      const firstEnd = events.findIndex((e) => e.startsWith('end '));
      const startedBeforeAnyAnswer = events.slice(0, firstEnd).map((e) => e.replace(/^start /, ''));
      expect(startedBeforeAnyAnswer).to.include.members(['ListObjectsV2', 'DescribeImages', 'DescribeInstanceTypes']);
      const table = readFileSync(join(first.dir, 'generated', 'eni-max-pods.txt'), 'utf8');
      expect(table).to.match(/^# Generated from EC2 DescribeInstanceTypes in us-west-2 on 2026-11-30\./).and.to.match(/^m5\.large 29 /m);

      events.length = 0;
      const second = await runDry();
      expect(events, 'the second plan of the day reuses the table').not.to.include('start DescribeInstanceTypes');
      expect(readFileSync(join(second.dir, 'generated', 'eni-max-pods.txt'), 'utf8')).to.equal(table);
    } finally {
      rmSync(repoPath('build', 'wiring-test-root'), { recursive: true, force: true });
    }
  });

  it('passes no AWS credentials to Packer beyond the environment it already had', async () => {
    // The environment `packer build` really received, recorded by a stand-in reached through the process adapter.
    const packer = fakePacker({ version: '1.6.6' });
    const parent = packer.env({ ...process.env, AWS_SESSION_TOKEN: 'FAKE-SESSION-TOKEN-for-the-leak-test' });
    try {
      const result = await run([], processRunner, [], parent);
      expect(result.exitCode).to.equal(0);
      const build = packer.calls().find((c) => c.args[0] === 'build')!;
      const added = Object.keys(build.env).filter((k) => !(k in parent));
      expect(added, 'variables the tool added to Packer\'s environment').to.deep.equal(['PACKER_NO_COLOR']);
      for (const [name, value] of Object.entries(build.env)) {
        if (name in parent) expect(value, name).to.equal(parent[name]);
      }
      // Nothing hands credentials to the template as PKR_VAR_*; the template and plan hold none either.
      expect(Object.keys(build.env).filter((k) => k.startsWith('PKR_VAR_'))).to.deep.equal([]);
      const secrets = [parent.AWS_SECRET_ACCESS_KEY!, parent.AWS_ACCESS_KEY_ID!, parent.AWS_SESSION_TOKEN!];
      for (const file of ['eks-worker.pkr.hcl', 'plan.json', join('generated', 'build.json')]) {
        const text = readFileSync(join(result.dir, file), 'utf8');
        for (const secret of secrets) expect(text, file).not.to.contain(secret);
      }
    } finally {
      packer.remove();
    }
  });
});

describe('process runner', function () {
  this.timeout(20_000);
  it('forwards Ctrl-C to the child so it can clean up, and returns its exit status', async () => {
    const lines: string[] = [];
    let started!: () => void;
    const trapSet = new Promise<void>((resolve) => (started = resolve));
    const script = "trap 'kill $!; echo cleaned up; exit 7' INT; echo started; sleep 30 & wait";
    const pending = processRunner.stream('bash', ['-c', script], {
      onLine: (l) => {
        lines.push(l);
        if (l === 'started') started();
      },
    });
    await trapSet;
    process.emit('SIGINT', 'SIGINT');
    expect(await pending).to.equal(7);
    expect(lines).to.include('cleaned up');
  });
  it('runSync captures output and status; a command that cannot start is exit 127 with the reason', () => {
    expect(runSync('sh', ['-c', 'echo out; echo err >&2; exit 3'])).to.deep.equal({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    const missing = runSync('no-such-command-for-the-test', []);
    expect(missing.exitCode).to.equal(127);
    expect(missing.stderr).to.contain('ENOENT');
    expect(onPath('sh')).to.equal(true);
    expect(onPath('no-such-command-for-the-test')).to.equal(false);
  });

  it('startDetached puts the child in its own process group (a terminal Ctrl-C does not reach it)', async () => {
    const child = startDetached('sh', ['-c', 'ps -o pgid= -p $$'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await new Promise((resolve) => child.once('close', resolve));
    expect(Number(out.trim())).to.equal(child.pid);
  });
});
