// Choose the source image: highest RHEL release parsed from the name, then newest creation date. Red Hat
// rebuilds older minors (EUS) after newer ones, so creation date alone can pick 8.8 over 8.10.
import { DescribeImagesCommand, type EC2Client, type Image } from '@aws-sdk/client-ec2';
import { compareVersions } from '../data/minors.ts';
import { ResolutionError } from '../errors.ts';

export interface SourceAmiQuery {
  region: string;
  owners: string[];
  nameFilter: string;
  arch: 'x86_64' | 'arm64';
  /** Pinned image: described (for its root device) instead of searched. */
  imageId?: string;
}

export interface SourceAmi {
  id: string;
  name: string;
  owner: string;
  creationDate: string;
  rootDeviceName: string;
  /** RHEL release parsed from the name ("9.5.0", "9"), or undefined for names without one. */
  rhelRelease?: string;
  /** Size of the root snapshot in GiB, when the image says. */
  rootVolumeSize?: number;
}

/** RHEL release in an image name: RHEL-9.5.0_HVM…, RHEL_HA-9.5.0_HVM…, RHEL9_STIG_BASE…, RHEL-8.10… */
export function rhelReleaseOf(name: string): string | undefined {
  const match = /RHEL(?:_HA|_SAP)?[-_]?([0-9]+(?:\.[0-9]+){0,2})(?=[_.-]|$)/i.exec(name) ?? /RHEL([0-9]+)/i.exec(name);
  return match?.[1];
}

const isCloudAccess = (name: string) => /Access[0-9]/.test(name);

/** Highest parsed RHEL release first, then newest creation date; unparsed names last. */
export function rankImages(images: SourceAmi[], nameFilter: string): SourceAmi[] {
  const wantsAccess = /Access/i.test(nameFilter);
  return images
    .filter((image) => wantsAccess || !isCloudAccess(image.name))
    .sort((a, b) => {
      if (a.rhelRelease && b.rhelRelease) {
        const byRelease = compareVersions(b.rhelRelease, a.rhelRelease);
        if (byRelease !== 0) return byRelease;
      } else if (a.rhelRelease !== b.rhelRelease) {
        return a.rhelRelease ? -1 : 1;
      }
      return b.creationDate.localeCompare(a.creationDate);
    });
}

export async function findSourceAmi(ec2: EC2Client, query: SourceAmiQuery): Promise<SourceAmi> {
  if (query.imageId) {
    const out = await ec2.send(new DescribeImagesCommand({ ImageIds: [query.imageId] }));
    const image = out.Images?.[0];
    if (!image) throw new ResolutionError(`source_ami_id=${query.imageId} was not found in ${query.region}.`);
    const described = toSourceAmi(image);
    if (image.Architecture && image.Architecture !== query.arch) {
      throw new ResolutionError(`source_ami_id=${query.imageId} (${described.name}) is ${image.Architecture}, but arch=${query.arch}.`);
    }
    return described;
  }
  const images: SourceAmi[] = [];
  let token: string | undefined;
  do {
    const out = await ec2.send(
      new DescribeImagesCommand({
        Owners: query.owners,
        Filters: [
          { Name: 'name', Values: [query.nameFilter] },
          { Name: 'architecture', Values: [query.arch] },
          { Name: 'state', Values: ['available'] },
        ],
        NextToken: token,
      }),
    );
    images.push(...(out.Images ?? []).map(toSourceAmi));
    token = out.NextToken;
  } while (token);
  const [best] = rankImages(images, query.nameFilter);
  if (!best) {
    const access = images.length ? ` (${images.length} Cloud Access images were left out: put Access2 in the filter to use them)` : '';
    throw new ResolutionError(
      `No available ${query.arch} image named ${JSON.stringify(query.nameFilter)} owned by ${query.owners.join(', ')} in ${query.region}${access}. ` +
        'Check source_ami_filter_name, source_ami_owners and aws_region, or pin source_ami_id.',
    );
  }
  return best;
}

function toSourceAmi(image: Image): SourceAmi {
  const name = image.Name ?? '';
  const rootDeviceName = image.RootDeviceName ?? '/dev/sda1';
  const root = image.BlockDeviceMappings?.find((m) => m.DeviceName === rootDeviceName);
  return {
    id: image.ImageId ?? '',
    name,
    owner: image.OwnerId ?? '',
    creationDate: image.CreationDate ?? '',
    rootDeviceName,
    rhelRelease: rhelReleaseOf(name),
    rootVolumeSize: root?.Ebs?.VolumeSize,
  };
}
