// NodeConfig user data (node.eks.aws/v1alpha1) through the real eks-nodeconfig launcher and /etc/eks/nodeconfig.py
// on the stand-in node (private mount namespace, IMDSv2 stand-in serving the user data, moto for EC2): each kind of
// document a user meets — plain YAML, JSON, nodeadm-style MIME multipart with parts merged in order and a shell
// part, Karpenter's AL2023-family output and this tool's own `make nodegroup format=karpenter` output — must leave
// the SAME kubelet configuration, kubeconfig, kubelet drop-in and containerd drop-in as bootstrap.sh given the
// equivalent options. Bad documents fail with a message naming the problem, before anything is written.
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { readFileSync, statSync } from 'node:fs';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { karpenterUserData } from '../../src/lifecycle/nodegroup.ts';
import { repoPath } from '../../src/paths.ts';
import { formatMaxPodsTable, maxPodsTable } from '../../src/resolve/max-pods.ts';
import { startMoto, type Moto } from '../support/moto.ts';
import { requireTool } from '../support/tools.ts';
import { sandboxSuite } from '../provisioners/fixtures.ts';
import { ImdsStandIn, defaultIdentity, requireNodeSandbox, runBootstrap, runOnNode, type NodeResult } from './node.ts';

const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBbm9kZWNvbmZpZw==\n-----END CERTIFICATE-----\n';
const CA = Buffer.from(CA_PEM).toString('base64');
const ENDPOINT = 'https://A1B2C3D4E5.gr7.us-west-2.eks.amazonaws.com';
const PAUSE = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10';
// The image's containerd configuration (schema 2) with the config.d import the build adds.
const CONTAINERD = `version = 2\nimports = ["/etc/containerd/config.d/*.toml"]\n[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "${PAUSE}"\n`;
const LAUNCHER = repoPath('rootfs/usr/local/bin/eks-nodeconfig');
const OUTPUTS = [
  '/etc/kubernetes/kubelet/kubelet-config.json',
  '/var/lib/kubelet/kubeconfig',
  '/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf',
  '/etc/kubernetes/pki/ca.crt',
  '/etc/containerd/config.d/50-bootstrap.toml',
];

