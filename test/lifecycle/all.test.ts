// `make all`: cells through scripts/build.ts with bounded parallelism, per-cell logs and result files, a summary
// table; with a recording Runner (orchestration) and for real (two cells, dry runs against the seeded emulator,
// real Packer).
import { expect } from 'chai';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectResults, runCells, summaryMarkdown, summaryTable, type CellResult } from '../../src/lifecycle/all.ts';
import { expandMatrix } from '../../src/lifecycle/matrix.ts';
import { repoPath } from '../../src/paths.ts';
import type { Runner } from '../../src/process/run.ts';
import { requireTool } from '../support/tools.ts';
import { runScript } from './support.ts';

const LOG_DIR = 'build/test-lifecycle-all';
const cells = expandMatrix({ kubernetes: ['1.28', '1.29'], rhel_versions: [8, 9], arches: ['x86_64'], variants: ['standard'] });

interface Seen {
  words: string[];
  log: string;
  resultFile: string;
}

/**
 * Answers like scripts/build.ts would: writes the result file named by its last word (result_file=…) and a log
 * that does not name the AMI, so that only the result file can tell make all what the build produced.
 */
function fakeBuilds(seen: Seen[], concurrency: { now: number; max: number }, exitFor: (words: string[]) => number, amis = false): Runner {
  return {
    async capture(command, args, options) {
      expect(command).to.equal('bash');
      const words = args.slice(5, -1); // -c script $0 tsx build.ts … result_file=…
      expect(args[4]).to.equal(repoPath('scripts', 'build.ts'));
      expect(args.at(-1)).to.match(/^result_file=/);
      const resultFile = args.at(-1)!.slice('result_file='.length);
      const log = options!.env!.CELL_LOG!;
      seen.push({ words, log, resultFile });
      concurrency.now++;
      concurrency.max = Math.max(concurrency.max, concurrency.now);
      // Yield to the event loop (not the clock) so the pool can start its other jobs while this one is running.
      await new Promise((resolve) => setImmediate(resolve));
      const [minor, rhel, arch] = [words[0], words[1].split('=')[1], words[2].split('=')[1]];
      const ami = `rhel-${rhel}-eks-node-${minor}-${arch}-standard-vtest`;
      const code = exitFor(words);
      const ids = amis && code === 0 ? [`us-west-2:ami-0${minor.replace('.', '')}${rhel}00000000000000`, `us-east-1:ami-0${minor.replace('.', '')}${rhel}11111111111111`] : [];
      const result = {
        status: code ? 'failed' : 'ok',
        exit_code: code,
        ami_name: ami,
        build_dir: `build/${ami}`,
        amis: ids.map((pair) => ({ region: pair.split(':')[0], ami: pair.split(':')[1] })),
        versions: { kubernetes: `${minor}.15` },
      };
      writeFileSync(resultFile, JSON.stringify(result));
      writeFileSync(log, `building ${arch}\n${code ? 'error: something failed\n' : ''}`);
      concurrency.now--;
      return { exitCode: code, stdout: '', stderr: '' };
    },
    async stream() {
      throw new Error('make all captures cell output into log files');
    },
  };
}

