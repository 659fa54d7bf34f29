// `make 1.35 rhel_version=10 dry_run=true` against the emulator and real Packer: Red Hat's current catalog
// (RHEL 10.1 GA and a later-dated 10.0 rebuild, x86_64 and arm64) and a bucket with the real 1.35 builds.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { s3Client } from '../../src/aws/clients.ts';
import { repoPath } from '../../src/paths.ts';
import { createBucket, historyObjects, putObjects } from '../support/bucket.ts';
import { currentRedHatCatalog } from '../support/images.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { make, planPathFrom } from '../support/make.ts';
import { requireTool } from '../support/tools.ts';

describe('make 1.35 rhel_version=10 … dry_run=true (moto + real packer)', function () {
  this.timeout(300_000);
  let moto: Moto;

  before(async () => {
    requireTool('packer', 'validating rendered templates');
    requireTool('make', 'the user-facing commands');
    moto = await startMoto({ amis: currentRedHatCatalog() });
    const saved = { ...process.env };
    Object.assign(process.env, moto.env);
    try {
      const s3 = s3Client('us-west-2');
      await createBucket(s3, 'amazon-eks');
      await putObjects(s3, 'amazon-eks', historyObjects({ fullMinors: ['1.35'] }));
    } finally {
      process.env = saved;
    }
  });
  after(async () => moto?.stop());

  const dryRun = (args: string[]) => {
    const result = make([...args, 'dry_run=true'], moto.env);
    expect(result.status, result.output).to.equal(0);
    return JSON.parse(readFileSync(planPathFrom(result.output), 'utf8'));
  };

  it('plans a RHEL 10 build: the 10.1 GA image over the later-dated 10.0 rebuild, RHEL_VERSION=10 for the provisioners, containerd 2, both kube-proxy modes', () => {
    const plan = dryRun(['1.35', 'rhel_version=10']);
    expect(plan).to.include({ rhel_version: 10, kubernetes_minor: '1.35', source_ami_name: 'RHEL-10.1.0_HVM_GA-20251031-x86_64-0-Hourly2-GP3' });
    expect(plan.ami_name).to.match(/^rhel-10-eks-node-1\.35-x86_64-standard-v/);
    expect(plan.provisioner_environment).to.include({ RHEL_VERSION: '10' });
    expect(plan.variables.containerd_version, 'RHEL 10 builds use containerd 2').to.match(/^2\./);
    expect(plan.kube_proxy_modes).to.deep.equal(['ipvs', 'nftables']);
  });

  it('arm64 picks the arm64 RHEL 10 image and a Graviton build instance', () => {
    const plan = dryRun(['1.35', 'rhel_version=10', 'arch=arm64']);
    expect(plan.source_ami_name).to.equal('RHEL-10.1.0_HVM_GA-20251031-arm64-0-Hourly2-GP3');
    expect(plan.variables.instance_type).to.equal('m6g.large');
  });

  it('variant=stig on RHEL 10 starts with the FIPS source-image check', () => {
    const plan = dryRun(['1.35', 'rhel_version=10', 'variant=stig']);
    const template = readFileSync(repoPath(plan.template), 'utf8');
    const first = template.indexOf('provisioners/fips-preflight.sh"');
    expect(first, 'fips-preflight.sh is in the template').to.be.greaterThan(0);
    expect(first).to.be.lessThan(template.indexOf('provisioners/base-os.sh"'));
  });
});
