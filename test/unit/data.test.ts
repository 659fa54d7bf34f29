// Facts kept as data: partitions, ECR accounts, instance architectures, supported minors.
import { expect } from 'chai';
import { archOfInstanceType } from '../../src/data/instance-types.ts';
import { compareVersions, supportedMinors } from '../../src/data/minors.ts';
import { eksRegistry, partitionOf, regionFacts } from '../../src/data/partitions.ts';

describe('partition data', () => {
  it('knows every partition, its domain and Red Hat owner', () => {
    const cases: [string, string, string, string | null][] = [
      ['us-west-2', 'aws', 'amazonaws.com', '309956199498'],
      ['us-gov-west-1', 'aws-us-gov', 'amazonaws.com', '219670896067'],
      ['cn-north-1', 'aws-cn', 'amazonaws.com.cn', null],
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
});
