// Sharing and boot mode in the rendered template: Packer 1.6.6 (real `packer validate`) gets ami_users and
// snapshot_users only; current Packer (parsed as HCL, no current Packer runs here) also ami_org_arns and
// ami_ou_arns. No boot_mode, tpm_support or uefi_data is ever rendered: amazon-ebs does not accept them.
import { parse } from '@cdktf/hcl2json';
import { expect } from 'chai';
import { rmSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { processRunner } from '../../src/process/run.ts';
import { renderTemplate, stageBuildDirectory } from '../../src/render/render.ts';
import { formatTemplate, validateTemplate } from '../../src/validate/packer-validate.ts';
import { samplePlan } from '../support/plan.ts';
import { requireTool } from '../support/tools.ts';

type Hcl = Record<string, any>;
const source = (doc: Hcl) => doc.source['amazon-ebs'].worker[0];
const ORG = 'arn:aws:organizations::123456789012:organization/o-abcdef1234';
const OU = 'arn:aws:organizations::123456789012:ou/o-abcdef1234/ou-ab12-cdef5678';
const KEY = 'arn:aws:kms:us-west-2:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666';
const KEY_EAST = 'arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666';

describe('rendered templates: sharing and boot mode', function () {
  this.timeout(120_000);
  before(() => requireTool('packer', 'validating rendered templates'));
  after(() => rmSync(repoPath('build', 'test-render'), { recursive: true, force: true }));

  it('Packer 1.6.6: an encrypted image shared with accounts and their snapshot access passes packer fmt and validate', async () => {
    const plan = await samplePlan(['ami_name=test-render-sharing', 'encrypted=true', `kms_key_id=${KEY}`, 'ami_regions=us-west-2,us-east-1', `region_kms_key_ids=us-west-2=${KEY},us-east-1=${KEY_EAST}`, 'ami_users=123456789012,210987654321', 'snapshot_users=123456789012']);
    const text = renderTemplate(plan);
    const dir = stageBuildDirectory(plan, text);
    try {
      await formatTemplate(processRunner, dir);
      await validateTemplate(processRunner, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const doc = (await parse('t.pkr.hcl', text)) as Hcl;
    expect(source(doc).ami_users).to.equal('${var.ami_users}');
    expect(source(doc).snapshot_users).to.equal('${var.snapshot_users}');
    expect(doc.variable.ami_users[0].default).to.deep.equal(['123456789012', '210987654321']);
    expect(doc.variable.snapshot_users[0].default).to.deep.equal(['123456789012']);
    for (const name of ['ami_org_arns', 'ami_ou_arns']) expect(source(doc), name).not.to.have.property(name);
  });

  it('current Packer: organization and OU sharing rendered into the amazon-ebs source', async () => {
    const plan = await samplePlan(['ami_name=test-render-sharing-modern', `ami_org_arns=${ORG}`, `ami_ou_arns=${OU}`, 'ami_users=123456789012'], '1.11.2');
    const doc = (await parse('t.pkr.hcl', renderTemplate(plan))) as Hcl;
    expect(source(doc)).to.include({ ami_org_arns: '${var.ami_org_arns}', ami_ou_arns: '${var.ami_ou_arns}', ami_users: '${var.ami_users}' });
    expect(doc.variable.ami_org_arns[0].default).to.deep.equal([ORG]);
    expect(doc.variable.ami_ou_arns[0].default).to.deep.equal([OU]);
  });

  it('never renders boot_mode, tpm_support or uefi_data, which amazon-ebs does not accept', async () => {
    for (const version of ['1.6.6', '1.11.2']) {
      const text = renderTemplate(await samplePlan([], version));
      for (const name of ['boot_mode', 'tpm_support', 'uefi_data']) expect(text, `${name} (${version})`).not.to.contain(name);
    }
  });
});
