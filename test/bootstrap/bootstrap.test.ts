// bootstrap.sh, run for real in a private mount namespace against a local IMDSv2 stand-in and moto's EKS API
// (reached by the real AWS CLI through AWS_ENDPOINT_URL_EKS), with systemctl stubbed.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.ts';
import { formatMaxPodsTable, maxPodsTable, type MaxPodsRow } from '../../src/resolve/max-pods.ts';
import { ImdsStandIn, defaultIdentity, requireNodeSandbox, runBootstrap, type NodeResult } from './node.ts';

const CLUSTER = 'ipvs-test';
// A PEM-shaped CA so the script's sanity check passes; its bytes must reach /etc/kubernetes/pki/ca.crt unchanged.
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBdGVzdC1jYQ==\n-----END CERTIFICATE-----\n';
const CA_B64 = Buffer.from(CA_PEM).toString('base64');
const ENDPOINT = 'https://0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com';
const PAUSE = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.10';
// The image's containerd configurations as the build renders them (schema 2 for containerd 1.7, 3 for 2.x), reduced
// to what bootstrap.sh reads and must leave alone.
const CONTAINERD_1_7 = `version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "${PAUSE}"\nenable_selinux = true\n`;
const CONTAINERD_2 = `version = 3\n[plugins.'io.containerd.cri.v1.images'.pinned_images]\nsandbox = "${PAUSE}"\n[plugins.'io.containerd.cri.v1.runtime']\nenable_selinux = true\n`;

