// Paths inside the repository, independent of the current directory.
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);
export const relativeToRepo = (path: string): string => relative(repoRoot, path);
