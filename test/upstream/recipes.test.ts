// What `make upstream` builds for a configuration, refusing minors whose source is not served; the throw-away
// module's go.mod; the cache's idea of a complete entry; and a missing Go named as such. Fast: no Go build.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { minorUpstream, minorsWithUpstream, supportedMinors } from '../../src/data/minors.ts';
import { ToolError } from '../../src/errors.ts';
import { declarations } from '../../src/variables/declarations.ts';
import { configure } from '../../src/variables/configure.ts';
import { cacheKey, entryDir, MARKER, readEntry, stagingDir, upstreamCacheRoot } from '../../src/upstream/cache.ts';
import { defaultBinaryName, requireGo, throwawayGoMod } from '../../src/upstream/go.ts';
import { componentNames, fill, moduleOf, recipeOf, upstreamForBuild } from '../../src/upstream/recipes.ts';
import { make } from '../support/make.ts';
import { capture } from '../support/spawn.ts';

const wantedFor = async (words: string[]) => {
  const config = await configure(words, {});
  return Object.fromEntries(upstreamForBuild(config.values, config.minor).map((w) => [w.component, w.version]));
};

describe('upstream components: what a configuration installs', () => {
  it('a 1.36 build gets its minor’s Kubernetes and the build variables’ containerd, runc and CNI plugins, plus the control plane', async () => {
    expect(await wantedFor(['k8s=1.36'])).to.deep.equal({
      kubernetes: '1.36.3',
      containerd: '2.2.9',
      runc: '1.3.6',
      'cni-plugins': '1.6.2',
      crictl: '1.34.0',
      'ecr-credential-provider': '1.36.2',
      'aws-iam-authenticator': '0.7.5',
      etcd: '3.6.16',
    });
  });

  it('follows the build variables: containerd_version=1.7.27 on 1.35 builds github.com/containerd/containerd 1.7.27', async () => {
    const wanted = await wantedFor(['k8s=1.35', 'containerd_version=1.7.27']);
    expect(wanted.containerd).to.equal('1.7.27');
    expect(wanted.kubernetes).to.equal('1.35.4');
    expect(moduleOf('containerd', '1.7.27')).to.equal('github.com/containerd/containerd');
    expect(moduleOf('containerd', '2.2.9')).to.equal('github.com/containerd/containerd/v2');
  });

  it('refuses a minor whose source the proxy does not serve, naming the minors that can be built', () => {
    expect(() => upstreamForBuild({}, '1.30')).to.throw(
      /k8s="1\.30" is not allowed: a minor whose source the Go module proxy serves: 1\.34, 1\.35, 1\.36, 1\.37/,
    );
  });

  it('make upstream k8s=1.30 says so in one sentence and exits 2 before building anything', () => {
    const result = make(['upstream', 'k8s=1.30'], { EKS_AMI_UPSTREAM_CACHE: join(tmpdir(), 'upstream-never-used') });
    expect(result.status).to.equal(2);
    expect(result.stderr).to.match(/^error: k8s="1\.30" is not allowed: a minor whose source the Go module proxy serves/m);
    expect(result.output).not.to.include('building');
  });

  it('every minor’s upstream block names a version for every component that takes one from it', () => {
    const keys = new Set(componentNames().flatMap((c) => ('minor' in recipeOf(c).version ? [(recipeOf(c).version as { minor: string }).minor] : [])));
    expect(minorsWithUpstream()).to.include.members(['1.34', '1.35', '1.36', '1.37']);
    for (const minor of minorsWithUpstream()) {
      const block = minorUpstream(minor) as unknown as Record<string, string>;
      for (const key of keys) expect(block[key], `${minor} upstream.${key}`).to.match(/^\d+\.\d+\.\d+$/);
      expect(block.kubernetes?.startsWith(`${minor}.`), `${minor} builds its own Kubernetes`).to.equal(true);
    }
    expect(supportedMinors()).to.include.members(minorsWithUpstream());
  });

  it('each recipe takes its version from a declared build variable or the minor, and fills only known placeholders', () => {
    const dir = mkdtempSync(join(tmpdir(), 'upstream-module-'));
    try {
      for (const name of componentNames()) {
        const recipe = recipeOf(name);
        if ('variable' in recipe.version) expect(declarations).to.have.property(recipe.version.variable);
        for (const build of recipe.builds) {
          expect(Object.keys(build.packages).length, name).to.be.above(0);
          for (const flag of build.ldflags) {
            for (const [, path = ''] of flag.matchAll(/\{file:([^}]+)\}/g)) {
              mkdirSync(join(dir, path, '..'), { recursive: true });
              writeFileSync(join(dir, path), '2.63.0\n');
            }
            expect(() => fill(flag, { module: 'm', version: '1.2.3', time: '2026-01-02T03:04:05Z', dir }), `${name}: ${flag}`).not.to.throw();
          }
        }
      }
      expect(() => fill('{nope}', { module: 'm', version: '1.2.3', time: '' })).to.throw(/unknown placeholder \{nope\}/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stamps Kubernetes as hack/lib/version.sh does, and the module version where the proxy knows no commit', () => {
    const stamp = { module: 'k8s.io/kubernetes', version: '1.36.3', time: '2026-07-22T18:07:38Z' };
    const flags = recipeOf('kubernetes').builds[0]?.ldflags.map((f) => fill(f, stamp)) ?? [];
    for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
      expect(flags).to.include.members([
        `-X ${pkg}.gitVersion=v1.36.3`,
        `-X ${pkg}.gitMajor=1`,
        `-X ${pkg}.gitMinor=36`,
        `-X ${pkg}.buildDate=2026-07-22T18:07:38Z`,
        `-X ${pkg}.gitCommit=v1.36.3`,
      ]);
    }
    expect(fill('{commit}', { ...stamp, commit: 'ca0237b9' })).to.equal('ca0237b9');
  });
});

