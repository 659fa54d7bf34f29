// The image's SBOM (sbom.spdx.json, written on the instance by provisioners/sbom.sh and downloaded by Packer):
// its SHA-256 for the build summary, the release notes, the provenance and the AMI's sbom_sha256 tag, and the
// installed binaries it lists (name, version, digest, where each came from) for the provenance.
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsClients } from '../aws/clients.ts';
import type { AmiByRegion } from './summary.ts';

export const SBOM_FILE = 'sbom.spdx.json';
export const SBOM_TAG = 'sbom_sha256';

export interface SbomBinary {
  name: string;
  version: string;
  /** SHA-256 of the installed file (of the verified installer for the AWS CLI). */
  sha256: string;
  downloadLocation: string;
  /** The release archive a binary was extracted from, when the SBOM names it with its digest. */
  archive?: { name: string; sha256: string };
}

export interface Sbom {
  file: string;
  sha256: string;
  packages: number;
  rpmPackages: number;
  binaries: SbomBinary[];
}

interface SpdxPackage {
  name?: string;
  versionInfo?: string;
  downloadLocation?: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm?: string; checksumValue?: string }[];
  externalRefs?: { referenceType?: string; referenceLocator?: string }[];
  sourceInfo?: string;
}

/** The SBOM Packer downloaded into the build directory, or undefined when the build left none. */
export function readSbom(dir: string): Sbom | undefined {
  const file = join(dir, SBOM_FILE);
  if (!existsSync(file)) return undefined;
  const bytes = readFileSync(file);
  const doc = JSON.parse(bytes.toString('utf8')) as { spdxVersion?: string; packages?: SpdxPackage[] };
  if (doc.spdxVersion !== 'SPDX-2.3' || !Array.isArray(doc.packages)) throw new Error(`${file} is not an SPDX 2.3 JSON document`);
  const binaries = doc.packages
    .filter((p) => p.primaryPackagePurpose === 'APPLICATION')
    .map((p): SbomBinary => {
      const archive = /^extracted from (\S+) \(sha256 ([0-9a-f]{64})\)$/.exec(p.sourceInfo ?? '');
      return {
        name: p.name ?? '',
        version: p.versionInfo ?? '',
        sha256: p.checksums?.find((c) => c.algorithm === 'SHA256')?.checksumValue ?? '',
        downloadLocation: p.downloadLocation ?? 'NOASSERTION',
        ...(archive ? { archive: { name: archive[1], sha256: archive[2] } } : {}),
      };
    });
  return {
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    packages: doc.packages.length,
    rpmPackages: doc.packages.filter((p) => p.externalRefs?.some((r) => r.referenceType === 'purl' && r.referenceLocator?.startsWith('pkg:rpm/'))).length,
    binaries,
  };
}

/** The AMI in every region it was registered in carries the SBOM's digest, so an image leads to its SBOM. */
export async function tagSbom(clients: AwsClients, amis: AmiByRegion[], sbom: Sbom): Promise<void> {
  for (const { region, ami } of amis) {
    await clients.ec2(region).send(new CreateTagsCommand({ Resources: [ami], Tags: [{ Key: SBOM_TAG, Value: sbom.sha256 }] }));
  }
}
