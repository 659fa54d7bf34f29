// provisioners/lib/stig/EXCEPTIONS.md is generated from the tailoring files, so the table cannot drift from
// what the build really deselects: tailoring.test.ts fails when they disagree.
// Regenerate: node_modules/.bin/tsx test/stig/exceptions.ts
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAJORS, STIG_DIR, STIG_PROFILE, TAILORED_PROFILE, readTailoring } from './stig.ts';

export const EXCEPTIONS_FILE = join(STIG_DIR, 'EXCEPTIONS.md');

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderExceptions(): string {
  const tailorings = MAJORS.map((major) => ({ major, t: readTailoring(major) }));
  const lines = [
    '# STIG exceptions for EKS worker nodes',
    '',
    '<!-- Generated from ssg-rhel8-stig-tailoring.xml, ssg-rhel9-stig-tailoring.xml and ssg-rhel10-stig-tailoring.xml by',
    '     `node_modules/.bin/tsx test/stig/exceptions.ts`; test/stig/tailoring.test.ts fails when they disagree. -->',
    '',
    `The STIG variant remediates and scans with \`${TAILORED_PROFILE}\`, which extends the SCAP Security`,
    `Guide's \`${STIG_PROFILE}\` and deselects only the rules below: rules whose compliant state breaks a`,
    'Kubernetes worker or the image build, or that DISA\'s check text makes not applicable to an EC2 worker.',
    'Every other rule of the profile stays selected. Record these with your ISSO/ISSM as operational requirements.',
    '',
    '## Deselected rules',
    '',
    '| RHEL | SSG rule | STIG id | SRG | Why |',
    '|---|---|---|---|---|',
    ...tailorings.flatMap(({ major, t }) =>
      t.exceptions.map((e) => `| ${major} | \`${e.rule}\` | ${e.stigId} | ${e.srg} | ${cell(e.reason)} |`),
    ),
    '',
    '"none": SSG 0.1.65\'s RHEL 9 STIG profile is a draft whose rules carry SRG ids only; the RHEL-09 ids are those',
    'of the published DISA RHEL 9 STIG for the same requirement, and "none" marks a rule without a confirmed counterpart.',
    'The RHEL 10 tailoring is written and tested against SSG 0.1.76 (Debian 13\'s ssg-nondebian), whose RHEL 10 STIG',
    'profile predates DISA\'s RHEL 10 STIG and carries SRG ids only: every RHEL 10 STIG id is "none", and the rule',
    'selection of the DISA-based profile in SSG 0.1.80+ (what RHEL 10\'s scap-security-guide package installs on the',
    'instance) was not checked here. Rules that profile adds are not deselected; review the first RHEL 10 scan.',
    '',
    '## Changed values',
    '',
    '| RHEL | Value | Set to | Why |',
    '|---|---|---|---|',
    ...tailorings.flatMap(({ major, t }) => t.values.map((v) => `| ${major} | \`${v.value.replace('xccdf_org.ssgproject.content_value_', '')}\` | \`${v.setTo}\` | ${cell(v.reason)} |`)),
    '',
    '## Findings that remain',
    '',
    '- `enable_fips_mode` reports *fail* although FIPS mode is in effect (fips-check.sh and validate.sh verify',
    '  `fips-mode-setup --check`, on RHEL 10 the FIPS crypto policy, and `/proc/sys/crypto/fips_enabled`): in',
    '  SSG 0.1.65 its check accepts only the policy values FIPS and FIPS:OSPP (RHEL 8 also FIPS:NO-SHA1,',
    '  FIPS:NO-CAMELLIA), not FIPS:EKS-SSH.',
    '- RHEL 10: FIPS mode cannot be switched on by the build (no fips-mode-setup); the source image must have been',
    '  installed in FIPS mode, which fips-preflight.sh checks before anything else runs.',
    '- Rules without an automated fix (boot loader password, separate partitions, disk encryption, …) report',
    '  *fail* or *notchecked* until the site addresses them; `STIG_MIN_SCORE` sets the score a build must reach.',
    '',
    '## Considered and kept',
    '',
    '- `mount_option_*_noexec`: none of the profile\'s noexec rules covers a path containerd, runc, kubelet or the',
    '  CNI plugins execute from (/var/lib/containerd, /var/lib/kubelet, /opt/cni/bin, /usr/bin); the build itself',
    '  never executes from /tmp (it works in /var/lib/eks-build and points oscap\'s TMPDIR there).',
    '- `kernel_module_*_disabled`: none of them blocks overlay, br_netfilter, nf_conntrack or the ip_vs modules.',
    '- `sysctl_net_ipv4_conf_all_rp_filter` (strict): the kernel applies the larger of the "all" and the interface',
    '  value, and the VPC CNI sets loose (2) on the interfaces that need it.',
    '- `package_firewalld_installed`, `package_fapolicyd_installed`, `package_usbguard_installed`: installing the',
    '  packages is harmless; only enabling the services is an exception.',
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(EXCEPTIONS_FILE, renderExceptions());
  console.log(`wrote ${EXCEPTIONS_FILE}`);
}