// nodeadm's documented two-part example, extended the way users extend it: a second NodeConfig overriding and adding
// kubelet settings, a shell part, and a cloud-config part (cloud-init's, ignored here).
const MIME_TWO_PARTS = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="BOUNDARY"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
    apiServerEndpoint: ${ENDPOINT}
    certificateAuthority: ${CA}
    cidr: 10.100.0.0/16
  kubelet:
    config:
      maxPods: 20
      evictionHard:
        memory.available: 200Mi
    flags:
      - --node-labels=team=a

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      maxPods: 30
      shutdownGracePeriod: 30s
      evictionHard:
        nodefs.available: 15%
    flags:
      - --register-with-taints=dedicated=ipvs:NoSchedule
  containerd:
    config: |
      [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"

--BOUNDARY
Content-Type: text/x-shellscript; charset="us-ascii"

#!/bin/bash
echo "shell part ran" > /var/lib/eks-nodeconfig/marker

--BOUNDARY
Content-Type: text/cloud-config

#cloud-config
runcmd: [echo hello]

--BOUNDARY--
`;

// What Karpenter's AL2023 family writes (its generated part: comment, leading ---, metadata, quoted label flag).
const KARPENTER_AL2023 = `MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="//"

--//
Content-Type: application/node.eks.aws

# Karpenter Generated NodeConfig
---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
metadata:
  creationTimestamp: null
spec:
  cluster:
    apiServerEndpoint: ${ENDPOINT}
    certificateAuthority: ${CA}
    cidr: 172.20.0.0/16
    name: karpenter-cluster
  containerd: {}
  instance:
    localStorage: {}
  kubelet:
    config:
      clusterDNS:
      - 172.20.0.10
      maxPods: 29
      registerWithTaints:
      - effect: NoSchedule
        key: karpenter.sh/unregistered
    flags:
    - --node-labels="karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=default"

--//--
`;

describe('NodeConfig user data (eks-nodeconfig.service)', function () {
  this.timeout(120_000);
  let moto: Moto;
  const imds = new ImdsStandIn();
  let table: string;
  let instance: { instanceId: string; privateIp: string; privateDnsName: string };

  before(async function () {
    requireNodeSandbox();
    moto = await startMoto();
    await imds.start();
    const ec2 = new EC2Client({ region: 'us-west-2', endpoint: moto.endpoint, credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY } });
    table = formatMaxPodsTable(await maxPodsTable(ec2), { region: 'us-west-2', date: new Date() });
    const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0];
    const launched = (await ec2.send(new RunInstancesCommand({ ImageId: image.ImageId, InstanceType: 'm5.large', MinCount: 1, MaxCount: 1 }))).Instances![0];
    instance = { instanceId: launched.InstanceId!, privateIp: launched.PrivateIpAddress!, privateDnsName: launched.PrivateDnsName! };
  });

  after(async () => {
    await imds.stop();
    await moto?.stop();
  });

  beforeEach(() => {
    imds.identity = defaultIdentity({ instanceId: instance.instanceId, privateIp: instance.privateIp, hostname: instance.privateDnsName });
    imds.userData = undefined;
  });

  const options = (extra: { stubs?: Record<string, string>; imageFiles?: Record<string, string> } = {}) => ({
    imds,
    maxPodsTable: table,
    env: { ...moto.env },
    imageFiles: { '/etc/containerd/config.toml': CONTAINERD, ...extra.imageFiles },
    containerdImages: [PAUSE],
    stubs: extra.stubs,
  });
  const boot = (userData: string | Buffer | undefined, extra: { stubs?: Record<string, string> } = {}) => {
    imds.userData = userData;
    return runOnNode(['bash', LAUNCHER], options(extra));
  };
  /** bootstrap.sh run directly, the override files placed where the NodeConfig path writes them. */
  const bootstrap = (args: string[], files: Record<string, string> = {}) => runBootstrap(args, options({ imageFiles: files }));
  const ok = (r: NodeResult) => expect(r.status, `failed:\n${r.stderr}`).to.equal(0);
  const expectSameNode = (viaNodeConfig: NodeResult, viaBootstrap: NodeResult) => {
    // Each run has its own stand-in bin directory (the AWS CLI wrapper the kubeconfig names).
    const same = (text: string | undefined) => text?.replace(/\/tmp\/eks-node-[^/]+\//g, '/STANDIN/');
    for (const path of OUTPUTS) {
      const a = same(viaNodeConfig.file(path));
      const b = same(viaBootstrap.file(path));
      if (path.endsWith('.json')) expect(JSON.parse(a ?? 'null'), path).to.deep.equal(JSON.parse(b ?? 'null'));
      else expect(a, path).to.equal(b);
    }
    expect(viaNodeConfig.systemctl.map((c) => c.replace('--no-block ', ''))).to.deep.equal(viaBootstrap.systemctl);
  };
  const kubeletConfig = (r: NodeResult) => JSON.parse(r.file('/etc/kubernetes/kubelet/kubelet-config.json') ?? 'null');
  const overrides = (config: object) => ({ '/etc/eks/nodeconfig/kubelet-config.json': JSON.stringify(config) });

  it('plain NodeConfig YAML configures the node exactly as bootstrap.sh with the equivalent options', async () => {
    const viaNodeConfig = await boot(`apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  cluster:
    name: my-cluster
    apiServerEndpoint: ${ENDPOINT}
    certificateAuthority: ${CA}
    cidr: 10.96.0.0/16
  kubelet:
    config:
      maxPods: 58
    flags:
      - --node-labels="role=worker"
`);
    ok(viaNodeConfig);
    expect(viaNodeConfig.stderr).to.include('configuring the node from 1 NodeConfig document(s) for cluster my-cluster');
    const viaBootstrap = await bootstrap(
      ['my-cluster', '--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA, '--service-ipv4-cidr', '10.96.0.0/16', '--kubelet-extra-args', '--node-labels=role=worker', '--kubelet-config-overrides', '/etc/eks/nodeconfig/kubelet-config.json'],
      overrides({ maxPods: 58 }),
    );
    ok(viaBootstrap);
    expectSameNode(viaNodeConfig, viaBootstrap);
    const config = kubeletConfig(viaNodeConfig);
    expect(config.maxPods).to.equal(58);
    expect(config.clusterDNS).to.deep.equal(['10.96.0.10']);
    expect(config.kubeReserved.memory).to.equal(`${11 * 58 + 255}Mi`);
    // The quotes a YAML author put around the label value are gone, as a shell would remove them.
    expect(viaNodeConfig.file('/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf')).to.include('Environment="KUBELET_EXTRA_ARGS=--node-labels=role=worker"');
    // Ordered before kubelet.service, so the kubelet is started without waiting for the unit itself.
    expect(viaNodeConfig.systemctl).to.include('--no-block restart kubelet');
  });

  it('a JSON NodeConfig is read too', async () => {
    const doc = { apiVersion: 'node.eks.aws/v1alpha1', kind: 'NodeConfig', spec: { cluster: { name: 'json-cluster', apiServerEndpoint: ENDPOINT, certificateAuthority: CA, cidr: '172.20.0.0/16' } } };
    const viaNodeConfig = await boot(JSON.stringify(doc));
    ok(viaNodeConfig);
    const viaBootstrap = await bootstrap(['json-cluster', '--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA, '--service-ipv4-cidr', '172.20.0.0/16']);
    ok(viaBootstrap);
    expectSameNode(viaNodeConfig, viaBootstrap);
    expect(viaNodeConfig.file('/var/lib/kubelet/kubeconfig')).to.include(`server: "${ENDPOINT}"`);
  });

  it('MIME multipart: NodeConfig parts merged in order, containerd fragment installed, the shell part run after', async () => {
    const viaNodeConfig = await boot(MIME_TWO_PARTS);
    ok(viaNodeConfig);
    const merged = {
      evictionHard: { 'memory.available': '200Mi', 'nodefs.available': '15%' },
      maxPods: 30,
      shutdownGracePeriod: '30s',
    };
    const toml = '[plugins."io.containerd.grpc.v1.cri".registry]\nconfig_path = "/etc/containerd/certs.d"\n';
    const viaBootstrap = await bootstrap(
      [
        'my-cluster', '--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA, '--service-ipv4-cidr', '10.100.0.0/16',
        '--kubelet-extra-args', '--node-labels=team=a --register-with-taints=dedicated=ipvs:NoSchedule',
        '--kubelet-config-overrides', '/etc/eks/nodeconfig/kubelet-config.json', '--containerd-config-dropin', '/etc/eks/nodeconfig/containerd-config.toml',
      ],
      { ...overrides(merged), '/etc/eks/nodeconfig/containerd-config.toml': toml },
    );
    ok(viaBootstrap);
    expectSameNode(viaNodeConfig, viaBootstrap);
    const config = kubeletConfig(viaNodeConfig);
    expect(config.maxPods).to.equal(30); // the later part wins
    // Merged key by key: the later part's threshold added, the earlier's kept, bootstrap's own third one kept.
    expect(config.evictionHard).to.deep.equal({ 'memory.available': '200Mi', 'nodefs.available': '15%', 'nodefs.inodesFree': '5%' });
    expect(viaNodeConfig.file('/etc/containerd/config.d/50-bootstrap.toml')).to.equal(toml);
    expect(viaNodeConfig.systemctl).to.include('restart containerd');
    // No cloud-init on this node: the shell part is run by eks-nodeconfig, after bootstrap.sh.
    expect(viaNodeConfig.file('/var/lib/eks-nodeconfig/marker')).to.equal('shell part ran\n');
    expect(viaNodeConfig.stderr).to.include('MIME part 4 (text/cloud-config): not NodeConfig, left to cloud-init');
  });

  it('leaves shell parts to cloud-init when cloud-init is installed, so they never run twice', async () => {
    const result = await boot(MIME_TWO_PARTS, { stubs: { 'cloud-init': 'exit 0' } });
    ok(result);
    expect(result.file('/var/lib/eks-nodeconfig/marker')).to.equal(undefined);
    expect(result.stderr).to.include('1 shell part(s) are left to cloud-init');
  });

  it("Karpenter's AL2023-family user data gives the same kubelet configuration as bootstrap.sh", async () => {
    const viaNodeConfig = await boot(KARPENTER_AL2023);
    ok(viaNodeConfig);
    const viaBootstrap = await bootstrap(
      [
        'karpenter-cluster', '--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA, '--service-ipv4-cidr', '172.20.0.0/16',
        '--kubelet-extra-args', '--node-labels=karpenter.sh/capacity-type=on-demand,karpenter.sh/nodepool=default',
        '--kubelet-config-overrides', '/etc/eks/nodeconfig/kubelet-config.json',
      ],
      overrides({ clusterDNS: ['172.20.0.10'], maxPods: 29, registerWithTaints: [{ effect: 'NoSchedule', key: 'karpenter.sh/unregistered' }] }),
    );
    ok(viaBootstrap);
    expectSameNode(viaNodeConfig, viaBootstrap);
    expect(kubeletConfig(viaNodeConfig).registerWithTaints).to.deep.equal([{ effect: 'NoSchedule', key: 'karpenter.sh/unregistered' }]);
  });

  it('the user data `make nodegroup format=karpenter` writes gives the same node as bootstrap.sh', async () => {
    const userData = karpenterUserData({ clusterName: 'prod', endpoint: ENDPOINT, certificateAuthority: CA, serviceIpv4Cidr: '10.100.0.0/16', imageId: 'ami-0123456789abcdef0' });
    const viaNodeConfig = await boot(userData);
    ok(viaNodeConfig);
    const viaBootstrap = await bootstrap(
      ['prod', '--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA, '--service-ipv4-cidr', '10.100.0.0/16', '--kubelet-config-overrides', '/etc/eks/nodeconfig/kubelet-config.json'],
      overrides({ registerWithTaints: [{ key: 'karpenter.sh/unregistered', effect: 'NoExecute' }] }),
    );
    ok(viaBootstrap);
    expectSameNode(viaNodeConfig, viaBootstrap);
    // Karpenter v1 (amiFamily Custom) expects nodes to register with its unregistered taint.
    expect(kubeletConfig(viaNodeConfig).registerWithTaints).to.deep.equal([{ key: 'karpenter.sh/unregistered', effect: 'NoExecute' }]);
  });

  it('does nothing for AL2-style bootstrap.sh user data, or without user data', async () => {
    for (const userData of ['#!/bin/bash\n/etc/eks/bootstrap.sh my-cluster\n', undefined]) {
      const result = await boot(userData);
      ok(result);
      expect(result.written).to.deep.equal([]);
      expect(result.systemctl).to.deep.equal([]);
    }
  });

  it('refuses bad documents with a message naming the problem, before anything is written', async () => {
    const doc = (spec: string, head = 'apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig') => `${head}\nspec:\n${spec}`;
    const cluster = `  cluster:\n    name: c\n    apiServerEndpoint: ${ENDPOINT}\n    certificateAuthority: ${CA}\n`;
    for (const [userData, message] of [
      [doc(cluster, 'apiVersion: node.eks.aws/v1beta9\nkind: NodeConfig'), "has apiVersion 'node.eks.aws/v1beta9' and kind 'NodeConfig': this image reads apiVersion node.eks.aws/v1alpha1"],
      [doc(`  cluster:\n    apiServerEndpoint: ${ENDPOINT}\n    certificateAuthority: ${CA}\n`), 'spec.cluster.name is missing'],
      [doc(`${cluster}  kubelet:\n    configs:\n      maxPods: 3\n`), 'unknown field(s) configs in spec.kubelet (allowed: config, flags)'],
      [doc(`${cluster}    cidr: fd00::/108\n`), 'spec.cluster.cidr fd00::/108 is IPv6'],
      [doc(`  cluster:\n    name: c\n    apiServerEndpoint: http://insecure\n    certificateAuthority: ${CA}\n`), "apiServerEndpoint 'http://insecure' is not an https:// URL"],
      [MIME_TWO_PARTS.replace('    cidr: 10.100.0.0/16', '    cidr: [10.100'), 'MIME part 1 (application/node.eks.aws) is not valid YAML or JSON'],
    ] as const) {
      const result = await boot(userData);
      expect(result.status, userData).to.equal(1);
      expect(result.stderr).to.include(message);
      expect(result.written, message).to.deep.equal([]);
      expect(result.systemctl).to.deep.equal([]);
    }
  });

  it('reads user data with an IMDSv2 token only', async () => {
    const seen = imds.requests.length;
    ok(await boot(KARPENTER_AL2023));
    const requests = imds.requests.slice(seen);
    expect(requests.filter((r) => r.path === '/latest/user-data')).to.deep.include({ method: 'GET', path: '/latest/user-data', status: 200 });
    expect(requests.filter((r) => r.status === 401)).to.deep.equal([]);
  });
});

