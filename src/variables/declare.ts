// Builders for declaring build variables. A declaration is the single source of a variable's name, type,
// default, description and allowed values; schema, CLI parsing, README table and Packer variables derive from it.

export type Group = 'Kubernetes' | 'Source AMI' | 'Build instance' | 'Output AMI' | 'Image contents' | 'Staging';

interface Common {
  description: string;
  group: Group;
  /** Older names still accepted on the command line and in variable files (the existing sample's). */
  aliases?: readonly string[];
  /** When the empty default means "derived at plan time", say from what (shown in the README). */
  derived?: string;
}

export interface StringVariable extends Common {
  kind: 'string';
  default: string;
  enum?: readonly string[];
  /** Regular expression the value must match in full; an empty string always passes when the default is empty. */
  pattern?: string;
  /** What the pattern means, in words, for error messages. */
  format?: string;
}

export interface IntegerVariable extends Common {
  kind: 'integer';
  default: number;
  minimum?: number;
  maximum?: number;
  enum?: readonly number[];
}

export interface BooleanVariable extends Common {
  kind: 'boolean';
  default: boolean;
}

export interface ListVariable extends Common {
  kind: 'list';
  default: readonly string[];
  itemPattern?: string;
  itemFormat?: string;
}

export type Declaration = StringVariable | IntegerVariable | BooleanVariable | ListVariable;

export type ValueOf<D extends Declaration> = D extends StringVariable
  ? string
  : D extends IntegerVariable
    ? number
    : D extends BooleanVariable
      ? boolean
      : string[];

export const string = (d: Omit<StringVariable, 'kind'>): StringVariable => ({ kind: 'string', ...d });
export const integer = (d: Omit<IntegerVariable, 'kind'>): IntegerVariable => ({ kind: 'integer', ...d });
export const boolean = (d: Omit<BooleanVariable, 'kind'>): BooleanVariable => ({ kind: 'boolean', ...d });
export const list = (d: Omit<ListVariable, 'kind'>): ListVariable => ({ kind: 'list', ...d });

/** Human description of what a declaration accepts, for error messages and the README. */
export function allowedText(d: Declaration): string {
  switch (d.kind) {
    case 'boolean':
      return 'true or false';
    case 'integer': {
      if (d.enum) return `one of ${d.enum.join(', ')}`;
      const range = [d.minimum !== undefined ? `≥ ${d.minimum}` : '', d.maximum !== undefined ? `≤ ${d.maximum}` : '']
        .filter(Boolean)
        .join(' and ');
      return range ? `a whole number ${range}` : 'a whole number';
    }
    case 'list':
      return `a comma-separated list${d.itemFormat ? ` of ${d.itemFormat}` : ''}`;
    case 'string':
      if (d.enum) return `one of ${d.enum.map((v) => (v === '' ? '"" (unset)' : v)).join(', ')}`;
      return d.format ?? 'a string';
  }
}
