// name=value options of the lifecycle scripts (matrix, all, sweep, nodegroup, cluster-ipvs). These are not build
// variables: each script declares its own, and an unknown or malformed name is an error (exit 2) before any AWS
// call, with a suggestion when the name looks like a typo.
import { ConfigError, ConfigErrors, EXIT, UserError } from '../errors.ts';
import { closestName } from '../variables/suggest.ts';

interface OptionCommon {
  description: string;
  /** Regular expression a string value (or each list item) must match in full. */
  pattern?: string;
  /** What the pattern means, in words. */
  format?: string;
  required?: boolean;
}

export type OptionSpec =
  | (OptionCommon & { kind: 'string'; default: string; enum?: readonly string[] })
  | (OptionCommon & { kind: 'integer'; default: number; minimum?: number; maximum?: number })
  | (OptionCommon & { kind: 'boolean'; default: boolean })
  | (OptionCommon & { kind: 'list'; default: readonly string[] });

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S extends { kind: 'string' }
  ? string
  : S extends { kind: 'integer' }
    ? number
    : S extends { kind: 'boolean' }
      ? boolean
      : string[];

export type OptionValues<T extends OptionSpecs> = { -readonly [K in keyof T]: ValueOf<T[K]> };

export interface ParsedOptions<T extends OptionSpecs> {
  values: OptionValues<T>;
  /** Names the user gave explicitly. */
  given: Set<keyof T & string>;
  /** Words that are not name=value (positional), in order. */
  positional: string[];
}

export interface ParseSettings {
  /** The command, for messages ("make sweep"). */
  command: string;
  /** Accept bare words (returned in `positional`); otherwise they are errors. */
  positional?: boolean;
  /** Names accepted but returned untouched in `rest` (e.g. build variables handed on to another script). */
  passThrough?: (name: string) => boolean;
}

const REGION = '^[a-z]{2}(-[a-z]+)+-[0-9]+$';
export const REGION_PATTERN = REGION;

function allowed(spec: OptionSpec): string {
  switch (spec.kind) {
    case 'boolean':
      return 'true or false';
    case 'integer':
      return `a whole number${spec.minimum !== undefined ? ` ≥ ${spec.minimum}` : ''}${spec.maximum !== undefined ? ` and ≤ ${spec.maximum}` : ''}`;
    case 'list':
      return `a comma-separated list${spec.format ? ` of ${spec.format}` : ''}`;
    case 'string':
      if (spec.enum) return `one of ${spec.enum.join(', ')}`;
      return spec.format ?? 'a string';
  }
}

function coerceOption(name: string, spec: OptionSpec, raw: string): unknown {
  const fail = () => new ConfigError(name, raw, allowed(spec));
  const matches = (value: string) => !spec.pattern || new RegExp(`^(?:${spec.pattern})$`).test(value);
  switch (spec.kind) {
    case 'boolean':
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw fail();
    case 'integer': {
      if (!/^[0-9]+$/.test(raw)) throw fail();
      const n = Number(raw);
      if ((spec.minimum !== undefined && n < spec.minimum) || (spec.maximum !== undefined && n > spec.maximum)) throw fail();
      return n;
    }
    case 'list': {
      const items = raw.split(/[\s,]+/).filter(Boolean);
      if (!items.every(matches)) throw fail();
      return items;
    }
    case 'string':
      if (spec.enum && !spec.enum.includes(raw)) throw fail();
      if (raw !== '' && !matches(raw)) throw fail();
      return raw;
  }
}

/**
 * Parse `name=value` words against declared options. Every problem is collected and thrown together as
 * ConfigErrors (exit 2); nothing has touched AWS yet.
 */
export function parseOptions<T extends OptionSpecs>(words: string[], specs: T, settings: ParseSettings): ParsedOptions<T> & { rest: string[] } {
  const values = Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, structuredClone(spec.default)])) as OptionValues<T>;
  const given = new Set<keyof T & string>();
  const positional: string[] = [];
  const rest: string[] = [];
  const problems: UserError[] = [];
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) {
      if (settings.positional) positional.push(word);
      else problems.push(new UserError(`'${word}' is not name=value. ${settings.command} takes ${Object.keys(specs).join(', ')}.`, EXIT.config));
      continue;
    }
    const name = word.slice(0, eq);
    const raw = word.slice(eq + 1);
    const spec = specs[name];
    if (!spec) {
      if (settings.passThrough?.(name)) {
        rest.push(word);
        continue;
      }
      const suggestion = closestName(name, Object.keys(specs));
      problems.push(
        new UserError(
          `${name}=${JSON.stringify(raw)} is not an option of ${settings.command}.${suggestion ? ` Did you mean ${suggestion}?` : ''} Options: ${Object.keys(specs).join(', ')}.`,
          EXIT.config,
        ),
      );
      continue;
    }
    try {
      (values as Record<string, unknown>)[name] = coerceOption(name, spec, raw);
      given.add(name as keyof T & string);
    } catch (error) {
      problems.push(error as UserError);
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.required && !given.has(name as keyof T & string)) {
      problems.push(new UserError(`${settings.command} needs ${name}=… (${spec.description})`, EXIT.config));
    }
  }
  if (problems.length) throw new ConfigErrors(problems);
  return { values, given, positional, rest };
}

/** One line per option, for usage text. */
export function describeOptions(specs: OptionSpecs): string[] {
  return Object.entries(specs).map(([name, spec]) => {
    const shown = Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
    return `  ${name.padEnd(14)} ${spec.description}${spec.required ? ' (required)' : shown !== '' ? ` (default ${shown})` : ''}`;
  });
}
