// The RHEL release the image really has after the OS update (version-info.json, downloaded by Packer), not the
// source image's: recorded on the AMI and its snapshots in every region as the rhel_release tag, and named in the
// AMI's description. Packer tags from plan-time values only, so this runs after `packer build`.
import { CreateTagsCommand, DescribeImagesCommand, ModifyImageAttributeCommand } from '@aws-sdk/client-ec2';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsClients } from '../aws/clients.ts';
import { VERSION_INFO_FILE } from '../layout.ts';
import type { AmiByRegion } from './summary.ts';

/** `rhel_release` from version-info.json, else parsed from its `os` string ("Red Hat Enterprise Linux 9.6 (Plow)"). */
export function installedRhelRelease(dir: string): string | undefined {
  const file = join(dir, VERSION_INFO_FILE);
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as { rhel_release?: unknown; os?: unknown };
  if (typeof info.rhel_release === 'string' && /^[0-9]+(\.[0-9]+)*$/.test(info.rhel_release)) return info.rhel_release;
  const fromOs = typeof info.os === 'string' ? /\b([0-9]+\.[0-9]+)\b/.exec(info.os)?.[1] : undefined;
  return fromOs;
}

/** The plan's description with the source image's release replaced by the installed one. */
export function describeWithRelease(description: string, planned: string, installed: string): string {
  const named = `RHEL ${planned}`;
  const text = description.includes(named) ? description.replace(named, `RHEL ${installed}`) : `${description} (RHEL ${installed} installed)`;
  return text.slice(0, 255); // EC2's limit for an image description
}

export async function recordInstalledRelease(clients: AwsClients, amis: AmiByRegion[], release: string, description: string): Promise<void> {
  for (const { region, ami } of amis) {
    const ec2 = clients.ec2(region);
    const image = (await ec2.send(new DescribeImagesCommand({ ImageIds: [ami] }))).Images?.[0];
    const snapshots = (image?.BlockDeviceMappings ?? []).map((b) => b.Ebs?.SnapshotId).filter((s): s is string => !!s);
    await ec2.send(new CreateTagsCommand({ Resources: [ami, ...snapshots], Tags: [{ Key: 'rhel_release', Value: release }] }));
    await ec2.send(new ModifyImageAttributeCommand({ ImageId: ami, Description: { Value: description } }));
  }
}
