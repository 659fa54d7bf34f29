// Turn a raw value (a command-line string, or whatever a variable file holds) into the declared type.
import { ConfigError } from '../errors.ts';
import { allowedText, type Declaration } from './declare.ts';

export function coerce(name: string, d: Declaration, raw: unknown): unknown {
  const fail = () => new ConfigError(name, raw, allowedText(d));
  switch (d.kind) {
    case 'string':
      if (typeof raw === 'string') return raw;
      if (typeof raw === 'number') return String(raw);
      throw fail();
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true') return true;
      if (raw === 'false') return false;
      throw fail();
    case 'integer': {
      if (typeof raw === 'number' && Number.isInteger(raw)) return raw;
      if (typeof raw === 'string' && /^-?[0-9]+$/.test(raw.trim())) return Number(raw.trim());
      throw fail();
    }
    case 'list':
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (typeof raw === 'string') return splitList(raw);
      throw fail();
  }
}

/** "a, b,c" → ["a","b","c"]; "" → []; a JSON array literal is accepted too. */
function splitList(raw: string): string[] {
  const text = raw.trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) return parsed.map(String);
    } catch {
      // fall through to comma splitting
    }
  }
  return text === '' ? [] : text.split(/[\s,]+/).filter(Boolean);
}
