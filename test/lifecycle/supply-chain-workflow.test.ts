// The scheduled build keeps each cell's supply-chain records (SBOM, provenance, release notes) with its artifacts
// and shows the release notes in the run's summary.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { repoPath } from '../../src/paths.ts';

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, string>; if?: string };

describe('lifecycle: build-amis.yml keeps the supply-chain records', () => {
  const wf = parse(readFileSync(repoPath('.github', 'workflows', 'build-amis.yml'), 'utf8')) as { jobs: Record<string, { steps: Step[] }> };
  const steps = wf.jobs.build.steps;

  it('uploads the SBOM, provenance and release notes of every cell, also after a failure', () => {
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
    expect(upload.if).to.equal('always()');
    for (const file of ['build/*/sbom.spdx.json', 'build/*/provenance.intoto.jsonl', 'build/*/release-notes.md']) {
      expect(upload.with!.path.split('\n').map((l) => l.trim()), file).to.include(file);
    }
  });

  it('appends each release-notes.md to the job summary after the build', () => {
    const build = steps.findIndex((s) => s.run?.includes('make all'));
    const notes = steps.findIndex((s) => s.run?.includes('release-notes.md') && s.run.includes('$GITHUB_STEP_SUMMARY'));
    expect(notes, 'a step writing the release notes to the summary').to.be.greaterThan(build);
    expect(steps[notes].if).to.equal('always()');
  });
});
