// make cluster-ipvs: moto has no EKS add-on API (DescribeAddon/UpdateAddon answer 404), so the real SDK talks to a
// small local stand-in that records what it receives.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ipvs } from '../../src/data/catalog.ts';
import { lifecycleClients } from '../../src/lifecycle/aws.ts';
import { checkScheduler, ipvsConfiguration, switchToIpvs } from '../../src/lifecycle/cluster-ipvs.ts';
import { runScriptAsync as runScript } from './support.ts';

interface Received {
  method: string;
  url: string;
  body: Record<string, unknown>;
}

function eksStandIn(addons: Record<string, { configurationValues?: string }>, received: Received[]): Promise<Server> {
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (c) => (text += c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, body: text ? JSON.parse(text) : {} });
      const m = /^\/clusters\/([^/]+)\/addons\/kube-proxy(\/update)?$/.exec(req.url!.split('?')[0]);
      const addon = m && addons[m[1]];
      res.setHeader('content-type', 'application/json');
      if (!addon) {
        res.statusCode = 404;
        res.setHeader('x-amzn-errortype', 'ResourceNotFoundException');
        return res.end(JSON.stringify({ message: 'No addon: kube-proxy found in cluster' }));
      }
      if (m[2]) return res.end(JSON.stringify({ update: { id: 'upd-1', status: 'InProgress', type: 'AddonUpdate' } }));
      res.end(JSON.stringify({ addon: { addonName: 'kube-proxy', clusterName: m[1], addonVersion: 'v1.29.0-eksbuild.1', status: 'ACTIVE', ...addon } }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('lifecycle: make cluster-ipvs (EKS stand-in)', function () {
  this.timeout(30_000);
  const received: Received[] = [];
  let server: Server;
  let env: NodeJS.ProcessEnv;
  let saved: NodeJS.ProcessEnv;

  before(async () => {
    server = await eksStandIn({ prod: {}, tuned: { configurationValues: '{"resources":{"limits":{"memory":"128Mi"}},"ipvs":{"strictARP":true}}' } }, received);
    const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    env = { ...process.env, AWS_ENDPOINT_URL_EKS: endpoint, AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIAFAKE', AWS_SECRET_ACCESS_KEY: 'fake', AWS_EC2_METADATA_DISABLED: 'true' };
    saved = { ...process.env };
    Object.assign(process.env, env);
  });
  after(() => {
    process.env = saved;
    server?.close();
  });
  beforeEach(() => received.splice(0));

  it('accepts exactly the schedulers whose modules the image loads (data/ipvs.json)', () => {
    for (const s of ipvs.schedulers) {
      expect(checkScheduler(s)).to.equal(s);
      expect(ipvs.modules, s).to.include(`ip_vs_${s}`);
    }
    expect(() => checkScheduler('twos')).to.throw(/scheduler="twos" is not allowed: one of rr, wrr/);
  });

  it('sends UpdateAddon with {"mode":"ipvs","ipvs":{"scheduler":"rr"}} and OVERWRITE, and says it is disruptive', async () => {
    const run = await runScript('cluster-ipvs', ['cluster=prod', 'scheduler=rr'], env);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.contain('disruptive').and.to.contain('ipvsadm -L').and.to.contain('update upd-1 InProgress');
    expect(JSON.parse(run.stdout)).to.deep.equal({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
    expect(received.map((r) => `${r.method} ${r.url.split('?')[0]}`)).to.deep.equal(['GET /clusters/prod/addons/kube-proxy', 'POST /clusters/prod/addons/kube-proxy/update']);
    const body = received[1].body;
    expect(body.resolveConflicts).to.equal('OVERWRITE');
    expect(JSON.parse(body.configurationValues as string)).to.deep.equal({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
  });

  it("keeps the add-on's other settings, and dry_run=true changes nothing", async () => {
    expect(ipvsConfiguration('{"mode":"iptables","ipvs":{"strictARP":true},"resources":{}}', 'mh')).to.deep.equal({ mode: 'ipvs', ipvs: { strictARP: true, scheduler: 'mh' }, resources: {} });
    const result = await switchToIpvs(lifecycleClients(), { cluster: 'tuned', region: 'us-west-2', scheduler: 'wlc', dryRun: true });
    expect(result.configuration).to.deep.equal({ resources: { limits: { memory: '128Mi' } }, ipvs: { strictARP: true, scheduler: 'wlc' }, mode: 'ipvs' });
    expect(received.map((r) => r.method)).to.deep.equal(['GET']);
  });

  it('a cluster without the kube-proxy add-on exits 3 saying how to add it; a bad scheduler exits 2 before any request', async () => {
    const missing = await runScript('cluster-ipvs', ['cluster=bare'], env);
    expect(missing.status).to.equal(3);
    expect(missing.stderr).to.contain('aws eks create-addon --cluster-name bare --addon-name kube-proxy');
    received.splice(0);
    const bad = await runScript('cluster-ipvs', ['cluster=prod', 'scheduler=fastest'], env);
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.contain('scheduler="fastest" is not allowed');
    const unknown = await runScript('cluster-ipvs', ['clustr=prod'], env);
    expect(unknown.status).to.equal(2);
    expect(unknown.stderr).to.contain('Did you mean cluster?');
    expect(received).to.deep.equal([]);
  });
});
