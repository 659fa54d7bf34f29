// Names that look like build variables but are deliberately not offered, with the reason (data/unoffered-variables.json):
// `boot_mode=uefi` gets why, not a "did you mean" pointing at an unrelated variable.
import unofferedJson from '../../data/unoffered-variables.json' with { type: 'json' };

const reasons = Object.fromEntries(Object.entries(unofferedJson).filter(([name]) => !name.startsWith('$'))) as Record<string, string>;

export function unofferedReason(name: string): string | undefined {
  return Object.hasOwn(reasons, name.toLowerCase()) ? reasons[name.toLowerCase()] : undefined;
}
