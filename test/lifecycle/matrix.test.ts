// data/matrix.json → cells; `make matrix` (scripts/matrix.ts) prints exactly those, as one JSON line.
import { expect } from 'chai';
import { supportedMinors } from '../../src/data/minors.ts';
import { cellBuildWords, expandMatrix, filterCells, loadMatrix, loadMatrixDocument, type MatrixDocument } from '../../src/lifecycle/matrix.ts';
import { declarations } from '../../src/variables/declarations.ts';
import { runScript } from './support.ts';

const doc = (over: Partial<MatrixDocument> = {}): MatrixDocument => ({ kubernetes: ['1.28', '1.29'], rhel_versions: [8, 9], arches: ['x86_64', 'arm64'], variants: ['standard'], ...over });
const noFilter = { k8s: [], rhel_version: [], arch: [], variant: [] };

describe('lifecycle: the matrix (data/matrix.json)', () => {
  it('is every supported minor × RHEL 8/9 × x86_64/arm64 × standard/stig, each cell a valid build', () => {
    const cells = loadMatrix();
    expect(cells).to.have.length(supportedMinors().length * 2 * 2 * 2);
    expect(new Set(cells.map((c) => c.name)).size).to.equal(cells.length);
    for (const c of cells) {
      expect(Object.keys(c)).to.deep.equal(['k8s', 'rhel_version', 'arch', 'variant', 'name']);
      expect(supportedMinors()).to.include(c.k8s);
      expect(declarations.variant.enum).to.include(c.variant);
      expect(c.name).to.equal(`${c.k8s}-rhel${c.rhel_version}-${c.arch}-${c.variant}`);
    }
    expect(cells[0]).to.deep.include({ k8s: '1.28', rhel_version: 8, arch: 'x86_64', variant: 'standard' });
    expect(loadMatrixDocument().variants).to.deep.equal(['standard', 'stig']);
  });

  it('orders minors numerically and applies exclude and include entries', () => {
    const cells = expandMatrix(doc({ kubernetes: ['1.30', '1.28'], exclude: [{ rhel_version: 8, arch: 'arm64' }], include: [{ k8s: '1.29', rhel_version: 9, arch: 'arm64', variant: 'standard' }] }));
    expect(cells.map((c) => c.name)).to.deep.equal([
      '1.28-rhel8-x86_64-standard',
      '1.28-rhel9-x86_64-standard',
      '1.28-rhel9-arm64-standard',
      '1.30-rhel8-x86_64-standard',
      '1.30-rhel9-x86_64-standard',
      '1.30-rhel9-arm64-standard',
      '1.29-rhel9-arm64-standard',
    ]);
  });

  it('rejects values a build would reject: unknown minors, RHEL majors, architectures and variants (adding one is a data edit once the build accepts it)', () => {
    expect(() => expandMatrix(doc({ kubernetes: ['1.27'], rhel_versions: [7], arches: ['ppc64le'], variants: ['hardened'] })))
      .to.throw(/data\/matrix.json is not valid/)
      .with.property('message')
      .that.includes('"1.27"')
      .and.includes('7 is not one of 8, 9')
      .and.includes('"ppc64le"')
      .and.includes('"hardened" is not one of standard, stig');
    expect(() => expandMatrix(doc({ exclude: [{ os: 'x' } as never] }))).to.throw(/exclude entry/);
  });

  it('gives each cell the build words scripts/build.ts takes', () => {
    expect(cellBuildWords({ k8s: '1.29', rhel_version: 8, arch: 'arm64', variant: 'standard' })).to.deep.equal(['1.29', 'rhel_version=8', 'arch=arm64', 'variant=standard']);
  });

  it('filters by any cell field and refuses a filter that selects nothing', () => {
    const cells = expandMatrix(doc());
    expect(filterCells(cells, { ...noFilter, k8s: ['1.29'], arch: ['arm64'] }).map((c) => c.name)).to.deep.equal(['1.29-rhel8-arm64-standard', '1.29-rhel9-arm64-standard']);
    expect(() => filterCells(cells, { ...noFilter, k8s: ['1.99'] })).to.throw(/at least one cell/);
  });

  it('make matrix prints the cells as one JSON line; filters narrow it; an unknown name exits 2 with a suggestion', function () {
    this.timeout(30_000);
    const all = runScript('matrix', []);
    expect(all.status, all.stderr).to.equal(0);
    expect(all.stdout.trim().split('\n')).to.have.length(1);
    expect(JSON.parse(all.stdout)).to.deep.equal(loadMatrix());
    const some = runScript('matrix', ['k8s=1.29', 'rhel_version=9', 'arch=', 'variant=standard']);
    expect(JSON.parse(some.stdout).map((c: { name: string }) => c.name)).to.deep.equal(['1.29-rhel9-x86_64-standard', '1.29-rhel9-arm64-standard']);
    const bad = runScript('matrix', ['kubernetes=1.28']);
    expect(bad.status).to.equal(2);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr).to.contain('kubernetes="1.28" is not an option of make matrix');
  });
});
