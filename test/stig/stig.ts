// Shared by the STIG tests: the tailoring files in provisioners/lib/stig/, the SCAP Security Guide data streams
// Debian ships for RHEL 8/9 (Debian 12's ssg-nondebian, SSG 0.1.65) and RHEL 10 (Debian 13's ssg-nondebian,
// SSG 0.1.76, installed by scripts/install-ssg-rhel10.sh), and running a step in a sandbox whose "booted
// kernel" reports a chosen FIPS flag.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { REPO, WORK_DIR, type RunResult, type Sandbox } from '../support/sandbox.ts';
import { requireTool } from '../support/tools.ts';

export const SSG_CONTENT = '/usr/share/xml/scap/ssg/content';
export const STIG_DIR = join(REPO, 'provisioners', 'lib', 'stig');
export const STIG_PROFILE = 'xccdf_org.ssgproject.content_profile_stig';
export const TAILORED_PROFILE = 'xccdf_org.ssgproject.content_profile_stig_eks_worker';
export const RULE_PREFIX = 'xccdf_org.ssgproject.content_rule_';
export const MAJORS = ['8', '9', '10'] as const;
export type Major = (typeof MAJORS)[number];
/** Debian 12 has no RHEL 10 content: scripts/install-ssg-rhel10.sh extracts it from Debian 13's package here. */
export const SSG10_CONTENT = '/usr/local/share/xml/scap/ssg/content';
/** The SSG release each major's data stream comes from (what the tailoring is checked against). */
export const SSG_RELEASE: Record<Major, string> = { '8': '0.1.65', '9': '0.1.65', '10': '0.1.76' };

export const tailoringFile = (major: Major): string => join(STIG_DIR, `ssg-rhel${major}-stig-tailoring.xml`);
export const datastreamFile = (major: Major): string => join(major === '10' ? SSG10_CONTENT : SSG_CONTENT, `ssg-rhel${major}-ds.xml`);
/** Where the steps find them on the instance. */
export const instanceTailoring = (major: Major): string => `${WORK_DIR}/lib/stig/ssg-rhel${major}-stig-tailoring.xml`;
export const instanceDatastream = (major: Major): string => `/usr/share/xml/scap/ssg/content/ssg-rhel${major}-ds.xml`;

/** The real OpenSCAP and Debian's copies of the SSG RHEL 8/9/10 data streams; missing, the test fails (never skips). */
export function requireSsgContent(): void {
  requireTool('oscap', 'the STIG tests (Debian packages openscap-scanner and ssg-nondebian)');
  for (const major of MAJORS) {
    if (!existsSync(datastreamFile(major))) {
      const install = major === '10' ? 'bash scripts/install-ssg-rhel10.sh as root' : 'apt-get install ssg-nondebian';
      throw new Error(`${datastreamFile(major)} is required for the STIG tests but missing: ${install} (or 'make test-deps').`);
    }
  }
}

const decode = (text: string): string =>
  text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

export interface Exception {
  /** Rule id without the xccdf_org.ssgproject.content_rule_ prefix. */
  rule: string;
  /** RHEL-08-…/RHEL-09-… or "none". */
  stigId: string;
  srg: string;
  reason: string;
}

export interface ValueChange {
  value: string;
  setTo: string;
  reason: string;
}

export interface Tailoring {
  profileId: string;
  extends: string;
  title: string;
  /** Every select of the tailored profile, in file order. */
  selects: { idref: string; selected: boolean; remarks: string[] }[];
  exceptions: Exception[];
  values: ValueChange[];
}

/** The tailoring file's profile, its selects (with the "STIG id | SRG id | reason" remark) and set-values. */
export function parseTailoring(xml: string): Tailoring {
  const profile = /<xccdf:Profile\s+id="([^"]+)"\s+extends="([^"]+)">/.exec(xml);
  if (!profile) throw new Error('no xccdf:Profile with an extends attribute');
  const title = decode(/<xccdf:title>([\s\S]*?)<\/xccdf:title>/.exec(xml)?.[1] ?? '');
  const selects = [...xml.matchAll(/<xccdf:select\s+idref="([^"]+)"\s+selected="(true|false)"\s*(?:\/>|>([\s\S]*?)<\/xccdf:select>)/g)].map((m) => ({
    idref: m[1],
    selected: m[2] === 'true',
    remarks: [...(m[3] ?? '').matchAll(/<xccdf:remark>([\s\S]*?)<\/xccdf:remark>/g)].map((r) => decode(r[1]).replace(/\s+/g, ' ').trim()),
  }));
  const exceptions = selects
    .filter((s) => !s.selected)
    .map((s) => {
      const [stigId = '', srg = '', ...reason] = (s.remarks[0] ?? '').split(' | ');
      return { rule: s.idref.replace(RULE_PREFIX, ''), stigId, srg, reason: reason.join(' | ') };
    });
  const values = [...xml.matchAll(/<!--\s*reason:\s*([\s\S]*?)\s*-->\s*<xccdf:set-value\s+idref="([^"]+)">([^<]*)<\/xccdf:set-value>/g)].map((m) => ({
    value: m[2],
    setTo: decode(m[3]),
    reason: m[1].replace(/\s+/g, ' '),
  }));
  const allSetValues = [...xml.matchAll(/<xccdf:set-value\s/g)].length;
  if (values.length !== allSetValues) throw new Error('every xccdf:set-value must follow a <!-- reason: … --> comment');
  return { profileId: profile[1], extends: profile[2], title, selects, exceptions, values };
}

