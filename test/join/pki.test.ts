// The join rehearsal's PKI, checked with openssl itself: every certificate verifies against the cluster CA for
// its purpose, carries the names its clients dial, and the "wrong CA" verifies none of them.
import { expect } from 'chai';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCertificateAuthority, createClusterPki, firstServiceAddress, type ClusterPki } from '../../src/rehearse/join/pki.ts';
import { capture } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';

const openssl = (...args: string[]) => capture('openssl', args);
const REGISTRY = '602401143452.dkr.ecr.us-west-2.amazonaws.com';

describe('join PKI (openssl)', function () {
  this.timeout(30_000);
  let dir: string;
  let pki: ClusterPki;

  before(async () => {
    requireTool('openssl', 'the join rehearsal PKI');
    dir = mkdtempSync(join(tmpdir(), 'join-pki-'));
    pki = await createClusterPki(join(dir, 'cluster'), { registryHosts: [REGISTRY], registryAddresses: ['10.213.0.1'] });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('the first service address is the kubernetes Service ClusterIP', () => {
    expect(firstServiceAddress('10.100.0.0/16')).to.equal('10.100.0.1');
    expect(firstServiceAddress('172.20.0.0/16')).to.equal('172.20.0.1');
    expect(firstServiceAddress('10.100.7.9/24')).to.equal('10.100.7.1');
    expect(() => firstServiceAddress('10.100.0.0')).to.throw(/not an IPv4 CIDR/);
  });

  it('every certificate verifies against the cluster CA for its purpose', () => {
    const servers = [pki.apiserver, pki.registry, pki.tokenWebhook];
    const clients = [pki.apiserverKubeletClient, pki.admin, pki.kubeProxy, pki.controllerManager];
    for (const [pairs, purpose] of [
      [servers, 'sslserver'],
      [clients, 'sslclient'],
    ] as const) {
      for (const pair of pairs) {
        const result = openssl('verify', '-purpose', purpose, '-CAfile', pki.ca.certFile, pair.certFile);
        expect(result.status, `${pair.certFile}: ${result.stderr}`).to.equal(0);
      }
    }
    // A client certificate is no server certificate: the purposes are really checked.
    expect(openssl('verify', '-purpose', 'sslserver', '-CAfile', pki.ca.certFile, pki.admin.certFile).status).to.not.equal(0);
  });

  it("the API server's certificate names every address a client dials", () => {
    const text = openssl('x509', '-in', pki.apiserver.certFile, '-noout', '-ext', 'subjectAltName').stdout;
    for (const name of ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local']) {
      expect(text).to.include(`DNS:${name}`);
    }
    for (const ip of ['10.0.2.2', '127.0.0.1', '10.100.0.1']) expect(text).to.include(`IP Address:${ip}`);
    expect(openssl('verify', '-CAfile', pki.ca.certFile, '-verify_hostname', 'kubernetes.default.svc', pki.apiserver.certFile).status).to.equal(0);
    expect(openssl('verify', '-CAfile', pki.ca.certFile, '-verify_ip', '10.100.0.1', pki.apiserver.certFile).status).to.equal(0);
    expect(openssl('verify', '-CAfile', pki.ca.certFile, '-verify_hostname', 'elsewhere.example', pki.apiserver.certFile).status).to.not.equal(0);
  });

  it('the registry certificate names the ECR host and its addresses; the client subjects are the identities RBAC knows', () => {
    expect(openssl('verify', '-CAfile', pki.ca.certFile, '-verify_hostname', REGISTRY, pki.registry.certFile).status).to.equal(0);
    for (const ip of ['127.0.0.1', '10.0.2.2', '10.213.0.1'])
      expect(openssl('verify', '-CAfile', pki.ca.certFile, '-verify_ip', ip, pki.registry.certFile).status, ip).to.equal(0);
    const subject = (file: string) => openssl('x509', '-in', file, '-noout', '-subject', '-nameopt', 'compat').stdout.trim();
    expect(subject(pki.admin.certFile)).to.match(/O=system:masters/);
    expect(subject(pki.kubeProxy.certFile)).to.match(/CN=system:kube-proxy$/);
    expect(subject(pki.controllerManager.certFile)).to.match(/CN=system:kube-controller-manager$/);
  });

  it('private keys are 0600 and the service-account key pair matches', () => {
    const keys = [pki.ca, pki.apiserver, pki.apiserverKubeletClient, pki.admin, pki.kubeProxy, pki.controllerManager, pki.registry, pki.tokenWebhook].map(
      (p) => p.keyFile,
    );
    for (const key of [...keys, pki.serviceAccount.privateKeyFile]) expect(statSync(key).mode & 0o777, key).to.equal(0o600);
    const derived = openssl('pkey', '-in', pki.serviceAccount.privateKeyFile, '-pubout').stdout;
    expect(derived).to.equal(openssl('pkey', '-pubin', '-in', pki.serviceAccount.publicKeyFile).stdout);
  });

  it('a second, unrelated CA verifies none of the cluster certificates', async () => {
    const wrong = await createCertificateAuthority(join(dir, 'wrong'), 'unrelated-ca');
    const result = openssl('verify', '-CAfile', wrong.certFile, pki.apiserver.certFile);
    expect(result.status).to.not.equal(0);
    expect(result.stdout + result.stderr).to.match(/unable to get local issuer certificate/);
  });
});
