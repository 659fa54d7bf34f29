// Facts kept as data: partitions, ECR accounts, instance architectures, supported minors.
import { expect } from 'chai';
import { archOfInstanceType } from '../../src/data/instance-types.ts';
import { kubernetesMinors } from '../../src/data/catalog.ts';
import { compareVersions, lifecycleWarning, minorLifecycle, needsContainerd2, supportedMinors } from '../../src/data/minors.ts';
import { eksRegistry, partitionOf, regionFacts } from '../../src/data/partitions.ts';

describe('partition data', () => {
  it('knows every partition, its domain and Red Hat owner', () => {
    const cases: [string, string, string, string | null][] = [
      ['us-west-2', 'aws', 'amazonaws.com', '309956199498'],
      ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com', '219670896067'],
      ['cn-north-1', 'aws-cn', 'amazonaws.com.cn', '841258680906'],
      ['us-iso-east-1', 'aws-iso', 'c2s.ic.gov', null],
      ['us-isob-east-1', 'aws-iso-b', 'sc2s.sgov.gov', null],
      ['eu-isoe-west-1', 'aws-iso-e', 'cloud.adc-e.uk', null],
      ['us-isof-south-1', 'aws-iso-f', 'csp.hci.ic.gov', null],
    ];
    for (const [region, partition, suffix, owner] of cases) {
      expect(regionFacts(region), region).to.include({ partition, dnsSuffix: suffix, redHatOwner: owner });
    }
    expect(partitionOf('mars-west-1')).to.equal(undefined);
  });

  it('points each region at the ECR account that serves EKS images there', () => {
    expect(eksRegistry(regionFacts('us-west-2')!)).to.equal('602401143452.dkr.ecr.us-west-2.amazonaws.com');
    expect(eksRegistry(regionFacts('us-gov-west-1')!)).to.equal('013241004608.dkr.ecr.us-gov-west-1.amazonaws.com');
    expect(eksRegistry(regionFacts('us-gov-east-1')!)).to.equal('151742754352.dkr.ecr.us-gov-east-1.amazonaws.com');
    expect(eksRegistry(regionFacts('cn-northwest-1')!)).to.equal('961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn');
    expect(eksRegistry(regionFacts('ap-east-1')!)).to.equal('800184023465.dkr.ecr.ap-east-1.amazonaws.com');
  });

  it('marks ecr-fips only where it exists', () => {
    expect(regionFacts('us-gov-west-1')!.ecrFips).to.equal(true);
    expect(regionFacts('us-east-1')!.ecrFips).to.equal(true);
    expect(regionFacts('eu-west-1')!.ecrFips).to.equal(false);
  });
});

describe('instance type architecture', () => {
  it('recognises Graviton families and leaves x86 ones alone', () => {
    for (const type of ['m6g.large', 'c7gn.xlarge', 'r8g.2xlarge', 't4g.nano', 'x2gd.large', 'im4gn.large', 'is4gen.large', 'g5g.xlarge', 'a1.large']) {
      expect(archOfInstanceType(type), type).to.equal('arm64');
    }
    for (const type of ['m5.large', 'm6i.large', 'c6a.xlarge', 'g5.xlarge', 'g4dn.xlarge', 'p4d.24xlarge', 'inf2.xlarge', 'm7i-flex.large', 'u-6tb1.metal']) {
      expect(archOfInstanceType(type), type).to.equal('x86_64');
    }
  });
});

describe('Kubernetes minors', () => {
  it('are listed in numeric order', () => {
    const minors = supportedMinors();
    expect(minors[0]).to.equal('1.28');
    expect([...minors].sort(compareVersions)).to.deep.equal(minors);
    expect(compareVersions('1.28.15', '1.28.3')).to.be.greaterThan(0);
  });

  it('run from 1.28 to 1.37, each with its EKS dates in order (14 months standard, then 12 extended) or none yet', () => {
    expect(supportedMinors().at(-1)).to.equal('1.37');
    for (const [minor, { eks }] of Object.entries(kubernetesMinors)) {
      const dates = [eks.released, eks.end_of_standard_support, eks.end_of_extended_support];
      if (dates.every((d) => d === null)) continue;
      for (const d of dates) expect(d, minor).to.match(/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/);
      const [released, standard, extended] = dates.map((d) => new Date(`${d}T00:00:00Z`));
      const months = (a: Date, b: Date) => (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
      expect(months(released, standard), `${minor} standard support`).to.be.within(13, 15);
      expect(months(standard, extended), `${minor} extended support`).to.equal(12);
    }
    expect(kubernetesMinors['1.37'].eks.released).to.equal(null);
  });

  it('place a minor in its EKS lifecycle on a given day (the day a period ends still belongs to it)', () => {
    const on = (minor: string, day: string) => minorLifecycle(minor, new Date(`${day}T23:59:00Z`)).status;
    expect(on('1.31', '2026-11-26')).to.equal('extended support');
    expect(on('1.31', '2026-11-27')).to.equal('past extended support');
    expect(on('1.34', '2026-11-30')).to.equal('standard support');
    expect(on('1.33', '2026-11-30')).to.equal('extended support');
    expect(on('1.37', '2026-11-30')).to.equal('not yet on EKS');
  });

  it('warn, naming the date and newer minors, only for a minor past extended support (or not on EKS yet)', () => {
    const today = new Date('2026-11-30T00:00:00Z');
    expect(lifecycleWarning('1.30', today)).to.contain('left EKS extended support on 2026-07-23').and.to.contain('1.32 (EKS extended support until 2027-03-23)').and.to.contain("'make 1.36'");
    expect(lifecycleWarning('1.33', today)).to.equal(undefined);
    expect(lifecycleWarning('1.35', today)).to.equal(undefined);
    expect(lifecycleWarning('1.37', today)).to.contain('EKS does not offer Kubernetes 1.37 yet');
  });

  it('need containerd 2 from 1.36 on', () => {
    expect(['1.28', '1.35'].map(needsContainerd2)).to.deep.equal([false, false]);
    expect(['1.36', '1.37'].map(needsContainerd2)).to.deep.equal([true, true]);
  });
});
