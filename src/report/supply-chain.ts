// After a successful build: the SBOM's digest on the AMI (sbom_sha256 tag), the provenance statement and the
// release notes in the build directory, and their lines for the build summary. One call from the pipeline.
import { join } from 'node:path';
import type { Plan } from '../plan/plan.ts';
import type { Runner } from '../process/run.ts';
import type { AwsClients } from '../aws/clients.ts';
import { amazonPluginVersion, provenanceStatement, writeProvenance } from './provenance.ts';
import { readVersionInfo, releaseNotes, writeReleaseNotes } from './release-notes.ts';
import { readSbom, tagSbom } from './sbom.ts';
import { readStigScore } from './stig.ts';
import { sbomSummary, type AmiByRegion } from './summary.ts';

export interface SupplyChainInput {
  plan: Plan;
  dir: string;
  amis: AmiByRegion[];
  clients: AwsClients;
  runner: Runner;
  env: NodeJS.ProcessEnv;
  now?: () => Date;
}

/** Summary lines; the files are written next to plan.json. */
export async function recordSupplyChain(input: SupplyChainInput): Promise<string[]> {
  const { plan, dir, amis } = input;
  const lines: string[] = [];
  const sbom = readSbom(dir);
  if (sbom) {
    await tagSbom(input.clients, amis, sbom);
    lines.push(sbomSummary(sbom.sha256, sbom.packages));
  } else {
    lines.push('SBOM         none downloaded (sbom.spdx.json missing from the build directory)');
  }
  const amazonPlugin = plan.packer.modern ? await installedAmazonPlugin(input.runner, input.env) : undefined;
  const { statement, notes } = provenanceStatement({ plan, dir, amis, sbom, amazonPlugin, env: input.env, finishedOn: input.now?.() ?? new Date() });
  writeProvenance(dir, statement);
  lines.push(`Provenance   ${join(plan.build_dir, 'provenance.intoto.jsonl')} (in-toto Statement v1, SLSA provenance v1)${notes.length ? `: ${notes.join('; ')}` : ''}`);
  writeReleaseNotes(dir, releaseNotes({ plan, amis, versionInfo: readVersionInfo(dir), sbom, stig: readStigScore(dir) }));
  lines.push(`Release      ${join(plan.build_dir, 'release-notes.md')}`);
  return lines;
}

async function installedAmazonPlugin(runner: Runner, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const out = await runner.capture('packer', ['plugins', 'installed'], { env }).catch(() => undefined);
  return out && out.exitCode === 0 ? amazonPluginVersion(out.stdout) : undefined;
}
