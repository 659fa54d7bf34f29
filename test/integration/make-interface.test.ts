// The make interface itself: every name=value reaches the scripts intact; help is generated from data.
import { expect } from 'chai';
import { make } from '../support/make.ts';
import { presetNames } from '../../src/variables/presets.ts';
import { supportedMinors } from '../../src/data/minors.ts';

describe('make interface', function () {
  this.timeout(60_000);

  it('hands every command-line name=value to the build script, quoted, wildcards and spaces intact', () => {
    const result = make(['-n', '1.28', 'source_ami_filter_name=RHEL9_STIG_BASE*2023-04-14*', "ami_description=it's a test", 'iam_role=EC2Role']);
    expect(result.status).to.equal(0);
    const line = result.stdout.trim().split('\n').at(-1)!;
    expect(line).to.contain('scripts/build.ts 1.28');
    expect(line).to.contain("'source_ami_filter_name=RHEL9_STIG_BASE*2023-04-14*'");
    expect(line).to.contain("'ami_description=it'\\''s a test'");
    expect(line).to.contain("'iam_role=EC2Role'");
  });

  it('routes k8s=, plain make and versions to the right script', () => {
    expect(make(['-n', 'k8s=1.29']).stdout).to.match(/scripts\/build\.ts 'k8s=1\.29'/);
    expect(make(['-n']).stdout).to.match(/scripts\/build\.ts\s*$/m);
    expect(make(['-n', 'versions', 'k8s=1.28', 'arch=arm64']).stdout).to.match(/scripts\/versions\.ts .*'arch=arm64'/);
  });

  it('make help lists grouped targets, every preset and minor, and the variables', () => {
    const result = make(['help']);
    expect(result.status).to.equal(0);
    expect(result.stdout).to.match(/^Build$/m).and.to.match(/^Develop$/m);
    expect(result.stdout).to.contain('1.<minor>');
    for (const preset of presetNames()) expect(result.stdout).to.contain(preset);
    expect(result.stdout).to.contain(supportedMinors().join(' '));
    expect(result.stdout).to.contain('kubernetes_version');
  });

  it('fails with exit status 2 on a typo, through make', () => {
    const result = make(['versions', 'k8s=1.28', 'arhc=arm64']);
    expect(result.status).to.equal(2);
    expect(result.stderr).to.contain('Did you mean arch?').and.to.contain('Error 2');
  });
});
