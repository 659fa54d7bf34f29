// A plan made from real configuration code and fixed "resolved" inputs, for rendering tests without AWS.
import { makePlan, type Plan } from '../../src/plan/plan.ts';
import { configure } from '../../src/variables/configure.ts';

export async function samplePlan(words: string[] = [], packerVersion = '1.6.6'): Promise<Plan> {
  const config = await configure(['1.28', 'ami_name=test-render', ...words], {});
  return makePlan({
    config,
    kubernetes: { version: '1.28.15', buildDate: '2025-11-05', minor: '1.28', kubeletKey: '1.28.15/2025-11-05/bin/linux/amd64/kubelet' },
    sourceAmi: { id: 'ami-0123456789abcdef0', name: 'RHEL-9.5.0_HVM-20250115-x86_64-7-Hourly2-GP3', owner: '309956199498', creationDate: '2025-01-15', rootDeviceName: '/dev/sda1', rhelRelease: '9.5.0' },
    rhelVersion: config.values.rhel_version,
    packer: { version: packerVersion, modern: packerVersion !== '1.6.6' },
    unsignedBucket: false,
    now: new Date('2026-01-02T03:04:05Z'),
    buildRoot: 'build/test-render',
  });
}
