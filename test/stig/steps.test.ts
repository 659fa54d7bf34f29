// fips.sh, fips-check.sh, stig-remediate.sh and stig-scan.sh run for real in a throw-away Debian root
// (test/support/sandbox.ts), and their place in provisioners/steps.json.
// Stubbed, because this host cannot provide them (see the stubs' headers in rehearsal/stubs/):
//  - fips-mode-setup: there is no FIPS-capable kernel or RHEL crypto module here. The stub records --enable
//    and answers --check from that record, the crypto policy and /proc/sys/crypto/fips_enabled.
//  - the kernel's /proc/sys/crypto/fips_enabled: this host's kernel has no FIPS support (no /proc/sys/crypto).
//    runStepBooted() mounts a directory with the flag over /proc/sys inside the step's own mount namespace,
//    set to what the kernel would report after the reboot (1 only if fips-mode-setup --enable ran).
//  - oscap: there is no RHEL system to remediate or evaluate and no RHEL packages. The stub records argv,
//    refuses missing content like the real one and writes ARF/HTML with a score the test sets in
//    /.stubs/state/. One test feeds stig-scan.sh an ARF written by the REAL oscap instead.
//  - dnf/rpm, update-crypto-policies (RHEL only). Installing scap-security-guide lays Debian's copy of the
//    real SSG data stream where RHEL's package puts it.
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, Sandbox, WORK_DIR } from '../support/sandbox.ts';
import { contractEnv, fixtures, type Fixtures } from '../provisioners/fixtures.ts';
import {
  MAJORS, TAILORED_PROFILE, bootedFips, datastreamFile, instanceDatastream, instanceTailoring, requireSsgContent, runStepBooted, tailoringFile, type Major,
} from './stig.ts';

interface Step { script: string; expect_disconnect?: boolean; pause_before?: string; downloads?: string[]; variants?: string[] }
const allSteps = JSON.parse(readFileSync(join(REPO, 'provisioners', 'steps.json'), 'utf8')) as Step[];
const sequence = (variant: string) => allSteps.filter((s) => !s.variants || s.variants.includes(variant));

