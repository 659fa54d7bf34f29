// Release notes per build: one Markdown table of what the image is (from version-info.json as the instance
// reported it, plan.json, the SBOM and the STIG score), written as build/<ami_name>/release-notes.md. The
// scheduled workflow attaches it to its run and job summary; a release can use it as its body.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VERSION_INFO_FILE } from '../layout.ts';
import type { Plan } from '../plan/plan.ts';
import type { Sbom } from './sbom.ts';
import type { StigScore } from './stig.ts';
import { bootModeText, type AmiByRegion } from './summary.ts';

export const RELEASE_NOTES_FILE = 'release-notes.md';

interface VersionInfo {
  rhel_release?: string;
  redhat_release?: string;
  os?: string;
  kernel?: { running?: string; default?: string };
  kubernetes?: { version?: string; build_date?: string; kubelet?: string };
  containerd?: string;
  runc?: string;
  cni_plugins?: { version?: string; plugins?: string[] };
}

export function readVersionInfo(dir: string): VersionInfo | undefined {
  const file = join(dir, VERSION_INFO_FILE);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as VersionInfo) : undefined;
}

/** A table cell: no line breaks, pipes escaped. */
const cell = (text: string) => text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|').trim();
/** The version word of a version line ("containerd github.com/containerd/containerd v1.7.27 abc" → v1.7.27). */
const versionWord = (line: string | undefined) => (line ? (/\bv?[0-9]+\.[0-9]+\.[0-9]+[^\s]*/.exec(line)?.[0] ?? line) : undefined);

export interface ReleaseNotesInput {
  plan: Plan;
  amis: AmiByRegion[];
  versionInfo?: VersionInfo;
  sbom?: Sbom;
  stig?: StigScore;
}

export function releaseNotes({ plan, amis, versionInfo: info, sbom, stig }: ReleaseNotesInput): string {
  const unknown = '(not reported)';
  // The default kernel is what the image boots; version-info.json records it after the OS update.
  const kernel = info?.kernel?.default?.replace(/^\/boot\/vmlinuz-/, '') ?? info?.kernel?.running;
  const rows: [string, string][] = [
    ['RHEL release', info?.rhel_release ? `${info.rhel_release}${info.redhat_release ? ` (${info.redhat_release})` : ''}` : `${plan.rhel_release} (source image; not reported by the instance)`],
    ['Kernel', kernel ?? unknown],
    ['kubelet', versionWord(info?.kubernetes?.kubelet) ?? `v${plan.kubernetes_version} (plan)`],
    ['Kubernetes build', `${plan.kubernetes_version} of ${plan.kubernetes_build_date} from s3://${plan.binary_bucket.name}`],
    ['containerd', versionWord(info?.containerd) ?? `${plan.variables.containerd_version} (plan)`],
    ['runc', versionWord(info?.runc) ?? `${plan.variables.runc_version} (plan)`],
    ['CNI plugins', info?.cni_plugins?.version ? `${info.cni_plugins.version}${info.cni_plugins.plugins?.length ? ` (${info.cni_plugins.plugins.join(', ')})` : ''}` : `${plan.variables.cni_plugin_version} (plan)`],
    ['kube-proxy modes', plan.kube_proxy_modes.join(', ')],
    ['STIG score', stig ? `${stig.score.toFixed(2)}${stig.min_score ? ` (threshold ${stig.min_score})` : ''}` : plan.variant === 'stig' ? unknown : 'not scanned (variant standard)'],
    ['Source AMI', `${plan.source_ami_id} (${plan.source_ami_name})`],
    ['Boot mode', bootModeText(plan.source_ami_boot_mode)],
    ['SBOM', sbom ? `sha256 ${sbom.sha256} (SPDX 2.3, ${sbom.packages} packages)` : unknown],
    ['AMIs', amis.map((a) => `${a.region}: ${a.ami}`).join(', ') || unknown],
    ['Built from', `commit ${plan.git_commit} with Packer ${plan.packer.version}`],
  ];
  return [
    `## ${plan.ami_name}`,
    '',
    `EKS worker AMI for Kubernetes ${plan.kubernetes_version} on RHEL ${info?.rhel_release ?? plan.rhel_release} (${plan.arch}, ${plan.variant}).`,
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([name, value]) => `| ${name} | ${cell(value)} |`),
    '',
  ].join('\n');
}

export function writeReleaseNotes(dir: string, text: string): string {
  const file = join(dir, RELEASE_NOTES_FILE);
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
  return file;
}
