// Values as HCL literals. JSON is valid HCL expression syntax; only template sequences need escaping,
// so a value can never be read by Packer as an interpolation.
export function hclLiteral(value: unknown): string {
  // Replacement functions, because '$$' in a replacement string means a single '$'.
  return JSON.stringify(value)
    .replaceAll('${', () => '$${')
    .replaceAll('%{', () => '%%{');
}

export function hclType(kind: 'string' | 'integer' | 'boolean' | 'list'): string {
  return { string: 'string', integer: 'number', boolean: 'bool', list: 'list(string)' }[kind];
}
