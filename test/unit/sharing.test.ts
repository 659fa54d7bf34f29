// Sharing (ami_users, ami_org_arns, ami_ou_arns, snapshot_users) and the boot-mode/NitroTPM names that are not
// offered: refused before any AWS call with what is allowed and why.
import { expect } from 'chai';
import { ConfigError, UserError } from '../../src/errors.ts';
import { runPipeline } from '../../src/pipeline.ts';
import type { Runner } from '../../src/process/run.ts';
import type { AwsClients } from '../../src/aws/clients.ts';
import { configure } from '../../src/variables/configure.ts';

const ORG = 'arn:aws:organizations::123456789012:organization/o-abcdef1234';
const OU = 'arn:aws:organizations::123456789012:ou/o-abcdef1234/ou-ab12-cdef5678';
const KEY = 'arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666';

async function refusal(...words: string[]): Promise<string> {
  try {
    await configure(['1.28', ...words], {});
  } catch (error) {
    expect(error).to.be.instanceOf(UserError);
    return (error as Error).message;
  }
  return '';
}

describe('sharing the image', () => {
  it('accepts account ids, organization and OU ARNs of the build partition, and snapshot sharing', async () => {
    expect(await refusal(`ami_users=123456789012,210987654321`, `ami_org_arns=${ORG}`, `ami_ou_arns=${OU}`, 'snapshot_users=123456789012')).to.equal('');
    const gov = ['aws_region=us-gov-west-1', 'iam_instance_profile=builder'];
    expect(await refusal(...gov, `ami_org_arns=${ORG.replace('arn:aws:', 'arn:aws-us-gov:')}`)).to.equal('');
  });

  it('refuses malformed account ids and ARNs, naming the variable and the expected shape', async () => {
    expect(await refusal('ami_users=12345')).to.contain('ami_users').and.to.contain('12-digit AWS account ids');
    expect(await refusal('snapshot_users=abcdefghijkl')).to.contain('snapshot_users').and.to.contain('12-digit');
    expect(await refusal('ami_org_arns=o-abcdef1234')).to.contain('ami_org_arns').and.to.contain('organization ARNs');
    // An OU ARN where an organization ARN belongs, and the other way round.
    expect(await refusal(`ami_org_arns=${OU}`)).to.contain('ami_org_arns');
    expect(await refusal(`ami_ou_arns=${ORG}`)).to.contain('ami_ou_arns').and.to.contain('organizational unit ARNs');
  });

  it("refuses an ARN of another partition than the build's", async () => {
    const message = await refusal('aws_region=us-gov-west-1', 'iam_instance_profile=builder', `ami_ou_arns=${OU}`);
    expect(message).to.contain('ami_ou_arns').and.to.contain('build partition aws-us-gov').and.to.contain(`${OU} is in aws`);
    expect(await refusal(`ami_org_arns=${ORG.replace('arn:aws:', 'arn:aws-cn:')}`)).to.contain('build partition aws ');
  });

  it('refuses sharing an encrypted image without a customer managed key, saying why', async () => {
    const missing = await refusal('encrypted=true', 'ami_users=123456789012');
    expect(missing).to.contain('kms_key_id=""').and.to.contain('customer managed key').and.to.contain('aws/ebs').and.to.contain('cannot be shared');
    expect(await refusal('encrypted=true', 'snapshot_users=123456789012')).to.contain('kms_key_id=""');
    expect(await refusal('encrypted=true', 'kms_key_id=alias/aws/ebs', `ami_org_arns=${ORG}`)).to.contain('kms_key_id="alias/aws/ebs"').and.to.contain('AWS managed');
    const copies = await refusal('encrypted=true', `kms_key_id=${KEY}`, 'ami_regions=us-west-2,us-east-1', 'ami_users=123456789012', `region_kms_key_ids=us-west-2=${KEY},us-east-1=alias/aws/ebs`);
    expect(copies).to.contain('region_kms_key_ids').and.to.contain('us-east-1 use aws/ebs');
    // A customer managed key, or an unencrypted image, can be shared.
    expect(await refusal('encrypted=true', `kms_key_id=${KEY}`, 'ami_users=123456789012')).to.equal('');
    expect(await refusal('ami_users=123456789012')).to.equal('');
    expect(await refusal('encrypted=true')).to.equal('');
  });

  it('refuses organization and OU sharing with Packer 1.6.6 before any AWS call', async () => {
    const runner: Runner = {
      capture: async (_command, args) => (args[0] === 'version' ? { exitCode: 0, stdout: 'Packer v1.6.6\n', stderr: '' } : { exitCode: 1, stdout: '', stderr: 'unexpected' }),
      stream: async () => 1,
    };
    const noAws: AwsClients = {
      s3: () => {
        throw new Error('an AWS call was made');
      },
      ec2: () => {
        throw new Error('an AWS call was made');
      },
    };
    let error: unknown;
    try {
      await runPipeline(['1.28', `ami_ou_arns=${OU}`], { runner, clients: noAws, env: {}, log: () => {} });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.contain('ami_ou_arns').and.to.contain('unset with Packer 1.6.6').and.to.contain('Packer >= 1.7 with the amazon plugin');
  });
});

describe('UEFI boot mode and NitroTPM', () => {
  it('says why boot_mode, tpm_support and uefi_data are not offered instead of suggesting another variable', async () => {
    const boot = await refusal('boot_mode=uefi');
    expect(boot).to.contain('boot_mode="uefi" (command line) is not offered').and.to.contain('CreateImage').and.to.contain('inherits the source image').and.to.contain('billing code');
    expect(boot).to.not.contain('Did you mean');
    expect(await refusal('tpm_support=v2.0')).to.contain('is not offered: NitroTPM');
    expect(await refusal('uefi_data=AAAA')).to.contain('is not offered');
  });
});