export const readTailoring = (major: Major): Tailoring => parseTailoring(readFileSync(tailoringFile(major), 'utf8'));

export interface DataStreamFacts {
  /** Rules the STIG profile selects. */
  stigRules: Set<string>;
  /** References (STIG ids, SRG ids, CCIs …) of a rule. */
  references(rule: string): string[];
  hasValue(id: string): boolean;
}

const datastreams = new Map<Major, DataStreamFacts>();

/** What the tests need from Debian's copy of the SSG data stream, read as text (24 MB; no XML library). */
export function dataStream(major: Major): DataStreamFacts {
  const cached = datastreams.get(major);
  if (cached) return cached;
  const text = readFileSync(datastreamFile(major), 'utf8');
  const start = text.indexOf(`<xccdf-1.2:Profile id="${STIG_PROFILE}">`);
  if (start < 0) throw new Error(`${datastreamFile(major)} has no ${STIG_PROFILE} profile`);
  const profile = text.slice(start, text.indexOf('</xccdf-1.2:Profile>', start));
  const stigRules = new Set([...profile.matchAll(/<xccdf-1\.2:select idref="([^"]+)" selected="true"\/>/g)].map((m) => m[1]).filter((id) => id.startsWith(RULE_PREFIX)));
  const facts: DataStreamFacts = {
    stigRules,
    references(rule) {
      const at = text.search(new RegExp(`<xccdf-1\\.2:Rule [^>]*id="${rule.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`));
      if (at < 0) return [];
      const body = text.slice(at, text.indexOf('</xccdf-1.2:Rule>', at));
      return [...body.matchAll(/<xccdf-1\.2:reference href="[^"]*">([^<]+)<\/xccdf-1\.2:reference>/g)].map((m) => m[1]);
    },
    hasValue: (id) => text.includes(`<xccdf-1.2:Value id="${id}"`),
  };
  datastreams.set(major, facts);
  return facts;
}

/**
 * Runs provisioners/<script> like Sandbox.runStep, with a model of the kernel the instance booted: the host
 * kernel here has no FIPS support at all (no /proc/sys/crypto), so when `fipsEnabled` is given a directory
 * holding crypto/fips_enabled with that value is bind-mounted over /proc/sys inside the step's private mount
 * namespace only. The steps read the real path; nothing in them is a test switch. Without `fipsEnabled` the
 * step sees this host's kernel (no flag, i.e. not in FIPS mode).
 */
export function runStepBooted(sb: Sandbox, script: string, env: Record<string, string>, fipsEnabled?: 0 | 1): Promise<RunResult> {
  sb.uploadStep(script, env);
  if (fipsEnabled === undefined) return sb.exec(['bash', `${WORK_DIR}/${script}`], env);
  const sys = sb.path('/.stubs/kernel/sys/crypto');
  if (!existsSync(sys)) mkdirSync(sys, { recursive: true });
  writeFileSync(join(sys, 'fips_enabled'), `${fipsEnabled}\n`);
  // The mount hides the rest of /proc/sys; reboot.sh and begin_step read the boot id there. It changes exactly
  // when a reboot is modelled (modelReboot), as a real boot id does.
  const random = sb.path('/.stubs/kernel/sys/kernel/random');
  mkdirSync(random, { recursive: true });
  writeFileSync(join(random, 'boot_id'), `00000000-0000-4000-8000-${String(bootsOf(sb)).padStart(12, '0')}\n`);
  writeFileSync(join(random, 'uuid'), `${randomUUID()}\n`);
  return sb.exec(['bash', '-c', 'mount --bind /.stubs/kernel/sys /proc/sys && exec bash "$0"', `${WORK_DIR}/${script}`], env);
}

const BOOTS = '/.stubs/state/modelled-boots';
const bootsOf = (sb: Sandbox): number => (sb.exists(BOOTS) ? Number(sb.read(BOOTS)) : 0);
/** Models a reboot of the sandbox's "instance": the steps after it see a new boot id. */
export function modelReboot(sb: Sandbox): void {
  mkdirSync(sb.path('/.stubs/state'), { recursive: true });
  writeFileSync(sb.path(BOOTS), String(bootsOf(sb) + 1));
}

/** A boot after fips-mode-setup --enable: the kernel runs in FIPS mode exactly when the stub recorded --enable. */
export const bootedFips = (sb: Sandbox): 0 | 1 => (sb.exists('/.stubs/state/fips-configured') ? 1 : 0);
