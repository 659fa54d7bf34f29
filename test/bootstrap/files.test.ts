// Static checks of the files under rootfs/etc/eks that bootstrap.sh ships with.
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { existsSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { partitions } from '../../src/data/catalog.ts';
import { credentialProviderConfig, ecrAccountsFile } from '../../src/render/image-files.ts';
import { requireTool } from '../support/tools.ts';

const BOOTSTRAP = repoPath('rootfs/etc/eks/bootstrap.sh');

describe('rootfs/etc/eks', () => {
  it('bootstrap.sh is clean under shellcheck -S warning', () => {
    requireTool('shellcheck', 'linting bootstrap.sh');
    const result = capture('shellcheck', ['-S', 'warning', BOOTSTRAP]);
    expect(result.status, result.stdout).to.equal(0);
  });

  it('bootstrap.sh is formatted (shfmt -i 2 -ci)', () => {
    requireTool('shfmt', 'checking the format of bootstrap.sh');
    const result = capture('shfmt', ['-d', '-i', '2', '-ci', BOOTSTRAP]);
    expect(result.status, result.stdout).to.equal(0);
  });

  // One source: the table bootstrap.sh reads is generated from data/partitions.json at render time (generated/
  // ecr-accounts.txt, installed by provisioners/rootfs.sh), never committed under rootfs/.
  it('no ECR account table or credential provider config is committed under rootfs/ (they are generated)', () => {
    expect(existsSync(repoPath('rootfs/etc/eks/ecr-accounts.txt'))).to.equal(false);
    expect(existsSync(repoPath('rootfs/etc/eks/image-credential-provider/config.json'))).to.equal(false);
  });

  it('the generated ecr-accounts.txt gives each region the upstream EKS account', () => {
    const table = new Map(ecrAccountsFile().split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(' ') as [string, string]));
    // From the EKS user guide's "Amazon container image registries" table and the EKS AMI's get-ecr-uri.sh.
    const upstream: Record<string, string> = {
      'us-west-2': '602401143452', 'ap-east-2': '533267051163', 'ap-southeast-6': '333609536671',
      'us-isof-east-1': '171035529773', 'us-isof-south-1': '676585237158', 'us-isob-west-1': '321162350305',
      'eusc-de-east-1': '877088126301', 'us-gov-east-1': '151742754352', 'cn-northwest-1': '961992271922',
      'mx-central-1': '730335286997', 'eu-isoe-west-1': '249663109785',
    };
    for (const [region, account] of Object.entries(upstream)) expect(table.get(region), region).to.equal(account);
    expect(table.size).to.equal(Object.values(partitions).reduce((n, p) => n + Object.keys(p.regions).length, 0));
    // bootstrap.sh reads "<region> <account>" with awk: exactly two fields per line.
    for (const [region, account] of table) expect(`${region} ${account}`).to.match(/^[a-z0-9-]+ \d{12}$/);
  });

  it('the credential provider config is valid for the kubelet v1 API and matches the registries of every partition', () => {
    const config = JSON.parse(credentialProviderConfig('1.33'));
    expect(config).to.include({ apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig' });
    expect(config.providers[0]).to.include({ name: 'ecr-credential-provider', apiVersion: 'credentialprovider.kubelet.k8s.io/v1' });
    const match: string[] = config.providers[0].matchImages;
    // Registry names kubelet must hand to the provider (wildcards match one DNS label each, as kubelet does).
    const matches = (host: string) => match.some((p) => new RegExp(`^${p.split('.').map((l) => l.replace(/\*/g, '[^.]+')).join('\\.')}$`).test(host));
    for (const host of [
      '602401143452.dkr.ecr.us-west-2.amazonaws.com',
      '602401143452.dkr-ecr.us-west-2.on.aws',
      '602401143452.dkr-ecr-fips.us-east-1.on.aws',
      '602401143452.dkr.ecr-fips.us-east-1.amazonaws.com',
      '918309763551.dkr.ecr.cn-north-1.amazonaws.com.cn',
      '918309763551.dkr-ecr.cn-north-1.on.amazonwebservices.com.cn',
      '877088126301.dkr.ecr.eusc-de-east-1.amazonaws.eu',
      '171035529773.dkr.ecr.us-isof-east-1.csp.hci.ic.gov',
      'public.ecr.aws',
    ]) {
      expect(matches(host), host).to.equal(true);
    }
    expect(matches('docker.io')).to.equal(false);
  });

  it('asks the provider about public ECR only from the minors whose provider supports it', () => {
    const images = (minor: string) => JSON.parse(credentialProviderConfig(minor)).providers[0].matchImages as string[];
    expect(images('1.26')).to.not.include('public.ecr.aws');
    expect(images('1.27')).to.include('public.ecr.aws');
    expect(images('1.31')).to.not.include('ecr-public.aws.com');
    expect(images('1.32')).to.include('ecr-public.aws.com');
    expect(images('1.36')).to.include.members(['public.ecr.aws', 'ecr-public.aws.com']);
  });
});