describe('STIG steps: FIPS, OpenSCAP remediation and scan', function () {
  this.timeout(120_000);
  let f: Fixtures;
  let sandbox: Sandbox | undefined;
  const datastreams = new Map<Major, string>();
  before(async () => {
    requireSsgContent();
    f = await fixtures();
    for (const major of MAJORS) datastreams.set(major, readFileSync(datastreamFile(major), 'utf8'));
  });
  afterEach(() => sandbox?.destroy());
  const fresh = () => (sandbox = Sandbox.create());
  const env = (overrides: Record<string, string> = {}) => contractEnv(f, { VARIANT: 'stig', ...overrides });
  /** What `dnf install scap-security-guide` puts on RHEL: the SSG data streams (Debian's copy of the same content). */
  const withContent = (sb: Sandbox, major: Major) =>
    sb.addPayload('scap-security-guide', { [instanceDatastream(major).slice(1)]: datastreams.get(major)! });
  const oscapCalls = (sb: Sandbox) => sb.calls('oscap').map((c) => c.slice(1));

  describe('steps.json', () => {
    it('standard builds run exactly the standard steps, none of the STIG ones', () => {
      expect(sequence('standard').map((s) => s.script)).to.deep.equal([
        'base-os.sh', 'os-update.sh', 'cgroups.sh', 'reboot.sh', 'rootfs.sh', 'kernel-modules.sh', 'aws-cli.sh', 'containerd.sh',
        'cni-plugins.sh', 'kubernetes.sh', 'ssm-agent.sh', 'sandbox-image.sh', 'time-sync.sh', 'rhel-network.sh', 'ssh-hardening.sh',
        'selinux-labels.sh', 'inventory.sh', 'sbom.sh', 'cleanup.sh', 'validate.sh',
      ]);
    });

    it('STIG builds: FIPS before the first reboot and checked after it; remediation after everything is installed and after ssh-hardening; scan after a second reboot; downloads before cleanup', () => {
      const stig = sequence('stig');
      const at = (script: string, from = 0) => stig.findIndex((s, i) => i >= from && s.script === script);
      const firstReboot = at('reboot.sh');
      const secondReboot = at('reboot.sh', firstReboot + 1);
      expect(at('fips.sh')).to.be.within(at('base-os.sh') + 1, firstReboot - 1);
      expect(at('fips-check.sh')).to.be.greaterThan(firstReboot);
      expect(at('fips.sh'), 'FIPS sets the base policy that ssh-hardening extends').to.be.lessThan(at('ssh-hardening.sh'));
      for (const installed of ['containerd.sh', 'cni-plugins.sh', 'kubernetes.sh', 'ssm-agent.sh', 'rhel-network.sh', 'selinux-labels.sh', 'ssh-hardening.sh']) {
        expect(at('stig-remediate.sh'), installed).to.be.greaterThan(at(installed));
      }
      expect(secondReboot).to.equal(at('stig-remediate.sh') + 1);
      expect(stig[secondReboot].expect_disconnect).to.equal(true);
      expect(stig[secondReboot + 1].script).to.equal('stig-scan.sh');
      expect(stig[secondReboot + 1].pause_before).to.match(/^(\d+[sm]|reboot_pause)$/);
      const scan = stig[at('stig-scan.sh')];
      expect(scan.downloads).to.deep.equal(['stig-arf.xml', 'stig-report.html', 'stig-score.json']);
      expect(at('stig-scan.sh')).to.be.lessThan(at('inventory.sh'));
      expect(at('stig-scan.sh')).to.be.lessThan(at('cleanup.sh'));
      expect(stig.at(-1)?.script).to.equal('validate.sh');
      // RHEL 10 cannot enable FIPS during the build: the source image is checked before anything else runs.
      expect(stig[0].script).to.equal('fips-preflight.sh');
      for (const s of ['fips-preflight.sh', 'fips.sh', 'fips-check.sh', 'stig-remediate.sh', 'stig-scan.sh']) {
        expect(allSteps.find((x) => x.script === s)?.variants, s).to.deep.equal(['stig']);
      }
    });
  });

  describe('fips.sh and fips-check.sh', () => {
    it('enables FIPS mode and asks for a reboot; before the reboot the check fails naming both findings', async () => {
      const sb = fresh();
      const enable = await runStepBooted(sb, 'fips.sh', env());
      expect(enable.status, enable.output).to.equal(0);
      expect(sb.calls('fips-mode-setup').map((c) => c.slice(1))).to.deep.equal([['--check'], ['--enable']]);
      expect(sb.read(`${WORK_DIR}/reboot-required`)).to.include('FIPS mode enabled');
      expect(sb.read('/.stubs/state/crypto-policy').trim(), 'fips-mode-setup sets the FIPS policy').to.equal('FIPS');
      // Still the same boot: the kernel was started without fips=1.
      const early = await runStepBooted(sb, 'fips-check.sh', env(), 0);
      expect(early.status).to.not.equal(0);
      expect(early.stderr).to.include('FIPS mode is not in effect after the reboot');
      expect(early.stderr).to.include('Inconsistent state detected.').and.include('/proc/sys/crypto/fips_enabled is 0');
    });

    it('after the reboot (kernel reports fips_enabled=1) the check passes', async () => {
      const sb = fresh();
      expect((await runStepBooted(sb, 'fips.sh', env())).status).to.equal(0);
      const check = await runStepBooted(sb, 'fips-check.sh', env(), bootedFips(sb));
      expect(check.status, check.output).to.equal(0);
      expect(check.stderr).to.include("FIPS mode is in effect: fips-mode-setup --check said 'FIPS mode is enabled.' (exit 0); /proc/sys/crypto/fips_enabled is 1");
    });

    it('the check fails when the kernel flag says FIPS but FIPS mode was never set up, and when there is no flag at all', async () => {
      const sb = fresh();
      const noSetup = await runStepBooted(sb, 'fips-check.sh', env(), 1);
      expect(noSetup.status).to.not.equal(0);
      expect(noSetup.stderr).to.include('Inconsistent state detected.');
      const noFlag = await runStepBooted(sb, 'fips-check.sh', env());
      expect(noFlag.status).to.not.equal(0);
      expect(noFlag.stderr).to.include('/proc/sys/crypto/fips_enabled is missing');
    });

    it('fips.sh does nothing on a base image that already runs in FIPS mode', async () => {
      const sb = fresh();
      sb.setStubState('fips-configured', 'by the base image\n');
      sb.setStubState('crypto-policy', 'FIPS\n');
      const result = await runStepBooted(sb, 'fips.sh', env(), 1);
      expect(result.status, result.output).to.equal(0);
      expect(result.stderr).to.include('FIPS mode is already in effect');
      expect(sb.calls('fips-mode-setup').map((c) => c[1])).to.deep.equal(['--check']);
      expect(sb.exists(`${WORK_DIR}/reboot-required`)).to.equal(false);
    });

    it('ssh-hardening.sh after FIPS keeps FIPS as the base policy with the EKS-SSH subpolicy, and FIPS still checks out', async () => {
      const sb = fresh();
      expect((await runStepBooted(sb, 'fips.sh', env())).status).to.equal(0);
      expect((await runStepBooted(sb, 'rootfs.sh', env(), bootedFips(sb))).status).to.equal(0);
      const ssh = await runStepBooted(sb, 'ssh-hardening.sh', env(), bootedFips(sb));
      expect(ssh.status, ssh.output).to.equal(0);
      expect(sb.read('/.stubs/state/crypto-policy').trim()).to.equal('FIPS:EKS-SSH');
      expect((await runStepBooted(sb, 'fips-check.sh', env(), bootedFips(sb))).status).to.equal(0);
    });
  });

  describe('RHEL 10: FIPS only from a FIPS-installed source image (no fips-mode-setup)', () => {
    const env10 = (overrides: Record<string, string> = {}) => env({ RHEL_VERSION: '10', ...overrides });
    /** A RHEL 10 system installed with fips=1: its crypto policy is FIPS from the start. */
    const fipsInstalled = (sb: Sandbox) => sb.setStubState('crypto-policy', 'FIPS\n');

    it('fips-preflight.sh fails at once, saying why and what to use, when the source image is not in FIPS mode', async () => {
      const sb = fresh();
      const result = await runStepBooted(sb, 'fips-preflight.sh', env10(), 0);
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include('variant=stig on RHEL 10 needs a source image installed in FIPS mode');
      expect(result.stderr).to.include("the crypto policy is 'DEFAULT'").and.include('/proc/sys/crypto/fips_enabled is 0');
      expect(result.stderr).to.include('source_ami_id=').and.include('variant=standard');
      expect(sb.calls('fips-mode-setup'), 'RHEL 10 has no fips-mode-setup').to.deep.equal([]);
      // The kernel flag alone is not enough (the FIPS policy is part of a FIPS installation), nor the policy alone.
      const flagOnly = await runStepBooted(sb, 'fips-preflight.sh', env10(), 1);
      expect(flagOnly.status).to.not.equal(0);
      fipsInstalled(sb);
      const policyOnly = await runStepBooted(sb, 'fips-preflight.sh', env10(), 0);
      expect(policyOnly.status).to.not.equal(0);
    });

    it('fips-preflight.sh passes on a FIPS-installed image; fips.sh and fips-check.sh then confirm it without fips-mode-setup or a reboot', async () => {
      const sb = fresh();
      fipsInstalled(sb);
      for (const script of ['fips-preflight.sh', 'fips.sh', 'fips-check.sh']) {
        const result = await runStepBooted(sb, script, env10(), 1);
        expect(result.status, `${script}: ${result.output}`).to.equal(0);
        expect(result.stderr, script).to.include("the crypto policy is 'FIPS' (update-crypto-policies --show, exit 0); /proc/sys/crypto/fips_enabled is 1");
      }
      expect(sb.calls('fips-mode-setup')).to.deep.equal([]);
      expect(sb.exists(`${WORK_DIR}/reboot-required`)).to.equal(false);
    });

    it('fips.sh on a RHEL 10 instance not in FIPS mode fails instead of calling fips-mode-setup; fips-check.sh accepts FIPS:EKS-SSH', async () => {
      const sb = fresh();
      const result = await runStepBooted(sb, 'fips.sh', env10(), 0);
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include('RHEL 10 cannot switch to FIPS mode after installation');
      expect(sb.calls('fips-mode-setup')).to.deep.equal([]);
      sb.setStubState('crypto-policy', 'FIPS:EKS-SSH\n');
      expect((await runStepBooted(sb, 'fips-check.sh', env10(), 1)).status).to.equal(0);
    });

    it('on RHEL 8 and 9 fips-preflight.sh checks nothing (fips.sh enables FIPS later)', async () => {
      const sb = fresh();
      for (const major of ['8', '9']) {
        const result = await runStepBooted(sb, 'fips-preflight.sh', env({ RHEL_VERSION: major }), 0);
        expect(result.status, result.output).to.equal(0);
        expect(result.stderr).to.include(`RHEL ${major}: fips.sh enables FIPS mode during the build`);
      }
      expect(sb.calls('fips-mode-setup')).to.deep.equal([]);
    });
  });

  describe('stig-remediate.sh', () => {
    for (const major of MAJORS) {
      it(`RHEL ${major}: installs OpenSCAP and SSG in one dnf transaction, remediates with the tailored profile and this major's tailoring and data stream, asks for a reboot`, async () => {
        const sb = fresh();
        withContent(sb, major);
        const result = await runStepBooted(sb, 'stig-remediate.sh', env({ RHEL_VERSION: major }));
        expect(result.status, result.output).to.equal(0);
        expect(sb.calls('dnf').map((c) => c.slice(1))).to.deep.equal([['install', '-y', 'openscap-scanner', 'scap-security-guide']]);
        expect(oscapCalls(sb)).to.deep.equal([
          ['xccdf', 'eval', '--profile', TAILORED_PROFILE, '--tailoring-file', instanceTailoring(major), '--remediate', instanceDatastream(major)],
        ]);
        expect(sb.read(`${WORK_DIR}/reboot-required`)).to.include('STIG remediation applied');
        // oscap writes the fix scripts it runs under TMPDIR: inside WORK_DIR, never a noexec /tmp.
        expect(sb.read('/.stubs/state/oscap-tmpdir').trim()).to.equal(`${WORK_DIR}/scratch/oscap`);
        expect(result.stderr).to.include('oscap: finished; some rules did not pass (exit 2)');
      });
    }

    it('treats oscap exit 0 as done and any status other than 0 and 2 as a failure (no reboot asked)', async () => {
      const sb = fresh();
      withContent(sb, '9');
      sb.setStubState('oscap-status', '0');
      const clean = await runStepBooted(sb, 'stig-remediate.sh', env());
      expect(clean.status, clean.output).to.equal(0);
      expect(clean.stderr).to.include('oscap: every selected rule passed');
      await sb.exec(['rm', '-f', `${WORK_DIR}/reboot-required`]);
      sb.setStubState('oscap-status', '1');
      const broken = await runStepBooted(sb, 'stig-remediate.sh', env());
      expect(broken.status).to.not.equal(0);
      expect(broken.stderr).to.include('oscap xccdf eval failed with exit status 1');
      expect(sb.exists(`${WORK_DIR}/reboot-required`)).to.equal(false);
    });

    it('fails naming the data stream when scap-security-guide did not provide it', async () => {
      const sb = fresh();
      const result = await runStepBooted(sb, 'stig-remediate.sh', env({ RHEL_VERSION: '8' }));
      expect(result.status).to.not.equal(0);
      expect(result.stderr).to.include(`SCAP data stream ${instanceDatastream('8')} is missing (package scap-security-guide)`);
      expect(oscapCalls(sb)).to.deep.equal([]);
    });
  });

  describe('stig-scan.sh', () => {
    const scan = (sb: Sandbox, overrides: Record<string, string> = {}) => runStepBooted(sb, 'stig-scan.sh', env(overrides));
    /** The scan runs on a remediated instance: stig-remediate.sh installed the content (and ran oscap once). */
    const remediated = async (major: Major) => {
      const sb = fresh();
      withContent(sb, major);
      const result = await runStepBooted(sb, 'stig-remediate.sh', env({ RHEL_VERSION: major }));
      expect(result.status, result.output).to.equal(0);
      return sb;
    };
    const score = (sb: Sandbox) => JSON.parse(sb.read(`${WORK_DIR}/stig-score.json`));

    it('writes the ARF, the HTML report and stig-score.json into WORK_DIR (readable for the download) with the same profile and tailoring', async () => {
      const sb = await remediated('9');
      sb.setStubState('oscap-score', '87.250000');
      sb.setStubState('oscap-results', 'pass 349\nfail 51\nnotapplicable 90\nnotchecked 6\nnotselected 800\n');
      const result = await scan(sb);
      expect(result.status, result.output).to.equal(0);
      expect(oscapCalls(sb).slice(1)).to.deep.equal([[
        'xccdf', 'eval', '--profile', TAILORED_PROFILE, '--tailoring-file', instanceTailoring('9'),
        '--results-arf', `${WORK_DIR}/stig-arf.xml`, '--report', `${WORK_DIR}/stig-report.html`, instanceDatastream('9'),
      ]]);
      for (const file of ['stig-arf.xml', 'stig-report.html', 'stig-score.json']) {
        expect(statSync(sb.path(`${WORK_DIR}/${file}`)).mode & 0o777, file).to.equal(0o644);
      }
      expect(sb.read(`${WORK_DIR}/stig-report.html`)).to.include(TAILORED_PROFILE);
      const s = score(sb);
      expect(s).to.include({ score: 87.25, maximum: 100, min_score: 0, profile: TAILORED_PROFILE, tailoring: 'ssg-rhel9-stig-tailoring.xml' });
      expect(s).to.include({ pass: 349, fail: 51, notapplicable: 90, notchecked: 6, error: 0, unknown: 0, fixed: 0, informational: 0 });
      expect(s.datastream).to.equal(instanceDatastream('9'));
      expect(s).not.to.have.property('notselected');
      expect(result.stderr).to.include('no STIG_MIN_SCORE threshold; score 87.25');
    });

    it('STIG_MIN_SCORE: fails below it naming both numbers, passes at and above it; the files are written either way', async () => {
      const sb = await remediated('8');
      sb.setStubState('oscap-score', '71.500000');
      const below = await scan(sb, { RHEL_VERSION: '8', STIG_MIN_SCORE: '71.6' });
      expect(below.status).to.not.equal(0);
      expect(below.stderr).to.include('STIG score 71.5 is below STIG_MIN_SCORE 71.6');
      expect(score(sb).min_score).to.equal(71.6);
      const equal = await scan(sb, { RHEL_VERSION: '8', STIG_MIN_SCORE: '71.5' });
      expect(equal.status, equal.output).to.equal(0);
      expect(equal.stderr).to.include('STIG score 71.5 meets STIG_MIN_SCORE 71.5');
      const above = await scan(sb, { RHEL_VERSION: '8', STIG_MIN_SCORE: '70' });
      expect(above.status, above.output).to.equal(0);
      const invalid = await scan(sb, { RHEL_VERSION: '8', STIG_MIN_SCORE: 'high' });
      expect(invalid.status).to.not.equal(0);
      expect(invalid.stderr).to.include('STIG_MIN_SCORE=high is not a number');
    });

    it('reads the score and rule results from an ARF written by the real oscap (a tailored scan of this Debian host)', async () => {
      // The real oscap evaluates the real RHEL 9 content here; on Debian every selected rule is
      // "notapplicable" and the score is 0, but the ARF has the real structure (TestResult, score, embedded
      // data stream, OCIL results) that the step must parse.
      const dir = mkdtempSync(join(tmpdir(), 'stig-arf-'));
      try {
        const arf = join(dir, 'arf.xml');
        const real = capture('oscap', ['xccdf', 'eval', '--profile', TAILORED_PROFILE, '--tailoring-file', tailoringFile('9'), '--results-arf', arf, datastreamFile('9')], { cwd: dir});
        expect(real.status, real.stderr).to.be.oneOf([0, 2]);
        const text = readFileSync(arf, 'utf8');
        const testResult = text.slice(text.indexOf('<TestResult'), text.indexOf('</TestResult>'));
        const count = (r: string) => testResult.split(`<result>${r}</result>`).length - 1;
        const expectedScore = Number(/<score system="urn:xccdf:scoring:default"[^>]*>([^<]+)</.exec(testResult)?.[1]);
        const sb = await remediated('9');
        sb.setStubState('oscap-arf', text);
        const result = await scan(sb);
        expect(result.status, result.output).to.equal(0);
        const s = score(sb);
        expect(s.score).to.equal(expectedScore);
        expect(s.notapplicable).to.equal(count('notapplicable')).and.be.greaterThan(400);
        expect(s.pass).to.equal(count('pass'));
        expect(s.fail).to.equal(count('fail'));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
