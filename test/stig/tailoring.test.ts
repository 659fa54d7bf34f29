// The XCCDF tailoring files (provisioners/lib/stig/) checked with the REAL OpenSCAP (Debian's openscap-scanner
// 1.3) against REAL SCAP Security Guide data streams: RHEL 8/9 from Debian 12's ssg-nondebian (SSG 0.1.65),
// RHEL 10 from Debian 13's (SSG 0.1.76, scripts/install-ssg-rhel10.sh): schema-valid, loadable by oscap,
// extending the STIG profile, deselecting only rules that profile selects (a small share, each with its STIG
// id and reason), IPv4 forwarding carved out, and the bash remediation oscap would run keeping the exceptions
// out and the EKS-SSH crypto subpolicy in. Nothing is stubbed here; only an evaluation of a real RHEL system
// is out of reach (this host is Debian, so every rule is "notapplicable").
// RHEL 10, what is and is not validated: everything above, against SSG 0.1.76's RHEL 10 STIG profile, which
// Red Hat wrote before DISA published the RHEL 10 STIG and whose rules carry SRG ids only. NOT checked: the
// rule selection of the DISA-based RHEL 10 profile in SSG 0.1.80+ (rules it adds or renames are neither
// deselected nor known to break a worker here) and DISA's RHEL-10 STIG ids (the tailoring says "none").
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXCEPTIONS_FILE, renderExceptions } from './exceptions.ts';
import {
  MAJORS, RULE_PREFIX, SSG_RELEASE, STIG_PROFILE, TAILORED_PROFILE, dataStream, datastreamFile, readTailoring, requireSsgContent, tailoringFile, type Major,
} from './stig.ts';

const oscap = (args: string[]) => capture('oscap', args, { cwd: tmpdir() });

/** The rules a human must not deselect without an entry here: IPv4 forwarding per major (RHEL 10's profile has both). */
const IPV4_FORWARDING: Record<Major, string[]> = {
  '8': ['sysctl_net_ipv4_conf_all_forwarding'],
  '9': ['sysctl_net_ipv4_ip_forward'],
  '10': ['sysctl_net_ipv4_ip_forward', 'sysctl_net_ipv4_conf_all_forwarding'],
};
/** STIG ids as DISA writes them for each major. */
const STIG_ID: Record<Major, RegExp> = { '8': /^RHEL-08-\d{6}$/, '9': /^(RHEL-09-\d{6}|none)$/, '10': /^(RHEL-10-\d{6}|none)$/ };

