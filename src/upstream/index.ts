// Upstream components built from pinned Go source (data/upstream-sources.json): what a build installs, the
// cached binaries, and the release-shaped files the rehearsal seeds its bucket and mirror with.
export { upstreamCacheRoot } from './cache.ts';
export { ensureUpstream, type EnsureOptions, type UpstreamBuild } from './ensure.ts';
export { findGo, requireGo } from './go.ts';
export { componentNames, moduleOf, upstreamForBuild, type Wanted } from './recipes.ts';
export { layOutEksBinaries, layOutGithubReleases, layOutRelease, type BuiltComponents, type ReleaseVersions } from './release.ts';
