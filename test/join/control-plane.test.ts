// The join rehearsal's control plane with the real etcd, kube-apiserver and kube-controller-manager built from
// upstream source: it becomes ready, serves the API with the admin certificate, runs the controllers a node's
// pods need, authenticates a node's IAM token through the webhook (and refuses garbage), refuses a client that
// trusts another CA, fails fast naming the process that died, and stop() leaves no process behind.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane, type ControlPlaneBinaries } from '../../src/rehearse/join/control-plane.ts';
import { createCertificateAuthority, createClusterPki, type ClusterPki } from '../../src/rehearse/join/pki.ts';
import { TokenWebhook } from '../../src/rehearse/join/token-webhook.ts';
import { capture, captureAsync, startBackground } from '../support/spawn.ts';
import { requireTool } from '../support/tools.ts';
import { findUpstreamBinary, requireUpstreamBinary } from './upstream-binaries.ts';

const NODE_KEY = 'ASIAREHEARSALSTANDIN';
const NODE = 'ip-10-0-2-15.us-west-2.compute.internal';
const CLUSTER = 'rehearsal';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
/** Processes whose command line names `dir` (the control plane's work directory is in every one's flags). */
const processesUsing = (dir: string) =>
  capture('ps', ['-eo', 'pid=,args='])
    .stdout.split('\n')
    .filter((line) => line.includes(dir) && !line.includes(' ps '));

