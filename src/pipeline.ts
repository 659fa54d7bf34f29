// The build, top to bottom: configure → resolve → plan → render → validate → build → report.
// Entry scripts wire real adapters in; tests wire their own.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from './errors.ts';
import { makePlan, PINNED_SHA256_FILE, type Plan } from './plan/plan.ts';
import { provisionerEnvironment, type ProvisionerEndpoints } from './plan/provisioner-environment.ts';
import { detectPacker, type PackerInfo } from './process/packer.ts';
import { gitCommit } from './process/git.ts';
import type { Runner } from './process/run.ts';
import { GENERATED_DIR, PLAN_FILE, VERSION_INFO_FILE } from './layout.ts';
import { repoPath } from './paths.ts';
import { renderTemplate, publishDirectory, stageBuildDirectory, type Communicator } from './render/render.ts';
import { amisFromManifest, buildSummary, planSummary } from './report/summary.ts';
import type { RunRecord } from './report/run-result.ts';
import { sharingPackerProblem } from './variables/sharing.ts';
import type { AwsClients } from './aws/clients.ts';
import { resolve, type Log } from './resolve/resolve.ts';
import { configure } from './variables/configure.ts';
import { ConfigError, ConfigErrors } from './errors.ts';
import { buildRuleProblems, sessionManagerSourceProblem } from './variables/rules.ts';
import { formatTemplate, validateTemplate } from './validate/packer-validate.ts';
import { ec2EndpointFromEnv } from './aws/clients.ts';
import { formatMaxPodsTable, maxPodsTable } from './resolve/max-pods.ts';
import { cachedMaxPods } from './resolve/max-pods-cache.ts';

/** Generated into the build directory from DescribeInstanceTypes; bootstrap.sh reads it on the node. */
const MAX_PODS_FILE = 'eni-max-pods.txt';

export interface PipelineDeps {
  runner: Runner;
  clients: AwsClients;
  env: NodeJS.ProcessEnv;
  log: Log;
  now?: () => Date;
  buildRoot?: string;
  /**
   * `packer version`, when the caller has started it already: scripts/build.ts starts it before it loads the
   * pipeline's modules, so the answer is there when configure needs it. Otherwise the pipeline asks.
   */
  packer?: Promise<PackerInfo>;
  /** Offline rehearsal settings: how to reach the local target and what the provisioners read from where. */
  rehearsal?: {
    communicator: Communicator;
    /** Where the instance reaches the emulator's bucket, the upstream stand-ins and the metadata stand-in. */
    endpoints: ProvisionerEndpoints;
    libDir: string;
  };
  /** Filled in as the run learns its plan and AMIs; the entry script writes it to result_file with the exit code. */
  record?: RunRecord;
}

export interface PipelineResult {
  exitCode: number;
  plan: Plan;
  dir: string;
  failedStep?: string;
}

