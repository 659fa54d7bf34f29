// The report step's supply-chain records through the real pipeline: real Packer 1.6.6 for fmt/validate, a
// stand-in for `packer build` (needs an AWS account; the rehearsal runs a real one) that leaves the manifest and
// the files the template downloads (version-info.json, sbom.spdx.json from test/fixtures/supply-chain/), and
// the AWS emulator for the images and their tags.
import { expect } from 'chai';
import { DescribeImagesCommand, RegisterImageCommand } from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClients } from '../../src/aws/default-clients.ts';
import { repoPath } from '../../src/paths.ts';
import { runPipeline } from '../../src/pipeline.ts';
import { processRunner } from '../../src/process/run.ts';
import { fakePacker } from '../support/fake-packer.ts';
import { startEmulatedAws, useEmulator } from '../support/emulated-aws.ts';

const FIXTURES = repoPath('test', 'fixtures', 'supply-chain');

describe('pipeline: SBOM tag, provenance and release notes after a build', function () {
  this.timeout(120_000);
  useEmulator(startEmulatedAws);
  after(() => {
    rmSync(repoPath('build', 'supply-chain-wiring'), { recursive: true, force: true });
  });

  it('tags every AMI with the SBOM digest and writes provenance naming the AMI ids and release notes', async () => {
    const register = async (region: string) =>
      (await defaultClients.ec2(region).send(new RegisterImageCommand({ Name: 'supply-chain-wiring', RootDeviceName: '/dev/sda1', VirtualizationType: 'hvm', BlockDeviceMappings: [{ DeviceName: '/dev/sda1', Ebs: { VolumeSize: 20 } }] }))).ImageId!;
    const west = await register('us-west-2');
    const east = await register('us-east-1');
    const sbom = readFileSync(join(FIXTURES, 'sbom.spdx.json'), 'utf8');
    const digest = createHash('sha256').update(sbom).digest('hex');
    const packer = fakePacker({ version: '1.6.6', artifactId: `us-west-2:${west},us-east-1:${east}`, downloads: { 'version-info.json': readFileSync(join(FIXTURES, 'version-info.json'), 'utf8'), 'sbom.spdx.json': sbom } });
    const lines: string[] = [];
    let dir: string;
    try {
      const result = await runPipeline(['1.28', 'ami_name=supply-chain-wiring', 'ami_regions=us-east-1'], { runner: processRunner, clients: defaultClients, env: packer.env(), log: (l) => lines.push(l) });
      expect(result.exitCode, lines.join('\n')).to.equal(0);
      dir = result.dir;
    } finally {
      packer.remove();
    }
    for (const [region, id] of [['us-west-2', west], ['us-east-1', east]]) {
      const image = (await defaultClients.ec2(region).send(new DescribeImagesCommand({ ImageIds: [id] }))).Images![0];
      expect(image.Tags?.find((t) => t.Key === 'sbom_sha256')?.Value, region).to.equal(digest);
    }
    const summary = lines.join('\n');
    expect(summary).to.contain(`SBOM         sha256 ${digest}`);
    const statements = readFileSync(join(dir, 'provenance.intoto.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(statements).to.have.length(1);
    expect(statements[0].subject.map((s: { name: string }) => s.name)).to.deep.equal([west, east]);
    expect(statements[0].predicate.runDetails.byproducts.find((b: { name: string }) => b.name === 'sbom.spdx.json').digest.sha256).to.equal(digest);
    const notes = readFileSync(join(dir, 'release-notes.md'), 'utf8');
    expect(notes).to.contain(`| SBOM | sha256 ${digest}`).and.to.contain(`us-west-2: ${west}, us-east-1: ${east}`);
  });
});
