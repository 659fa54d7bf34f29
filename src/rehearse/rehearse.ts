// `make rehearse 1.28 …`: the real pipeline and a real `packer build` (amazon-ebs) against a local AWS
// emulator, with Packer's SSH communicator pointed at a local systemd container where the real provisioners
// run. Leaves build/<ami>/rehearsal/{rootfs, stub-calls.log, console.log}; Ctrl-C leaves nothing running.
// With stage=true the real `make stage` code first mirrors the emulator's upstream into a mirror bucket and
// writes a lock, which the build replays (src/rehearse/stage.ts); the lock is kept with the results.
import { DescribeImagesCommand, DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ec2Client, s3Client, type AwsConnection } from '../aws/clients.ts';
import { buildClients } from '../aws/default-clients.ts';
import { ConfigErrors, UserError } from '../errors.ts';
import { LOCK_FILE } from '../layout.ts';
import { repoPath } from '../paths.ts';
import { runPipeline, type PipelineResult } from '../pipeline.ts';
import { runSync, type Runner } from '../process/run.ts';
import { configure } from '../variables/configure.ts';
import { startMoto, type Moto } from './emulator.ts';
import { createInstanceProfile, MetadataStandIn } from './imds.ts';
import { parseRehearsalOptions, rehearsalProblems } from './options.ts';
import { catalogFor, importKeyPair, seedArtifacts, seedPlan, upstreamBuilds } from './seed.ts';
import { createSigner, type Signer } from './signer.ts';
import { stageIntoEmulator } from './stage.ts';
import { requireRehearsalTools, Target, targetNetwork } from './target.ts';
import { createClusterPki } from './join/pki.ts';
import { registryHostNames, startRegistries, type RehearsalRegistries } from './registries.ts';
import { rehearseJoin } from './join/rehearse-join.ts';
import { joinSummary, type JoinResult } from './join/report.ts';
import type { JoinFault } from './join/faults.ts';
import { nodeVms } from './join/vm.ts';

export interface RehearsalResult {
  exitCode: number;
  pipeline?: PipelineResult;
  rehearsalDir?: string;
  amis: { region: string; id: string }[];
  /** With stage=true: the lock the build replayed, kept next to the results. */
  lockFile?: string;
  /** With join=true: the node's verdict. */
  join?: JoinResult;
  /** Each fault's verdict (hooks.joinFaults). */
  joinFaults?: Partial<Record<JoinFault, JoinResult>>;
}

/** A build whose image did not join (join=true). */
export const JOIN_FAILED_EXIT = 8;

const KEY_PAIR = 'eks-ami-rehearsal';
/** Where upstream downloads go in a mirror build (pull_cni_from_github=false): nowhere. */
export const UNREACHABLE = 'http://127.0.0.1:9/upstream-is-unreachable-in-a-mirror-build';

/** For the rehearsal's own tests: broken nodes joined after the good one, each expected to fail (join/faults.ts). */
export interface RehearsalHooks {
  joinFaults?: JoinFault[];
}

