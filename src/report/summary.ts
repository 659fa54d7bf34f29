// Report: what a run resolved and produced, in a few lines.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../layout.ts';
import type { Plan } from '../plan/plan.ts';

export interface AmiByRegion {
  region: string;
  ami: string;
}

/** AMI ids per region from Packer's manifest ("us-west-2:ami-1,us-east-1:ami-2"). */
export function amisFromManifest(dir: string): AmiByRegion[] {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) return [];
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as { builds?: { artifact_id?: string }[]; last_run_uuid?: string };
  const last = manifest.builds?.at(-1);
  return (last?.artifact_id ?? '')
    .split(',')
    .filter(Boolean)
    .map((pair) => {
      const [region, ami] = pair.split(':');
      return { region, ami };
    });
}

export function planSummary(plan: Plan): string[] {
  return [
    `Kubernetes   ${plan.kubernetes_version} (build ${plan.kubernetes_build_date}) from s3://${plan.binary_bucket.name} ${plan.binary_bucket.region}${plan.binary_bucket.unsigned ? ' (unsigned reads)' : ''}`,
    `Source AMI   ${plan.source_ami_id} ${plan.source_ami_name} (RHEL ${plan.rhel_release}, root ${plan.root_device_name})`,
    `Boot mode    ${bootModeText(plan.source_ami_boot_mode)}`,
    `Target       ${plan.ami_name} in ${[plan.aws_region, ...plan.ami_regions.filter((r) => r !== plan.aws_region)].join(', ')} (${plan.partition}, ${plan.arch}, ${plan.variant})`,
    `Template     ${plan.template} (Packer ${plan.packer.version}${plan.packer.modern ? ', plugin features' : ''})`,
  ];
}

export function buildSummary(plan: Plan, amis: AmiByRegion[], seconds: number, exitCode: number, failedStep?: string): string[] {
  const lines = planSummary(plan);
  if (exitCode === 0) {
    lines.push(`AMIs         ${amis.map((a) => `${a.region}: ${a.ami}`).join(', ') || '(none reported in manifest.json)'}`);
  } else {
    lines.push(`Result       packer build failed with exit code ${exitCode}${failedStep ? ` in step ${failedStep}` : ''}`);
  }
  lines.push(`Duration     ${formatDuration(seconds)}`);
  return lines;
}

export function formatDuration(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m ? `${m}m${String(s).padStart(2, '0')}s` : `${s}s`;
}

/** The SBOM's line: its SHA-256 (also the AMI's sbom_sha256 tag) and size. */
export function sbomSummary(sha256: string, packages: number): string {
  return `SBOM         sha256 ${sha256} (sbom.spdx.json, SPDX 2.3, ${packages} packages)`;
}

/** The AMI's boot mode: amazon-ebs (CreateImage) inherits the source image's; NitroTPM is not offered (README). */
export function bootModeText(mode: string | undefined): string {
  return `${mode || 'none set (instance type default: legacy BIOS on x86_64, UEFI on Graviton)'}, inherited from the source image`;
}
