// Issue 13's "done when", through the user's own commands: `make <minor> … dry_run=true` against the emulator
// (Red Hat's current image names, the bucket's real 1.35 and 1.36 builds) and real Packer. Each case is a
// fact a 2026 user relies on: the newest RHEL 9 GA image wins over later-dated rebuilds of older minors,
// Kubernetes 1.36 gets containerd 2, the plan says which kube-proxy data planes the image is ready for, and
// RHEL 10 (10.1 GA over a later-dated 10.0 rebuild, x86_64 and arm64) plans like any other major.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { s3Client } from '../../src/aws/clients.ts';
import { createBucket, historyObjects, putObjects } from '../support/bucket.ts';
import { currentRedHatCatalog } from '../support/images.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { make, planPathFrom } from '../support/make.ts';
import { requireTool } from '../support/tools.ts';

describe('the EKS of late 2026 through make … dry_run=true (moto + real packer)', function () {
  this.timeout(300_000);
  let moto: Moto;

  before(async () => {
    requireTool('packer', 'validating rendered templates');
    requireTool('make', 'the user-facing commands');
    moto = await startMoto({ amis: currentRedHatCatalog() });
    const s3 = s3Client('us-west-2', { connection: moto.connection });
    await createBucket(s3, 'amazon-eks');
    await putObjects(s3, 'amazon-eks', historyObjects({ fullMinors: ['1.35', '1.36'] }));
  });
  after(async () => moto?.stop());

  const dryRun = (args: string[]) => {
    const result = make([...args, 'dry_run=true'], moto.env);
    expect(result.status, result.output).to.equal(0);
    return JSON.parse(readFileSync(planPathFrom(result.output), 'utf8'));
  };

  it('make 1.35 picks RHEL 9.6 GA over the later-dated 9.5 and 9.4 rebuilds, the Cloud Access twin and the 9.7 beta', () => {
    const plan = dryRun(['1.35']);
    expect(plan.source_ami_name).to.equal('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3');
  });

  it('make 1.36 plans containerd 2 (Kubernetes supports containerd 1.x only up to 1.35) and an image ready for IPVS and nftables', () => {
    const plan = dryRun(['1.36']);
    expect(plan.kubernetes_version).to.match(/^1\.36\./);
    expect(plan.variables.containerd_version).to.match(/^2\./);
    expect(plan.kube_proxy_modes).to.deep.equal(['ipvs', 'nftables']);
  });

  it('make 1.36 rhel_version=8 plans containerd 2 (static build) and an image ready for IPVS only (kernel 4.18)', () => {
    const plan = dryRun(['1.36', 'rhel_version=8']);
    expect(plan.source_ami_name).to.match(/^RHEL-8\.10\.0_/);
    expect(plan.variables.containerd_version).to.match(/^2\./);
    expect(plan.kube_proxy_modes).to.deep.equal(['ipvs']);
  });

  it('make 1.36 containerd_version=1.7.27 is refused before any AWS call, naming the variable', () => {
    const result = make(['1.36', 'containerd_version=1.7.27', 'dry_run=true'], moto.env);
    expect(result.status).to.not.equal(0);
    expect(result.output)
      .to.match(/containerd_version/)
      .and.match(/1\.7\.27/);
  });

  describe('RHEL 10', () => {
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
});
