// Render: a plan → build/<ami_name>/ with the Packer template, plan.json and the files uploaded to the
// instance. Everything is written to a temporary directory first and moved into place whole.
import Handlebars from 'handlebars';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { INSTANCE_MANIFEST_FILE, instanceManifest, manifestQueryOfEnvironment, resolveArtifacts } from '../data/artifacts.ts';
import type { Plan } from '../plan/plan.ts';
import { GENERATED_DIR, PLAN_FILE, TEMPLATE_FILE, TEMPLATE_SOURCE, WORK_DIR } from '../layout.ts';
import { repoPath } from '../paths.ts';
import { declarations, variableNames } from '../variables/declarations.ts';
import { regionKeyMap } from '../variables/rules.ts';
import { hclLiteral, hclType } from './hcl.ts';
import { imageFiles } from './image-files.ts';
import { loadSteps, provisionerBlocks, stepsFor, type Step } from './steps.ts';

export interface RenderOptions {
  /** Render for current Packer (plugins, IMDSv2 options); defaults to what the detected Packer accepts. */
  modern?: boolean;
  /** EC2 endpoint for Packer (custom_endpoint_ec2), e.g. a local emulator; '' for AWS. */
  ec2Endpoint?: string;
  /** Extra files to place under generated/ (uploaded to the instance), by file name. */
  generated?: Record<string, string>;
  steps?: Step[];
  /** Offline rehearsal: reach the build instance at a fixed address with an imported key pair. */
  communicator?: Communicator;
  /** Directory uploaded as $WORK_DIR/lib instead of provisioners/lib (the rehearsal swaps the trusted keys). */
  libDir?: string;
}

export interface Communicator {
  host: string;
  port: number;
  keyPairName: string;
  privateKeyFile: string;
}

const VOLUME_FIELDS: Record<string, { iops: boolean; throughput: boolean }> = {
  gp2: { iops: false, throughput: false },
  gp3: { iops: true, throughput: true },
  io1: { iops: true, throughput: false },
  io2: { iops: true, throughput: false },
};

function compileTemplate() {
  const hbs = Handlebars.create();
  hbs.registerHelper('hcl', (value: unknown) => hclLiteral(value));
  const source = readFileSync(repoPath(TEMPLATE_SOURCE), 'utf8');
  return hbs.compile(source, { noEscape: true, strict: true });
}

export function templateContext(plan: Plan, options: RenderOptions = {}) {
  const v = plan.variables;
  const modern = options.modern ?? plan.packer.modern;
  const ec2Endpoint = options.ec2Endpoint ?? '';
  const tags = amiTags(plan);
  return {
    modern,
    endpoint: ec2Endpoint !== '',
    deprecate: modern && v.ami_deprecation_days > 0,
    // The temporary security group: the user's CIDRs, else (current Packer only) this machine's public IP.
    sourceCidrs: v.temporary_security_group_source_cidrs.length > 0,
    volume: VOLUME_FIELDS[v.volume_type],
    variables: variableNames.map((name) => ({
      name,
      type: hclType(declarations[name].kind),
      value: v[name],
      description: declarations[name].description,
    })),
    locals: {
      work_dir: WORK_DIR,
      login_home: `/home/${v.ssh_username}`,
      root_device_name: plan.root_device_name,
      ec2_endpoint: ec2Endpoint,
      prepare_commands: [
        `sudo install -d -m 0755 -o "$(id -u)" -g "$(id -g)" ${WORK_DIR} ${WORK_DIR}/rootfs ${WORK_DIR}/lib ${WORK_DIR}/generated`,
      ],
      prepare_execute_command: "bash '{{ .Path }}'",
      execute_command: "sudo -E env {{ .Vars }} bash '{{ .Path }}'",
      provisioner_environment: Object.entries(plan.provisioner_environment).map(([k, value]) => `${k}=${value}`),
      deprecate_after: `${v.ami_deprecation_days * 24}h`,
      run_tags: { Name: `packer ${v.ami_name}`, ami_name: v.ami_name },
      ami_tags: tags,
      manifest_data: tags,
      region_kms_key_ids: regionKeyMap(v.region_kms_key_ids),
      ...(options.communicator
        ? {
            ssh_host: options.communicator.host,
            ssh_port: options.communicator.port,
            ssh_keypair_name: options.communicator.keyPairName,
            ssh_private_key_file: options.communicator.privateKeyFile,
          }
        : {}),
    },
    communicator: options.communicator !== undefined,
    blocks: provisionerBlocks(stepsFor(options.steps ?? loadSteps(), plan.variant)).map((block) => ({
      ...block,
      // steps.json names a build variable (reboot_pause) or gives a literal duration.
      pause: block.pause_before ? (block.pause_before in declarations ? `var.${block.pause_before}` : hclLiteral(block.pause_before)) : '',
    })),
    /** The repository seen from the template's directory, for ${path.root}-relative uploads and scripts. */
    repo: relative(repoPath(plan.build_dir), repoPath()) || '.',
    libDir: relative(repoPath(plan.build_dir), options.libDir ?? repoPath('provisioners', 'lib')),
  };
}

