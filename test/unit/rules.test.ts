// Combinations that cannot work are refused before any AWS call, naming the variable and what is allowed.
import { expect } from 'chai';
import { ConfigErrors } from '../../src/errors.ts';
import { configure } from '../../src/variables/configure.ts';
import { isRealDate } from '../../src/variables/rules.ts';

async function problems(...words: string[]): Promise<string> {
  try {
    await configure(words, {});
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigErrors);
    return (error as Error).message;
  }
  return '';
}

describe('cross-field rules', () => {
  it('containerd 2.x needs RHEL 9', async () => {
    expect(await problems('1.28', 'rhel_version=8', 'containerd_version=2.0.4')).to.contain('containerd_version="2.0.4" is not allowed: 1.x on RHEL 8');
    expect(await problems('1.28', 'rhel_version=9', 'containerd_version=2.0.4')).to.equal('');
  });

  it('the instance type must have the architecture of the image', async () => {
    expect(await problems('1.28', 'arch=arm64', 'instance_type=m6i.large')).to.contain('instance_type="m6i.large" is not allowed: an arm64 instance type');
    expect(await problems('1.28', 'arch=x86_64', 'instance_type=c7g.xlarge')).to.contain('c7g.xlarge is arm64');
    expect(await problems('1.28', 'arch=arm64', 'instance_type=c7gn.xlarge')).to.equal('');
    expect(await problems('1.28', 'arch=x86_64', 'instance_type=g5.xlarge')).to.equal('');
  });

  it('regions must exist and ami_regions stay in the build partition', async () => {
    expect(await problems('1.28', 'aws_region=us-west-9')).to.contain('aws_region="us-west-9" is not allowed');
    expect(await problems('1.28', 'aws_region=us-gov-west-1', 'ami_regions=us-east-1')).to.contain('us-east-1 is in aws; AMIs cannot be copied across partitions');
    expect(await problems('1.28', 'aws_region=us-gov-west-1', 'ami_regions=us-gov-east-1')).to.equal('');
  });

  it('ids and keys have their AWS formats', async () => {
    expect(await problems('1.28', 'subnet_id=subnet-12')).to.contain('subnet_id="subnet-12"');
    expect(await problems('1.28', 'security_group_id=sg-zz')).to.contain('security_group_id="sg-zz"');
    expect(await problems('1.28', 'source_ami_id=ami-xyz')).to.contain('source_ami_id="ami-xyz"');
    expect(await problems('1.28', 'encrypted=true', 'kms_key_id=not-a-key')).to.contain('kms_key_id="not-a-key"');
    expect(
      await problems('1.28', 'encrypted=true', 'aws_region=us-gov-west-1', 'kms_key_id=arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666'),
    ).to.contain('a key in aws-us-gov us-gov-west-1');
    expect(
      await problems('1.28', 'encrypted=true', 'aws_region=us-gov-west-1', 'kms_key_id=arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666'),
    ).to.equal('');
    expect(await problems('1.28', 'kms_key_id=alias/ebs')).to.contain('encrypted=false is not allowed: true when kms_key_id is set');
  });

  it('volume settings fit the volume type', async () => {
    expect(await problems('1.28', 'volume_size=4')).to.contain('volume_size=4');
    expect(await problems('1.28', 'volume_type=st1')).to.contain('volume_type="st1" is not allowed: one of gp2, gp3, io1, io2');
    expect(await problems('1.28', 'volume_type=gp3', 'volume_iops=20000')).to.contain('3000–16000 for gp3');
    expect(await problems('1.28', 'volume_type=gp2', 'volume_throughput=300')).to.contain('Throughput applies to gp3 only');
    expect(await problems('1.28', 'volume_type=io2', 'volume_iops=64000')).to.equal('');
  });

  it('an explicit Kubernetes version matches the minor and its build date is a real date', async () => {
    expect(await problems('1.28', 'kubernetes_version=1.29.3')).to.contain('a 1.28.x version');
    expect(await problems('1.28', 'kubernetes_version=1.28.3', 'kubernetes_build_date=2023-02-30')).to.contain('a real calendar date');
    expect(await problems('1.28', 'kubernetes_build_date=2023-11-14')).to.contain('set only together with kubernetes_version');
    expect(await problems('1.12')).to.contain('k8s="1.12" is not allowed: a supported minor');
    expect(isRealDate('2024-02-29')).to.equal(true);
    expect(isRealDate('2023-02-29')).to.equal(false);
  });

  it('session_manager needs an instance profile', async () => {
    expect(await problems('1.28', 'ssh_interface=session_manager')).to.contain('iam_instance_profile');
    expect(await problems('1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role')).to.equal('');
  });

  it('partitions without Red Hat images or the public bucket ask for the user\'s own', async () => {
    const iso = await problems('1.28', 'aws_region=us-iso-east-1');
    expect(iso).to.contain('source_ami_owners').and.to.contain('Red Hat publishes no AMIs there');
    expect(iso).to.contain("Mirror the binaries with 'make stage'");
  });

  it('reports every problem at once', async () => {
    const message = await problems('1.28', 'arch=sparc', 'volume_size=1', 'ssh_timeout=forever');
    expect(message.split('\n')).to.have.length(3);
  });
});
