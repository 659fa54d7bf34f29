// The provisioner environment is declared once (src/plan/provisioner-environment.ts): the plan, the rehearsal
// and the provisioner tests take it from there, and the contract document's table is generated from it. These
// fail when the document drifts, when a declared variable is read by no provisioner, or when a provisioner
// requires a variable nobody declares.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from '../../src/paths.ts';
import {
  provisionerEnvironment,
  provisionerVariableNames,
  withProvisionerEnvironmentTable,
  type ProvisionerInputs,
} from '../../src/plan/provisioner-environment.ts';

const shellFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? shellFiles(join(dir, e.name)) : e.name.endsWith('.sh') || e.name.endsWith('.py') ? [join(dir, e.name)] : [],
  );
const provisionerSources = () => shellFiles(repoPath('provisioners')).map((file) => ({ file, text: readFileSync(file, 'utf8') }));

const build: ProvisionerInputs = {
  aws_region: 'us-gov-east-1',
  partition: 'aws-us-gov',
  kubernetes_version: '1.33.5',
  kubernetes_build_date: '2025-10-01',
  arch: 'arm64',
  rhel_version: 8,
  pause_image: 'registry/pause:3.10',
  kube_proxy_modes: ['ipvs'],
  lock: { path: 'build.lock.json' },
  variables: {
    binary_bucket_name: 'mirror',
    binary_bucket_region: 'us-gov-west-1',
    pull_cni_from_github: false,
    cni_plugin_version: 'v1.6.2',
    containerd_version: '2.1.4',
    runc_version: '1.3.0',
    ipvs_modules: ['ip_vs', 'ip_vs_rr'],
    variant: 'stig',
    stig_min_score: 80,
  },
};

describe('provisioner environment', () => {
  it("docs/provisioner-contract.md's environment table is the declared one (run 'make docs' after changing it)", () => {
    const doc = readFileSync(repoPath('docs', 'provisioner-contract.md'), 'utf8');
    expect(withProvisionerEnvironmentTable(doc) === doc, "docs/provisioner-contract.md is out of date: run 'make docs'").to.equal(true);
    for (const name of provisionerVariableNames) expect(doc).to.match(new RegExp(`^  ${name} +\\S`, 'm'));
  });

  it('every declared variable is read by some provisioner', () => {
    const sources = provisionerSources();
    const unread = provisionerVariableNames.filter((name) => !sources.some((s) => new RegExp(`\\b${name}\\b`).test(s.text)));
    expect(unread).to.deep.equal([]);
  });

  it('every variable a provisioner requires (require_env, require_one_of) is declared', () => {
    const required = new Set<string>();
    for (const { text } of provisionerSources()) {
      for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
        const m = /^\s*require_(?:env|one_of)\s+(.*)$/.exec(line);
        if (!m) continue;
        const words = m[1].split(/\s+/);
        // require_env NAME…; require_one_of NAME value…
        for (const word of line.trimStart().startsWith('require_one_of') ? words.slice(0, 1) : words) if (/^[A-Z][A-Z0-9_]+$/.test(word)) required.add(word);
      }
    }
    expect(required.size).to.be.greaterThan(10);
    expect([...required].filter((name) => !(provisionerVariableNames as string[]).includes(name))).to.deep.equal([]);
  });

  it('derives each value from the plan, and only the endpoints can be pointed elsewhere', () => {
    const env = provisionerEnvironment(build);
    expect(env).to.include({
      AWS_REGION: 'us-gov-east-1',
      PARTITION: 'aws-us-gov',
      ARCH: 'arm64',
      BINARY_ARCH: 'arm64',
      RHEL_VERSION: '8',
      PULL_CNI_FROM_GITHUB: 'false',
      IPVS_MODULES: 'ip_vs ip_vs_rr',
      KUBE_PROXY_MODES: 'ipvs',
      STIG_MIN_SCORE: '80',
      PINNED_SHA256_FILE: '/var/lib/eks-build/generated/pinned-sha256.txt',
      BINARY_BUCKET_ENDPOINT: '',
      GITHUB_BASE_URL: 'https://github.com',
    });
    expect(env).not.to.have.property('IMDS_ENDPOINT');
    expect(Object.keys(env).filter((k) => /AWS_(ACCESS|SECRET|SESSION)/.test(k))).to.deep.equal([]);
    const local = provisionerEnvironment(build, { BINARY_BUCKET_ENDPOINT: 'http://10.0.0.1:5000', IMDS_ENDPOINT: 'http://10.0.0.1:8111' });
    expect(local).to.include({ BINARY_BUCKET_ENDPOINT: 'http://10.0.0.1:5000', IMDS_ENDPOINT: 'http://10.0.0.1:8111', GITHUB_BASE_URL: 'https://github.com' });
    expect(Object.keys(local)).to.deep.equal(provisionerVariableNames);
  });
});
