// Rendering for Packer 1.6.6 (validated by the real packer here) and for current Packer with the amazon
// plugin (parsed as HCL and compared with a reviewed snapshot, since no current Packer runs here).
import { parse } from '@cdktf/hcl2json';
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { processRunner } from '../../src/process/run.ts';
import { renderTemplate, stageBuildDirectory } from '../../src/render/render.ts';
import { loadSteps, stepsFor } from '../../src/render/steps.ts';
import { TEMPLATE_FILE } from '../../src/layout.ts';
import { formatTemplate, validateTemplate } from '../../src/validate/packer-validate.ts';
import { samplePlan } from '../support/plan.ts';
import { expectSnapshot } from '../support/snapshot.ts';
import { requireTool } from '../support/tools.ts';

type Hcl = Record<string, any>;
const source = (doc: Hcl) => doc.source['amazon-ebs'].worker[0];

describe('rendered Packer templates', function () {
  this.timeout(120_000);
  before(() => requireTool('packer', 'validating rendered templates'));
  after(() => rmSync(repoPath('build', 'test-render'), { recursive: true, force: true }));

  const variants: [string, string[], string?][] = [
    ['defaults', []],
    ['gp2 root volume', ['volume_type=gp2']],
    ['io2 root volume', ['volume_type=io2', 'volume_iops=8000']],
    ['encrypted with a KMS key', ['encrypted=true', 'kms_key_id=alias/eks-ami']],
    ['arm64 copied to two regions', ['arch=arm64', 'ami_regions=us-east-1,us-east-2']],
    ['session manager with an instance profile', ['ssh_interface=session_manager', 'iam_role=EC2Role', 'subnet_id=subnet-0123456789abcdef0']],
    ['against an emulator endpoint', [], 'http://127.0.0.1:5000'],
    ['user data and a slower reboot pause', ['user_data_file=README.md', 'reboot_pause=2m']],
    ['the STIG variant', ['variant=stig']],
    ['copies encrypted with a key chosen per region', ['encrypted=true', 'kms_key_id=alias/eks-ami', 'ami_regions=us-west-2,us-east-1', 'region_kms_key_ids=us-west-2=alias/eks-ami,us-east-1=arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666']],
    ['the temporary security group limited to given CIDRs', ['temporary_security_group_source_cidrs=203.0.113.7/32,198.51.100.0/24']],
  ];
  for (const [name, words, endpoint] of variants) {
    it(`passes packer fmt -check and packer validate (1.6.6): ${name}`, async () => {
      const plan = await samplePlan([...words, `ami_name=test-render-${name.replace(/\W+/g, '-')}`]);
      const dir = stageBuildDirectory(plan, renderTemplate(plan, { ec2Endpoint: endpoint ?? '' }));
      try {
        await formatTemplate(processRunner, dir);
        await validateTemplate(processRunner, dir);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('writes values as literals: no HTML escaping, no interpolation', async () => {
    const description = `Tom & Jerry's <node> "v1" \${var.secret} %{ if true }`;
    const plan = await samplePlan([`ami_description=${description}`]);
    const text = renderTemplate(plan);
    expect(text).not.to.contain('&amp;');
    expect(text).to.contain('$${var.secret}').and.to.contain('%%{ if true }');
    const doc = (await parse('t.pkr.hcl', text)) as Hcl;
    expect(doc.variable.ami_description[0].default).to.contain('Tom & Jerry\'s <node> "v1"');
    const dir = stageBuildDirectory(plan, text);
    try {
      await validateTemplate(processRunner, dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('maps the root device the source image names and sets gp3 iops/throughput', async () => {
    const doc = (await parse('t.pkr.hcl', renderTemplate(await samplePlan()))) as Hcl;
    expect(doc.locals[0].root_device_name).to.equal('/dev/sda1');
    const mapping = source(doc).launch_block_device_mappings[0];
    expect(mapping.device_name).to.equal('${local.root_device_name}');
    expect(mapping).to.have.keys('device_name', 'volume_size', 'volume_type', 'iops', 'throughput', 'encrypted', 'kms_key_id', 'delete_on_termination');
  });

  it('leaves plugin-only settings out for Packer 1.6.6', async () => {
    const text = renderTemplate(await samplePlan());
    for (const modernOnly of ['required_plugins', 'metadata_options', 'imds_support', 'deprecate_at', 'temporary_security_group_source_public_ip']) expect(text).not.to.contain(modernOnly);
  });

  it('encrypts each copy with the key named for its region and tags snapshots like the AMI', async () => {
    const keyEast = 'arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-1111-2222-3333-444455556666';
    const plan = await samplePlan(['encrypted=true', 'ami_regions=us-east-1,eu-west-1', `region_kms_key_ids=us-east-1=${keyEast},eu-west-1=alias/ami-eu`]);
    const doc = (await parse('t.pkr.hcl', renderTemplate(plan))) as Hcl;
    expect(doc.locals[0].region_kms_key_ids).to.deep.equal({ 'us-east-1': keyEast, 'eu-west-1': 'alias/ami-eu' });
    const src = source(doc);
    expect(src.region_kms_key_ids).to.equal('${local.region_kms_key_ids}');
    expect(src.snapshot_tags).to.equal('${local.ami_tags}');
    expect(doc.locals[0].ami_tags).to.include({ kubernetes_version: '1.28.15', Name: 'test-render' });
  });

  it('limits the temporary security group: given CIDRs on either Packer, the public IP on current Packer, never 0.0.0.0/0 by choice', async () => {
    const cidrs = source((await parse('t.pkr.hcl', renderTemplate(await samplePlan(['temporary_security_group_source_cidrs=203.0.113.7/32'])))) as Hcl);
    expect(cidrs.temporary_security_group_source_cidrs).to.equal('${var.temporary_security_group_source_cidrs}');
    expect(cidrs).not.to.have.property('temporary_security_group_source_public_ip');
    const modern = source((await parse('t.pkr.hcl', renderTemplate(await samplePlan([], '1.11.2')))) as Hcl);
    expect(modern.temporary_security_group_source_public_ip).to.equal(true);
    const old = source((await parse('t.pkr.hcl', renderTemplate(await samplePlan()))) as Hcl);
    expect(old).not.to.have.property('temporary_security_group_source_cidrs');
  });

  it('renders plugin requirements, IMDSv2 and deprecation for current Packer', async () => {
    const plan = await samplePlan(['ami_deprecation_days=365'], '1.11.2');
    // Fixed steps keep the snapshot about the template, not about provisioners/steps.json; they show each way a
    // block ends: a download, a reboot (alone), a pause (opens the next).
    const steps = [
      { script: 'first.sh', description: 'Shares a block with the next step' },
      { script: 'second.sh', description: 'Last of its block: a download follows', downloads: ['version-info.json'] },
      { script: 'reboot.sh', description: 'A block of its own', expect_disconnect: true },
      { script: 'third.sh', description: 'Opens a block with a pause', pause_before: '30s' },
      { script: 'fourth.sh', description: 'Shares the pause block' },
    ];
    const dir = stageBuildDirectory(plan, renderTemplate(plan, { steps }));
    let text: string;
    try {
      await formatTemplate(processRunner, dir);
      text = readFileSync(join(dir, TEMPLATE_FILE), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const doc = (await parse('t.pkr.hcl', text)) as Hcl;
    expect(doc.packer[0].required_plugins[0].amazon.source).to.equal('github.com/hashicorp/amazon');
    const src = source(doc);
    expect(src.metadata_options[0]).to.include({ http_tokens: 'required', http_endpoint: 'enabled' });
    expect(src.imds_support).to.equal('v2.0');
    expect(src.deprecate_at).to.contain('timeadd(timestamp(), local.deprecate_after)');
    expect(doc.locals[0].deprecate_after).to.equal('8760h');

    expectSnapshot(text, repoPath('test', 'fixtures', 'modern-template.pkr.hcl.snapshot'));
  });

  // Packer 1.6.6 starts a plugin process per provisioner block (validate and build alike), so consecutive steps
  // share one `scripts = [...]` block; a block ends only where a step needs settings of its own.
  for (const variant of ['standard', 'stig']) {
    it(`runs every ${variant} step once, in steps.json order, in as few shell blocks as reboots, pauses and downloads allow`, async () => {
      const text = renderTemplate(await samplePlan([`variant=${variant}`]));
      const steps = stepsFor(loadSteps(), variant);
      const sequence = provisionerSequence(text);
      const first = sequence.findIndex((p) => p.scripts.length > 0);
      const blocks = sequence.slice(first);
      expect(blocks.flatMap((b) => b.scripts)).to.deep.equal(steps.map((s) => s.script));
      const stepAt = (block: Provisioner, i: number) => steps.find((s) => s.script === block.scripts[i])!;
      let index = 0;
      for (const [i, block] of blocks.entries()) {
        if (block.kind === 'file') continue;
        const mine = steps.slice(index, index + block.scripts.length);
        index += block.scripts.length;
        // A reboot stands alone and only it may drop the connection.
        expect(block.expectDisconnect, block.scripts.join()).to.equal(mine.some((s) => s.expect_disconnect));
        if (block.expectDisconnect) expect(block.scripts).to.have.length(1);
        // A pause comes before the first script of a block, never in the middle.
        expect(block.pauseBefore, block.scripts.join()).to.equal(Boolean(mine[0].pause_before));
        for (const s of mine.slice(1)) expect(s.pause_before, s.script).to.equal(undefined);
        // Downloads follow the block whose last step writes them, before any later step runs.
        for (const s of mine.slice(0, -1)) expect(s.downloads ?? [], s.script).to.deep.equal([]);
        const downloads = blocks.slice(i + 1).findIndex((b) => b.kind !== 'file');
        const after = blocks.slice(i + 1, downloads === -1 ? undefined : i + 1 + downloads);
        expect(after.map((b) => b.download)).to.deep.equal(stepAt(block, block.scripts.length - 1).downloads ?? []);
        // Nothing forced this block to end: the next shell block could not have joined it.
        const next = blocks[i + 1];
        if (next?.kind === 'shell') expect(block.expectDisconnect || next.expectDisconnect || next.pauseBefore, `${block.scripts.join()} | ${next.scripts.join()}`).to.equal(true);
      }
      expect(blocks.filter((b) => b.kind === 'shell').length).to.be.lessThan(steps.length / 2);
    });
  }

  it('fails when the snapshot is missing instead of writing it, unless asked to (UPDATE_SNAPSHOTS=1)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'snapshot-'));
    const missing = join(dir, 'missing.snapshot');
    try {
      expect(() => expectSnapshot('rendered', missing, false)).to.throw(/is missing\. Render it deliberately with UPDATE_SNAPSHOTS=1/);
      expect(existsSync(missing)).to.equal(false);
      expectSnapshot('rendered', missing, true);
      expect(readFileSync(missing, 'utf8')).to.equal('rendered');
      expect(() => expectSnapshot('changed', missing, false)).to.throw(/differs from/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stages every file the template uploads next to it', async () => {
    const plan = await samplePlan();
    const dir = stageBuildDirectory(plan, renderTemplate(plan));
    try {
      for (const file of [TEMPLATE_FILE, 'plan.json', join('generated', 'build.json')]) expect(existsSync(join(dir, file)), file).to.equal(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes the artifact manifest the steps download from, resolved for this build (generated/artifacts.tsv)', async () => {
    const plan = await samplePlan();
    const dir = stageBuildDirectory(plan, renderTemplate(plan));
    try {
      const rows = readFileSync(join(dir, 'generated', 'artifacts.tsv'), 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.split('\t'));
      const byName = new Map(rows.map((r) => [r[0], r]));
      expect([...byName.keys()]).to.have.members(['kubelet', 'ecr-credential-provider', 'aws-iam-authenticator', 'cni-plugins', 'containerd', 'runc', 'aws-cli', 'ssm-agent']);
      // The plan's Kubernetes build, versions and region: the keys and URLs the steps used to build themselves.
      const v = plan.variables;
      const bin = plan.arch === 'arm64' ? 'arm64' : 'amd64';
      expect(byName.get('kubelet')!.slice(1, 5)).to.deep.equal(['kubernetes', 'kubelet', 'eks', `${plan.kubernetes_version}/${plan.kubernetes_build_date}/bin/linux/${bin}/kubelet`]);
      expect(byName.get('kubelet')!.slice(6, 11)).to.deep.equal(['kubelet.sha256', 'sha256', 'required', '/usr/bin/kubelet', '0755']);
      expect(byName.get('aws-iam-authenticator')![8]).to.equal('optional');
      expect(byName.get('runc')!.slice(3, 8)).to.deep.equal(['github', `opencontainers/runc/releases/download/v${v.runc_version}/runc.${bin}`, `github/opencontainers/runc/releases/download/v${v.runc_version}/runc.${bin}`, 'runc.sha256sum', 'sha256']);
      expect(byName.get('ssm-agent')!.slice(3, 8)).to.deep.equal([`s3:amazon-ssm-${plan.aws_region}:${plan.aws_region}`, `latest/linux_${bin}/amazon-ssm-agent.rpm`, `amazon-ssm-agent/latest/linux_${bin}/amazon-ssm-agent.rpm`, 'amazon-ssm-agent.rpm.sig', 'pgp:amazon-ssm-agent.asc']);
      expect(byName.get('aws-cli')![11]).to.equal('the AWS CLI v2 installer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface Provisioner {
  kind: 'shell' | 'file';
  scripts: string[];
  expectDisconnect: boolean;
  pauseBefore: boolean;
  /** The file a download provisioner fetches. */
  download?: string;
}

/** The build's provisioners in template order (HCL-to-JSON groups them by type and loses it). */
function provisionerSequence(text: string): Provisioner[] {
  return [...text.matchAll(/^ {2}provisioner "(shell|file)" \{\n([\s\S]*?)^ {2}\}$/gm)].map(([, kind, body]) => ({
    kind: kind as 'shell' | 'file',
    scripts: [...body.matchAll(/provisioners\/([a-z0-9-]+\.sh)"/g)].map((m) => m[1]),
    expectDisconnect: /^\s*expect_disconnect\s*=\s*true$/m.test(body),
    pauseBefore: /^\s*pause_before\s*=/m.test(body),
    download: /direction\s*=\s*"download"/.test(body) ? /source\s*=\s*"\$\{local\.work_dir\}\/([^"]+)"/.exec(body)?.[1] : undefined,
  }));
}
