// kube-proxy modes as data: what each RHEL major's image is ready for (plan.json, the AMI tag, the provisioners'
// environment) and what EKS's add-on offers per minor.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { eksAddonModes, imageKubeProxyModes, nftablesRequirements, usableKubeProxyModes } from '../../src/data/kube-proxy.ts';
import { repoPath } from '../../src/paths.ts';
import { amiTags, renderTemplate } from '../../src/render/render.ts';
import { samplePlan } from '../support/plan.ts';

describe('kube-proxy modes', () => {
  it('the RHEL 9 plan lists ipvs and nftables, the RHEL 8 plan only ipvs; the AMI tag and the provisioners get the same list', async () => {
    const rhel9 = await samplePlan();
    expect(rhel9.kube_proxy_modes).to.deep.equal(['ipvs', 'nftables']);
    expect(amiTags(rhel9)).to.include({ kube_proxy_modes: 'ipvs,nftables' });
    expect(rhel9.provisioner_environment).to.include({ KUBE_PROXY_MODES: 'ipvs nftables' });
    expect(renderTemplate(rhel9)).to.contain('"kube_proxy_modes":"ipvs,nftables"');
    const rhel8 = await samplePlan(['rhel_version=8']);
    expect(rhel8.kube_proxy_modes).to.deep.equal(['ipvs']);
    expect(amiTags(rhel8)).to.include({ kube_proxy_modes: 'ipvs' });
    expect(rhel8.provisioner_environment).to.include({ KUBE_PROXY_MODES: 'ipvs' });
  });

  it('every image keeps IPVS readiness, also for minors whose EKS add-on no longer offers IPVS', async () => {
    for (const rhel of [8, 9, 10]) expect(imageKubeProxyModes(rhel), `RHEL ${rhel}`).to.include('ipvs');
    expect(eksAddonModes('1.36')).not.to.include('ipvs');
    expect((await samplePlan(['rhel_version=8'])).kube_proxy_modes).to.include('ipvs');
  });

  it('what an EKS cluster of a minor can run on each image: nftables from 1.33 on RHEL 9/10 only, IPVS up to 1.35, iptables always', () => {
    expect(eksAddonModes('1.32')).to.have.members(['iptables', 'ipvs']);
    expect(eksAddonModes('1.33')).to.have.members(['iptables', 'ipvs', 'nftables']);
    expect(eksAddonModes('1.35')).to.have.members(['iptables', 'ipvs', 'nftables']);
    expect(eksAddonModes('1.36')).to.have.members(['iptables', 'nftables']);
    expect(usableKubeProxyModes(8, '1.34')).to.have.members(['iptables', 'ipvs']);
    expect(usableKubeProxyModes(8, '1.36')).to.deep.equal(['iptables']);
    expect(usableKubeProxyModes(9, '1.36')).to.have.members(['iptables', 'nftables']);
    expect(usableKubeProxyModes(9, '1.30')).to.have.members(['iptables', 'ipvs']);
  });

  it('validate.sh checks the same nftables minimums as the data (kernel 5.13, nft 1.0.1)', () => {
    const lib = readFileSync(repoPath('provisioners', 'lib', 'kube-proxy.sh'), 'utf8');
    const { minKernel, minNft } = nftablesRequirements();
    expect([minKernel, minNft]).to.deep.equal(['5.13', '1.0.1']);
    expect(lib).to.contain(`readonly NFTABLES_MIN_KERNEL=${minKernel}\n`).and.to.contain(`readonly NFTABLES_MIN_NFT=${minNft}\n`);
  });
});
