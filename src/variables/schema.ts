// The JSON Schema of a complete build configuration, derived from the declarations, and its ajv check.
import { Ajv, type ErrorObject } from 'ajv';
import { ConfigError } from '../errors.ts';
import { allowedText, type Declaration } from './declare.ts';
import { declarations, variableNames, type VariableName } from './declarations.ts';

type JsonSchema = Record<string, unknown>;

/** An empty string means "unset/derived" for variables whose default is empty. */
const orEmpty = (pattern: string, d: { default: unknown }) => (d.default === '' ? `^$|${pattern}` : pattern);

export function propertySchema(d: Declaration): JsonSchema {
  const base = { description: d.description };
  switch (d.kind) {
    case 'string':
      return {
        ...base,
        type: 'string',
        ...(d.enum ? { enum: d.enum } : {}),
        ...(d.pattern ? { pattern: orEmpty(d.pattern, d) } : {}),
        default: d.default,
      };
    case 'integer':
      return {
        ...base,
        type: 'integer',
        ...(d.enum ? { enum: d.enum } : {}),
        ...(d.minimum !== undefined ? { minimum: d.minimum } : {}),
        ...(d.maximum !== undefined ? { maximum: d.maximum } : {}),
        default: d.default,
      };
    case 'boolean':
      return { ...base, type: 'boolean', default: d.default };
    case 'list':
      return {
        ...base,
        type: 'array',
        items: { type: 'string', ...(d.itemPattern ? { pattern: d.itemPattern } : {}) },
        default: d.default,
      };
  }
}

export function buildVariablesSchema(): JsonSchema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'RHEL EKS worker AMI build variables',
    type: 'object',
    additionalProperties: false,
    required: variableNames,
    properties: Object.fromEntries(variableNames.map((n) => [n, propertySchema(declarations[n])])),
  };
}

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false });
const validate = ajv.compile(buildVariablesSchema());

/** Problems ajv finds, each turned into a message that names the variable, its value and what is allowed. */
export function schemaProblems(values: Record<string, unknown>): ConfigError[] {
  if (validate(values)) return [];
  const seen = new Set<string>();
  const problems: ConfigError[] = [];
  for (const error of validate.errors ?? []) {
    const name = variableOf(error);
    if (!name || seen.has(name)) continue;
    seen.add(name);
    const d = declarations[name];
    const value = values[name];
    const item = Array.isArray(value) ? error.instancePath.split('/')[2] : undefined;
    const hint = item !== undefined ? `Item ${Number(item) + 1} (${JSON.stringify((value as unknown[])[Number(item)])}) does not fit.` : '';
    problems.push(new ConfigError(name, value, allowedText(d), hint));
  }
  return problems;
}

function variableOf(error: ErrorObject): VariableName | undefined {
  const name = error.instancePath.split('/')[1] || (error.params as { missingProperty?: string }).missingProperty;
  return name && name in declarations ? (name as VariableName) : undefined;
}
