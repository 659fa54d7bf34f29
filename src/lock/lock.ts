// build.lock.json: every input a build resolved — the Kubernetes build, each artifact's origin, mirror key
// and SHA-256, the source AMI. Its shape, validation, reading and writing live here, apart from both sides
// that use it: `make stage` writes it (src/stage/), a build replays it (replay.ts, read by src/variables/configure.ts).
import { Ajv, type ErrorObject } from 'ajv';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, UserError } from '../errors.ts';
import type { Origin } from '../data/artifacts.ts';

export const LOCK_VERSION = 1;

export interface LockedArtifact {
  name: string;
  /** File name as published and as the provisioner verifies it (kubelet, runc.amd64, containerd-….tar.gz). */
  file: string;
  origin: Origin;
  /** URLs fetched: the artifact and its published checksum file. */
  url: string;
  checksumUrl: string;
  /** Keys in the mirror bucket. */
  key: string;
  checksumKey: string;
  /** sha256-file (the default): checksumKey is a published checksum file; pgp-signature: a detached signature. */
  verifiedBy?: 'sha256-file' | 'pgp-signature';
  sha256: string;
  size: number;
}

export interface BuildLock {
  lockVersion: typeof LOCK_VERSION;
  createdAt: string;
  createdBy: string;
  kubernetes: { version: string; buildDate: string; minor: string };
  /** EC2 naming and bucket naming. */
  arch: 'x86_64' | 'arm64';
  binaryArch: 'amd64' | 'arm64';
  versions: { cni_plugin_version: string; containerd_version: string; runc_version: string };
  mirror: { bucket: string; region: string };
  sourceAmi: { id: string; name: string; owner: string; region: string };
  artifacts: LockedArtifact[];
}

const str = { type: 'string', minLength: 1 } as const;
const sha256 = { type: 'string', pattern: '^[0-9a-f]{64}$' } as const;
const origin = {
  type: 'object',
  discriminator: { propertyName: 'kind' },
  required: ['kind'],
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'bucket', 'region', 'key'],
      properties: { kind: { const: 's3' }, bucket: str, region: str, key: str },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'owner', 'repo', 'tag', 'asset'],
      properties: { kind: { const: 'github' }, owner: str, repo: str, tag: str, asset: str },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['kind', 'asset'],
      properties: { kind: { const: 'awscli' }, asset: str },
    },
  ],
} as const;

export const lockSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  title: 'build.lock.json: resolved inputs of an EKS worker AMI build',
  type: 'object',
  additionalProperties: false,
  required: ['lockVersion', 'createdAt', 'createdBy', 'kubernetes', 'arch', 'binaryArch', 'versions', 'mirror', 'sourceAmi', 'artifacts'],
  properties: {
    lockVersion: { const: LOCK_VERSION },
    createdAt: str,
    createdBy: str,
    kubernetes: {
      type: 'object',
      additionalProperties: false,
      required: ['version', 'buildDate', 'minor'],
      properties: {
        version: { type: 'string', pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+$' },
        buildDate: { type: 'string', pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' },
        minor: { type: 'string', pattern: '^[0-9]+\\.[0-9]+$' },
      },
    },
    arch: { enum: ['x86_64', 'arm64'] },
    binaryArch: { enum: ['amd64', 'arm64'] },
    versions: {
      type: 'object',
      additionalProperties: false,
      required: ['cni_plugin_version', 'containerd_version', 'runc_version'],
      properties: { cni_plugin_version: str, containerd_version: str, runc_version: str },
    },
    mirror: { type: 'object', additionalProperties: false, required: ['bucket', 'region'], properties: { bucket: str, region: str } },
    sourceAmi: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name', 'owner', 'region'],
      properties: { id: { type: 'string', pattern: '^ami-[0-9a-f]{8,17}$' }, name: str, owner: str, region: str },
    },
    artifacts: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'file', 'origin', 'url', 'checksumUrl', 'key', 'checksumKey', 'sha256', 'size'],
        properties: {
          name: str,
          file: str,
          origin,
          url: str,
          checksumUrl: str,
          key: str,
          checksumKey: str,
          verifiedBy: { enum: ['sha256-file', 'pgp-signature'] },
          sha256,
          size: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
} as const;

const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, discriminator: true });
const validate = ajv.compile(lockSchema);

/** A lock file that cannot be used; exit 2 like any other bad input. */
export class LockError extends UserError {
  constructor(path: string, problems: string[]) {
    super(
      `${path} is not a usable lock file:\n${problems.map((p) => `  - ${p}`).join('\n')}\nWrite a new one with 'make stage k8s=<minor> binary_bucket_name=… binary_bucket_region=…'.`,
      EXIT.config,
    );
  }
}

/** Writes the lock atomically (temp file, then rename), so a reader never sees half a lock. */
export function writeLock(path: string, lock: BuildLock): void {
  const problems = lockProblems(lock);
  if (problems.length) throw new Error(`refusing to write an invalid lock: ${problems.join('; ')}`);
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(lock, null, 2)}\n`);
  renameSync(temp, path);
}

export function readLock(path: string): BuildLock {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new LockError(path, [`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new LockError(path, [`is not JSON: ${(error as Error).message}`]);
  }
  const problems = lockProblems(data);
  if (problems.length) throw new LockError(path, problems);
  return data as BuildLock;
}

/** Schema problems, then consistency problems, each naming the field. */
export function lockProblems(data: unknown): string[] {
  if (!validate(data)) return describe(validate.errors ?? []);
  const lock = data as BuildLock;
  const problems: string[] = [];
  if (lock.kubernetes.version.split('.').slice(0, 2).join('.') !== lock.kubernetes.minor)
    problems.push(`kubernetes.minor ${lock.kubernetes.minor} does not match kubernetes.version ${lock.kubernetes.version}`);
  if ((lock.arch === 'x86_64' ? 'amd64' : 'arm64') !== lock.binaryArch) problems.push(`binaryArch ${lock.binaryArch} does not match arch ${lock.arch}`);
  const files = new Set<string>();
  for (const [i, a] of lock.artifacts.entries()) {
    if (files.has(a.file)) problems.push(`artifacts/${i} (${a.name}): file ${a.file} is listed twice`);
    files.add(a.file);
  }
  return problems;
}

function describe(errors: ErrorObject[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const e of errors) {
    // oneOf adds a summary after its branches' own errors; those say more.
    if (e.keyword === 'oneOf') continue;
    const where = e.instancePath || '(top level)';
    const what =
      e.keyword === 'required'
        ? `missing ${(e.params as { missingProperty: string }).missingProperty}`
        : e.keyword === 'additionalProperties'
          ? `unknown field ${(e.params as { additionalProperty: string }).additionalProperty}`
          : e.keyword === 'const'
            ? `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`
            : e.keyword === 'discriminator'
              ? `kind must be "s3", "github" or "awscli"`
              : e.keyword === 'enum'
                ? `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
                : (e.message ?? e.keyword);
    const line = `${where}: ${what}`;
    if (!seen.has(line)) out.push(line);
    seen.add(line);
  }
  return out;
}
