// Read a user's variable file: JSON (Packer's -var-file style) or HCL (.pkrvars.hcl).
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.ts';
import type { Layer } from './layers.ts';

export async function readVariableFile(path: string): Promise<Layer> {
  const allowed = 'a readable JSON object or .pkrvars.hcl file';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError('PACKER_VARIABLE_FILE', path, allowed, `Reading it failed: ${(error as Error).message}.`);
  }
  let values: unknown;
  try {
    // The HCL parser is a WebAssembly module: loaded only for an HCL file.
    values = path.endsWith('.hcl') ? await (await import('@cdktf/hcl2json')).parse(path, text) : JSON.parse(text);
  } catch (error) {
    throw new ConfigError('PACKER_VARIABLE_FILE', path, allowed, `It does not parse: ${(error as Error).message}.`);
  }
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ConfigError('PACKER_VARIABLE_FILE', path, allowed, 'Its top level must map variable names to values.');
  }
  return { source: path, values: values as Record<string, unknown> };
}
