// data/matrix.json → cells; `make matrix` (scripts/matrix.ts) prints exactly those, as one JSON line.
import { expect } from 'chai';
import { supportedMinors } from '../../src/data/minors.ts';
import { cellBuildWords, expandMatrix, filterCells, loadMatrix, loadMatrixDocument, type MatrixDocument } from '../../src/lifecycle/matrix.ts';
import { declarations } from '../../src/variables/declarations.ts';
import { runScript } from './support.ts';

const doc = (over: Partial<MatrixDocument> = {}): MatrixDocument => ({ kubernetes: ['1.28', '1.29'], rhel_versions: [8, 9], arches: ['x86_64', 'arm64'], variants: ['standard'], ...over });
const noFilter = { k8s: [], rhel_version: [], arch: [], variant: [] };

describe('lifecycle: the matrix (data/matrix.json)', () => {
  const TODAY = new Date('2026-11-30T09:00:00Z');

  it('is every minor EKS still supports × RHEL 8/9 × x86_64/arm64 × standard/stig, each cell a valid build', () => {
    const cells = loadMatrix(undefined, { today: TODAY });
    const doc = loadMatrixDocument();
    const minors = [...new Set(cells.map((c) => c.k8s))];
    // On 2026-11-30, 1.28–1.31 are past EKS extended support (1.31 ended 2026-11-26); 1.37 is built once the bucket has it.
    expect(minors).to.deep.equal(['1.32', '1.33', '1.34', '1.35', '1.36', '1.37']);
    expect(new Set(cells.map((c) => c.name)).size).to.equal(cells.length);
    for (const c of cells) {
      expect(Object.keys(c)).to.deep.equal(['k8s', 'rhel_version', 'arch', 'variant', 'name', 'eks_kube_proxy_modes']);
      expect(supportedMinors()).to.include(c.k8s);
      expect(declarations.variant.enum).to.include(c.variant);
      expect(doc.rhel_versions).to.include(c.rhel_version);
      expect(c.name).to.equal(`${c.k8s}-rhel${c.rhel_version}-${c.arch}-${c.variant}`);
    }
    expect(cells[0]).to.deep.include({ k8s: '1.32', rhel_version: 8, arch: 'x86_64', variant: 'standard' });
    expect(doc.variants).to.deep.equal(['standard', 'stig']);
    expect(cells.filter((c) => c.rhel_version !== 10)).to.have.length(minors.length * 2 * 2 * 2);
  });

  it('keeps minors past EKS extended support only when asked (include_unsupported), and without a date expands everything', () => {
    expect(new Set(loadMatrix(undefined, { today: TODAY, includeUnsupported: true }).map((c) => c.k8s))).to.deep.equal(new Set(supportedMinors()));
    expect(new Set(loadMatrix().map((c) => c.k8s))).to.deep.equal(new Set(supportedMinors()));
    // A day earlier 1.31 was still in extended support.
    expect(loadMatrix(undefined, { today: new Date('2026-11-26T12:00:00Z') })[0].k8s).to.equal('1.31');
  });

  it('leaves out what cannot work: RHEL 10 with the STIG variant (FIPS only at installation)', () => {
    expect(loadMatrixDocument().exclude).to.deep.include({ rhel_version: 10, variant: 'stig' });
    const cells = expandMatrix(doc({ rhel_versions: [9, 10], variants: ['standard', 'stig'], exclude: loadMatrixDocument().exclude }));
    expect(cells.filter((c) => c.rhel_version === 10).map((c) => c.variant)).to.satisfy((v: string[]) => v.length > 0 && v.every((x) => x === 'standard'));
  });

  it('says which kube-proxy modes an EKS cluster of each minor can run on each image', () => {
    const cells = expandMatrix(doc({ kubernetes: ['1.32', '1.33', '1.36'], rhel_versions: [8, 9], arches: ['x86_64'] }));
    const modes = Object.fromEntries(cells.map((c) => [c.name, [...c.eks_kube_proxy_modes].sort()]));
    expect(modes).to.deep.equal({
      '1.32-rhel8-x86_64-standard': ['iptables', 'ipvs'],
      '1.32-rhel9-x86_64-standard': ['iptables', 'ipvs'],
      '1.33-rhel8-x86_64-standard': ['iptables', 'ipvs'],
      '1.33-rhel9-x86_64-standard': ['iptables', 'ipvs', 'nftables'],
      '1.36-rhel8-x86_64-standard': ['iptables'],
      '1.36-rhel9-x86_64-standard': ['iptables', 'nftables'],
    });
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
    expect(JSON.parse(all.stdout)).to.deep.equal(loadMatrix(undefined, { today: new Date() }));
    const some = runScript('matrix', ['k8s=1.33', 'rhel_version=9', 'arch=', 'variant=standard']);
    expect(JSON.parse(some.stdout).map((c: { name: string }) => c.name)).to.deep.equal(['1.33-rhel9-x86_64-standard', '1.33-rhel9-arm64-standard']);
    const bad = runScript('matrix', ['kubernetes=1.28']);
    expect(bad.status).to.equal(2);
    expect(bad.stdout).to.equal('');
    expect(bad.stderr).to.contain('kubernetes="1.28" is not an option of make matrix');
  });

  it('make matrix k8s=1.29 says 1.29 left EKS extended support and how to build it anyway', function () {
    this.timeout(30_000);
    const past = runScript('matrix', ['k8s=1.29']);
    expect(past.status).to.equal(2);
    expect(past.stderr).to.contain('Kubernetes 1.29 left EKS extended support on 2026-03-23').and.to.contain('include_unsupported=true');
    const anyway = runScript('matrix', ['k8s=1.29', 'include_unsupported=true', 'rhel_version=9', 'arch=x86_64', 'variant=standard']);
    expect(anyway.status, anyway.stderr).to.equal(0);
    expect(JSON.parse(anyway.stdout).map((c: { name: string }) => c.name)).to.deep.equal(['1.29-rhel9-x86_64-standard']);
  });
});
