// validate.sh's kube-proxy mode checks (provisioners/lib/kube-proxy.sh) in a throw-away Debian root: an image
// listing nftables must have kernel >= 5.13 and nft >= 1.0.1. The passing case runs Debian's real nft (1.0.6,
// unpacked into the root) on the host's kernel. Stubbed only to show the failures RHEL 8 would give: `uname -r`
// answering RHEL 8's 4.18 kernel, and an nft answering RHEL 8's 0.9.3.
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import { Sandbox, WORK_DIR } from '../support/sandbox.ts';
import { requireTool } from '../support/tools.ts';

const NFT_PACKAGES = ['nftables', 'libnftables1', 'libnftnl11', 'libjansson4'];
const DEB_CACHE = repoPath('.cache', 'debs', 'nftables');

/** Debian's nftables and the libraries the cached root lacks, downloaded once with apt (signatures checked by apt). */
function nftDebs(): string[] {
  const debs = () => (existsSync(DEB_CACHE) ? readdirSync(DEB_CACHE).filter((f) => f.endsWith('.deb')) : []);
  if (debs().length < NFT_PACKAGES.length) {
    requireTool('apt-get', "downloading Debian's nftables for the nftables readiness check");
    mkdirSync(DEB_CACHE, { recursive: true });
    const got = capture('apt-get', ['download', ...NFT_PACKAGES], { cwd: DEB_CACHE });
    if (got.status !== 0) throw new Error(`apt-get download ${NFT_PACKAGES.join(' ')} failed: ${got.stderr}`);
  }
  return debs().map((f) => join(DEB_CACHE, f));
}

function stub(sb: Sandbox, name: string, body: string): void {
  writeFileSync(sb.path(`/usr/local/sbin/${name}`), `#!/bin/sh\n${body}\n`);
  chmodSync(sb.path(`/usr/local/sbin/${name}`), 0o755);
}

/** The checks as validate.sh runs them: common.sh, checks.sh, kube-proxy.sh, then report_checks. */
const runChecks = (sb: Sandbox, modes: string) =>
  sb.exec(
    ['bash', '-c', `set -euo pipefail; for l in common checks kube-proxy; do source "${WORK_DIR}/lib/$l.sh"; done; check_kube_proxy_modes; report_checks`],
    { WORK_DIR, KUBE_PROXY_MODES: modes },
  );

describe('provisioners: kube-proxy mode readiness (validate.sh)', function () {
  this.timeout(120_000);
  let sb: Sandbox;
  let debs: string[];

  before(() => {
    requireTool('dpkg-deb', "unpacking Debian's nftables into the test root");
    debs = nftDebs();
  });
  beforeEach(() => {
    sb = Sandbox.create();
  });
  afterEach(() => sb?.destroy());

  // Unpacked beside the root and only usr/ copied in: extracting onto / would replace its merged-/usr symlinks.
  const installNft = async () => {
    const unpacked = mkdtempSync(join(tmpdir(), 'nftables-deb-'));
    try {
      for (const deb of debs) {
        const r = capture('dpkg-deb', ['-x', deb, unpacked]);
        expect(r.status, r.stderr).to.equal(0);
      }
      cpSync(join(unpacked, 'usr'), sb.path('/usr'), { recursive: true });
    } finally {
      rmSync(unpacked, { recursive: true, force: true });
    }
    const ldconfig = await sb.exec(['ldconfig']); // as dpkg's trigger would: the new libraries into ld.so.cache
    expect(ldconfig.status, ldconfig.output).to.equal(0);
  };

  it('passes with the real nft (1.0.6) on a kernel >= 5.13 when the image lists nftables', async () => {
    await installNft();
    const version = await sb.exec(['nft', '--version']);
    expect(version.stdout).to.match(/^nftables v1\.0\.6/);
    const result = await runChecks(sb, 'ipvs nftables');
    expect(result.status, result.output).to.equal(0);
    expect(result.output).to.contain('all 3 checks passed');
  });

  it('fails, naming what is missing, when nft is not installed', async () => {
    const result = await runChecks(sb, 'ipvs nftables');
    expect(result.status).to.not.equal(0);
    expect(result.output).to.contain('needs nft >= 1.0.1; nft is not installed');
  });

  it("fails on RHEL 8's kernel (4.18) and nft (0.9.3) when nftables is listed", async () => {
    stub(sb, 'uname', '[ "$1" = -r ] && echo 4.18.0-553.el8_10.x86_64 || exec /usr/bin/uname "$@"');
    stub(sb, 'nft', '[ "$1" = --version ] && echo "nftables v0.9.3 (Topsy)"');
    const result = await runChecks(sb, 'ipvs nftables');
    expect(result.status).to.not.equal(0);
    expect(result.output).to.contain('needs kernel >= 5.13; this image runs 4.18.0-553.el8_10.x86_64').and.to.contain('needs nft >= 1.0.1; this image has nft 0.9.3');
  });

  it('an ipvs-only image (RHEL 8) passes and says in the build log that it is not nftables-ready', async () => {
    stub(sb, 'uname', '[ "$1" = -r ] && echo 4.18.0-553.el8_10.x86_64 || exec /usr/bin/uname "$@"');
    const result = await runChecks(sb, 'ipvs');
    expect(result.status, result.output).to.equal(0);
    expect(result.output).to.contain('this image is NOT ready for kube-proxy nftables mode (kernel 4.18.0-553.el8_10.x86_64');
  });

  it('refuses a mode it does not know', async () => {
    const result = await runChecks(sb, 'ipvs userspace');
    expect(result.status).to.not.equal(0);
    expect(result.output).to.contain('unknown kube-proxy mode: userspace');
  });
});
