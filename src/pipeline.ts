// The build, top to bottom: configure → resolve → plan → render → validate → build → report.
// Entry scripts wire real adapters in; tests wire their own.
import { join } from 'node:path';
import { runPackerBuild } from './build/packer-build.ts';
import { EXIT } from './errors.ts';
import { makePlan, PINNED_SHA256_FILE, type Plan } from './plan/plan.ts';
import { detectPacker } from './process/packer.ts';
import { gitCommit } from './process/git.ts';
import type { Runner } from './process/run.ts';
import { repoPath } from './paths.ts';
import { renderTemplate, publishDirectory, stageBuildDirectory, type Communicator } from './render/render.ts';
import { amisFromManifest, buildSummary, planSummary } from './report/summary.ts';
import { readStigScore, stigSummary, tagStigScore } from './report/stig.ts';
import { resolve, type AwsClients, type Log } from './resolve/resolve.ts';
import { configure } from './variables/configure.ts';
import { ConfigError } from './errors.ts';
import { formatTemplate, validateTemplate } from './validate/packer-validate.ts';
import { ec2EndpointFromEnv } from './aws/clients.ts';
import { formatMaxPodsTable, maxPodsTable } from './resolve/max-pods.ts';

export interface PipelineDeps {
  runner: Runner;
  clients: AwsClients;
  env: NodeJS.ProcessEnv;
  log: Log;
  now?: () => Date;
  buildRoot?: string;
  /** Offline rehearsal settings: how to reach the local target and what the provisioners read from where. */
  rehearsal?: {
    communicator: Communicator;
    environment: Record<string, string>;
    libDir: string;
  };
}

export interface PipelineResult {
  exitCode: number;
  plan: Plan;
  dir: string;
  failedStep?: string;
}

export async function runPipeline(words: string[], deps: PipelineDeps): Promise<PipelineResult> {
  const now = deps.now?.() ?? new Date();
  const config = await configure(words, deps.env);
  const packer = await detectPacker(deps.runner, deps.env);
  if (config.values.ami_deprecation_days > 0 && !packer.modern) {
    throw new ConfigError('ami_deprecation_days', config.values.ami_deprecation_days, `0 with Packer ${packer.version}`, 'deprecate_at needs Packer >= 1.7 with the amazon plugin.');
  }

  const resolved = await resolve(config, deps.clients, deps.log);
  const plan = makePlan({ ...resolved, config: resolved.config, packer, now, buildRoot: deps.buildRoot ?? 'build', gitCommit: await gitCommit(deps.runner, deps.env) });
  if (deps.rehearsal) plan.provisioner_environment = { ...plan.provisioner_environment, ...deps.rehearsal.environment };

  deps.log(`Computing max pods per instance type from DescribeInstanceTypes in ${plan.aws_region}`);
  const maxPods = formatMaxPodsTable(await maxPodsTable(deps.clients.ec2(plan.aws_region)), { region: plan.aws_region, date: now });

  const renderOptions = { ec2Endpoint: ec2EndpointFromEnv(deps.env), communicator: deps.rehearsal?.communicator, libDir: deps.rehearsal?.libDir };
  const staged = stageBuildDirectory(plan, renderTemplate(plan, renderOptions), {
    generated: {
      'eni-max-pods.txt': maxPods,
      ...(resolved.config.lock ? { [PINNED_SHA256_FILE]: resolved.config.lock.inputs.pinnedSha256File } : {}),
    },
  });
  try {
    deps.log(`Validating ${plan.template} with Packer ${packer.version}`);
    await formatTemplate(deps.runner, staged);
    await validateTemplate(deps.runner, staged);
  } catch (error) {
    const kept = publishDirectory(staged, `${repoPath(plan.build_dir)}.invalid`);
    deps.log(`The rendered files are kept for inspection in ${kept}`);
    throw error;
  }
  const dir = publishDirectory(staged, repoPath(plan.build_dir));

  if (plan.dry_run) {
    for (const line of ['Dry run: resolved, rendered and validated; packer build not run.', ...planSummary(plan), `Plan         ${join(plan.build_dir, 'plan.json')}`]) deps.log(line);
    return { exitCode: EXIT.ok, plan, dir };
  }

  deps.log(`Building ${plan.ami_name} (packer build; Ctrl-C stops Packer, which cleans up its instance)`);
  const outcome = await runPackerBuild(deps.runner, dir, packer.modern, deps.env);
  const amis = amisFromManifest(dir);
  const summary = buildSummary(plan, amis, outcome.seconds, outcome.exitCode, outcome.failedStep);
  const stig = outcome.exitCode === 0 ? readStigScore(dir) : undefined;
  if (stig) {
    await tagStigScore(deps.clients, amis, stig);
    summary.push(stigSummary(stig));
  }
  for (const line of summary) deps.log(line);
  return { exitCode: outcome.exitCode, plan, dir, failedStep: outcome.failedStep };
}
