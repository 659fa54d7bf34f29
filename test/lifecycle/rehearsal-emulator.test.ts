// The emulator `make all emulator=true` seeds is reached through an explicit connection (endpoint and fake
// credentials) handed to our clients; nothing in this process's environment points at it or changes.
import { expect } from 'chai';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { DescribeImagesCommand } from '@aws-sdk/client-ec2';
import { ec2Client, s3Client } from '../../src/aws/clients.ts';
import { rehearsalImages, rehearsalObjects, startRehearsalEmulator } from '../../src/lifecycle/rehearsal.ts';
import { expandMatrix } from '../../src/lifecycle/matrix.ts';
import { requireTool } from '../support/tools.ts';

describe('lifecycle: the make all emulator through an explicit connection', function () {
  this.timeout(60_000);

  it('seeds and answers through moto.connection and leaves the environment as it was', async () => {
    requireTool('python3', 'the AWS emulator (moto_server)');
    const cells = expandMatrix({ kubernetes: ['1.33'], rhel_versions: [9], arches: ['arm64'], variants: ['standard'] });
    // Whatever the environment holds (an endpoint, credentials), the connection's endpoint and credentials win.
    const before = { ...process.env };
    const moto = await startRehearsalEmulator(cells);
    try {
      expect(process.env).to.deep.equal(before);
      const listed = await s3Client('us-west-2', { connection: moto.connection }).send(new ListObjectsV2Command({ Bucket: 'amazon-eks' }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).to.deep.equal(rehearsalObjects(cells).sort());
      const images = await ec2Client('us-west-2', moto.connection).send(new DescribeImagesCommand({ ImageIds: rehearsalImages(cells).map((i) => i.ami_id) }));
      expect(images.Images?.map((i) => i.Name)).to.deep.equal(rehearsalImages(cells).map((i) => i.name));
    } finally {
      await moto.stop();
    }
  });
});