/** Tags record the exact versions installed (all pinned by the plan), never requested patterns. */
export function amiTags(plan: Plan): Record<string, string> {
  const v = plan.variables;
  return {
    Name: plan.ami_name,
    kubernetes_version: plan.kubernetes_version,
    kubernetes_build_date: plan.kubernetes_build_date,
    containerd_version: v.containerd_version,
    runc_version: v.runc_version,
    cni_plugin_version: v.cni_plugin_version,
    rhel_release: plan.rhel_release,
    source_ami_id: plan.source_ami_id,
    source_ami_name: plan.source_ami_name,
    arch: plan.arch,
    variant: plan.variant,
    kubernetes_minor: plan.kubernetes_minor,
    rhel_version: String(plan.rhel_version),
    kube_proxy_modes: plan.kube_proxy_modes.join(','),
    git_commit: plan.git_commit,
  };
}

export function renderTemplate(plan: Plan, options: RenderOptions = {}): string {
  return compileTemplate()(templateContext(plan, options));
}

/**
 * Stage the build directory next to its final place: build/<ami>.partial-<pid>/ with eks-worker.pkr.hcl,
 * plan.json and generated/. It sits at the same depth as the final one, so the template's relative paths
 * (../../provisioners) already resolve and it can be validated before it is published.
 */
export function stageBuildDirectory(plan: Plan, template: string, options: RenderOptions = {}): string {
  const tempDir = `${repoPath(plan.build_dir)}.partial-${process.pid}`;
  rmSync(tempDir, { recursive: true, force: true });
  try {
    mkdirSync(join(tempDir, GENERATED_DIR), { recursive: true });
    writeFileSync(join(tempDir, TEMPLATE_FILE), template);
    writeFileSync(join(tempDir, PLAN_FILE), `${JSON.stringify(plan, null, 2)}\n`);
    const generated = {
      'build.json': `${JSON.stringify(amiTags(plan), null, 2)}\n`,
      // What this build downloads, where from and how it is verified: lib/fetch.sh's fetch_artifact reads it.
      [INSTANCE_MANIFEST_FILE]: instanceManifest(resolveArtifacts(manifestQueryOfEnvironment(plan.provisioner_environment))),
      ...imageFiles(plan.kubernetes_minor),
      ...options.generated,
    };
    for (const [name, content] of Object.entries(generated)) writeFileSync(join(tempDir, GENERATED_DIR, name), content);
  } catch (error) {
    rmSync(tempDir, { recursive: true, force: true });
    throw error;
  }
  return tempDir;
}

/** Move a staged directory to its final name (replacing an older one of the same name). */
export function publishDirectory(stagedDir: string, finalDir: string): string {
  mkdirSync(dirname(finalDir), { recursive: true });
  rmSync(finalDir, { recursive: true, force: true });
  renameSync(stagedDir, finalDir);
  return finalDir;
}