describe('NodeConfig files in the image', () => {
  it("nodeconfig.py parses as Python 3.6 (RHEL 8's platform-python) and the launcher is shellcheck/shfmt clean", () => {
    const check = capture('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read(), feature_version=(3, 6))', repoPath('rootfs/etc/eks/nodeconfig.py')]);
    expect(check.status, check.stderr).to.equal(0);
    requireTool('shellcheck', 'linting the eks-nodeconfig launcher');
    requireTool('shfmt', 'checking the format of the eks-nodeconfig launcher');
    expect(capture('shellcheck', ['-S', 'warning', LAUNCHER]).status).to.equal(0);
    expect(capture('shfmt', ['-d', '-i', '2', '-ci', LAUNCHER]).status).to.equal(0);
  });

  it('eks-nodeconfig.service runs after the network is online and before the kubelet, at every boot', () => {
    const unit = readFileSync(repoPath('rootfs/etc/systemd/system/eks-nodeconfig.service'), 'utf8');
    for (const line of ['After=network-online.target', 'Wants=network-online.target', 'Before=kubelet.service', 'Type=oneshot', 'ExecStart=/usr/local/bin/eks-nodeconfig', 'WantedBy=multi-user.target']) {
      expect(unit.split('\n'), line).to.include(line);
    }
  });
});

describe('NodeConfig unit at build time (provisioners/rootfs.sh in a throw-away Debian root)', function () {
  this.timeout(120_000);
  const { fresh, ok } = sandboxSuite();

  it('rootfs.sh lays the launcher, the reader and the unit, and enables eks-nodeconfig.service (systemctl for real)', async () => {
    const sb = fresh();
    await ok(sb, 'rootfs.sh');
    expect(sb.linkTarget('/etc/systemd/system/multi-user.target.wants/eks-nodeconfig.service')).to.equal('/etc/systemd/system/eks-nodeconfig.service');
    expect(sb.read('/etc/eks/nodeconfig.py')).to.equal(readFileSync(repoPath('rootfs/etc/eks/nodeconfig.py'), 'utf8'));
    expect(statSync(sb.path('/usr/local/bin/eks-nodeconfig')).mode & 0o111).to.not.equal(0);
  });
});
