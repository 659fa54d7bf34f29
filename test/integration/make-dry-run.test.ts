// The commands from the AWS blog, run verbatim through make with dry_run=true, against the emulator and
// real Packer: versions, AMI, partition and variables in plan.json are what a user would expect.
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { startEmulatedAws } from '../support/emulated-aws.ts';
import { FAKE_CREDENTIALS, type Moto } from '../support/moto.ts';
import { make, planPathFrom } from '../support/make.ts';
import { requireTool } from '../support/tools.ts';

const GOVCLOUD_BLOG_COMMAND = [
  '1.28',
  'source_ami_owners=123456789012',
  'source_ami_filter_name=RHEL9_STIG_BASE*2023-04-14*',
  'ami_regions=us-gov-east-1',
  'aws_region=us-gov-east-1',
  'binary_bucket_name=my-eks-bucket',
  'binary_bucket_region=us-gov-east-1',
  'iam_role=EC2Role',
  'pull_cni_from_github=false',
  'ssh_interface=session_manager',
];

describe('make 1.28 … dry_run=true (moto + real packer)', function () {
  this.timeout(300_000);
  let moto: Moto;
  const secret = { ...FAKE_CREDENTIALS, AWS_SESSION_TOKEN: 'FAKE-SESSION-TOKEN-never-in-output' };

  before(async () => {
    requireTool('packer', 'validating rendered templates');
    requireTool('make', 'the user-facing commands');
    moto = await startEmulatedAws();
  });
  after(async () => moto?.stop());

  const dryRun = (args: string[]) => {
    const result = make([...args, 'dry_run=true'], { ...moto.env, ...secret });
    expect(result.status, result.output).to.equal(0);
    const planFile = planPathFrom(result.output);
    return { result, planFile, plan: JSON.parse(readFileSync(planFile, 'utf8')) };
  };

  it('make 1.28: newest 1.28 build, newest RHEL 9 image from Red Hat, validated template', () => {
    const { plan, result } = dryRun(['1.28']);
    expect(plan).to.include({
      kubernetes_version: '1.28.15',
      kubernetes_build_date: '2025-11-05',
      arch: 'x86_64',
      aws_region: 'us-west-2',
      partition: 'aws',
      source_ami_name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3',
      rhel_version: 9,
      root_device_name: '/dev/sda1',
    });
    expect(plan.source_ami_id).to.match(/^ami-/);
    expect(plan.template).to.equal(`build/${plan.ami_name}/eks-worker.pkr.hcl`);
    expect(existsSync(repoPath(plan.template))).to.equal(true);
    expect(plan.variables).to.include({ instance_type: 'm6i.large', binary_bucket_name: 'amazon-eks', pause_image_tag: '3.9' });
    expect(plan.variables.pause_image).to.equal('602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9');
    expect(Object.keys(plan.variables)).to.include.members(['kubernetes_version', 'ami_regions', 'volume_size', 'iam_instance_profile']);
    expect(result.stderr).to.contain('Dry run').and.to.contain('1.28.15');
    // The chosen AMI id is pinned in the rendered template.
    expect(readFileSync(repoPath(plan.template), 'utf8')).to.contain(`default     = "${plan.source_ami_id}"`);
  });

  it('the GovCloud STIG command from the blog, verbatim', () => {
    const { plan } = dryRun(GOVCLOUD_BLOG_COMMAND);
    expect(plan).to.include({ partition: 'aws-us-gov', aws_region: 'us-gov-east-1', source_ami_name: 'RHEL9_STIG_BASE_2023-04-14', kubernetes_version: '1.28.15', rhel_version: 9 });
    expect(plan.binary_bucket).to.include({ name: 'my-eks-bucket', region: 'us-gov-east-1', unsigned: false });
    expect(plan.variables).to.include({ iam_instance_profile: 'EC2Role', pull_cni_from_github: false, ssh_interface: 'session_manager', source_ami_filter_name: 'RHEL9_STIG_BASE*2023-04-14*' });
    expect(plan.variables.source_ami_owners).to.deep.equal(['123456789012']);
    expect(plan.variables.ami_regions).to.deep.equal(['us-gov-east-1']);
    expect(plan.variable_sources.iam_instance_profile).to.equal('command line');
    expect(plan.pause_image).to.equal('151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.9');
    expect(plan.provisioner_environment).to.include({ PARTITION: 'aws-us-gov', PULL_CNI_FROM_GITHUB: 'false', BINARY_BUCKET_NAME: 'my-eks-bucket' });
  });

  it('GovCloud reading the commercial bucket uses unsigned requests', () => {
    const { plan } = dryRun(['1.28', 'aws_region=us-gov-west-1', 'iam_role=EC2Role']);
    expect(plan.binary_bucket).to.include({ name: 'amazon-eks', unsigned: true });
    expect(plan.source_ami_name).to.match(/^RHEL-9\.5\.0/);
  });

  it('variant=stig in GovCloud: FIPS and STIG steps, encrypted volume, FIPS ECR endpoint, scan reports downloaded', () => {
    const { plan } = dryRun(['1.28', 'variant=stig', 'aws_region=us-gov-west-1', 'stig_min_score=80', 'iam_role=EC2Role']);
    expect(plan).to.include({ variant: 'stig', partition: 'aws-us-gov', fips_endpoints: true });
    expect(plan.variables).to.include({ encrypted: true, ssh_timeout: '45m', stig_min_score: 80 });
    expect(plan.variable_sources.encrypted).to.equal('variant stig defaults');
    expect(plan.pause_image).to.equal('013241004608.dkr.ecr-fips.us-gov-west-1.amazonaws.com/eks/pause:3.9');
    expect(plan.provisioner_environment).to.include({ VARIANT: 'stig', STIG_MIN_SCORE: '80' });
    const template = readFileSync(repoPath(plan.template), 'utf8');
    for (const step of ['fips.sh', 'fips-check.sh', 'stig-remediate.sh', 'stig-scan.sh']) expect(template).to.contain(`provisioners/${step}"`);
    expect(template).to.contain('stig-score.json').and.to.contain('stig-arf.xml');
    expect(template).to.match(/encrypted\s+= var\.encrypted/);
    expect(template).to.match(/pause_before\s+= var\.reboot_pause/);
  });

  it('preset=govcloud-stig is a ready STIG GovCloud build; the standard template has no STIG step', () => {
    const { plan } = dryRun(['1.28', 'preset=govcloud-stig', 'aws_region=us-gov-east-1', 'iam_role=EC2Role']);
    expect(plan).to.include({ variant: 'stig', aws_region: 'us-gov-east-1', partition: 'aws-us-gov' });
    expect(plan.variables.encrypted).to.equal(true);
    const standard = dryRun(['1.28']).plan;
    expect(readFileSync(repoPath(standard.template), 'utf8')).not.to.contain('stig-remediate.sh');
  });

  it('rhel_version=8 and arch=arm64 switch the image, instance type and kubelet', () => {
    const { plan } = dryRun(['1.28', 'rhel_version=8', 'arch=arm64']);
    expect(plan.source_ami_name).to.equal('RHEL-8.10.0_HVM-20241016-arm64-61-Hourly2-GP3');
    expect(plan.variables.instance_type).to.equal('m6g.large');
    expect(plan.binary_bucket.kubelet_key).to.contain('/linux/arm64/kubelet');
    expect(plan.provisioner_environment).to.include({ ARCH: 'arm64', BINARY_ARCH: 'arm64', RHEL_VERSION: '8' });
  });

  it('k8s=1.29 and plain make pick their minor', () => {
    expect(dryRun(['k8s=1.29']).plan.kubernetes_minor).to.equal('1.29');
    const plain = dryRun([]).plan;
    expect(plain.kubernetes_minor).to.equal('1.29');
    expect(plain.variable_sources.pause_image_tag).to.equal('Kubernetes 1.29 defaults');
  });

  it('never writes credentials into the plan, the template or the output', () => {
    const { planFile, result } = dryRun(['1.28']);
    const dir = dirname(planFile);
    const texts = [result.output, ...listFiles(dir).map((f) => readFileSync(f, 'utf8'))];
    for (const value of Object.values(secret)) {
      for (const text of texts) expect(text).not.to.contain(value);
    }
    const plan = JSON.parse(readFileSync(planFile, 'utf8'));
    expect(Object.keys(plan.provisioner_environment).filter((k) => /AWS_(ACCESS|SECRET|SESSION)/.test(k))).to.deep.equal([]);
  });

  describe('bad input', () => {
    let server: Server;
    let requests = 0;
    let endpoint = '';
    before(async () => {
      server = createServer((req, res) => {
        requests++;
        res.writeHead(500).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });
    after(() => server.close());

    const cases: [string, string[], RegExp][] = [
      ['a typo', ['1.28', 'aws_regon=us-east-1'], /aws_regon.*Did you mean aws_region\?/],
      ['a wrong type', ['1.28', 'volume_size=lots'], /volume_size="lots" is not allowed: a whole number/],
      ['an impossible combination', ['1.28', 'encrypted=true', 'kms_key_id=alias/eks', 'ami_regions=us-east-1'], /region_kms_key_ids="" is not allowed: a key for each copy \(us-east-1\) when kms_key_id is set/],
      ['a minor we do not support', ['1.12'], /k8s="1.12" is not allowed/],
      ['a wrong instance architecture', ['1.28', 'arch=arm64', 'instance_type=m5.large'], /instance_type="m5.large"/],
      ['an unencrypted STIG image', ['1.28', 'variant=stig', 'encrypted=false'], /encrypted=false is not allowed: true for variant=stig/],
      ["session_manager with Red Hat's image (no SSM agent)", ['1.28', 'ssh_interface=session_manager', 'iam_role=EC2Role'], /ssh_interface="session_manager" is not allowed: .*Red Hat's images .*no SSM agent.*user_data_file=/],
      ['a GovCloud build without an instance profile', ['1.28', 'preset=govcloud'], /iam_instance_profile="" is not allowed: an instance profile when building in aws-us-gov\. .*ecr:GetAuthorizationToken/],
    ];
    for (const [what, args, message] of cases) {
      it(`rejects ${what} with exit 2, before any AWS call, writing nothing`, () => {
        const before = existsSync(repoPath('build')) ? readdirSync(repoPath('build')).length : 0;
        requests = 0;
        const result = make(args, { AWS_ENDPOINT_URL: endpoint, AWS_ENDPOINT_URL_S3: endpoint, AWS_ENDPOINT_URL_EC2: endpoint, ...secret });
        expect(result.status, result.output).to.equal(2);
        expect(result.stderr).to.match(message);
        expect(requests).to.equal(0);
        const after = existsSync(repoPath('build')) ? readdirSync(repoPath('build')).length : 0;
        expect(after).to.equal(before);
      });
    }
  });
});

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}
