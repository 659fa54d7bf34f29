// The STIG variant's whole build, every step of provisioners/steps.json for VARIANT=stig in order, in one
// throw-away Debian root: FIPS enabled and in effect after the first reboot, the remediation and the scan
// with the tailored profile, the scan's files present for the download, the FIPS:EKS-SSH policy kept,
// cleanup leaving only what validate.sh needs, and validate.sh passing its STIG checks and removing WORK_DIR.
// Stubbed as in test/provisioners/pipeline.test.ts (dnf, rpm, grubby, semanage/restorecon/matchpathcon,
// modprobe/lsmod, update-crypto-policies) plus, as in steps.test.ts, fips-mode-setup, oscap and the kernel's
// FIPS flag. A reboot: the chroot has no systemd, so reboot.sh's "systemctl reboot" fails after recording the
// boot it leaves; the test then "boots" the next steps with a new boot id and the kernel flag the FIPS setup implies.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, Sandbox, WORK_DIR } from '../support/sandbox.ts';
import { contractEnv, fixtures, sandboxOptions, type Fixtures } from '../provisioners/fixtures.ts';
import { TAILORED_PROFILE, bootedFips, datastreamFile, instanceDatastream, modelReboot, requireSsgContent, runStepBooted } from './stig.ts';

interface Step { script: string; downloads?: string[]; variants?: string[] }
const steps = (JSON.parse(readFileSync(join(REPO, 'provisioners', 'steps.json'), 'utf8')) as Step[]).filter(
  (s) => !s.variants || s.variants.includes('stig'),
);

describe('STIG variant: the whole build in order, downloads, cleanup, validate', function () {
  this.timeout(180_000);
  let f: Fixtures;
  let sb: Sandbox;
  let kernelFips: 0 | 1 | undefined;
  const downloaded = new Map<string, string>();
  const env = () => contractEnv(f, { VARIANT: 'stig', STIG_MIN_SCORE: '75' });

  before(async () => {
    requireSsgContent();
    f = await fixtures();
    sb = Sandbox.create(sandboxOptions(f));
    sb.addPayload('amazon-ssm-agent', {
      'usr/lib/systemd/system/amazon-ssm-agent.service': '[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n',
    });
    sb.addPayload('scap-security-guide', { [instanceDatastream('9').slice(1)]: readFileSync(datastreamFile('9'), 'utf8') });
    sb.setStubState('oscap-score', '81.300000');
    // The first boot: the base image's kernel is not in FIPS mode.
    kernelFips = 0;
    for (const step of steps) {
      if (step.script === 'validate.sh') break;
      const result = await runStepBooted(sb, step.script, env(), kernelFips);
      if (step.script === 'reboot.sh') {
        expect(result.stderr, 'reboot.sh acted on the marker').to.include('rebooting:');
        // The marker stays until a step after the reboot sees a new boot id (a reboot that never happened must
        // not be forgotten).
        expect(sb.exists(`${WORK_DIR}/reboot-required`)).to.equal(true);
        modelReboot(sb);
        kernelFips = bootedFips(sb);
        continue;
      }
      expect(result.status, `${step.script}: ${result.output}`).to.equal(0);
      for (const file of step.downloads ?? []) downloaded.set(file, sb.read(`${WORK_DIR}/${file}`));
    }
  });
  after(() => sb?.destroy());

  it('rebooted into FIPS mode before the node software was installed, and twice in all', () => {
    expect(kernelFips).to.equal(1);
    expect(steps.filter((s) => s.script === 'reboot.sh')).to.have.length(2);
    const calls = sb.calls().map((c) => c[0]);
    expect(calls.indexOf('fips-mode-setup')).to.be.lessThan(calls.indexOf('modprobe'));
  });

  it('remediated and scanned with the tailored profile; the template downloads the ARF, the report and the score', () => {
    const evals = sb.calls('oscap').map((c) => c.slice(1));
    expect(evals).to.have.length(2);
    expect(evals[0]).to.include('--remediate').and.include(TAILORED_PROFILE);
    expect(evals[1]).to.include('--results-arf').and.include(TAILORED_PROFILE);
    expect([...downloaded.keys()]).to.include.members(['stig-arf.xml', 'stig-report.html', 'stig-score.json', 'version-info.json']);
    expect(JSON.parse(downloaded.get('stig-score.json')!)).to.include({ score: 81.3, min_score: 75, profile: TAILORED_PROFILE });
    expect(downloaded.get('stig-arf.xml')).to.include('urn:xccdf:scoring:default');
  });

  it('kept the EKS-SSH subpolicy on the FIPS policy', () => {
    expect(sb.read('/.stubs/state/crypto-policy').trim()).to.equal('FIPS:EKS-SSH');
  });

  it('cleanup removed the scan files except the score validate.sh reads', () => {
    expect(sb.exists(`${WORK_DIR}/stig-arf.xml`)).to.equal(false);
    expect(sb.exists(`${WORK_DIR}/stig-report.html`)).to.equal(false);
    expect(sb.exists(`${WORK_DIR}/scratch`)).to.equal(false);
    expect(sb.exists(`${WORK_DIR}/stig-score.json`)).to.equal(true);
  });

  it('validate fails when FIPS mode is not in effect or the score file is missing', async () => {
    const notFips = await runStepBooted(sb, 'validate.sh', env(), 0);
    expect(notFips.status).to.not.equal(0);
    expect(notFips.stderr).to.include('FIPS mode must be in effect');
    await sb.exec(['mv', `${WORK_DIR}/stig-score.json`, '/root/score.json']);
    const noScore = await runStepBooted(sb, 'validate.sh', env(), 1);
    expect(noScore.status).to.not.equal(0);
    expect(noScore.stderr).to.include(`${WORK_DIR}/stig-score.json must exist with the score of the ${TAILORED_PROFILE} scan`);
    await sb.exec(['mv', '/root/score.json', `${WORK_DIR}/stig-score.json`]);
  });

  it('validate passes on the finished STIG image and removes WORK_DIR', async () => {
    const result = await runStepBooted(sb, 'validate.sh', env(), 1);
    expect(result.status, result.output).to.equal(0);
    expect(result.stderr).to.include('STIG: FIPS mode, crypto policy, scan score');
    expect(result.stderr).to.match(/all \d+ checks passed/);
    expect(sb.exists(WORK_DIR)).to.equal(false);
  });
});
