// Combinations that cannot work are refused before any AWS call, naming the variable and what is allowed.
import { expect } from 'chai';
import { ConfigErrors } from '../../src/errors.ts';
import { configure } from '../../src/variables/configure.ts';
import { buildRuleProblems, isRealDate, sessionManagerSourceProblem } from '../../src/variables/rules.ts';

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
  it('Kubernetes 1.36 and later refuse containerd 1.x; containerd 2 is fine on RHEL 8 too (static build)', async () => {
    for (const words of [['1.36'], ['1.37', 'rhel_version=8'], ['kubernetes_version=1.36.2']]) {
      expect(await problems(...words, 'containerd_version=1.7.27'), words.join(' ')).to.contain('containerd_version="1.7.27" is not allowed: 2.x for Kubernetes 1.3');
    }
    expect(await problems('1.35', 'containerd_version=1.7.27')).to.equal('');
    expect(await problems('1.28', 'rhel_version=8', 'containerd_version=2.0.4')).to.equal('');
    expect(await problems('1.36', 'rhel_version=8')).to.equal('');
  });

  it('containerd per minor: 1.7 for 1.28, 2.x from 1.29 on (as the EKS nodes), with the runc it is tested with', async () => {
    const values = async (...words: string[]) => (await configure(words, {})).values;
    expect(await values('1.28')).to.include({ containerd_version: '1.7.27', runc_version: '1.2.6' });
    for (const minor of ['1.29', '1.33', '1.35', '1.36', '1.37']) {
      const v = await values(minor);
      expect(v.containerd_version, minor).to.match(/^2\.[12]\./);
      expect(v.runc_version, minor).to.match(/^1\.3\./);
    }
    expect((await values('1.36', 'preset=rhel8')).containerd_version).to.match(/^2\./);
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

describe('build rules (make 1.28, make rehearse; checked by the pipeline before any AWS call)', () => {
  async function buildProblems(...words: string[]): Promise<string> {
    const config = await configure(words, {});
    return buildRuleProblems({ values: config.values, sourceOf: config.sourceOf, minor: config.minor })
      .map((p) => p.message)
      .join('\n');
  }

  it('outside the aws partition the build instance needs a profile whose role can pull from ECR', async () => {
    for (const region of ['us-gov-west-1', 'cn-north-1']) {
      const message = await buildProblems('1.28', `aws_region=${region}`);
      expect(message, region).to.contain('iam_instance_profile="" is not allowed: an instance profile when building in aws-');
      expect(message).to.contain('ecr:GetAuthorizationToken, ecr:BatchGetImage, ecr:GetDownloadUrlForLayer').and.to.contain('iam_role=');
    }
    expect(await buildProblems('1.28', 'aws_region=us-gov-west-1', 'iam_role=EC2Role')).to.equal('');
    expect(await buildProblems('1.28', 'preset=govcloud-stig', 'iam_instance_profile=EC2Role')).to.equal('');
    // The aws partition falls back to public ECR without a role.
    expect(await buildProblems('1.28', 'aws_region=eu-west-1')).to.equal('');
  });

  it("session_manager is refused for Red Hat's own images (no SSM agent), not for a customer base", async () => {
    const redHat = await buildProblems('1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role');
    expect(redHat).to.contain('ssh_interface="session_manager" is not allowed').and.to.contain("Red Hat's images (owner 309956199498), which ship no SSM agent");
    expect(await buildProblems('1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role', 'source_ami_owners=309956199498')).to.contain('ssh_interface=');
    // The AWS blog's GovCloud STIG command: a customer image with the agent.
    const blog = ['source_ami_owners=123456789012', 'source_ami_filter_name=RHEL9_STIG_BASE*2023-04-14*', 'ami_regions=us-gov-east-1', 'aws_region=us-gov-east-1'];
    expect(await buildProblems('1.28', ...blog, 'binary_bucket_name=my-eks-bucket', 'binary_bucket_region=us-gov-east-1', 'iam_role=EC2Role', 'pull_cni_from_github=false', 'ssh_interface=session_manager')).to.equal('');
    // User data that installs the agent is the user's way to use Red Hat's image with session_manager.
    expect(await buildProblems('1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role', 'user_data_file=README.md')).to.equal('');
    // Mixed owners and source_ami_id are decided on the chosen image.
    expect(await buildProblems('1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role', 'source_ami_owners=309956199498,123456789012')).to.equal('');
    const given = { ssh_interface: 'session_manager', user_data_file: '', aws_region: 'us-west-2' };
    expect(sessionManagerSourceProblem(given, '309956199498')?.message).to.contain("which is Red Hat's (owner 309956199498)");
    expect(sessionManagerSourceProblem(given, '123456789012')).to.equal(undefined);
  });
});

describe('copies encrypted per region (region_kms_key_ids) and the temporary security group', () => {
  const keyEast = 'arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666';
  it('a chosen kms_key_id with copies to other regions needs a key per copy (no silent default key)', async () => {
    const message = await problems('1.28', 'encrypted=true', 'kms_key_id=alias/eks', 'ami_regions=us-east-1');
    expect(message).to.contain('region_kms_key_ids="" is not allowed: a key for each copy (us-east-1) when kms_key_id is set').and.to.contain('region_kms_key_ids=us-east-1=alias/NAME');
    expect(await problems('1.28', 'encrypted=true', 'kms_key_id=alias/eks', 'ami_regions=us-east-1', `region_kms_key_ids=us-east-1=${keyEast}`)).to.equal('');
    // Without a chosen key every region uses its default EBS key: consistent, allowed.
    expect(await problems('1.28', 'encrypted=true', 'ami_regions=us-east-1')).to.equal('');
  });

  it('keys must cover exactly ami_regions, stay in the partition and each key in its own region', async () => {
    expect(await problems('1.28', 'encrypted=true', 'ami_regions=us-east-1,eu-west-1', 'region_kms_key_ids=us-east-1=alias/a')).to.contain('Missing: eu-west-1');
    expect(await problems('1.28', 'encrypted=true', 'ami_regions=us-east-1', 'region_kms_key_ids=us-east-1=alias/a,eu-west-1=alias/b')).to.contain('eu-west-1 is not in ami_regions');
    expect(await problems('1.28', 'encrypted=true', 'ami_regions=eu-west-1', `region_kms_key_ids=eu-west-1=${keyEast}`)).to.contain('is in us-east-1; a copy can only use a key of its own region');
    expect(await problems('1.28', 'encrypted=true', 'ami_regions=us-east-1', 'region_kms_key_ids=us-east-1=not-a-key')).to.contain('"not-a-key" is none of these');
    expect(await problems('1.28', 'aws_region=us-gov-west-1', 'encrypted=true', 'ami_regions=us-gov-east-1', 'region_kms_key_ids=us-east-1=alias/a')).to.contain('us-east-1 is in aws');
    expect(await problems('1.28', 'ami_regions=us-east-1', 'region_kms_key_ids=us-east-1=alias/a')).to.contain('encrypted=false is not allowed: true when region_kms_key_ids is set');
    expect(await problems('1.28', 'region_kms_key_ids=us-east-1')).to.contain('region_kms_key_ids=');
  });

  it('temporary security group CIDRs are IPv4 blocks and make no sense with your own group', async () => {
    expect(await problems('1.28', 'temporary_security_group_source_cidrs=203.0.113.7/32')).to.equal('');
    expect(await problems('1.28', 'temporary_security_group_source_cidrs=203.0.113.7')).to.contain('temporary_security_group_source_cidrs=');
    expect(await problems('1.28', 'temporary_security_group_source_cidrs=203.0.113.7/32', 'security_group_id=sg-0123456789abcdef0')).to.contain('unset when security_group_id is set');
  });
});
