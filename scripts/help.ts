#!/usr/bin/env tsx
// The data-driven half of `make help`: supported minors, presets and build variables.
import 'zx/globals';
import { supportedMinors } from '../src/data/minors.ts';
import { allowedText } from '../src/variables/declare.ts';
import { declarations, variableNames } from '../src/variables/declarations.ts';
import { presetNames, presetSummary } from '../src/variables/presets.ts';

console.log(`\nKubernetes minors\n  ${supportedMinors().join(' ')}`);
console.log('\nPresets (preset=NAME[,NAME])');
for (const name of presetNames()) console.log(`  ${name.padEnd(14)} ${presetSummary(name)}`);
console.log('\nBuild variables (name=value; precedence: defaults < minor < presets < PACKER_VARIABLE_FILE < command line)');
for (const name of variableNames) {
  const d = declarations[name];
  const shown = Array.isArray(d.default) ? d.default.join(',') : String(d.default);
  console.log(`  ${name.padEnd(26)} ${shown === '' ? (d.derived ? '(derived)' : '(unset)') : shown.length > 30 ? `${shown.slice(0, 27)}...` : shown}  — ${allowedText(d)}`);
}
console.log("\nFull table: README.md. Example: make 1.28 rhel_version=8 aws_region=us-east-1 dry_run=true");
