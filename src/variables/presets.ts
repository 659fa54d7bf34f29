// Presets: named bundles of variables kept as data files under data/presets/.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { repoPath } from '../paths.ts';
import type { Layer } from './layers.ts';

const presetDir = () => repoPath('data', 'presets');

export function presetNames(): string[] {
  return readdirSync(presetDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export function presetSummary(name: string): string {
  const data = JSON.parse(readFileSync(join(presetDir(), `${name}.json`), 'utf8')) as Record<string, unknown>;
  return String(data.$comment ?? '');
}

export function presetLayer(name: string): Layer {
  const file = join(presetDir(), `${name}.json`);
  if (!existsSync(file)) {
    throw new ConfigError('preset', name, `one of ${presetNames().join(', ')}`, 'Presets live in data/presets/.');
  }
  return { source: `preset ${name}`, values: JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown> };
}

/** Defaults of a variant (data/variants/<variant>.json), applied above per-minor defaults and below presets. */
export function variantLayer(variant: string): Layer {
  const file = repoPath('data', 'variants', `${variant}.json`);
  const values = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>) : {};
  return { source: `variant ${variant} defaults`, values };
}
