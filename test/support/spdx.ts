// Checks an SPDX 2.3 JSON document: the official schema (vendored in test/fixtures/spdx-2.3/, draft 2019-09,
// validated with ajv) plus what the schema leaves to the specification's prose: SPDXID syntax and uniqueness,
// relationships naming elements that exist, SHA-256 values of 64 hex digits.
import { Ajv2019 } from 'ajv/dist/2019.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './sandbox.ts';

const schema = JSON.parse(readFileSync(join(REPO, 'test', 'fixtures', 'spdx-2.3', 'spdx-schema.json'), 'utf8'));
const validate = new Ajv2019({ allErrors: true, strict: false }).compile(schema);

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  packageFileName?: string;
  checksums?: { algorithm: string; checksumValue: string }[];
  externalRefs?: { referenceCategory: string; referenceType: string; referenceLocator: string }[];
  sourceInfo?: string;
  supplier?: string;
}

export interface SpdxDocument {
  spdxVersion: string;
  SPDXID: string;
  documentNamespace: string;
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

/** Every problem found; empty when the document is valid. */
export function spdxProblems(doc: unknown): string[] {
  const problems: string[] = [];
  if (!validate(doc)) problems.push(...(validate.errors ?? []).map((e) => `schema: ${e.instancePath || '/'} ${e.message}`));
  const d = doc as SpdxDocument;
  if (d.spdxVersion !== 'SPDX-2.3') problems.push(`spdxVersion is ${d.spdxVersion}`);
  const ids = [d.SPDXID, ...(d.packages ?? []).map((p) => p.SPDXID)];
  for (const id of ids) if (!/^SPDXRef-[A-Za-z0-9.-]+$/.test(id)) problems.push(`bad SPDXID ${id}`);
  if (new Set(ids).size !== ids.length) problems.push('SPDXIDs are not unique');
  const known = new Set(ids);
  for (const r of d.relationships ?? []) {
    for (const id of [r.spdxElementId, r.relatedSpdxElement]) if (!known.has(id)) problems.push(`relationship names unknown element ${id}`);
  }
  for (const p of d.packages ?? []) {
    for (const c of p.checksums ?? []) if (c.algorithm === 'SHA256' && !/^[0-9a-f]{64}$/.test(c.checksumValue)) problems.push(`${p.name}: bad SHA256 ${c.checksumValue}`);
  }
  return problems;
}

export const purlOf = (p: SpdxPackage): string | undefined => p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;
