// Source images for the emulator's AMI catalog, shaped like Red Hat's public ones.
import type { CatalogImage } from '../rehearse/emulator.ts';

export const RED_HAT = '309956199498';
export const RED_HAT_GOV = '219670896067';
export const RED_HAT_CN = '841258680906';
export const CUSTOMER = '123456789012';

let counter = 0;
const id = () => `ami-${(0x0a00000000000000n + BigInt(++counter)).toString(16).padStart(17, '0')}`;

export function image(name: string, owner: string, creation: string, arch: 'x86_64' | 'arm64' = 'x86_64'): CatalogImage {
  return { ami_id: id(), name, owner_id: owner, architecture: arch, creation_date: `${creation}T00:00:00.000Z`, root_device_name: '/dev/sda1' };
}

/** A realistic catalog: several RHEL minors, an EUS rebuild of an older minor published last, Cloud Access and HA twins. */
export function redHatCatalog(owner = RED_HAT): CatalogImage[] {
  return [
    image('RHEL-9.4.0_HVM-20240605-x86_64-82-Hourly2-GP3', owner, '2024-06-05'),
    image('RHEL-9.5.0_HVM-20241211-x86_64-3-Hourly2-GP3', owner, '2024-12-11'),
    image('RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', owner, '2025-01-15'),
    // Red Hat rebuilds an older minor after the newest one: date alone would pick it.
    image('RHEL-9.4.0_HVM-20250301-x86_64-90-Hourly2-GP3', owner, '2025-03-01'),
    image('RHEL-9.5.0_HVM-20250320-x86_64-9-Access2-GP3', owner, '2025-03-20'),
    image('RHEL_HA-9.5.0_HVM-20250110-x86_64-5-Hourly2-GP3', owner, '2025-01-10'),
    image('RHEL-9.5.0_HVM-20250115-arm64-7-Hourly2-GP3', owner, '2025-01-15', 'arm64'),
    image('RHEL-8.10.0_HVM-20241016-x86_64-61-Hourly2-GP3', owner, '2024-10-16'),
    image('RHEL-8.8.0_HVM-20250210-x86_64-44-Hourly2-GP3', owner, '2025-02-10'),
    image('RHEL-8.10.0_HVM-20241016-arm64-61-Hourly2-GP3', owner, '2024-10-16', 'arm64'),
  ];
}

/**
 * Red Hat's catalog as of 2025–26, on top of the older one: GA images named RHEL-<x.y.0>_HVM_GA-…, rebuilds
 * named RHEL-<x.y.0>_HVM-…, older minors rebuilt after the newest GA (9.5 and 9.4 in mid-2025), a Cloud Access
 * twin of the GA image published later, a 9.7 beta, HA twins, and RHEL 10 (10.1 GA, a 10.0 rebuild).
 */
export function currentRedHatCatalog(owner = RED_HAT): CatalogImage[] {
  return [
    ...redHatCatalog(owner),
    image('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', owner, '2025-04-23'),
    image('RHEL-9.6.0_HVM_GA-20250423-arm64-0-Hourly2-GP3', owner, '2025-04-23', 'arm64'),
    image('RHEL-9.5.0_HVM-20250611-x86_64-14-Hourly2-GP3', owner, '2025-06-11'),
    image('RHEL-9.4.0_HVM-20250709-x86_64-97-Hourly2-GP3', owner, '2025-07-09'),
    image('RHEL-9.6.0_HVM_GA-20250423-x86_64-0-Access2-GP3', owner, '2025-07-30'),
    image('RHEL_HA-9.6.0_HVM_GA-20250423-x86_64-0-Hourly2-GP3', owner, '2025-08-01'),
    image('RHEL-9.7.0_HVM_BETA-20250910-x86_64-0-Hourly2-GP3', owner, '2025-09-10'),
    image('RHEL-10.1.0_HVM_GA-20251031-x86_64-0-Hourly2-GP3', owner, '2025-10-31'),
    image('RHEL-10.1.0_HVM_GA-20251031-arm64-0-Hourly2-GP3', owner, '2025-10-31', 'arm64'),
    image('RHEL-10.0.0_HVM-20251030-x86_64-0-Hourly2-GP3', owner, '2025-10-30'),
    image('RHEL-10.0.0_HVM-20251204-x86_64-3-Hourly2-GP3', owner, '2025-12-04'),
  ];
}