describe('join control plane (etcd, kube-apiserver, kube-controller-manager)', function () {
  this.timeout(300_000);
  let dir: string;
  let pki: ClusterPki;
  let webhook: TokenWebhook;
  let plane: ControlPlane;
  let binaries: ControlPlaneBinaries;
  const logged: string[] = [];

  /** A node's token as its kubelet gets it (aws-iam-authenticator when built, else `aws eks get-token`). */
  const nodeToken = async (accessKey = NODE_KEY): Promise<string> => {
    const env = {
      PATH: process.env.PATH,
      HOME: dir,
      AWS_ACCESS_KEY_ID: accessKey,
      AWS_SECRET_ACCESS_KEY: 'throw-away',
      AWS_SESSION_TOKEN: 'throw-away',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    const authenticator = findUpstreamBinary('aws-iam-authenticator', 'sigs.k8s.io/aws-iam-authenticator');
    const result = authenticator
      ? await captureAsync(authenticator, ['token', '-i', CLUSTER, '--region', 'us-west-2'], { env, timeout: 30_000 })
      : await captureAsync('aws', ['eks', 'get-token', '--cluster-name', CLUSTER, '--region', 'us-west-2'], { env, timeout: 30_000 });
    expect(result.status, result.stderr).to.equal(0);
    return (JSON.parse(result.stdout) as { status: { token: string } }).status.token;
  };

  /** A request as the node's kubelet makes it: bearer token, trusting `caFile`. */
  const asNode = (path: string, token: string, caFile = pki.ca.certFile) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${plane.localEndpoint}${path}`, { ca: readFileSync(caFile), headers: { Authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.once('error', reject);
      req.end();
    });

  before(async () => {
    requireTool('aws', 'making node tokens as `aws eks get-token` does');
    binaries = {
      etcd: requireUpstreamBinary('etcd', 'go.etcd.io/etcd/server/v3'),
      kubeApiserver: requireUpstreamBinary('kube-apiserver', 'k8s.io/kubernetes'),
      kubeControllerManager: requireUpstreamBinary('kube-controller-manager', 'k8s.io/kubernetes'),
    };
    dir = mkdtempSync(join(tmpdir(), 'join-control-plane-'));
    pki = await createClusterPki(join(dir, 'pki'), { registryHosts: ['602401143452.dkr.ecr.us-west-2.amazonaws.com'] });
    webhook = await new TokenWebhook({ host: '127.0.0.1', tls: pki.tokenWebhook, nodes: { [NODE_KEY]: NODE }, log: (l) => logged.push(l) }).start();
    const webhookConfig = join(dir, 'webhook.kubeconfig');
    webhook.writeKubeconfig(webhookConfig, pki.ca.certFile);
    plane = await startControlPlane({
      workDir: join(dir, 'plane'),
      binaries,
      pki,
      tokenWebhookKubeconfig: webhookConfig,
      clusterName: CLUSTER,
      log: (l) => logged.push(l),
    });
    console.log(`      control plane ready in ${plane.secondsToReady.toFixed(1)} s`);
  });
  after(async () => {
    await plane?.stop();
    await webhook?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives the node an endpoint at the advertised address and the cluster CA', () => {
    expect(plane.endpoint).to.equal(`https://10.0.2.2:${plane.port}`);
    expect(Buffer.from(plane.caB64, 'base64').toString()).to.equal(readFileSync(pki.ca.certFile, 'utf8'));
  });

  it('serves the API with the admin certificate: a namespace and a ClusterIP Service in the service CIDR', async () => {
    const ns = await plane.api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'join-test' } });
    expect(ns.status, ns.text).to.equal(201);
    const service = await plane.api('POST', '/api/v1/namespaces/join-test/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    });
    expect(service.status, service.text).to.equal(201);
    expect((service.body as { spec: { clusterIP: string } }).spec.clusterIP).to.match(/^10\.100\.\d+\.\d+$/);
    const kubernetes = await plane.api('GET', '/api/v1/namespaces/default/services/kubernetes');
    expect((kubernetes.body as { spec: { clusterIP: string } }).spec.clusterIP).to.equal('10.100.0.1');
  });

  it('the kubernetes Service points at the advertised address, and the controller manager writes EndpointSlices', async () => {
    const endpoints = await plane.api('GET', '/api/v1/namespaces/default/endpoints/kubernetes');
    expect((endpoints.body as { subsets: { addresses: { ip: string }[] }[] }).subsets[0]!.addresses.map((a) => a.ip)).to.deep.equal(['10.0.2.2']);
    // The EndpointSlice controller reacts to the Service made above: a slice labelled with its name appears.
    const deadline = Date.now() + 60_000;
    let slices: { items: unknown[] } = { items: [] };
    while (slices.items.length === 0 && Date.now() < deadline) {
      slices = (await plane.api('GET', '/apis/discovery.k8s.io/v1/namespaces/join-test/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb'))
        .body as typeof slices;
      if (slices.items.length === 0) await new Promise((r) => setTimeout(r, 250));
    }
    expect(slices.items).to.have.length(1);
  });

  it("authenticates a node's IAM token through the webhook as system:node:<name>, and refuses garbage", async () => {
    const token = await nodeToken();
    const accepted = await plane.api('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token },
    });
    expect(accepted.status, accepted.text).to.equal(201);
    const status = (accepted.body as { status: { authenticated: boolean; user: { username: string; groups: string[] } } }).status;
    expect([status.authenticated, status.user.username]).to.deep.equal([true, `system:node:${NODE}`]);
    expect(status.user.groups).to.include('system:nodes');
    const refused = await plane.api('POST', '/apis/authentication.k8s.io/v1/tokenreviews', {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenReview',
      spec: { token: 'k8s-aws-v1.garbage' },
    });
    expect((refused.body as { status: { authenticated?: boolean } }).status.authenticated ?? false).to.equal(false);
    expect(logged.some((l) => /token review: refused/.test(l))).to.equal(true);
  });

  it('a node with its token may read its own Node (Node authorizer) and no Secret; an unknown key gets 401', async () => {
    const token = await nodeToken();
    expect(await asNode(`/api/v1/nodes/${NODE}`, token)).to.equal(404); // authorized; the node has not registered
    expect(await asNode('/api/v1/namespaces/kube-system/secrets', token)).to.equal(403);
    expect(await asNode(`/api/v1/nodes/${NODE}`, await nodeToken('AKIAFAKETESTKEY00001'))).to.equal(401);
  });

  it('a client trusting another CA (a wrong --b64-cluster-ca) cannot even connect', async () => {
    const wrong = await createCertificateAuthority(join(dir, 'wrong-ca'), 'unrelated-ca');
    const error = await asNode('/version', 'any', wrong.certFile).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/self-signed certificate|unable to (get|verify)/i);
  });

  it('fails fast when a process dies while starting, naming it with its log tail, and leaves nothing behind', async () => {
    const work = join(dir, 'broken');
    const startedAt = Date.now();
    const error = await startControlPlane({
      workDir: work,
      binaries: { ...binaries, etcd: '/bin/false' },
      pki,
      tokenWebhookKubeconfig: join(dir, 'webhook.kubeconfig'),
      clusterName: CLUSTER,
    }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.match(/^etcd exited \(code 1\) while the control plane was starting/);
    expect(Date.now() - startedAt).to.be.below(30_000);
    expect(processesUsing(work)).to.deep.equal([]);
  });

  it('a SIGKILL of the process that started it (no stop(), no handler) takes the control plane with it', async () => {
    const work = join(dir, 'orphaned');
    const options = { workDir: work, binaries, pki, tokenWebhookKubeconfig: join(dir, 'webhook.kubeconfig'), clusterName: CLUSTER };
    const fixture = join(import.meta.dirname, 'fixtures', 'control-plane-orphan.ts');
    const child = startBackground(process.execPath, ['--import', 'tsx', fixture, JSON.stringify(options)]);
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
      child.once('exit', (code) => reject(new Error(`the fixture exited (${code}) before the control plane was ready`)));
    });
    const { pids } = JSON.parse(line) as { pids: number[] };
    expect(pids.filter(alive)).to.have.length(3);
    child.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(processesUsing(work)).to.deep.equal([]);
  });

  it('stop() ends every process of the control plane and may be called again', async () => {
    const pids = plane.pids;
    expect(pids).to.have.length(3);
    expect(pids.every(alive)).to.equal(true);
    await Promise.all([plane.stop(), plane.stop()]);
    expect(pids.filter(alive)).to.deep.equal([]);
    expect(processesUsing(join(dir, 'plane'))).to.deep.equal([]);
  });
});
