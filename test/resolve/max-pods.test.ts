import { expect } from 'chai';
import { DescribeInstanceTypesCommand, EC2Client, type DescribeInstanceTypesCommandOutput } from '@aws-sdk/client-ec2';
import { startMoto, type Moto } from '../support/moto.ts';
import { formatMaxPodsTable, maxPodsRow, maxPodsTable, type MaxPodsRow } from '../../src/resolve/max-pods.ts';
import { ResolutionError } from '../../src/errors.ts';

// Values from the EKS AMI's published eni-max-pods.txt (awslabs/amazon-eks-ami), not from moto: they check the
// formula independently of the emulator's data, including the default-network-card rule (p4d.24xlarge has 4 cards).
const PUBLISHED: Record<string, number> = {
  't3.medium': 17,
  'm5.large': 29,
  'm6g.large': 29,
  't3a.small': 8,
  'm5.4xlarge': 234,
  'p4d.24xlarge': 737,
};

describe('maxPodsTable (DescribeInstanceTypes on moto)', function () {
  this.timeout(60_000);
  let moto: Moto;
  let ec2: EC2Client;
  let rows: MaxPodsRow[];
  const row = (type: string) => {
    const found = rows.find((r) => r.instanceType === type);
    if (!found) throw new Error(`${type} is not in the table`);
    return found;
  };

  before(async () => {
    moto = await startMoto();
    ec2 = new EC2Client({
      region: 'us-west-2',
      endpoint: moto.endpoint,
      credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY },
    });
    rows = await maxPodsTable(ec2);
  });
  after(async () => moto?.stop());

  it('matches the published EKS values', () => {
    for (const [type, published] of Object.entries(PUBLISHED)) expect(row(type).maxPods, type).to.equal(published);
  });

  it("computes ENIs × (IPv4 per ENI − 1) + 2 from the emulator's network data", async () => {
    const answer = await ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['m5.large', 't3.medium', 'm6g.large'] }));
    for (const info of answer.InstanceTypes ?? []) {
      const net = info.NetworkInfo!;
      const enis = net.NetworkCards![net.DefaultNetworkCardIndex ?? 0].MaximumNetworkInterfaces!;
      expect(row(info.InstanceType!).maxPods).to.equal(enis * (net.Ipv4AddressesPerInterface! - 1) + 2);
    }
    expect(row('m5.large')).to.include({ enis: 3, ipv4PerEni: 10, maxPods: 29 });
    expect(row('t3.medium')).to.include({ enis: 3, ipv4PerEni: 6, maxPods: 17 });
  });

  it('counts only the default network card (p4d.24xlarge: 15 of 60 interfaces)', () => {
    expect(row('p4d.24xlarge')).to.include({ enis: 15, maxPods: 737 });
  });

  it('computes the prefix-delegation column with /28 prefixes, capped at 110 (≤ 30 vCPUs) or 250', () => {
    // m5.large: 3 × (9 × 16) + 2 = 434 → 2 vCPUs → 110. t3a.small: 2 × (3 × 16) + 2 = 98, under the cap.
    expect(row('m5.large').maxPodsWithPrefixDelegation).to.equal(110);
    expect(row('t3a.small').maxPodsWithPrefixDelegation).to.equal(98);
    expect(row('m5.24xlarge')).to.include({ vcpus: 96, maxPodsWithPrefixDelegation: 250 });
    // Xen (not Nitro): no prefix delegation, the secondary-IP number stands (t2.medium 17).
    expect(row('t2.medium')).to.include({ nitro: false, maxPods: 17, maxPodsWithPrefixDelegation: 17 });
  });

  it('covers every instance type moto offers, each once, sorted', () => {
    expect(rows.length).to.be.greaterThan(500);
    const names = rows.map((r) => r.instanceType);
    expect(new Set(names).size).to.equal(names.length);
    expect(names).to.deep.equal([...names].sort());
  });

  it('formats eni-max-pods.txt: a # header naming region and date, then one sorted line per type', () => {
    const text = formatMaxPodsTable(rows, { region: 'us-west-2', date: new Date('2025-03-04T23:59:00Z') });
    const lines = text.split('\n');
    expect(lines[0]).to.equal('# Generated from EC2 DescribeInstanceTypes in us-west-2 on 2025-03-04. Read by /etc/eks/bootstrap.sh.');
    expect(text.endsWith('\n')).to.equal(true);
    const body = lines.filter((l) => l && !l.startsWith('#'));
    expect(body).to.have.length(rows.length);
    for (const line of body) expect(line).to.match(/^[a-z0-9][a-z0-9.-]*\.[a-z0-9-]+ \d+ \d+$/);
    expect(body).to.include('m5.large 29 110');
    expect(body).to.include('t3.medium 17 110');
    expect(body).to.include('p4d.24xlarge 737 250');
    // Stable: the order of the input does not matter.
    expect(formatMaxPodsTable([...rows].reverse(), { region: 'us-west-2', date: new Date('2025-03-04') })).to.equal(text);
  });
});

