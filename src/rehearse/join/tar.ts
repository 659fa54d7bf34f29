// A minimal, deterministic POSIX ustar writer: image layers and oci-archives must hash the same on every run
// (fixed mtime, uid/gid 0, sorted entries), which the system tar only does with a page of flags that differ
// between GNU and BSD tar. Regular files and directories are all an image layer of ours needs.
const BLOCK = 512;

export interface TarEntry {
  /** Relative path inside the archive, '/'-separated; directories end without a slash. */
  path: string;
  type: 'file' | 'directory';
  mode: number;
  content?: Buffer;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(entry: TarEntry, size: number): Buffer {
  const name = entry.type === 'directory' ? `${entry.path}/` : entry.path;
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: path '${name}' is longer than 100 bytes (ustar name field)`);
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100, 'utf8');
  block.write(octal(entry.mode & 0o7777, 8), 100, 'ascii');
  block.write(octal(0, 8), 108, 'ascii'); // uid
  block.write(octal(0, 8), 116, 'ascii'); // gid
  block.write(octal(size, 12), 124, 'ascii');
  block.write(octal(0, 12), 136, 'ascii'); // mtime: the epoch, so the digest depends on content only
  block.write(' '.repeat(8), 148, 'ascii'); // checksum placeholder, counted as spaces
  block.write(entry.type === 'directory' ? '5' : '0', 156, 'ascii');
  block.write('ustar\0', 257, 'ascii');
  block.write('00', 263, 'ascii');
  block.write('root', 265, 'ascii');
  block.write('root', 297, 'ascii');
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return block;
}

/** The archive bytes of `entries`, in the order given (callers sort), ended by two zero blocks. */
export function tarArchive(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.type === 'file' ? (entry.content ?? Buffer.alloc(0)) : Buffer.alloc(0);
    parts.push(header(entry, content.length), content);
    const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** Every parent directory of `paths` as its own entry (0755), so extracting creates them with known modes. */
export function withParentDirectories(files: TarEntry[]): TarEntry[] {
  const directories = new Set<string>();
  for (const file of files) {
    const parts = file.path.split('/');
    for (let i = 1; i < parts.length; i++) directories.add(parts.slice(0, i).join('/'));
  }
  const known = new Set(files.map((f) => f.path));
  const added: TarEntry[] = [...directories].filter((d) => !known.has(d)).map((path) => ({ path, type: 'directory', mode: 0o755 }));
  return [...added, ...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