describe('upstream components: the throw-away module', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'upstream-gomod-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('turns replacements by the repository’s own directories into published versions, keeps the others, drops guards', () => {
    writeFileSync(
      join(dir, 'go.mod'),
      [
        'module example.com/server/v3',
        'go 1.25.0',
        'godebug default=go1.25',
        'require (',
        '\texample.com/api/v3 v3.6.16 // sibling',
        '\tgithub.com/other/lib v1.0.0',
        ')',
        'replace (',
        '\texample.com/api/v3 => ../api',
        '\tgithub.com/other/lib => github.com/fork/lib v1.0.1',
        ')',
        'replace example.com/etcd => ./FORBIDDEN_DEPENDENCY',
      ].join('\n'),
    );
    const goMod = throwawayGoMod({ module: 'example.com/server/v3', version: '3.6.16', dir, time: '' }, 'v3.6.16');
    expect(goMod).to.include('go 1.25.0');
    expect(goMod).to.include('\tdefault=go1.25');
    expect(goMod).to.include('require example.com/server/v3 v3.6.16');
    expect(goMod).to.include('\texample.com/api/v3 => example.com/api/v3 v3.6.16');
    expect(goMod).to.include('\tgithub.com/other/lib => github.com/fork/lib v1.0.1');
    expect(goMod).not.to.include('FORBIDDEN');
  });

  it('refuses a local replacement when the recipe does not say which versions stand for it', () => {
    writeFileSync(join(dir, 'go.mod'), 'module m\nrequire k8s.io/api v0.0.0\nreplace k8s.io/api => ./staging/src/k8s.io/api\n');
    expect(() => throwawayGoMod({ module: 'm', version: '1.0.0', dir, time: '' }, undefined)).to.throw(/needs localReplaces/);
  });

  it('names binaries as go build -o dir/ does, so they can be renamed (etcd’s server/v3 → server)', () => {
    expect(defaultBinaryName('go.etcd.io/etcd/server/v3')).to.equal('server');
    expect(defaultBinaryName('k8s.io/kubernetes/cmd/kubelet')).to.equal('kubelet');
  });
});

describe('upstream components: cache entries', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'upstream-cache-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const entry = () => {
    const dir = entryDir(root, 'k8s.io/kubernetes', '1.36.3', 'abc');
    mkdirSync(join(dir, 'bin'), { recursive: true });
    writeFileSync(join(dir, 'bin', 'kubelet'), 'binary');
    return dir;
  };

  it('lives under <root>/<module, slashes as +>@v<version>/<key>, the root following EKS_AMI_UPSTREAM_CACHE or XDG_CACHE_HOME', () => {
    expect(entryDir('/c', 'k8s.io/kubernetes', '1.36.3', 'k')).to.equal('/c/k8s.io+kubernetes@v1.36.3/k');
    expect(upstreamCacheRoot({ EKS_AMI_UPSTREAM_CACHE: '/x' })).to.equal('/x');
    expect(upstreamCacheRoot({ XDG_CACHE_HOME: '/xdg' })).to.equal('/xdg/eks-rhel-ami/upstream');
    expect(upstreamCacheRoot({ HOME: '/home/u' })).to.equal('/home/u/.cache/eks-rhel-ami/upstream');
  });

  it('is complete only with its marker and every binary at its recorded size', () => {
    const dir = entry();
    expect(readEntry(dir), 'no marker: a half-written entry').to.equal(undefined);
    writeFileSync(join(dir, MARKER), JSON.stringify({ sizes: { kubelet: 6 } }));
    expect(readEntry(dir)?.sizes).to.deep.equal({ kubelet: 6 });
    truncateSync(join(dir, 'bin', 'kubelet'), 3);
    expect(readEntry(dir), 'a truncated binary').to.equal(undefined);
  });

  it('clears what a build that died (Ctrl-C) left half-written, but not a running build’s', () => {
    const dir = entryDir(root, 'sigs.k8s.io/cri-tools', '1.34.0', 'k');
    // The pid of a shell that has exited: a build process that is gone.
    const deadPid = Number(capture('sh', ['-c', 'echo $$']).stdout.trim());
    mkdirSync(join(dir, '..', `.building-${deadPid}-abc`, 'bin'), { recursive: true });
    mkdirSync(join(dir, '..', `.building-${process.pid}-def`), { recursive: true });
    const fresh = stagingDir(dir);
    expect(readdirSync(join(dir, '..')).sort()).to.deep.equal([`.building-${process.pid}-def`, basename(fresh)].sort());
  });

  it('changes its key with the Go version, the architecture and the recipe', () => {
    const base = { module: 'm', version: '1.0.0', goos: 'linux', goarch: 'amd64', goVersion: 'go1.26.8', recipe: { a: 1 } };
    const keys = new Set([
      cacheKey(base),
      cacheKey({ ...base, goVersion: 'go1.26.9' }),
      cacheKey({ ...base, goarch: 'arm64' }),
      cacheKey({ ...base, recipe: { a: 2 } }),
    ]);
    expect(keys.size).to.equal(4);
    expect(cacheKey(base)).to.equal(cacheKey({ ...base }));
  });
});

describe('upstream components: Go', () => {
  it('a missing go is a tool error that says what is needed', () => {
    expect(() => requireGo({ PATH: '/nonexistent' })).to.throw(ToolError, /go is not on the PATH: building the upstream components needs Go/);
  });
});
