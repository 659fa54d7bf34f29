// Precedence, implemented once: built-in defaults < per-minor defaults < presets < variable file < command line.
// Each layer is checked on its own (unknown names, wrong types) so an error can say where the bad value came from.
import { ConfigError, ConfigErrors, UserError } from '../errors.ts';
import { coerce } from './coerce.ts';
import { builtInDefaults, canonicalName, declarations, variableNames, type BuildVariables, type VariableName } from './declarations.ts';
import { optionNames } from './options.ts';
import { closestName } from './suggest.ts';
import { unofferedReason } from './unoffered.ts';

export interface Layer {
  /** Where the values come from, e.g. "command line", "preset govcloud", "my.pkrvars.hcl". */
  source: string;
  values: Record<string, unknown>;
}

export interface Composed {
  values: BuildVariables;
  /** For each variable, the layer that set its value ("default" when none did). */
  sourceOf: Record<VariableName, string>;
}

const knownNames = () => [
  ...variableNames,
  ...variableNames.flatMap((n) => declarations[n].aliases ?? []),
  ...optionNames,
];

export function unknownNameError(name: string, source: string, value: unknown): UserError {
  const unoffered = unofferedReason(name);
  if (unoffered) return new UserError(`${name}=${JSON.stringify(value)} (${source}) is not offered: ${unoffered}`, 2);
  const suggestion = closestName(name, knownNames());
  return new UserError(
    `${name}=${JSON.stringify(value)} (${source}) is not a build variable.` +
      (suggestion ? ` Did you mean ${suggestion}?` : '') +
      " Run 'make help' for the list of variables.",
    2,
  );
}

export function composeLayers(layers: Layer[]): Composed {
  const values = builtInDefaults() as Record<VariableName, unknown>;
  const sourceOf = Object.fromEntries(variableNames.map((n) => [n, 'default'])) as Record<VariableName, string>;
  const problems: UserError[] = [];
  for (const layer of layers) {
    for (const [rawName, raw] of Object.entries(layer.values)) {
      if (rawName.startsWith('$')) continue; // "$comment" and friends in data files
      const name = canonicalName(rawName);
      if (!name) {
        problems.push(unknownNameError(rawName, layer.source, raw));
        continue;
      }
      try {
        values[name] = coerce(name, declarations[name], raw);
        sourceOf[name] = layer.source;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(new ConfigError(name, raw, error.allowed, `(from ${layer.source})`));
      }
    }
  }
  if (problems.length) throw new ConfigErrors(problems);
  return { values: values as BuildVariables, sourceOf };
}