export async function runPipeline(words: string[], deps: PipelineDeps): Promise<PipelineResult> {
  const now = deps.now?.() ?? new Date();
  // `packer version` runs while the configuration is checked; configuration errors are still reported first.
  const packerInfo = deps.packer ?? detectPacker(deps.runner, deps.env);
  packerInfo.catch(() => undefined);
  const config = await configure(words, deps.env);
  const record = deps.record ?? {};
  if (config.options.result_file) record.result_file = config.options.result_file;
  const buildProblems = buildRuleProblems({ values: config.values, sourceOf: config.sourceOf, minor: config.minor });
  if (buildProblems.length) throw new ConfigErrors(buildProblems);
  const packer = await packerInfo;
  if (config.values.ami_deprecation_days > 0 && !packer.modern) {
    throw new ConfigError('ami_deprecation_days', config.values.ami_deprecation_days, `0 with Packer ${packer.version}`, 'deprecate_at needs Packer >= 1.7 with the amazon plugin.');
  }
  const sharingRefused = sharingPackerProblem(config.values, packer);
  if (sharingRefused) throw sharingRefused;

  const v = config.values;
  if (!packer.modern && !v.security_group_id && v.temporary_security_group_source_cidrs.length === 0 && !deps.rehearsal) {
    deps.log(`WARNING: Packer ${packer.version} opens the temporary security group's SSH port to 0.0.0.0/0. Set temporary_security_group_source_cidrs=<your address>/32 or security_group_id=, or use current Packer, which admits only this machine's public IP.`);
  }
  // The look-ups that only need the configuration start together: the Kubernetes build (S3), the source image
  // (EC2) and the max-pods table (EC2 DescribeInstanceTypes, the slowest: every instance type of the region;
  // asked once a day per region, see max-pods-cache.ts).
  // The max-pods table is not part of the template, so fmt and validate do not wait for it either.
  const buildRoot = deps.buildRoot ?? 'build';
  const maxPodsKey = { region: v.aws_region, endpoint: ec2EndpointFromEnv(deps.env), date: now };
  const maxPods = cachedMaxPods(repoPath(buildRoot, '.cache', 'max-pods'), maxPodsKey, async () => {
    deps.log(`Computing max pods per instance type from DescribeInstanceTypes in ${v.aws_region}`);
    return formatMaxPodsTable(await maxPodsTable(deps.clients.ec2(v.aws_region)), { region: v.aws_region, date: now });
  });
  // Settled later on every path; until then a failure here must not surface as an unhandled rejection.
  maxPods.catch(() => undefined);
  const [resolved, commit] = await Promise.all([resolve(config, deps.clients, deps.log, now), gitCommit(deps.runner, deps.env)]);
  const agentless = sessionManagerSourceProblem(config.values, resolved.sourceAmi.owner);
  if (agentless) throw agentless;
  const plan = makePlan({ ...resolved, config: resolved.config, packer, now, buildRoot, gitCommit: commit });
  if (deps.rehearsal) plan.provisioner_environment = provisionerEnvironment(plan, deps.rehearsal.endpoints);
  record.plan = plan;

  const renderOptions = { ec2Endpoint: ec2EndpointFromEnv(deps.env), communicator: deps.rehearsal?.communicator, libDir: deps.rehearsal?.libDir };
  const staged = stageBuildDirectory(plan, renderTemplate(plan, renderOptions), {
    generated: resolved.config.lock ? { [PINNED_SHA256_FILE]: resolved.config.lock.inputs.pinnedSha256File } : {},
  });
  try {
    deps.log(`Validating ${plan.template} with Packer ${packer.version}`);
    await formatTemplate(deps.runner, staged, deps.env);
    await validateTemplate(deps.runner, staged, deps.env);
  } catch (error) {
    await maxPods.catch(() => undefined);
    const kept = publishDirectory(staged, `${repoPath(plan.build_dir)}.invalid`);
    deps.log(`The rendered files are kept for inspection in ${kept}`);
    throw error;
  }
  try {
    // generated/ is uploaded as a whole (validate only needs it to exist): the table joins it before publishing.
    writeFileSync(join(staged, GENERATED_DIR, MAX_PODS_FILE), await maxPods);
  } catch (error) {
    rmSync(staged, { recursive: true, force: true });
    throw error;
  }
  const dir = publishDirectory(staged, repoPath(plan.build_dir));

  if (plan.dry_run) {
    for (const line of ['Dry run: resolved, rendered and validated; packer build not run.', ...planSummary(plan), `Plan         ${join(plan.build_dir, PLAN_FILE)}`]) deps.log(line);
    return { exitCode: EXIT.ok, plan, dir };
  }

  deps.log(`Building ${plan.ami_name} (packer build; Ctrl-C stops Packer, which cleans up its instance)`);
  // Modules only a real build needs are loaded here, so a dry run does not pay for them.
  const [{ runPackerBuild }, stigReport, release, { recordSupplyChain }] = await Promise.all([
    import('./build/packer-build.ts'),
    import('./report/stig.ts'),
    import('./report/installed-release.ts'),
    import('./report/supply-chain.ts'),
  ]);
  const outcome = await runPackerBuild(deps.runner, dir, packer.modern, deps.env);
  const amis = amisFromManifest(dir);
  record.amis = amis;
  record.failed_step = outcome.failedStep;
  const summary = buildSummary(plan, amis, outcome.seconds, outcome.exitCode, outcome.failedStep);
  const installed = outcome.exitCode === 0 ? release.installedRhelRelease(dir) : undefined;
  if (installed) {
    await release.recordInstalledRelease(deps.clients, amis, installed, release.describeWithRelease(plan.variables.ami_description, plan.rhel_release, installed));
    summary.push(`RHEL         ${installed} installed (tagged rhel_release on the AMIs and snapshots)`);
  } else if (outcome.exitCode === 0) {
    summary.push(`RHEL         no ${VERSION_INFO_FILE} from the build: rhel_release stays the source image's ${plan.rhel_release}`);
  }
  const stig = outcome.exitCode === 0 ? stigReport.readStigScore(dir) : undefined;
  if (stig) {
    await stigReport.tagStigScore(deps.clients, amis, stig);
    summary.push(stigReport.stigSummary(stig));
  }
  if (outcome.exitCode === 0) summary.push(...(await recordSupplyChain({ plan, dir, amis, clients: deps.clients, runner: deps.runner, env: deps.env })));
  for (const line of summary) deps.log(line);
  return { exitCode: outcome.exitCode, plan, dir, failedStep: outcome.failedStep };
}
