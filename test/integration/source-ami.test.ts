// Source image lookup against a real EC2 emulator holding a Red Hat-like catalog.
import { expect } from 'chai';
import { ec2Client, s3Client } from '../../src/aws/clients.ts';
import { ResolutionError } from '../../src/errors.ts';
import { resolveSourceAmi } from '../../src/resolve/resolve.ts';
import { defaultSourceAmiFilter, findSourceAmi, type SourceAmiQuery } from '../../src/resolve/source-ami.ts';
import { configure } from '../../src/variables/configure.ts';
import { currentRedHatCatalog, CUSTOMER, image, RED_HAT, RED_HAT_CN, RED_HAT_GOV } from '../support/images.ts';
import { useEmulator } from '../support/emulated-aws.ts';
import { startMoto } from '../support/moto.ts';

describe('source AMI lookup (moto EC2)', function () {
  this.timeout(60_000);
  const stig = image('RHEL9_STIG_BASE_2023-04-14', CUSTOMER, '2023-04-15');
  const nvme = { ...image('RHEL-9.6.0_HVM-20250601-x86_64-1-Hourly2-GP3', '999999999999', '2025-06-01'), root_device_name: '/dev/xvda' };

  // The code under test finds the emulator through the SDK's standard variables, which useEmulator sets.
  useEmulator(() => startMoto({ amis: [...currentRedHatCatalog(), ...currentRedHatCatalog(RED_HAT_GOV), ...currentRedHatCatalog(RED_HAT_CN), stig, nvme] }));

  const find = (query: Partial<SourceAmiQuery>) =>
    findSourceAmi(ec2Client('us-west-2'), { region: 'us-west-2', owners: [RED_HAT], nameFilter: 'RHEL-9.*_HVM-*-x86_64-*', arch: 'x86_64', ...query });

  // What `make 1.35` (and every default build) looks up: Red Hat's account in the build partition, the default filter.
  const clients = { ec2: ec2Client, s3: (region: string) => s3Client(region) };
  const defaultLookup = async (words: string[]) => (await resolveSourceAmi(await configure(words, {}), clients, () => {})).sourceAmi;

  it('make 1.35 picks the newest RHEL 9 GA image over later-dated rebuilds of older minors, a Cloud Access twin, HA and a beta (commercial, GovCloud, China)', async () => {
    for (const [region, owner] of [['us-west-2', RED_HAT], ['us-gov-west-1', RED_HAT_GOV], ['cn-north-1', RED_HAT_CN]]) {
      const ami = await defaultLookup(['1.35', `aws_region=${region}`]);
      expect(ami, region).to.include({ name: 'RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', owner, rhelRelease: '9.6.0', rootDeviceName: '/dev/sda1' });
    }
    expect((await defaultLookup(['1.35', 'arch=arm64'])).name).to.equal('RHEL-9.6.0_HVM_GA-20250423-arm64-0-Hourly2-GP3');
  });

  it('the default filter sees rebuild names too: the newest RHEL 10 release wins over a later 10.0 rebuild, and RHEL 8 (rebuilds only) still resolves', async () => {
    expect((await find({ nameFilter: defaultSourceAmiFilter(10, 'x86_64') })).name).to.equal('RHEL-10.1.0_HVM_GA-20251031-x86_64-0-Hourly2-GP3');
    expect((await defaultLookup(['1.35', 'rhel_version=8'])).name).to.equal('RHEL-8.10.0_HVM-20241016-x86_64-61-Hourly2-GP3');
  });

  it('a broad filter still leaves HA and Cloud Access images out; naming them picks them', async () => {
    expect((await find({ nameFilter: 'RHEL*9.6.0*x86_64*' })).name).to.equal('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3');
    expect((await find({ nameFilter: 'RHEL_HA-9.*' })).name).to.equal('RHEL_HA-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3');
    expect((await find({ nameFilter: 'RHEL-9.*_HVM*-x86_64-*-Access2-GP3' })).name).to.equal('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Access2-GP3');
  });

  it('says which kinds were left out when only they match', async () => {
    try {
      await find({ nameFilter: 'RHEL-9.7.0*' });
      expect.fail('a beta image was chosen without asking');
    } catch (error) {
      expect(error).to.be.instanceOf(ResolutionError);
      expect((error as Error).message).to.contain('left out: 1 beta image');
    }
    expect((await find({ nameFilter: 'RHEL-9.7.0_HVM_BETA-*' })).name).to.contain('BETA');
  });

  it('picks 8.10 over an 8.8 EUS image published after it', async () => {
    expect((await find({ nameFilter: 'RHEL-8.*_HVM-*-x86_64-*' })).name).to.equal('RHEL-8.10.0_HVM-20241016-x86_64-61-Hourly2-GP3');
  });

  it('filters by architecture', async () => {
    expect((await find({ arch: 'arm64', nameFilter: 'RHEL-9.*_HVM-*' })).name).to.contain('arm64');
  });

  it('takes Cloud Access images only when the filter names them', async () => {
    expect((await find({ nameFilter: 'RHEL-9.*_HVM-*-x86_64-*-Access2-GP3' })).name).to.contain('Access2');
  });

  it('finds a customer STIG base by owner and wildcard filter', async () => {
    const ami = await find({ owners: [CUSTOMER], nameFilter: 'RHEL9_STIG_BASE*2023-04-14*' });
    expect(ami).to.include({ id: stig.ami_id, rhelRelease: '9' });
  });

  it("uses the image's own root device name", async () => {
    const ami = await find({ owners: ['999999999999'], nameFilter: 'RHEL-9.6*' });
    expect(ami.rootDeviceName).to.equal('/dev/xvda');
  });

  it('describes a pinned image instead of searching', async () => {
    const ami = await find({ imageId: stig.ami_id });
    expect(ami.name).to.equal('RHEL9_STIG_BASE_2023-04-14');
    try {
      await find({ imageId: stig.ami_id, arch: 'arm64' });
      expect.fail('arch mismatch accepted');
    } catch (error) {
      expect((error as Error).message).to.contain('is x86_64, but arch=arm64');
    }
  });

  it('says what was searched where when nothing matches', async () => {
    try {
      await find({ nameFilter: 'RHEL-7.*' });
      expect.fail('expected a ResolutionError');
    } catch (error) {
      expect(error).to.be.instanceOf(ResolutionError);
      expect((error as Error).message).to.contain('"RHEL-7.*"').and.to.contain(RED_HAT).and.to.contain('us-west-2');
    }
  });
});
