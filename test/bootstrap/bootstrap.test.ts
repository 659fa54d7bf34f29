// bootstrap.sh, run for real in a private mount namespace against a local IMDSv2 stand-in and moto's EKS and EC2
// APIs (reached by the real AWS CLI through AWS_ENDPOINT_URL_EKS/_EC2), with systemctl and ctr stubbed. The node
// is a real instance in moto (RunInstances), so DescribeInstances answers with its PrivateDnsName.
import { expect } from 'chai';
import { mustCapture } from '../support/spawn.ts';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { DescribeImagesCommand, EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.ts';
import { formatMaxPodsTable, maxPodsTable, type MaxPodsRow } from '../../src/resolve/max-pods.ts';
import { ImdsStandIn, defaultIdentity, requireNodeSandbox, runBootstrap, type InstanceIdentity, type NodeResult } from './node.ts';

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
  let ec2: EC2Client;
  /** The moto instance this node is: its id, private IP and EC2 PrivateDnsName. */
  let node: { instanceId: string; privateIp: string; privateDnsName: string };
  const identity = (overrides: Partial<InstanceIdentity> = {}) =>
    defaultIdentity({ instanceId: node.instanceId, privateIp: node.privateIp, hostname: node.privateDnsName, ...overrides });

  before(async function () {
    requireNodeSandbox();
    moto = await startMoto();
    await imds.start();
    ec2 = new EC2Client({ region: 'us-west-2', endpoint: moto.endpoint, credentials: creds(moto) });
    rows = await maxPodsTable(ec2);
    node = await launchInstance(ec2);
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
    imds.identity = identity();
  });

  interface RunExtra {
    env?: Record<string, string>;
    imageFiles?: Record<string, string>;
    containerdImages?: string[];
    maxPodsTable?: string;
  }
  const run = (args: string[], extra: RunExtra = {}) =>
    runBootstrap(args, {
      imds,
      maxPodsTable: extra.maxPodsTable ?? table,
      env: { ...moto.env, AWS_ENDPOINT_URL_EKS: moto.endpoint, ...extra.env },
      imageFiles: { '/etc/containerd/config.toml': CONTAINERD_1_7, ...extra.imageFiles },
      // As the build leaves it: the image's pause image pulled and pinned in containerd's store.
      containerdImages: extra.containerdImages ?? [PAUSE],
    });
  const withEndpoint = ['--apiserver-endpoint', ENDPOINT, '--b64-cluster-ca', CA_B64];
  const kubeletConfig = (r: NodeResult) => JSON.parse(r.file('/etc/kubernetes/kubelet/kubelet-config.json') ?? 'null');
  const ok = (r: NodeResult) => expect(r.status, `bootstrap.sh failed:\n${r.stderr}`).to.equal(0);
  const tableMaxPods = (type: string) => rows.find((row) => row.instanceType === type)!.maxPods;

  it('sets maxPods from the eni-max-pods table maxPodsTable made from moto, for three instance types', async () => {
    for (const [type, published] of [['t3.medium', 17], ['m5.large', 29], ['m5.4xlarge', 234]] as const) {
      imds.identity = identity({ instanceType: type });
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
      providerID: `aws:///us-west-2a/${node.instanceId}`,
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
    imds.identity = identity({ vpcCidrs: ['192.168.0.0/16'] });
    const result = await run([CLUSTER]);
    ok(result);
    const describe = result.aws.filter((argv) => argv.includes(' eks '));
    expect(describe).to.have.length(1);
    expect(describe[0]).to.match(new RegExp(`^--region us-west-2 --endpoint-url ${moto.endpoint} eks describe-cluster --name ${CLUSTER} `));
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
      imds.identity = identity({ vpcCidrs });
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
    imds.identity = identity({ instanceType: 'x9.imaginary' });
    const result = await run([CLUSTER, ...withEndpoint, '--use-max-pods', 'false', '--kubelet-extra-args', '--max-pods=20']);
    ok(result);
    expect(kubeletConfig(result)).to.not.have.property('maxPods');
    expect(kubeletConfig(result).kubeReserved.memory).to.equal(`${11 * 20 + 255}Mi`);
  });

  // The table the image was built with lacks the type (a newer family, or a region the image was copied to):
  // bootstrap computes the same number from DescribeInstanceTypes, in both VPC CNI modes.
  it('computes maxPods from DescribeInstanceTypes for a type missing from the table, as the build would', async () => {
    const types = ['m5.large', 'm5.4xlarge', 'c5.18xlarge', 'm5.metal'];
    const without = formatMaxPodsTable(rows.filter((r) => !types.includes(r.instanceType)), { region: 'us-west-2', date: new Date() });
    for (const type of types) {
      const row = rows.find((r) => r.instanceType === type)!;
      imds.identity = identity({ instanceType: type });
      const plain = await run([CLUSTER, ...withEndpoint], { maxPodsTable: without });
      ok(plain);
      expect(plain.stderr).to.include(`WARNING: instance type '${type}' is not in /etc/eks/eni-max-pods.txt`);
      expect(kubeletConfig(plain).maxPods, type).to.equal(row.maxPods);
      const prefix = await run([CLUSTER, ...withEndpoint, '--cni-prefix-delegation-enabled', 'true'], { maxPodsTable: without });
      ok(prefix);
      expect(kubeletConfig(prefix).maxPods, `${type} with prefix delegation`).to.equal(row.maxPodsWithPrefixDelegation);
    }
    // Published values (EKS eni-max-pods.txt and max-pods calculator), not the formula restated.
    expect(rows.find((r) => r.instanceType === 'c5.18xlarge')).to.include({ maxPods: 737, maxPodsWithPrefixDelegation: 250 });
    expect(rows.find((r) => r.instanceType === 'm5.large')).to.include({ maxPods: 29, maxPodsWithPrefixDelegation: 110 });
  });

  it('falls back to 110 pods with a warning when EC2 does not know the instance type either', async () => {
    imds.identity = identity({ instanceType: 'x9.imaginary' });
    const result = await run([CLUSTER, ...withEndpoint]);
    ok(result);
    expect(result.aws.filter((a) => a.includes('describe-instance-types --instance-types x9.imaginary'))).to.have.length(1);
    expect(result.stderr).to.include('WARNING: DescribeInstanceTypes gave no network limits for x9.imaginary: maxPods 110');
    expect(kubeletConfig(result).maxPods).to.equal(110);
    expect(result.systemctl).to.include('restart kubelet');
  });

  it('--cni-prefix-delegation-enabled true takes maxPods from the table\'s prefix-delegation column', async () => {
    for (const [type, pods] of [['m5.large', 110], ['m5.4xlarge', 110], ['m5.24xlarge', 250]] as const) {
      imds.identity = identity({ instanceType: type });
      const result = await run([CLUSTER, ...withEndpoint, '--cni-prefix-delegation-enabled', 'true']);
      ok(result);
      expect(rows.find((r) => r.instanceType === type)!.maxPodsWithPrefixDelegation).to.equal(pods);
      expect(kubeletConfig(result).maxPods, type).to.equal(pods);
      expect(kubeletConfig(result).kubeReserved.memory).to.equal(`${11 * pods + 255}Mi`);
      expect(result.aws.filter((a) => a.includes('describe-instance-types'))).to.deep.equal([]);
    }
    const bad = await run([CLUSTER, ...withEndpoint, '--cni-prefix-delegation-enabled', 'yes']);
    expect(bad.status).to.equal(1);
    expect(bad.stderr).to.include("--cni-prefix-delegation-enabled must be true or false, not 'yes'");
  });

  describe('node name', () => {
    it("is the instance's EC2 PrivateDnsName, not IMDS local-hostname, when the VPC's DHCP options set a custom domain", async () => {
      const custom = node.privateDnsName.replace(/\.[^.]+\.compute\.internal$/, '.corp.example.com');
      expect(custom).to.not.equal(node.privateDnsName);
      imds.identity = identity({ hostname: custom });
      const result = await run([CLUSTER, ...withEndpoint]);
      ok(result);
      const dropIn = result.file('/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf') ?? '';
      expect(dropIn).to.include(`--hostname-override=${node.privateDnsName} `);
      expect(dropIn).to.not.include(custom);
      expect(result.aws.filter((a) => a.includes('describe-instances'))[0]).to.include(
        `--region us-west-2 --endpoint-url ${moto.endpoint} ec2 describe-instances --instance-ids ${node.instanceId}`,
      );
    });

    it('retries DescribeInstances while EC2 does not know the new instance yet (eventual consistency)', async () => {
      const flaky = await notFoundOnce(moto.endpoint);
      try {
        const result = await run([CLUSTER, ...withEndpoint], { env: { AWS_ENDPOINT_URL_EC2: flaky.endpoint } });
        ok(result);
        expect(flaky.refused).to.equal(1);
        expect(result.stderr).to.include('DescribeInstances retry 1 of 5');
        expect(result.file('/etc/systemd/system/kubelet.service.d/30-eks-bootstrap.conf')).to.include(`--hostname-override=${node.privateDnsName} `);
      } finally {
        await flaky.stop();
      }
    });

    it('fails clearly, having written nothing, when EC2 never knows the instance', async () => {
      imds.identity = identity({ instanceId: 'i-0aaaaaaaaaaaaaaa1' });
      const result = await run([CLUSTER, ...withEndpoint, '--aws-api-retry-attempts', '1']);
      expect(result.status).to.equal(1);
      expect(result.stderr).to.include('ERROR: could not read the PrivateDnsName of i-0aaaaaaaaaaaaaaa1 with ec2:DescribeInstances in us-west-2 after 2 attempts');
      expect(result.written).to.deep.equal([]);
      expect(result.systemctl).to.deep.equal([]);
    });
  });

  describe('sandbox (pause) image', () => {
    const EXPORT = '/etc/eks/pause-image.tar';

    it("pins the image's pause image already in containerd's store (the build pulled it)", async () => {
      const result = await run([CLUSTER, ...withEndpoint]);
      ok(result);
      expect(result.labels).to.deep.equal([`${PAUSE} io.cri-containerd.pinned=pinned`]);
      expect(result.ctr.filter((c) => / images (pull|import) /.test(c))).to.deep.equal([]);
    });

    it("re-imports the build's export and pins it when containerd's store lost the image", async () => {
      // The ctr stand-in's "export" names the references it holds.
      const result = await run([CLUSTER, ...withEndpoint], { containerdImages: [], imageFiles: { [EXPORT]: `${PAUSE}\n` } });
      ok(result);
      expect(result.ctr).to.include(`--namespace k8s.io images import ${EXPORT}`);
      expect(result.images).to.deep.equal([PAUSE]);
      expect(result.labels).to.deep.equal([`${PAUSE} io.cri-containerd.pinned=pinned`]);
      expect(result.stderr).to.include(`WARNING: ${PAUSE} is not in containerd's store: importing the build's export`);
    });

    it('warns when the image is neither in the store nor exported, and fails when the export holds another image', async () => {
      const missing = await run([CLUSTER, ...withEndpoint], { containerdImages: [] });
      ok(missing);
      expect(missing.stderr).to.include(`WARNING: ${PAUSE} is not in containerd's store and ${EXPORT} is missing`);
      const other = await run([CLUSTER, ...withEndpoint], { containerdImages: [], imageFiles: { [EXPORT]: 'registry.example/pause:1\n' } });
      expect(other.status).to.equal(1);
      expect(other.stderr).to.include(`${EXPORT} does not hold ${PAUSE}`);
    });

    it("pulls another region's pause image with an ECR token (moto ECR) and pins it", async () => {
      const result = await run([CLUSTER, ...withEndpoint, '--pause-container-version', '3.9']);
      ok(result);
      const regional = '602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/pause:3.9';
      const pull = result.ctr.find((c) => c.includes(' images pull '));
      expect(pull).to.match(new RegExp(`^--namespace k8s.io images pull --user AWS:\\S+ ${regional.replace(/\./g, '\\.')}$`));
      expect(result.labels).to.deep.equal([`${regional} io.cri-containerd.pinned=pinned`]);
      expect(result.stderr).to.not.include(pull!.split(' ')[5]); // the ECR token is never logged
    });
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
    expect(dropIn).to.include(`--node-ip=${node.privateIp} `);
    expect(dropIn).to.include(`--hostname-override=${node.privateDnsName} `);
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
    const gov = await launchInstance(new EC2Client({ region: 'us-gov-east-1', endpoint: moto.endpoint, credentials: creds(moto) }));
    imds.identity = identity({ region: 'us-gov-east-1', availabilityZone: 'us-gov-east-1a', instanceId: gov.instanceId, privateIp: gov.privateIp, hostname: gov.privateDnsName });
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

/** A node instance in moto: RunInstances of any image moto knows. */
async function launchInstance(ec2: EC2Client) {
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images![0];
  const instance = (await ec2.send(new RunInstancesCommand({ ImageId: image.ImageId, InstanceType: 'm5.large', MinCount: 1, MaxCount: 1 }))).Instances![0];
  return { instanceId: instance.InstanceId!, privateIp: instance.PrivateIpAddress!, privateDnsName: instance.PrivateDnsName! };
}

/** EC2's eventual consistency, which moto does not have: the first DescribeInstances is answered with
 *  InvalidInstanceID.NotFound, as EC2 answers for an instance launched a moment ago; everything else goes to moto. */
async function notFoundOnce(target: string): Promise<{ endpoint: string; refused: number; stop(): Promise<void> }> {
  const state = { refused: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    const forward = async () => {
      const body = Buffer.concat(chunks);
      if (state.refused === 0 && body.toString().includes('Action=DescribeInstances')) {
        state.refused++;
        res.writeHead(400, { 'content-type': 'text/xml' });
        return res.end('<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code><Message>The instance ID does not exist</Message></Error></Errors><RequestID>1</RequestID></Response>');
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
      const answer = await fetch(`${target}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
      res.end(Buffer.from(await answer.arrayBuffer()));
    };
    // A failed proxy request becomes a 502 the script under test sees, not an unhandled rejection.
    req.on('end', () => {
      forward().catch((error: Error) => res.writeHead(502).end(error.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    endpoint: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    get refused() {
      return state.refused;
    },
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function creds(moto: Moto) {
  return { accessKeyId: moto.env.AWS_ACCESS_KEY_ID, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY };
}

function awsCli(moto: Moto, args: string[]): string {
  return mustCapture('aws', ['--region', 'us-west-2', '--endpoint-url', moto.endpoint, '--output', 'json', ...args], { env: { ...process.env, ...moto.env } });
}
