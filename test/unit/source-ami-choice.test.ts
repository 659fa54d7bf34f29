// Which source image wins: RHEL release parsed from the name first, creation date second.
import { expect } from 'chai';
import { defaultSourceAmiFilter } from '../../src/resolve/source-ami.ts';
import { rankImages, rhelReleaseOf, type SourceAmi } from '../../src/resolve/source-ami.ts';

/** EC2's name filter: only * and ? are wildcards, everything else (brackets too) is literal. */
const ec2NameMatch = (pattern: string, name: string): boolean =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(name);

const ami = (name: string, creationDate: string): SourceAmi => ({
  id: `ami-${name.length}${creationDate.replace(/-/g, '')}`,
  name,
  owner: '309956199498',
  creationDate,
  rootDeviceName: '/dev/sda1',
  rhelRelease: rhelReleaseOf(name),
});

describe('source AMI choice', () => {
  it('parses RHEL releases from every naming style', () => {
    expect(rhelReleaseOf('RHEL-9.5.0_HVM-20241211-x86_64-3-Hourly2-GP3')).to.equal('9.5.0');
    expect(rhelReleaseOf('RHEL-8.10.0_HVM-20241016-arm64-61-Hourly2-GP3')).to.equal('8.10.0');
    expect(rhelReleaseOf('RHEL_HA-9.5.0_HVM-20250110-x86_64-5-Hourly2-GP3')).to.equal('9.5.0');
    expect(rhelReleaseOf('RHEL9_STIG_BASE_2023-04-14')).to.equal('9');
    expect(rhelReleaseOf('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3')).to.equal('9.6.0');
    expect(rhelReleaseOf('RHEL-10.0.0_HVM-20251030-x86_64-0-Hourly2-GP3')).to.equal('10.0.0');
    expect(rhelReleaseOf('my-golden-image')).to.equal(undefined);
  });

  it('prefers the newest release over a later rebuild of an older minor', () => {
    const ranked = rankImages(
      [ami('RHEL-8.10.0_HVM-20241016-x86_64-61-Hourly2-GP3', '2024-10-16'), ami('RHEL-8.8.0_HVM-20250210-x86_64-44-Hourly2-GP3', '2025-02-10')],
      'RHEL-8.*',
    );
    expect(ranked[0].name).to.contain('RHEL-8.10.0');
  });

  it('orders 8.10 above 8.9 (numbers, not text) and uses the date between builds of one release', () => {
    const ranked = rankImages(
      [
        ami('RHEL-8.9.0_HVM-20240101-x86_64-1-Hourly2-GP3', '2024-01-01'),
        ami('RHEL-8.10.0_HVM-20240601-x86_64-1-Hourly2-GP3', '2024-06-01'),
        ami('RHEL-8.10.0_HVM-20241016-x86_64-2-Hourly2-GP3', '2024-10-16'),
      ],
      'RHEL-8.*',
    );
    expect(ranked.map((i) => i.creationDate)).to.deep.equal(['2024-10-16', '2024-06-01', '2024-01-01']);
  });

  it('leaves Cloud Access images out unless the filter asks for them', () => {
    const images = [ami('RHEL-9.5.0_HVM-20250320-x86_64-9-Access2-GP3', '2025-03-20'), ami('RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', '2025-01-15')];
    expect(rankImages(images, 'RHEL-9.*')[0].name).to.contain('Hourly2');
    expect(rankImages(images, 'RHEL-9.*Access2*')[0].name).to.contain('Access2');
  });

  it('ranks images without a parsable release after those with one', () => {
    const ranked = rankImages([ami('golden', '2026-01-01'), ami('RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3', '2024-06-05')], '*');
    expect(ranked[0].name).to.contain('RHEL-9.4.0');
  });

  it("the default filter matches Red Hat's GA and rebuild names for its major and arch only, the same in EC2 and in the emulator", () => {
    const rhel9 = defaultSourceAmiFilter(9, 'x86_64');
    for (const name of ['RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', 'RHEL-9.5.0_HVM-20241211-x86_64-3-Hourly2-GP3']) {
      expect(ec2NameMatch(rhel9, name), name).to.equal(true);
    }
    for (const name of ['RHEL-9.6.0_HVM_GA-20250423-arm64-0-Hourly2-GP3', 'RHEL-10.1.0_HVM_GA-20251031-x86_64-0-Hourly2-GP3', 'RHEL-8.10.0_HVM-20241016-x86_64-61-Hourly2-GP3', 'RHEL_HA-9.5.0_HVM-20250110-x86_64-5-Hourly2-GP3']) {
      expect(ec2NameMatch(rhel9, name), name).to.equal(false);
    }
    expect(ec2NameMatch(defaultSourceAmiFilter(10, 'x86_64'), 'RHEL-10.0.0_HVM-20251030-x86_64-0-Hourly2-GP3')).to.equal(true);
    // moto matches names with fnmatch, where [ ] is a character class; EC2 takes brackets literally.
    expect(rhel9).not.to.match(/[[\]]/);
  });

  it('prefers the newest GA release over a later rebuild of an older minor, and a later rebuild of the same release over its GA image', () => {
    const ga = ami('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', '2025-04-23');
    const olderMinor = ami('RHEL-9.5.0_HVM-20250611-x86_64-14-Hourly2-GP3', '2025-06-11');
    expect(rankImages([olderMinor, ga], 'RHEL-9.*_HVM*-x86_64-*')[0]).to.equal(ga);
    const rebuild = ami('RHEL-9.6.0_HVM-20250820-x86_64-2-Hourly2-GP3', '2025-08-20');
    expect(rankImages([ga, olderMinor, rebuild], 'RHEL-9.*_HVM*-x86_64-*')[0]).to.equal(rebuild);
  });

  it('leaves beta, HA and SAP images out unless the filter names them', () => {
    const beta = ami('RHEL-9.7.0_HVM_BETA-20250910-x86_64-0-Hourly2-GP3', '2025-09-10');
    const ha = ami('RHEL_HA-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', '2025-08-01');
    const sap = ami('RHEL-SAP-9.6.0_HVM-20250801-x86_64-0-Hourly2-GP3', '2025-08-01');
    const ga = ami('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', '2025-04-23');
    expect(rankImages([beta, ha, sap, ga], 'RHEL*')).to.deep.equal([ga]);
    expect(rankImages([beta, ga], 'RHEL-9.7.0_HVM_BETA-*')[0]).to.equal(beta);
    expect(rankImages([ha, ga], 'RHEL_HA-9.*')[0]).to.equal(ha);
    expect(rankImages([sap, ga], 'RHEL-SAP-9.*')[0]).to.equal(sap);
  });
});
