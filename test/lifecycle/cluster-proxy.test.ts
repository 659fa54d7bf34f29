// make cluster-proxy (and its alias make cluster-ipvs) against moto_server for EKS clusters and managed node
// groups, EC2 images, tags and launch templates, and SSM parameters, all real. moto 5.2.1 serves no EKS add-on
// API (DescribeAddon, DescribeAddonConfiguration, UpdateAddon answer 404), so the EKS endpoint is a small local
// stand-in that answers exactly those three from the add-ons each test declares, records them, and forwards
// every other EKS request (DescribeCluster, ListNodegroups, DescribeNodegroup) to moto unchanged.
import { expect } from 'chai';
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, CreateNodegroupCommand, EKSClient } from '@aws-sdk/client-eks';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ipvs } from '../../src/data/catalog.ts';
import { checkScheduler, ipvsConfiguration, nftablesConfiguration, schemaModes } from '../../src/lifecycle/cluster-proxy.ts';
import { registerTaggedImage, runScriptAsync as runScript, useMoto } from './support.ts';

interface Received {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

interface StandInAddon {
  addonVersion: string;
  configurationValues?: string;
}

/** The shape of the EKS kube-proxy add-on's configuration schema: mode under a $ref'd definition. */
const kubeProxySchema = (modes: string[]) =>
  JSON.stringify({
    $ref: '#/definitions/KubeProxy',
    $schema: 'http://json-schema.org/draft-06/schema#',
    definitions: {
      Ipvs: { additionalProperties: false, properties: { scheduler: { type: 'string' } }, type: 'object' },
      KubeProxy: {
        additionalProperties: false,
        properties: { ipvs: { $ref: '#/definitions/Ipvs' }, mode: { enum: modes, type: 'string' }, resources: { type: 'object' } },
        type: 'object',
      },
    },
  });

function eksStandIn(motoEndpoint: string, addons: Record<string, Record<string, StandInAddon>>, schemas: Record<string, string[]>, received: Received[]): Promise<Server> {
  const moto = new URL(motoEndpoint);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const url = new URL(req.url!, 'http://stand-in');
      const addon = /^\/clusters\/([^/]+)\/addons\/([^/]+)(\/update)?$/.exec(url.pathname);
      const schema = url.pathname === '/addons/configuration-schemas';
      if (!addon && !schema) {
        // Everything moto serves goes to moto as it came.
        const forward = request({ host: moto.hostname, port: moto.port, method: req.method, path: req.url, headers: { ...req.headers, host: moto.host } }, (answer) => {
          res.writeHead(answer.statusCode ?? 500, answer.headers);
          answer.pipe(res);
        });
        forward.end(body);
        return;
      }
      received.push({ method: req.method!, path: url.pathname, query: url.searchParams, body: body.length ? JSON.parse(body.toString()) : {} });
      res.setHeader('content-type', 'application/json');
      const missing = (message: string) => {
        res.statusCode = 404;
        res.setHeader('x-amzn-errortype', 'ResourceNotFoundException');
        res.end(JSON.stringify({ message }));
      };
      if (schema) {
        const version = url.searchParams.get('addonVersion') ?? '';
        if (!schemas[version]) return missing(`no configuration schema for ${version}`);
        return res.end(JSON.stringify({ addonName: url.searchParams.get('addonName'), addonVersion: version, configurationSchema: kubeProxySchema(schemas[version]) }));
      }
      const [, cluster, name, update] = addon!;
      const found = addons[cluster]?.[name];
      if (!found) return missing(`No addon: ${name} found in cluster: ${cluster}`);
      if (update) return res.end(JSON.stringify({ update: { id: 'upd-1', status: 'InProgress', type: 'AddonUpdate' } }));
      res.end(JSON.stringify({ addon: { addonName: name, clusterName: cluster, status: 'ACTIVE', ...found } }));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('lifecycle: make cluster-proxy (moto for EKS clusters, node groups, images, launch templates, SSM; add-on stand-in)', function () {
  this.timeout(120_000);
  const handle = useMoto();
  const received: Received[] = [];
  let server: Server;
  let env: NodeJS.ProcessEnv;

  const kubeProxy = (addonVersion: string, configurationValues?: string) => ({ 'kube-proxy': { addonVersion, configurationValues } });
  const addons: Record<string, Record<string, StandInAddon>> = {
    // 1.33, everything ready for nftables; kube-proxy tuned with an IPVS block from an earlier IPVS setup.
    ready: { ...kubeProxy('v1.33.3-eksbuild.2', '{"resources":{"limits":{"memory":"128Mi"}},"mode":"ipvs","ipvs":{"scheduler":"wlc"}}'), 'vpc-cni': { addonVersion: 'v1.23.1-eksbuild.1' } },
    // 1.32: too old for nftables everywhere; node groups on RHEL 8, an untagged image and an EKS-managed AMI.
    old: { ...kubeProxy('v1.32.6-eksbuild.12'), 'vpc-cni': { addonVersion: 'v1.19.2-eksbuild.1' } },
    // 1.35: IPVS still offered but deprecated. 1.36: IPVS gone from the add-on.
    deprecated: { ...kubeProxy('v1.35.0-eksbuild.2'), 'vpc-cni': { addonVersion: 'v1.23.0-eksbuild.1' } },
    current: { ...kubeProxy('v1.36.1-eksbuild.1'), 'vpc-cni': { addonVersion: 'v1.24.0-eksbuild.1' } },
    bare: {},
  };
  const schemas: Record<string, string[]> = {
    'v1.33.3-eksbuild.2': ['iptables', 'ipvs', 'nftables'],
    'v1.32.6-eksbuild.12': ['iptables', 'ipvs'],
    'v1.35.0-eksbuild.2': ['iptables', 'ipvs', 'nftables'],
    'v1.36.1-eksbuild.1': ['iptables', 'nftables'],
  };

  before(async () => {
    const motoEnv = handle.moto!.env;
    server = await eksStandIn(handle.moto!.endpoint, addons, schemas, received);
    env = { ...process.env, ...motoEnv, AWS_ENDPOINT_URL_EKS: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const region = 'us-west-2';
    const ec2 = new EC2Client({ region });
    const eks = new EKSClient({ region, endpoint: env.AWS_ENDPOINT_URL_EKS });
    const ssm = new SSMClient({ region });
    const image = (name: string, modes?: string) => registerTaggedImage(ec2, name, modes === undefined ? { Name: name } : { Name: name, kube_proxy_modes: modes });
    const template = async (name: string, imageId: string) =>
      (await ec2.send(new CreateLaunchTemplateCommand({ LaunchTemplateName: name, LaunchTemplateData: { ImageId: imageId, MetadataOptions: { HttpTokens: 'required' } } }))).LaunchTemplate!.LaunchTemplateId!;
    const rhel9 = await image('rhel-9-eks-node-1.33-x86_64-standard-v1', 'ipvs,nftables');
    const rhel10 = await image('rhel-10-eks-node-1.36-x86_64-standard-v1', 'ipvs,nftables');
    const rhel8 = await image('rhel-8-eks-node-1.32-x86_64-standard-v1', 'ipvs');
    const legacy = await image('rhel-9-eks-node-1.30-x86_64-standard-v0');
    await ssm.send(new PutParameterCommand({ Name: '/rhel-eks-ami/rhel-10/1.36/x86_64/standard/image_id', Value: rhel10, Type: 'String', DataType: 'aws:ec2:image' }));
    const lt = {
      rhel9: await template('lt-rhel9', rhel9),
      rhel10ssm: await template('lt-rhel10-ssm', 'resolve:ssm:/rhel-eks-ami/rhel-10/1.36/x86_64/standard/image_id'),
      rhel8: await template('lt-rhel8', rhel8),
      legacy: await template('lt-legacy', legacy),
    };
    const cluster = (name: string, version: string) =>
      eks.send(new CreateClusterCommand({ name, version, roleArn: 'arn:aws:iam::123456789012:role/eks', resourcesVpcConfig: { subnetIds: ['subnet-0a1b2c3d'] } }));
    const nodegroup = (clusterName: string, nodegroupName: string, launchTemplate?: { id: string; version?: string }) =>
      eks.send(
        new CreateNodegroupCommand({
          clusterName,
          nodegroupName,
          nodeRole: 'arn:aws:iam::123456789012:role/eks-node',
          subnets: ['subnet-0a1b2c3d'],
          ...(launchTemplate ? { launchTemplate } : { amiType: 'AL2023_x86_64_STANDARD' }),
        }),
      );
    await cluster('ready', '1.33');
    await nodegroup('ready', 'rhel9', { id: lt.rhel9, version: '1' });
    await nodegroup('ready', 'rhel10', { id: lt.rhel10ssm });
    await cluster('old', '1.32');
    await nodegroup('old', 'rhel8', { id: lt.rhel8, version: '1' });
    await nodegroup('old', 'legacy', { id: lt.legacy });
    await nodegroup('old', 'managed');
    await cluster('deprecated', '1.35');
    await nodegroup('deprecated', 'rhel9', { id: lt.rhel9 });
    await cluster('current', '1.36');
    await nodegroup('current', 'rhel10', { id: lt.rhel10ssm });
    await cluster('bare', '1.33');
  });
  after(() => server?.close());
  beforeEach(() => received.splice(0));

  const updates = () => received.filter((r) => r.method === 'POST');
  const proxy = (words: string[]) => runScript('cluster-proxy', words, env);

  it('reads the modes an add-on version offers from its JSON schema ($ref definitions, enum), and builds each configuration', () => {
    expect(schemaModes(kubeProxySchema(['iptables', 'ipvs']))).to.deep.equal(['iptables', 'ipvs']);
    expect(schemaModes(JSON.stringify({ type: 'object', properties: { mode: { type: 'string' } } }))).to.equal('any');
    expect(schemaModes(JSON.stringify({ type: 'object', properties: { resources: {} } }))).to.equal(null);
    expect(nftablesConfiguration('{"mode":"ipvs","ipvs":{"scheduler":"rr"},"resources":{}}')).to.deep.equal({ mode: 'nftables', resources: {} });
    expect(ipvsConfiguration('{"mode":"iptables","ipvs":{"strictARP":true},"resources":{}}', 'mh')).to.deep.equal({ mode: 'ipvs', ipvs: { strictARP: true, scheduler: 'mh' }, resources: {} });
    for (const s of ipvs.schedulers) {
      expect(checkScheduler(s)).to.equal(s);
      expect(ipvs.modules, s).to.include(`ip_vs_${s}`);
    }
    expect(() => checkScheduler('twos')).to.throw(/scheduler="twos" is not allowed: one of rr, wrr/);
  });

  it('mode=nftables on a ready 1.33 cluster: checks version, add-on schema, VPC CNI and every node group image (also via resolve:ssm:), then sends UpdateAddon', async () => {
    const run = await proxy(['cluster=ready', 'mode=nftables']);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.contain('disruptive').and.contain('sudo nft list table ip kube-proxy');
    expect(run.stderr).to.contain('kube-proxy add-on v1.33.3-eksbuild.2 offers mode nftables');
    expect(run.stderr).to.contain('vpc-cni add-on v1.23.1-eksbuild.1 is v1.23.0 or later');
    expect(run.stderr).to.match(/node group rhel9 \(ami-[0-9a-f]+; launch template lt-rhel9 version 1\): kube_proxy_modes=ipvs,nftables/);
    expect(run.stderr).to.match(/node group rhel10 \(ami-[0-9a-f]+; launch template lt-rhel10-ssm version \$Default → SSM parameter \/rhel-eks-ami\/rhel-10\/1\.36\/x86_64\/standard\/image_id\): kube_proxy_modes=ipvs,nftables/);
    expect(run.stderr).to.contain('update upd-1 InProgress');
    // The schema was asked for the installed add-on version.
    const schemaCall = received.find((r) => r.path === '/addons/configuration-schemas')!;
    expect(schemaCall.query.get('addonName')).to.equal('kube-proxy');
    expect(schemaCall.query.get('addonVersion')).to.equal('v1.33.3-eksbuild.2');
    // Other settings kept, the IPVS block dropped, OVERWRITE.
    expect(updates().map((r) => r.path)).to.deep.equal(['/clusters/ready/addons/kube-proxy/update']);
    expect(updates()[0].body.resolveConflicts).to.equal('OVERWRITE');
    expect(JSON.parse(updates()[0].body.configurationValues as string)).to.deep.equal({ resources: { limits: { memory: '128Mi' } }, mode: 'nftables' });
    expect(JSON.parse(run.stdout)).to.deep.equal({ resources: { limits: { memory: '128Mi' } }, mode: 'nftables' });
  });

  it('refuses nftables where the cluster cannot run it, naming every reason, and sends nothing (exit 3)', async () => {
    const run = await proxy(['cluster=old', 'mode=nftables']);
    expect(run.status, run.stderr).to.equal(3);
    expect(run.stderr).to.contain('was NOT switched to nftables mode; nothing was changed');
    expect(run.stderr).to.contain('runs Kubernetes 1.32; EKS\'s kube-proxy add-on offers nftables mode from 1.33');
    expect(run.stderr).to.contain('kube-proxy add-on v1.32.6-eksbuild.12 accepts mode iptables, ipvs, not nftables');
    expect(run.stderr).to.contain('vpc-cni add-on v1.19.2-eksbuild.1 is older than v1.23.0');
    expect(run.stderr).to.match(/node group rhel8 \(ami-[0-9a-f]+;[^)]*\): its image is ready for ipvs only/);
    expect(run.stderr).to.match(/node group legacy \(ami-[0-9a-f]+;[^)]*\): the image has no kube_proxy_modes tag/);
    expect(run.stderr).to.contain('node group managed (no image found; no launch template: EKS-managed AMI type AL2023_x86_64_STANDARD)');
    expect(updates()).to.deep.equal([]);
    expect(run.stdout).to.equal('');
  });

  it('mode=ipvs: allowed on 1.32 with warnings for untagged images; deprecated on 1.35 (warns); refused on 1.36, where the add-on dropped it', async () => {
    const old = await proxy(['cluster=old', 'mode=ipvs', 'scheduler=lc']);
    expect(old.status, old.stderr).to.equal(0);
    expect(old.stderr).to.match(/warning: node group legacy .*has no kube_proxy_modes tag; IPVS mode needs/);
    expect(old.stderr).to.contain('sudo ipvsadm -L');
    expect(JSON.parse(updates()[0].body.configurationValues as string)).to.deep.equal({ mode: 'ipvs', ipvs: { scheduler: 'lc' } });
    received.splice(0);
    const deprecated = await proxy(['cluster=deprecated', 'mode=ipvs']);
    expect(deprecated.status, deprecated.stderr).to.equal(0);
    expect(deprecated.stderr).to.contain('warning: IPVS mode is deprecated upstream from Kubernetes 1.35');
    expect(updates()).to.have.length(1);
    received.splice(0);
    const current = await proxy(['cluster=current', 'mode=ipvs']);
    expect(current.status, current.stderr).to.equal(3);
    expect(current.stderr).to.contain('kube-proxy add-on v1.36.1-eksbuild.1 accepts mode iptables, nftables, not ipvs');
    expect(current.stderr).to.contain('EKS removed IPVS mode from the kube-proxy add-on after 1.35');
    expect(updates()).to.deep.equal([]);
    // The same 1.36 cluster takes nftables.
    expect((await proxy(['cluster=current', 'mode=nftables'])).status).to.equal(0);
  });

  it('dry_run=true runs every check and prints the UpdateAddon request without sending it', async () => {
    const run = await proxy(['cluster=ready', 'mode=nftables', 'dry_run=true']);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.contain('Dry run: every check passed');
    expect(run.stderr).to.contain('"clusterName":"ready","addonName":"kube-proxy"').and.contain('"resolveConflicts":"OVERWRITE"');
    expect(received.map((r) => r.method)).to.not.include('POST');
    expect(received.some((r) => r.path === '/addons/configuration-schemas')).to.equal(true);
  });

  it('make cluster-ipvs is cluster-proxy mode=ipvs (same checks, same request)', async () => {
    const run = await runScript('cluster-ipvs', ['cluster=deprecated', 'scheduler=rr'], env);
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stderr).to.contain('warning: IPVS mode is deprecated upstream');
    expect(JSON.parse(updates()[0].body.configurationValues as string)).to.deep.equal({ mode: 'ipvs', ipvs: { scheduler: 'rr' } });
  });

  it('bad input exits 2 before any request; a cluster without the kube-proxy add-on or no cluster at all exits 3 saying what to do', async () => {
    for (const [script, words, message] of [
      ['cluster-proxy', ['cluster=ready'], 'make cluster-proxy needs mode=…'],
      ['cluster-proxy', ['cluster=ready', 'mode=userspace'], 'mode="userspace" is not allowed: one of ipvs, nftables'],
      ['cluster-proxy', ['cluster=ready', 'mode=nftables', 'scheduler=rr'], 'scheduler="rr" is not allowed: only with mode=ipvs'],
      ['cluster-proxy', ['cluster=ready', 'mode=ipvs', 'scheduler=fastest'], 'scheduler="fastest" is not allowed'],
      ['cluster-ipvs', ['cluster=ready', 'mode=nftables'], 'mode="nftables" is not allowed: one of ipvs'],
      ['cluster-ipvs', ['clustr=ready'], 'Did you mean cluster?'],
    ] as const) {
      const run = await runScript(script, [...words], env);
      expect(run.status, `${script} ${words.join(' ')}: ${run.stderr}`).to.equal(2);
      expect(run.stderr).to.contain(message);
    }
    expect(received).to.deep.equal([]);
    const bare = await proxy(['cluster=bare', 'mode=nftables']);
    expect(bare.status).to.equal(3);
    expect(bare.stderr).to.contain('aws eks create-addon --cluster-name bare --addon-name kube-proxy');
    const none = await proxy(['cluster=nosuch', 'mode=nftables']);
    expect(none.status).to.equal(3);
    expect(none.stderr).to.contain('There is no EKS cluster nosuch in us-west-2');
  });
});
