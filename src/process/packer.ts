// Packer as a tool: its version and the features that version accepts, validate, fmt and build.
import { ToolError } from '../errors.ts';
import type { Runner } from './run.ts';

export interface PackerInfo {
  version: string;
  /** Packer ≥ 1.7 with the external amazon plugin: required_plugins, metadata_options, imds_support, deprecate_at. */
  modern: boolean;
}

export async function detectPacker(runner: Runner, env: NodeJS.ProcessEnv): Promise<PackerInfo> {
  let result;
  try {
    result = await runner.capture('packer', ['version'], { env });
  } catch {
    result = { exitCode: 127, stdout: '', stderr: '' };
  }
  const match = /Packer v?([0-9]+\.[0-9]+\.[0-9]+)/.exec(result.stdout);
  if (result.exitCode !== 0 || !match) {
    throw new ToolError("packer is not installed or did not report its version. Install it (Debian/Ubuntu: 'apt-get install packer', or from HashiCorp) and retry.");
  }
  return { version: match[1], modern: isModern(match[1]) };
}

export function isModern(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 1 || (major === 1 && minor >= 7);
}
