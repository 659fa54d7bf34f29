// Published checksum files, parsed the way sha256sum writes them, plus the shapes release pages use:
// a bare digest (EKS `<binary>.sha256`, CNI `<asset>.sha256`), `digest  name` or `digest *name` lines
// (containerd `.sha256sum`, runc's multi-asset `runc.sha256sum`), names with a path, and BSD tags
// (`SHA256 (name) = digest`).
import { createHash } from 'node:crypto';

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** The SHA-256 the file publishes for `asset`, lower-case hex; undefined when it names none. */
export function publishedSha256(text: string, asset: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const bsd = /^SHA256 ?\((.+)\) ?= ?([0-9a-fA-F]{64})$/.exec(line);
    if (bsd) {
      if (baseName(bsd[1]) === asset) return bsd[2].toLowerCase();
      continue;
    }
    const [digest, ...rest] = line.split(/\s+/);
    if (!HEX64.test(digest)) continue;
    const name = rest.join(' ').replace(/^\*/, '');
    // A bare digest belongs to the file it sits beside; a named one only to that name.
    if (!name || baseName(name) === asset) return digest.toLowerCase();
  }
  return undefined;
}

const baseName = (path: string): string => path.split('/').pop() ?? path;

export const isSha256 = (text: string): boolean => /^[0-9a-f]{64}$/.test(text);

export const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

/** The base64 form S3 wants in ChecksumSHA256. */
export const sha256Base64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