export async function rehearse(words: string[], runner: Runner, log: (line: string) => void, hooks: RehearsalHooks = {}): Promise<RehearsalResult> {
  // Bad input fails here, before anything starts.
  const { options, buildWords } = parseRehearsalOptions(words);
  const config = await configure(buildWords, { PACKER_VARIABLE_FILE: process.env.PACKER_VARIABLE_FILE });
  const problems = rehearsalProblems(options, config);
  if (problems.length) throw new ConfigErrors(problems);
  requireRehearsalTools(config.values.variant);

  const work = repoPath('build', `.rehearsal-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    // A joining node's qemu ends now; the join's own clean-up then stops what it started.
    void nodeVms.killAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const check = () => {
    if (interrupted) throw new UserError('Interrupted; cleaning up.', 130);
  };

  let moto: Moto | undefined;
  let metadata: MetadataStandIn | undefined;
  let target: Target | undefined;
  let signer: Signer | undefined;
  let registries: RehearsalRegistries | undefined;
  let pipeline: PipelineResult | undefined;
  let lockPath: string | undefined;
  let ranToTheEnd = false;
  let joinResult: JoinResult | undefined;
  const faultResults: Partial<Record<JoinFault, JoinResult>> = {};
  const amis: { region: string; id: string }[] = [];
  try {
    const values = config.values;
    const seed = seedPlan(values, config.minor);
    runSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'eks-ami-rehearsal', '-f', join(work, 'id_ed25519')]);
    const publicKey = readFileSync(join(work, 'id_ed25519.pub'), 'utf8');

    // The target claims the release of the source image the emulator serves (RHEL-9.5.0_… → 9.5).
    const rhelRelease = /^RHEL-(\d+\.\d+)/.exec(catalogFor(values)[0].name)?.[1] ?? `${values.rhel_version}.0`;
    // One throw-away CA for the rehearsal: it signs the registry's certificate (the target trusts it as an instance
    // trusts the CAs behind ECR) and, with join=true, the control plane's.
    const network = targetNetwork();
    const hostNames = registryHostNames(values);
    const pki = await createClusterPki(join(work, 'pki'), { registryHosts: hostNames, apiserverAddresses: [network.hostAddress] });
    target = Target.create({
      root: join(work, 'rootfs'),
      sshUser: values.ssh_username,
      authorizedKey: publicKey,
      consoleLog: join(work, 'console.log'),
      rhelRelease,
      // No DNS offline: ECR's and the public registries' names lead to the rehearsal's registry.
      hosts: hostNames.map((name) => `${network.hostAddress} ${name}`),
      trustedCa: readFileSync(pki.ca.certFile, 'utf8'),
    });
    log(`Prepared the target (Debian with systemd and sshd) in ${work.replace(`${repoPath()}/`, '')}, network namespace ${target.netns}`);
    check();

    log(`Starting the AWS emulator on ${target.hostAddress}`);
    moto = await startMoto({ amis: catalogFor(values), host: target.hostAddress });
    // Our clients get the emulator's connection; Packer, a child process, gets it through its environment.
    const { connection } = moto;
    const env = { ...process.env, ...moto.env };
    check();

    signer = createSigner(work);
    // The provisioners (and, with stage=true, staging) trust the rehearsal's signing key in place of AWS's, in a copy of lib/ only.
    const lib = join(work, 'lib');
    cpSync(repoPath('provisioners', 'lib'), lib, { recursive: true });
    for (const key of ['aws-cli-v2.asc', 'amazon-ssm-agent.asc']) writeFileSync(join(lib, 'keys', key), signer.publicKey);
    log(`Upstream binaries for Kubernetes ${seed.versions.kubernetesVersion}, built from their pinned source (src/upstream/; cold: minutes, warm: seconds):`);
    const builds = await upstreamBuilds(values, seed, log);
    check();
    let build = { words: buildWords, values };
    if (options.stage) {
      const staged = await stageIntoEmulator({ words: buildWords, config, seed, builds, work, signer, keysDir: join(lib, 'keys'), connection, runner, log });
      log(`Seeded the emulator's upstream (s3://amazon-eks and the GitHub mirror with the upstream builds, the signed AWS CLI stand-in) with ${(staged.seededBytes / 1024 / 1024).toFixed(0)} MiB for Kubernetes ${seed.versions.kubernetesVersion} (${seed.versions.buildDate}), staged it into the mirror with make stage's code; the build replays its lock (kept with the results)`);
      lockPath = staged.lockPath;
      // The build's configuration now comes from the lock (mirror, versions, source AMI, pull_cni_from_github=false).
      build = { words: staged.buildWords, values: (await configure(staged.buildWords, { PACKER_VARIABLE_FILE: process.env.PACKER_VARIABLE_FILE })).values };
    } else {
      const bytes = await seedArtifacts((region) => s3Client(region, { connection }), values, seed, builds, join(work, 'artifacts'), signer);
      log(`Seeded the emulator: ${(bytes / 1024 / 1024).toFixed(0)} MiB of upstream release files and signed installer stand-ins for Kubernetes ${seed.versions.kubernetesVersion} (${seed.versions.buildDate})`);
    }
    check();
    registries = await startRegistries({ values, host: target.hostAddress, pki, builds, kubernetesVersion: seed.versions.kubernetesVersion, role: values.iam_instance_profile || 'no-instance-role' });
    log(`Serving ${registries.hostNames.join(', ')} at ${target.hostAddress}:443 (the pause image compiled from Kubernetes ${seed.versions.kubernetesVersion}'s source; ${registries.pauseImage} refuses anonymous pulls)`);
    check();
    await importKeyPair(ec2Client(values.aws_region, connection), KEY_PAIR, publicKey);
    // The instance's metadata: its launch key, and a role only when the build names an instance profile.
    if (values.iam_instance_profile) await createInstanceProfile(values.aws_region, values.iam_instance_profile, connection);
    metadata = await new MetadataStandIn({ host: target.hostAddress, publicKey, role: values.iam_instance_profile || undefined }).start();
    check();

    log(`Booting the target at ${target.address}`);
    await target.boot();
    check();

    const bucketUrl = `${moto.endpoint}/${build.values.binary_bucket_name}`;
    // A mirror build must need nothing but the mirror: upstream is a closed port, as from an air-gapped subnet.
    const upstream = build.values.pull_cni_from_github ? { github: `${bucketUrl}/github`, awsCli: `${bucketUrl}/awscli` } : { github: UNREACHABLE, awsCli: UNREACHABLE };
    // SSH to the local target, and a short wait after its reboots (it is up again in a second or two).
    pipeline = await runPipeline([...build.words, 'ssh_interface=', 'reboot_pause=3s'], {
      runner,
      clients: buildClients(connection),
      env,
      log,
      rehearsal: {
        communicator: { host: target.address, port: 22, keyPairName: KEY_PAIR, privateKeyFile: join(work, 'id_ed25519') },
        endpoints: { BINARY_BUCKET_ENDPOINT: moto.endpoint, GITHUB_BASE_URL: upstream.github, AWSCLI_BASE_URL: upstream.awsCli, IMDS_ENDPOINT: metadata.endpoint },
        libDir: lib,
      },
    });
    if (pipeline.exitCode === 0 && !pipeline.plan.dry_run) amis.push(...(await emulatorAmis(pipeline.plan.ami_name, [values.aws_region, ...values.ami_regions], connection)));
    // An interrupted build has its results kept, as any failed build (Packer reports the interruption).
    if (options.join && pipeline.exitCode === 0 && amis[0]) {
      check();
      // The build instance is done; its network stays: the node reaches the registry and the emulator through it.
      await target.stop();
      log(`Joining the image as a node (qemu, real kernel): outputs in ${pipeline.dir}/rehearsal/join/`);
      joinResult = await rehearseJoin({
        rootfs: join(work, 'rootfs'),
        outDir: join(work, 'join'),
        work: join(work, 'join-work'),
        plan: pipeline.plan,
        amiId: amis[0].id,
        pki,
        builds,
        podImage: registries.podImage,
        connection,
        awsEndpoint: moto.endpoint,
        log,
      }).catch((error: unknown) => {
        check();
        throw error;
      });
      // Ctrl-C ends the node's qemu, which the join reports as a failure: it was an interruption.
      check();
      log(joinSummary(joinResult));
      for (const fault of hooks.joinFaults ?? []) {
        const input = { rootfs: join(work, 'rootfs'), plan: pipeline.plan, amiId: amis[0].id, pki, builds, podImage: registries.podImage, connection, awsEndpoint: moto.endpoint, log };
        faultResults[fault] = await rehearseJoin({ ...input, fault, outDir: join(work, 'join-faults', fault), work: join(work, `join-fault-${fault}`) });
        check();
        log(`${fault}: ${joinSummary(faultResults[fault])}`);
      }
    }
    ranToTheEnd = true;
  } finally {
    // The signal handlers stay until everything is stopped: a second Ctrl-C (a terminal sends one to the whole
    // process group, and tsx relays another) must not end the process half-way through the clean-up.
    await nodeVms.killAll();
    await target?.stop();
    target?.destroy();
    await metadata?.stop();
    await registries?.registry.stop();
    if (moto) {
      const left = await terminateInstances(config.values.aws_region, moto.connection).catch(() => 0);
      if (left) log(`Terminated ${left} emulator instance(s) Packer left running`);
      await moto.stop();
    }
    signer?.dispose();
    // A failure that threw (seeding, staging, Ctrl-C before the build) leaves no working directory either.
    if (!ranToTheEnd) rmSync(work, { recursive: true, force: true });
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  const rehearsalDir = pipeline ? keepResults(work, pipeline.dir, lockPath) : undefined;
  rmSync(work, { recursive: true, force: true });
  if (rehearsalDir) log(`Rehearsal results: ${rehearsalDir.replace(`${repoPath()}/`, '')}/{rootfs,stub-calls.log,console.log${lockPath ? `,${LOCK_KEPT}` : ''}}`);
  for (const ami of amis) log(`Emulator AMI ${ami.region}: ${ami.id}`);
  const buildExit = pipeline?.exitCode ?? 1;
  const exitCode = buildExit === 0 && joinResult && !joinResult.ok ? JOIN_FAILED_EXIT : buildExit;
  return { exitCode, pipeline, rehearsalDir, amis, lockFile: rehearsalDir && lockPath ? join(rehearsalDir, LOCK_KEPT) : undefined, join: joinResult, joinFaults: faultResults };
}

/** The staged lock's name among the results (the plan names its path while the rehearsal ran, and its SHA-256). */
const LOCK_KEPT = LOCK_FILE;

/** Moves the target's filesystem, the stub calls and a staged lock next to the build's plan and manifest. */
function keepResults(work: string, buildDir: string, lockPath?: string): string | undefined {
  if (!existsSync(buildDir)) return undefined;
  const dir = join(buildDir, 'rehearsal');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  renameSync(join(work, 'rootfs'), join(dir, 'rootfs'));
  cpSync(join(dir, 'rootfs', '.stubs', 'calls.log'), join(dir, 'stub-calls.log'));
  if (existsSync(join(work, 'console.log'))) cpSync(join(work, 'console.log'), join(dir, 'console.log'));
  if (lockPath && existsSync(lockPath)) cpSync(lockPath, join(dir, LOCK_KEPT));
  for (const kept of ['join', 'join-faults']) if (existsSync(join(work, kept))) renameSync(join(work, kept), join(dir, kept));
  return dir;
}

async function emulatorAmis(name: string, regions: string[], connection: AwsConnection) {
  const found: { region: string; id: string }[] = [];
  for (const region of [...new Set(regions)]) {
    const out = await ec2Client(region, connection).send(new DescribeImagesCommand({ Owners: ['self'], Filters: [{ Name: 'name', Values: [name] }] }));
    for (const image of out.Images ?? []) found.push({ region, id: image.ImageId ?? '' });
  }
  return found;
}

async function terminateInstances(region: string, connection: AwsConnection): Promise<number> {
  const ec2 = ec2Client(region, connection);
  const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] }] }));
  const ids = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => i.InstanceId!).filter(Boolean);
  if (ids.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  return ids.length;
}