describe('maxPodsTable paging and edge cases', () => {
  // A real EC2Client whose HTTP layer is replaced by canned pages, to check that every page is read
  // (moto answers DescribeInstanceTypes in one page, so it cannot show this).
  function pagedClient(pages: Partial<DescribeInstanceTypesCommandOutput>[]) {
    const client = new EC2Client({ region: 'us-west-2', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
    const tokens: (string | undefined)[] = [];
    let call = 0;
    client.middlewareStack.add(
      () => async (args) => {
        tokens.push((args.input as { NextToken?: string }).NextToken);
        return { output: { $metadata: {}, ...pages[call++] } as never, response: {} };
      },
      { step: 'initialize', name: 'cannedPages' },
    );
    return { client, tokens };
  }
  const type = (name: string, enis: number, ips: number, vcpus = 2) => ({
    InstanceType: name as never,
    Hypervisor: 'nitro' as const,
    VCpuInfo: { DefaultVCpus: vcpus },
    NetworkInfo: {
      MaximumNetworkInterfaces: enis,
      Ipv4AddressesPerInterface: ips,
      DefaultNetworkCardIndex: 0,
      NetworkCards: [{ NetworkCardIndex: 0, MaximumNetworkInterfaces: enis }],
    },
  });

  it('follows NextToken through every page', async () => {
    const { client, tokens } = pagedClient([
      { InstanceTypes: [type('m5.large', 3, 10)], NextToken: 'page-2' },
      { InstanceTypes: [type('c5.large', 3, 10)], NextToken: 'page-3' },
      { InstanceTypes: [type('a1.medium', 2, 4, 1)] },
    ]);
    const rows = await maxPodsTable(client);
    expect(tokens).to.deep.equal([undefined, 'page-2', 'page-3']);
    expect(rows.map((r) => `${r.instanceType} ${r.maxPods}`)).to.deep.equal(['a1.medium 8', 'c5.large 29', 'm5.large 29']);
  });

  it('fails with a resolution error when no type has network information', async () => {
    const { client } = pagedClient([{ InstanceTypes: [{ InstanceType: 'x1.odd' as never }] }]);
    try {
      await maxPodsTable(client);
      expect.fail('expected a ResolutionError');
    } catch (error) {
      expect(error).to.be.instanceOf(ResolutionError);
    }
  });

  it('falls back to MaximumNetworkInterfaces when EC2 gives no network cards', () => {
    const row = maxPodsRow({ InstanceType: 'm4.large' as never, NetworkInfo: { MaximumNetworkInterfaces: 2, Ipv4AddressesPerInterface: 10 } });
    expect(row).to.include({ enis: 2, maxPods: 20, maxPodsWithPrefixDelegation: 20 });
  });
});
