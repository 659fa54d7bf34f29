// CPU architecture of an instance type, decided offline from its family name (data/instance-architectures.json).
import { instanceArchitectures as data } from './catalog.ts';

export type Arch = 'x86_64' | 'arm64';

export function archOfInstanceType(instanceType: string): Arch {
  const family = instanceType.split('.')[0];
  if (data.x86_64Families.includes(family)) return 'x86_64';
  if (data.arm64Families.includes(family)) return 'arm64';
  return new RegExp(data.arm64FamilyPattern).test(family) ? 'arm64' : 'x86_64';
}

export function defaultInstanceType(arch: Arch): string {
  return data.defaultInstanceType[arch];
}
