// The recipes of data/upstream-sources.json, typed, and which component@version a build configuration installs.
// The versions come from the same places the build reads (build variables, the minor's upstream block), so the
// binaries a rehearsal installs cannot drift from the ones a build names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sourcesJson from '../../data/upstream-sources.json' with { type: 'json' };
import { minorUpstream, minorsWithUpstream } from '../data/minors.ts';
import type { UpstreamVersions } from '../data/catalog.ts';
import { ConfigError } from '../errors.ts';

export interface GoBuild {
  why: string;
  /** Binary name → package path inside the module ('.' is the module's root package). */
  packages: Record<string, string>;
  cgo: boolean;
  tags: string[];
  ldflags: string[];
  buildFlags?: string[];
}

export interface Recipe {
  version: { variable: 'containerd_version' | 'runc_version' | 'cni_plugin_version' } | { minor: keyof UpstreamVersions };
  module: string;
  localReplaces?: 'kubernetes-staging' | 'same';
  builds: GoBuild[];
  releaseFiles?: string[];
}

// The data file is checked against these types by test/upstream/recipes.test.ts.
const recipes = sourcesJson.components as unknown as Record<string, Recipe>;

export type ComponentName = string;

export const componentNames = (): ComponentName[] => Object.keys(recipes);

export function recipeOf(component: ComponentName): Recipe {
  const recipe = recipes[component];
  if (!recipe) throw new ConfigError('component', component, `one of ${componentNames().join(', ')}`, 'Components are declared in data/upstream-sources.json.');
  return recipe;
}

/** A release version without its leading v: 'v1.6.2' → '1.6.2'. */
export const bareVersion = (version: string): string => version.replace(/^v/, '');

/** Go's major-version suffix of an import path: '' for v0 and v1, '/vN' from v2 on. */
export const goMajorSuffix = (version: string): string => {
  const major = Number(bareVersion(version).split('.')[0]);
  return major >= 2 ? `/v${major}` : '';
};

/** The Go module a component's version is published as (containerd 2.x is github.com/containerd/containerd/v2). */
export const moduleOf = (component: ComponentName, version: string): string => recipeOf(component).module.replaceAll('{goMajorSuffix}', goMajorSuffix(version));

/** What is known of a module version when its flags are filled in. */
export interface Stamp {
  module: string;
  version: string;
  /** The proxy's Origin.Hash, when it has one. */
  commit?: string;
  /** The version's time from the proxy (RFC 3339, UTC). */
  time: string;
  /** The extracted module, for {file:…} placeholders. */
  dir?: string;
}

/** Fill a recipe string's placeholders; an unknown one is an error in the data file, not a silent literal. */
export function fill(template: string, s: Stamp): string {
  const [major = '', minor = ''] = s.version.split('.');
  const values: Record<string, string> = {
    module: s.module,
    version: s.version,
    tag: `v${s.version}`,
    major,
    minor,
    commit: s.commit ?? `v${s.version}`,
    buildDate: s.time.replace(/\.\d+Z$/, 'Z'),
  };
  return template.replace(/\{(\w+)(?::([^}]+))?\}/g, (whole, key: string, path: string | undefined) => {
    if (key === 'file' && path && s.dir) return (readFileSync(join(s.dir, path), 'utf8').split('\n')[0] ?? '').trim();
    const value = values[key];
    if (value === undefined) throw new Error(`data/upstream-sources.json: unknown placeholder ${whole} in "${template}"`);
    return value;
  });
}

/** One component at one version, as `make upstream` and the rehearsal ask for it. */
export interface Wanted {
  component: ComponentName;
  version: string;
}

/**
 * Every component@version a build of this configuration installs, plus the control plane the rehearsal runs
 * (kube-apiserver, kube-controller-manager and agnhost come with kubernetes; etcd; crictl). Refuses, naming the
 * minors that can, a minor whose source the module proxy does not serve.
 */
export function upstreamForBuild(values: Record<string, unknown>, minor: string): Wanted[] {
  const versions = minorUpstream(minor);
  if (!versions) {
    throw new ConfigError(
      'k8s',
      minor,
      `a minor whose source the Go module proxy serves: ${minorsWithUpstream().join(', ')}`,
      'Only these minors have an upstream block in data/kubernetes-minors.json; older Kubernetes releases are not on the proxy.',
    );
  }
  return componentNames().map((component) => {
    const from = recipeOf(component).version;
    const raw = 'variable' in from ? values[from.variable] : versions[from.minor];
    if (typeof raw !== 'string' || raw === '')
      throw new Error(`upstream: no version for ${component} (${JSON.stringify(from)}) in the configuration of ${minor}`);
    return { component, version: bareVersion(raw) };
  });
}