describe('bootstrap.sh', function () {
  this.timeout(60_000);
  let moto: Moto;
  const imds = new ImdsStandIn();
  let rows: MaxPodsRow[];
  let table: string;
  let describedCa: string;
  let describedEndpoint: string;

  before(async function () {
    requireNodeSandbox();
    moto = await startMoto();
    await imds.start();
    const ec2 = new EC2Client({ region: 'us-west-2', endpoint: moto.endpoint, credentials: creds(moto) });
    rows = await maxPodsTable(ec2);
    table = formatMaxPodsTable(rows, { region: 'us-west-2', date: new Date() });
    const created = JSON.parse(
      awsCli(moto, [
        'eks', 'create-cluster', '--name', CLUSTER,
        '--role-arn', 'arn:aws:iam::123456789012:role/eks-cluster',
        '--resources-vpc-config', 'subnetIds=subnet-0123456789abcdef0',
      ]),
    );
    describedCa = created.cluster.certificateAuthority.data;
    describedEndpoint = created.cluster.endpoint;
  });

  after(async () => {
    await imds.stop();
    await moto?.stop();
  });

  beforeEach(() => {
    imds.identity = defaultIdentity();
  });

  const run = (args: string[], extra: { env?: Record<string, string>; imageFiles?: Record<string, string> } = {}) =>
    runBootstrap(args, {
      imds,
      maxPodsTable: table,
      env: { ...moto.env, AWS_ENDPOINT_URL_EKS: moto.endpoint, ...extra.env },
      imageFiles: { '/etc/containerd/config.toml': CONTAINERD_1_7, ...extra.imageFiles },
    });
  const withEndpoint = ['--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA_B64];
  const kubeletConfig = (r: NodeResult) => JSON.parse(r.file('/etc/kubernetes/kubelet/kubelet-config.json') ?? 'null');
  const ok = (r: NodeResult) => expect(r.status, `bootstrap.sh failed:\n${r.stderr}`).to.equal(0);
  const tableMaxPods = (type: string) => rows.find((row) => row.instanceType === type)!.maxPods;

  it('sets maxPods from the eni-max-pods table maxPodsTable made from moto, for three instance types', async () => {
    for (const [type, published] of [['t3.medium', 17], ['m5.large', 29], ['m5.4xlarge', 234]] as const) {
      imds.identity = defaultIdentity({ instanceType: type });
      const result = await run([CLUSTER, ...withEndpoint]);
      ok(result);
      expect(tableMaxPods(type)).to.equal(published);
      expect(kubeletConfig(result).maxPods, type).to.equal(tableMaxPods(type));
      // Memory kept back grows with the node's pod count: 11 MiB per pod + 255 MiB.
      expect(kubeletConfig(result).kubeReserved.memory).to.equal(`${11 * published + 255}Mi`);
    }
  });

  it('writes a kubelet configuration for containerd with systemd cgroups', async () => {
    const result = await run([CLUSTER, ...withEndpoint]);
    ok(result);
    const config = kubeletConfig(result);
    expect(config).to.include({
      kind: 'KubeletConfiguration',
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      cgroupDriver: 'systemd',
      containerRuntimeEndpoint: 'unix:///run/containerd/containerd.sock',
      serverTLSBootstrap: true,
      providerID: 'aws:///us-west-2a/i-0123456789abcdef0',
    });
    expect(config.clusterDNS).to.deep.equal(['172.20.0.10']); // VPC 10.0.0.0/16, no service CIDR known
    expect(config.authentication.x509.clientCAFile).to.equal('/etc/kubernetes/pki/ca.crt');
    // On only when this kernel already has every tunable the kubelet would otherwise refuse to start without.
    expect(config.protectKernelDefaults).to.equal(kernelHasKubeletTunables());
  });

  it('writes the kubeconfig (server, CA file, exec auth) and the CA bytes given', async () => {
    const result = await run([CLUSTER, ...withEndpoint]);
    ok(result);
    const kubeconfig = result.file('/var/lib/kubelet/kubeconfig') ?? '';
    expect(kubeconfig).to.include(`server: "${ENDPOINT}"`);
    expect(kubeconfig).to.include('certificate-authority: /etc/kubernetes/pki/ca.crt');
    expect(kubeconfig).to.match(/command: ".*\/aws"/);
    expect(kubeconfig).to.include(`args: ["--region", "us-west-2", "eks", "get-token", "--cluster-name", "${CLUSTER}"]`);
    expect(result.file('/etc/kubernetes/pki/ca.crt')).to.equal(CA_PEM);
  });

  it('skips DescribeCluster when --apiserver-endpoint and --b64-cluster-ca are given', async () => {
    // An EKS endpoint nothing listens on: any DescribeCluster attempt would fail the run.
    const result = await run([CLUSTER, ...withEndpoint], { env: { AWS_ENDPOINT_URL_EKS: 'http://127.0.0.1:9' } });
    ok(result);
    expect(result.aws.filter((argv) => argv.includes('describe-cluster'))).to.deep.equal([]);
    expect(result.stderr).to.include('not calling DescribeCluster');
  });

  it('looks up endpoint, CA and service CIDR with the real AWS CLI (DescribeCluster on moto) when not given', async () => {
    imds.identity = defaultIdentity({ vpcCidrs: ['192.168.0.0/16'] });
    const result = await run([CLUSTER]);
    ok(result);
    expect(result.aws).to.have.length(1);
    expect(result.aws[0]).to.match(new RegExp(`^--region us-west-2 --endpoint-url ${moto.endpoint} eks describe-cluster --name ${CLUSTER} `));
    expect(result.file('/var/lib/kubelet/kubeconfig')).to.include(`server: "${describedEndpoint}"`);
    expect(result.fileBytes('/etc/kubernetes/pki/ca.crt')!.equals(Buffer.from(describedCa, 'base64'))).to.equal(true);
    // moto reports serviceIpv4Cidr 172.20.0.0/16: x.y.z.10 of it, although the VPC CIDR alone would give 10.100.0.10.
    expect(kubeletConfig(result).clusterDNS).to.deep.equal(['172.20.0.10']);
  });

  it('fails clearly when DescribeCluster does not know the cluster', async () => {
    const result = await run(['no-such-cluster', '--aws-api-retry-attempts', '0']);
    expect(result.status).to.not.equal(0);
    expect(result.stderr).to.include("could not describe cluster 'no-such-cluster' in us-west-2 after 1 attempts");
  });

  it('picks the cluster DNS address by the documented rule', async () => {
    const dns = async (vpcCidrs: string[], args: string[] = []) => {
      imds.identity = defaultIdentity({ vpcCidrs });
      const result = await run([CLUSTER, ...withEndpoint, ...args]);
      ok(result);
      return kubeletConfig(result).clusterDNS;
    };
    expect(await dns(['192.168.0.0/16'])).to.deep.equal(['10.100.0.10']);
    expect(await dns(['192.168.0.0/16', '10.1.0.0/16'])).to.deep.equal(['172.20.0.10']);
    expect(await dns(['10.0.0.0/16'], ['--service-ipv4-cidr', '10.96.0.0/16'])).to.deep.equal(['10.96.0.10']);
    expect(await dns(['10.0.0.0/16'], ['--dns-cluster-ip', '169.254.20.10,10.100.0.10'])).to.deep.equal([
      '169.254.20.10',
      '10.100.0.10',
    ]);
  });

  it('omits maxPods with --use-max-pods false, even for an instance type missing from the table', async () => {
    imds.identity = defaultIdentity({ instanceType: 'x9.imaginary' });
    const result = await run([CLUSTER, ...withEndpoint, '--use-max-pods', 'false', '--kubelet-extra-args', '--max-pods=20']);
    ok(result);
    expect(kubeletConfig(result)).to.not.have.property('maxPods');
    expect(kubeletConfig(result).kubeReserved.memory).to.equal(`${11 * 20 + 255}Mi`);
  });

  it('fails clearly when the instance type is not in the table and --use-max-pods is not false', async () => {
    imds.identity = defaultIdentity({ instanceType: 'x9.imaginary' });
    const result = await run([CLUSTER, ...withEndpoint]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include("instance type 'x9.imaginary' is not in /etc/eks/eni-max-pods.txt");
    expect(result.systemctl).to.deep.equal([]);
  });

  it('uses IMDSv2 tokens only: the stand-in rejects token-less requests and bootstrap still succeeds', async () => {
    const bare = await fetch(`${imds.endpoint}/latest/meta-data/instance-type`);
    expect(bare.status).to.equal(401);
    const seen = imds.requests.length;
    const result = await run([CLUSTER, ...withEndpoint]);
    ok(result);
    const during = imds.requests.slice(seen);
    expect(during[0]).to.deep.equal({ method: 'PUT', path: '/latest/api/token', status: 200 });
    expect(during.filter((r) => r.status === 401)).to.deep.equal([]);
    expect(during.filter((r) => r.method === 'GET').length).to.be.greaterThan(5);
  });

  it('writes the kubelet drop-in and containerd config, then starts containerd and the kubelet', async () => {
    const result = await run([
      CLUSTER, ...withEndpoint,
      '--kubelet-extra-args', '--node-labels=eks.amazonaws.com/nodegroup=ng-1,role=worker --register-with-taints=a=b:NoSchedule',
    ]);
    ok(result);
    const dropIn = result.file('/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf') ?? '';
    expect(dropIn).to.include('--node-ip=10.0.12.34');
    expect(dropIn).to.include('--hostname-override=ip-10-0-12-34.us-west-2.compute.internal');
    expect(dropIn).to.include('--image-credential-provider-config=/etc/eks/image-credential-provider/config.json');
    expect(dropIn).to.include('--image-credential-provider-bin-dir=/etc/eks/image-credential-provider');
    expect(dropIn).to.include(
      'Environment="KUBELET_EXTRA_ARGS=--node-labels=eks.amazonaws.com/nodegroup=ng-1,role=worker --register-with-taints=a=b:NoSchedule"',
    );
    expect(dropIn).to.match(/^ExecStart=\n^ExecStart=\S*kubelet \$KUBELET_ARGS \$KUBELET_EXTRA_ARGS$/m);
    // The image's containerd configuration (and its pause image) is kept: not rewritten, containerd only started.
    expect(result.file('/etc/containerd/config.toml')).to.equal(CONTAINERD_1_7);
    expect(result.stderr).to.include(`sandbox (pause) image ${PAUSE}`);
    expect(result.systemctl).to.deep.equal([
      'daemon-reload',
      'enable containerd',
      'start containerd',
      'enable kubelet',
      'restart kubelet',
    ]);
    expect(result.written).to.deep.equal([
      '/etc/kubernetes/kubelet/kubelet-config.json',
      '/etc/kubernetes/pki/ca.crt',
      '/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf',
      '/var/lib/kubelet/kubeconfig',
    ]);
  });

  it("puts this region's pause image in the image's containerd config with --pause-container-version", async () => {
    imds.identity = defaultIdentity({ region: 'us-gov-east-1', availabilityZone: 'us-gov-east-1a' });
    for (const config of [CONTAINERD_1_7, CONTAINERD_2]) {
      const result = await run([CLUSTER, ...withEndpoint, '--pause-container-version', '3.9'], {
        imageFiles: { '/etc/containerd/config.toml': config },
      });
      ok(result);
      const regional = '151742754352.dkr.ecr.us-gov-east-1.amazonaws.com/eks/pause:3.9';
      // Only the sandbox line changes (the account comes from ecr-accounts.txt); containerd is restarted.
      expect(result.file('/etc/containerd/config.toml')).to.equal(config.replace(PAUSE, regional));
      expect(result.systemctl).to.include('restart containerd');
    }
  });

  it('fails clearly when the image has no containerd configuration', async () => {
    const result = await run([CLUSTER, ...withEndpoint], { imageFiles: { '/etc/containerd/config.toml': '' } });
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('has no sandbox_image (schema 2) or sandbox (schema 3) setting');
  });

  it('accepts, and warns about, options eksctl and managed node groups pass that mean nothing here', async () => {
    const result = await run([
      CLUSTER, ...withEndpoint,
      '--enable-docker-bridge', 'true', '--ip-family', 'ipv4', '--container-runtime', 'containerd',
      '--dns-cluster-ip=10.100.0.10', '--mount-bpf-fs', 'true',
    ]);
    ok(result);
    expect(result.stderr).to.include('WARNING: --enable-docker-bridge is ignored');
    expect(result.stderr).to.include('WARNING: --mount-bpf-fs is ignored');
    expect(kubeletConfig(result).clusterDNS).to.deep.equal(['10.100.0.10']);
  });

  it('exits non-zero with a clear message when the cluster name is missing', async () => {
    const result = await run(['--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA_B64]);
    expect(result.status).to.equal(1);
    expect(result.stderr).to.include('ERROR: the cluster name is required: bootstrap.sh CLUSTER_NAME [options]');
    expect(result.written).to.deep.equal([]);
    expect(result.systemctl).to.deep.equal([]);
  });

  it('rejects an unknown option and an IPv6 cluster instead of guessing', async () => {
    const unknown = await run([CLUSTER, ...withEndpoint, '--frobnicate', 'yes']);
    expect(unknown.status).to.equal(1);
    expect(unknown.stderr).to.include('unknown option --frobnicate');
    const ipv6 = await run([CLUSTER, ...withEndpoint, '--ip-family', 'ipv6']);
    expect(ipv6.status).to.equal(1);
    expect(ipv6.stderr).to.include("--ip-family 'ipv6' is not supported");
  });
});

function kernelHasKubeletTunables(): boolean {
  const wanted = {
    'vm/overcommit_memory': '1',
    'vm/panic_on_oom': '0',
    'kernel/panic': '10',
    'kernel/panic_on_oops': '1',
    'kernel/keys/root_maxkeys': '1000000',
    'kernel/keys/root_maxbytes': '25000000',
  };
  return Object.entries(wanted).every(([key, value]) => readFileSync(`/proc/sys/${key}`, 'utf8').trim() === value);
}

function creds(moto: Moto) {
  return { accessKeyId: moto.env.AWS_ACCESS_KEY_ID, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY };
}

function awsCli(moto: Moto, args: string[]): string {
  return execFileSync('aws', ['--region', 'us-west-2', '--endpoint-url', moto.endpoint, '--output', 'json', ...args], {
    env: { ...process.env, ...moto.env },
    encoding: 'utf8',
  });
}