describe('STIG tailoring: provisioners/lib/stig/ against the SCAP Security Guide data streams', function () {
  this.timeout(120_000);
  before(requireSsgContent);

  for (const major of MAJORS) {
    describe(`RHEL ${major}`, () => {
      it('is a schema-valid XCCDF 1.2 tailoring (oscap xccdf validate)', () => {
        // oscap 1.3.7 has no Schematron rules for tailoring documents (it fails with "Schematron rules not
        // found"), so the check is the XML Schema one; the next test proves it does reject a broken file.
        const result = oscap(['xccdf', 'validate', '--skip-schematron', tailoringFile(major)]);
        expect(result.status, result.stdout + result.stderr).to.equal(0);
      });

      it('the schema check rejects a tailoring with a misplaced element (so the check above means something)', () => {
        const dir = mkdtempSync(join(tmpdir(), 'stig-tailoring-'));
        try {
          const broken = readFileSync(tailoringFile(major), 'utf8').replace('<xccdf:title>', '<xccdf:remark>misplaced</xccdf:remark><xccdf:title>');
          writeFileSync(join(dir, 'broken.xml'), broken);
          expect(oscap(['xccdf', 'validate', '--skip-schematron', join(dir, 'broken.xml')]).status).to.not.equal(0);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });

      it('oscap info shows one tailored profile, extending the STIG profile, for this major\'s data stream', () => {
        const info = oscap(['info', tailoringFile(major)]);
        expect(info.status, info.stderr).to.equal(0);
        expect(info.stdout).to.include('Document type: XCCDF Tailoring');
        expect(info.stdout).to.include(`Benchmark Hint: /usr/share/xml/scap/ssg/content/ssg-rhel${major}-ds.xml`);
        expect(info.stdout.match(/\bId: (\S+)/g)).to.deep.equal([`Id: ${TAILORED_PROFILE}`]);
        const t = readTailoring(major);
        expect(t.profileId).to.equal(TAILORED_PROFILE);
        expect(t.extends).to.equal(STIG_PROFILE);
        expect(t.title).to.include(`Red Hat Enterprise Linux ${major}`);
      });

      it('only deselects rules the STIG profile selects, selects nothing new, and keeps the share deselected under 5 %', () => {
        const ds = dataStream(major);
        const t = readTailoring(major);
        expect(t.selects.filter((s) => s.selected), 'the tailoring only removes rules').to.deep.equal([]);
        for (const s of t.selects) expect(ds.stigRules.has(s.idref), `${s.idref} is selected by ${STIG_PROFILE} in SSG RHEL ${major}`).to.equal(true);
        expect(new Set(t.selects.map((s) => s.idref)).size, 'no rule listed twice').to.equal(t.selects.length);
        const share = t.exceptions.length / ds.stigRules.size;
        expect(share, `${t.exceptions.length} of ${ds.stigRules.size} rules deselected`).to.be.lessThan(0.05);
        for (const v of t.values) expect(ds.hasValue(v.value), v.value).to.equal(true);
      });

      it('carves out IPv4 forwarding', () => {
        expect(readTailoring(major).exceptions.map((e) => e.rule)).to.include.members(IPV4_FORWARDING[major]);
      });

      it(`is checked against SSG ${SSG_RELEASE[major]}, the content the tailoring's ids were written for`, () => {
        const head = readFileSync(datastreamFile(major), 'utf8').slice(0, 400_000);
        expect(head).to.match(new RegExp(`<xccdf-1\\.2:version [^>]*>${SSG_RELEASE[major].replace(/\./g, '\\.')}<`));
      });

      it('documents every deselection with its STIG id, an SRG id of that rule in the data stream, and a reason', () => {
        const ds = dataStream(major);
        for (const e of readTailoring(major).exceptions) {
          const refs = ds.references(RULE_PREFIX + e.rule);
          expect(e.stigId, e.rule).to.match(STIG_ID[major]);
          // SSG 0.1.65 carries the DISA ids for RHEL 8 only; there the id must be the rule's own.
          if (major === '8') expect(refs, `${e.rule} references`).to.include(e.stigId);
          expect(refs, `${e.rule} references`).to.include(e.srg);
          expect(e.reason.length, `${e.rule} reason`).to.be.greaterThan(60);
        }
      });

      it('the bash remediation oscap generates leaves the exceptions out and sets the FIPS:EKS-SSH crypto policy', () => {
        const fix = oscap(['xccdf', 'generate', 'fix', '--fix-type', 'bash', '--profile', TAILORED_PROFILE, '--tailoring-file', tailoringFile(major), datastreamFile(major)]);
        expect(fix.status, fix.stderr).to.equal(0);
        const remediated = new Set([...fix.stdout.matchAll(/Remediating rule \d+\/\d+: '([^']+)'/g)].map((m) => m[1].replace(RULE_PREFIX, '')));
        const t = readTailoring(major);
        expect(remediated.size).to.be.greaterThan(100);
        for (const e of t.exceptions) expect(remediated.has(e.rule), e.rule).to.equal(false);
        expect(remediated.has('configure_crypto_policy')).to.equal(true);
        expect(fix.stdout).to.include("var_system_crypto_policy='FIPS:EKS-SSH'");
        expect(fix.stdout).not.to.match(/var_system_crypto_policy='FIPS'/);
        // The untailored profile would remediate the forwarding rule: the tailoring is what removes it.
        const plain = oscap(['xccdf', 'generate', 'fix', '--fix-type', 'bash', '--profile', STIG_PROFILE, datastreamFile(major)]);
        for (const rule of IPV4_FORWARDING[major]) expect(plain.stdout).to.include(`: '${RULE_PREFIX}${rule}'`);
      });

      it('keeps the rules that do not break a worker: no kernel module rule blocks the runtime\'s modules, no noexec rule covers its paths', () => {
        const rules = [...dataStream(major).stigRules].map((r) => r.replace(RULE_PREFIX, ''));
        const modules = rules.filter((r) => r.startsWith('kernel_module_'));
        expect(modules.length).to.be.greaterThan(3);
        for (const r of modules) expect(r, 'a module the runtime loads').not.to.match(/overlay|br_netfilter|bridge|nf_conntrack|ip_vs/);
        const noexec = rules.filter((r) => /^mount_option_.*noexec/.test(r));
        expect(noexec.length).to.be.greaterThan(3);
        for (const r of noexec) expect(r, 'a path containerd, kubelet or the CNI execute from').not.to.match(/^mount_option_(var_lib|opt|usr)_|containerd|kubelet|^mount_option_var_noexec$/);
      });
    });
  }

  it('RHEL 10: the data stream carries no DISA RHEL-10 ids, so the tailoring names none (revisit both with DISA-based content)', () => {
    // When a data stream with DISA's RHEL 10 STIG (SSG 0.1.80+) replaces SSG 0.1.76 here, this fails: then
    // fill in the RHEL-10 ids and recheck the rule selection against it.
    const text = readFileSync(datastreamFile('10'), 'utf8');
    expect(text.match(/RHEL-10-\d{6}/)).to.equal(null);
    expect(new Set(readTailoring('10').exceptions.map((e) => e.stigId))).to.deep.equal(new Set(['none']));
  });

  it('EXCEPTIONS.md is the table generated from the tailoring files (node_modules/.bin/tsx test/stig/exceptions.ts)', () => {
    expect(readFileSync(EXCEPTIONS_FILE, 'utf8')).to.equal(renderExceptions());
  });
});
