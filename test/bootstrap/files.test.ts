// Static checks of the files under rootfs/etc/eks that bootstrap.sh ships with.
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { repoPath } from '../../src/paths.ts';
import { partitions } from '../../src/data/catalog.ts';
import { requireTool } from '../support/tools.ts';

const BOOTSTRAP = repoPath('rootfs/etc/eks/bootstrap.sh');

describe('rootfs/etc/eks', () => {
  it('bootstrap.sh is clean under shellcheck -S warning', () => {
    requireTool('shellcheck', 'linting bootstrap.sh');
    const result = spawnSync('shellcheck', ['-S', 'warning', BOOTSTRAP], { encoding: 'utf8' });
    expect(result.status, result.stdout).to.equal(0);
  });

  it('bootstrap.sh is formatted (shfmt -i 2 -ci)', () => {
    requireTool('shfmt', 'checking the format of bootstrap.sh');
    const result = spawnSync('shfmt', ['-d', '-i', '2', '-ci', BOOTSTRAP], { encoding: 'utf8' });
    expect(result.status, result.stdout).to.equal(0);
  });

  it('ecr-accounts.txt holds exactly the accounts data/partitions.json gives each region', () => {
    const expected = Object.values(partitions)
      .flatMap((p) => Object.entries(p.regions).map(([region, info]) => `${region} ${info.ecrAccount ?? p.defaultEcrAccount}`))
      .sort();
    const actual = readFileSync(repoPath('rootfs/etc/eks/ecr-accounts.txt'), 'utf8')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    expect(actual, 'rootfs/etc/eks/ecr-accounts.txt is out of date with data/partitions.json').to.deep.equal(expected);
  });

  it('the image credential provider config is valid JSON for the kubelet v1 API', () => {
    const config = JSON.parse(readFileSync(repoPath('rootfs/etc/eks/image-credential-provider/config.json'), 'utf8'));
    expect(config).to.include({ apiVersion: 'kubelet.config.k8s.io/v1', kind: 'CredentialProviderConfig' });
    expect(config.providers[0]).to.include({ name: 'ecr-credential-provider', apiVersion: 'credentialprovider.kubelet.k8s.io/v1' });
  });

});