describe('lifecycle: make all', function () {
  this.timeout(60_000);
  afterEach(() => rmSync(repoPath(LOG_DIR), { recursive: true, force: true }));

  it('runs every cell through scripts/build.ts with its words plus the extra ones, never more than `jobs` at once', async () => {
    const seen: Seen[] = [];
    const concurrency = { now: 0, max: 0 };
    const results = await runCells({ runner: fakeBuilds(seen, concurrency, () => 0), cells, extraWords: ['dry_run=true'], jobs: 2, env: {}, logDir: LOG_DIR });
    expect(concurrency.max).to.equal(2);
    expect(seen.map((s) => s.words)).to.deep.equal(cells.map((c) => [c.k8s, `rhel_version=${c.rhel_version}`, `arch=${c.arch}`, `variant=${c.variant}`, 'dry_run=true']));
    expect(seen.map((s) => s.log)).to.deep.equal(cells.map((c) => repoPath(LOG_DIR, `${c.name}.log`)));
    expect(seen.map((s) => s.resultFile)).to.deep.equal(cells.map((c) => repoPath(LOG_DIR, `${c.name}.result.json`)));
    expect(results.map((r) => r.versions?.kubernetes)).to.deep.equal(['1.28.15', '1.28.15', '1.29.15', '1.29.15']);
    expect(results.map((r) => r.ami_name)).to.deep.equal(['rhel-8-eks-node-1.28-x86_64-standard-vtest', 'rhel-9-eks-node-1.28-x86_64-standard-vtest', 'rhel-8-eks-node-1.29-x86_64-standard-vtest', 'rhel-9-eks-node-1.29-x86_64-standard-vtest']);
    expect(JSON.parse(readFileSync(repoPath(LOG_DIR, 'results.json'), 'utf8'))).to.have.length(4);
  });

  it('keeps going after a failed cell, reports it in the table, and publishes only after successes', async () => {
    const published: string[] = [];
    const results = await runCells({
      runner: fakeBuilds([], { now: 0, max: 0 }, (w) => (w[0] === '1.29' && w[1] === 'rhel_version=8' ? 3 : 0), true),
      cells,
      extraWords: [],
      jobs: 3,
      env: {},
      logDir: LOG_DIR,
      afterSuccess: async (r) => {
        published.push(`${r.cell.name}:${r.amis.map((a) => a.ami).join('+')}`);
      },
    });
    expect(results.map((r) => r.exitCode)).to.deep.equal([0, 0, 3, 0]);
    expect(published).to.have.length(3);
    expect(published.find((p) => p.startsWith('1.28-rhel9-x86_64-standard:'))).to.equal('1.28-rhel9-x86_64-standard:ami-01289' + '00000000000000+ami-0128911111111111111');
    const table = summaryTable(results);
    expect(table).to.match(/1\.29-rhel8-x86_64-standard\s+failed \(exit 3\)/);
    expect(table).to.contain('us-west-2: ami-0').and.to.contain('3 of 4 cells succeeded');
    const md = summaryMarkdown(results);
    expect(md).to.contain('| cell | Kubernetes | RHEL | arch | variant | result | time | AMI name | AMIs |');
    expect(md.split('\n').filter((l) => l.startsWith('| 1.'))).to.have.length(4);
    expect(md).to.contain('❌ failed (exit 3)');
  });

  it('a cell that ended before writing its result file is failed with its exit code and no stale result', async () => {
    mkdirSync(repoPath(LOG_DIR), { recursive: true });
    // An earlier run's result for the same cell must not be read as this run's.
    writeFileSync(repoPath(LOG_DIR, `${cells[0].name}.result.json`), JSON.stringify({ status: 'ok', exit_code: 0, ami_name: 'stale', amis: [{ region: 'us-west-2', ami: 'ami-0stale' }] }));
    const runner: Runner = {
      async capture(_command, _args, options) {
        writeFileSync(options!.env!.CELL_LOG!, "error: 'x' is neither a Kubernetes minor (like 1.28) nor name=value.\n");
        return { exitCode: 2, stdout: '', stderr: '' };
      },
      async stream() {
        throw new Error('unused');
      },
    };
    const results = await runCells({ runner, cells: cells.slice(0, 1), extraWords: ['x'], jobs: 1, env: {}, logDir: LOG_DIR });
    expect(results[0]).to.include({ exitCode: 2, ami_name: undefined });
    expect(results[0].amis).to.deep.equal([]);
    expect(summaryTable(results)).to.match(/failed \(exit 2\)/);
  });

  it('a failed SSM publish marks the cell failed', async () => {
    const results = await runCells({
      runner: fakeBuilds([], { now: 0, max: 0 }, () => 0),
      cells: cells.slice(0, 1),
      extraWords: [],
      jobs: 1,
      env: {},
      logDir: LOG_DIR,
      afterSuccess: async () => {
        throw new Error('AccessDenied');
      },
    });
    expect(results[0]).to.include({ exitCode: 1, publish_error: 'AccessDenied' });
    expect(summaryTable(results)).to.contain('failed (SSM: AccessDenied)');
  });

  it('merges per-job results in matrix order', () => {
    const dir = repoPath(LOG_DIR, 'merge');
    mkdirSync(join(dir, 'a'), { recursive: true });
    mkdirSync(join(dir, 'b'), { recursive: true });
    const result = (i: number): CellResult => ({ cell: cells[i], exitCode: 0, seconds: 1, amis: [], log: '' });
    writeFileSync(join(dir, 'a', 'results.json'), JSON.stringify([result(3)]));
    writeFileSync(join(dir, 'b', 'results.json'), JSON.stringify([result(0), result(1)]));
    expect(collectResults([join(dir, 'a', 'results.json'), join(dir, 'b', 'results.json')]).map((r) => r.cell.name)).to.deep.equal([cells[0].name, cells[1].name, cells[3].name]);
  });

  it('checks every word before starting anything: build variables are validated, options are its own (exit 2)', () => {
    const refused: [string[], string][] = [
      [['dryrun=true'], 'dryrun="true" (command line) is not a build variable. Did you mean dry_run?'],
      [['emulator=true'], 'only with dry_run=true'],
      [['k8s=1.33', 'ami_name=x-y-z', 'dry_run=true'], 'unset when several cells are built'],
      [['k8s=1.28', 'dry_run=true'], 'Kubernetes 1.28 left EKS extended support on 2025-11-26'],
      [['job=2'], 'job="2" is not an option of make all. Did you mean jobs?'],
      [['jobs=0'], 'jobs="0" is not allowed: a whole number ≥ 1 and ≤ 32'],
    ];
    for (const [words, message] of refused) {
      const result = runScript('all', words);
      expect(result.status, words.join(' ')).to.equal(2);
      expect(result.stderr).to.contain(message);
    }
  });

  it('make all emulator=true dry_run=true: two real cells resolved, rendered and validated offline', function () {
    requireTool('packer', 'validating the rendered templates');
    requireTool('python3', 'the AWS emulator (moto_server)');
    const summaryFile = repoPath(LOG_DIR, 'step-summary.md');
    mkdirSync(repoPath(LOG_DIR), { recursive: true });
    const run = runScript('all', ['emulator=true', 'dry_run=true', 'k8s=1.36', 'rhel_version=8,9', 'arch=arm64', 'variant=standard', 'jobs=2'], { ...process.env, GITHUB_STEP_SUMMARY: summaryFile });
    expect(run.status, run.stderr + run.stdout).to.equal(0);
    expect(run.stdout).to.match(/1\.36-rhel8-arm64-standard\s+ok/).and.to.match(/1\.36-rhel9-arm64-standard\s+ok/).and.to.contain('2 of 2 cells succeeded');
    const results = JSON.parse(readFileSync(repoPath('build/matrix/results.json'), 'utf8')) as CellResult[];
    for (const r of results) {
      const plan = JSON.parse(readFileSync(repoPath(r.build_dir!, 'plan.json'), 'utf8'));
      expect(plan).to.include({ kubernetes_minor: '1.36', arch: 'arm64', rhel_version: r.cell.rhel_version, variant: 'standard', dry_run: true });
      // Kubernetes 1.36 needs containerd 2: RHEL 8 gets it too (the static build); the image's kube-proxy modes follow its RHEL major.
      expect(plan.variables.containerd_version).to.match(/^2\./);
      expect(plan.kube_proxy_modes).to.deep.equal(r.cell.rhel_version === 8 ? ['ipvs'] : ['ipvs', 'nftables']);
      expect(existsSync(repoPath(r.build_dir!, 'eks-worker.pkr.hcl'))).to.equal(true);
      // The cell's result file, written by the build itself: what make all read.
      const outcome = JSON.parse(readFileSync(repoPath('build/matrix', `${r.cell.name}.result.json`), 'utf8'));
      expect(outcome).to.include({ status: 'ok', exit_code: 0, dry_run: true, ami_name: plan.ami_name, build_dir: r.build_dir });
      expect(outcome.versions).to.include({ kubernetes: plan.kubernetes_version, containerd: plan.variables.containerd_version });
      expect(r.versions).to.deep.equal(outcome.versions);
      expect(readFileSync(repoPath(r.log), 'utf8')).to.contain('Dry run: resolved, rendered and validated');
      rmSync(repoPath(r.build_dir!), { recursive: true, force: true });
    }
    expect(readFileSync(summaryFile, 'utf8')).to.contain('### AMI dry runs: 2 of 2 cells succeeded');
  });
});
