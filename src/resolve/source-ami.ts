// Choose the source image: highest RHEL release parsed from the name, then newest creation date. Red Hat
// rebuilds older minors (EUS) after newer ones, so creation date alone can pick 8.8 over 8.10.
import type { DescribeImagesCommandInput, EC2Client, Image } from '@aws-sdk/client-ec2';
import { ec2Sdk } from '../aws/sdk.ts';
import { sourceImages } from '../data/catalog.ts';
import { compareVersions } from '../data/minors.ts';
import { ResolutionError } from '../errors.ts';

/** Red Hat's name pattern (data/source-images.json): matches GA (RHEL-9.6.0_HVM_GA-…) and rebuild (RHEL-9.5.0_HVM-…) names. */
export const defaultSourceAmiFilter = (rhel: number, arch: string): string =>
  sourceImages.defaultNameFilter.replace('{rhel}', String(rhel)).replace('{arch}', arch);

const describeImages = (input: DescribeImagesCommandInput) => new (ec2Sdk().DescribeImagesCommand)(input);

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
  /** EC2 BootMode of the image (legacy-bios, uefi, uefi-preferred), unset when the image has none; the AMI inherits it. */
  bootMode?: string;
  /** EC2 TpmSupport of the image (v2.0), unset when it has none. */
  tpmSupport?: string;
}

/** RHEL release in an image name: RHEL-9.6.0_HVM_GA…, RHEL-9.5.0_HVM…, RHEL_HA-9.5.0_HVM…, RHEL-SAP-9.6.0…, RHEL9_STIG_BASE… */
export function rhelReleaseOf(name: string): string | undefined {
  const match = /RHEL(?:[-_](?:HA|SAP))?[-_]?([0-9]+(?:\.[0-9]+){0,2})(?=[_.-]|$)/i.exec(name) ?? /RHEL([0-9]+)/i.exec(name);
  return match?.[1];
}

/** Kinds of Red Hat images a broad filter also matches (Cloud Access, HA, SAP, beta) that the filter did not ask for. */
export function setAsideKind(name: string, nameFilter: string): string | undefined {
  return sourceImages.setAside.find((k) => new RegExp(k.name).test(name) && !nameFilter.includes(k.marker))?.kind;
}

/** Highest parsed RHEL release first, then newest creation date; unparsed names last; set-aside kinds left out. */
export function rankImages(images: SourceAmi[], nameFilter: string): SourceAmi[] {
  return images
    .filter((image) => setAsideKind(image.name, nameFilter) === undefined)
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
    const out = await ec2.send(describeImages({ ImageIds: [query.imageId] }));
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
      describeImages({
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
    const access = images.length ? ` (left out: ${setAsideSummary(images, query.nameFilter)}; name them in the filter, e.g. Access2, to use them)` : '';
    throw new ResolutionError(
      `No available ${query.arch} image named ${JSON.stringify(query.nameFilter)} owned by ${query.owners.join(', ')} in ${query.region}${access}. ` +
        'Check source_ami_filter_name, source_ami_owners and aws_region, or pin source_ami_id.',
    );
  }
  return best;
}

function setAsideSummary(images: SourceAmi[], nameFilter: string): string {
  const counts = new Map<string, number>();
  for (const image of images) {
    const kind = setAsideKind(image.name, nameFilter);
    if (kind) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, n]) => `${n} ${kind} image${n === 1 ? '' : 's'}`).join(', ');
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
    ...(image.BootMode ? { bootMode: image.BootMode } : {}),
    ...(image.TpmSupport ? { tpmSupport: image.TpmSupport } : {}),
  };
}
