// The STIG variant's score: read from the scan's stig-score.json (downloaded by Packer), shown in the summary
// and recorded as an AMI tag in every region the image was registered in (Packer cannot tag from instance output).
import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsClients } from '../aws/clients.ts';
import type { AmiByRegion } from './summary.ts';

export interface StigScore {
  score: number;
  maximum?: number;
  min_score?: number;
  profile?: string;
  pass?: number;
  fail?: number;
}

export function readStigScore(dir: string): StigScore | undefined {
  const file = join(dir, 'stig-score.json');
  if (!existsSync(file)) return undefined;
  const score = JSON.parse(readFileSync(file, 'utf8')) as StigScore;
  return typeof score.score === 'number' ? score : undefined;
}

export function stigSummary(score: StigScore): string {
  const counts = score.pass !== undefined ? ` (${score.pass} pass, ${score.fail ?? 0} fail)` : '';
  const threshold = score.min_score ? `, threshold ${score.min_score}` : '';
  return `STIG score   ${score.score.toFixed(2)}${counts}${threshold}`;
}

export async function tagStigScore(clients: AwsClients, amis: AmiByRegion[], score: StigScore): Promise<void> {
  for (const { region, ami } of amis) {
    await clients.ec2(region).send(new CreateTagsCommand({ Resources: [ami], Tags: [{ Key: 'stig_score', Value: score.score.toFixed(2) }] }));
  }
}
