// eni-max-pods.txt for a region, asked from EC2 at most once per UTC day. DescribeInstanceTypes returns every
// instance type of the region (over a dozen pages on AWS, one 5 MB answer from moto): the slowest look-up of a
// plan. The file names only the region and the day it was made, so a copy from earlier that day is the same file.
// Kept under <build root>/.cache/max-pods/ (`make clean` removes it), one file per region, day and EC2 endpoint.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface MaxPodsKey {
  region: string;
  /** The EC2 endpoint asked ('' for AWS itself), so an emulator's answer is never used against AWS. */
  endpoint: string;
  date: Date;
}

export function maxPodsCacheFile(dir: string, key: MaxPodsKey): string {
  const endpoint = createHash('sha256')
    .update(key.endpoint || 'aws')
    .digest('hex')
    .slice(0, 12);
  return join(dir, `${key.region}-${key.date.toISOString().slice(0, 10)}-${endpoint}.txt`);
}

/** The cached text for the key, else `make()`'s, stored (whole or not at all) for the next plan that day. */
export async function cachedMaxPods(dir: string, key: MaxPodsKey, make: () => Promise<string>): Promise<string> {
  const file = maxPodsCacheFile(dir, key);
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const text = await make();
  mkdirSync(dir, { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text);
  renameSync(temp, file);
  return text;
}
