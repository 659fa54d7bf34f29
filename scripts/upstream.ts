#!/usr/bin/env tsx
// `make upstream k8s=1.36 [name=value …]`: build (or find in the cache) every upstream binary a build of that
// configuration installs and its rehearsal runs, one line per component, then a summary.
import { main } from '../src/cli/main.ts';
import { ensureUpstream, requireGo, upstreamCacheRoot, upstreamForBuild } from '../src/upstream/index.ts';
import { ConfigError, ToolError, UserError } from '../src/errors.ts';
import { configure } from '../src/variables/configure.ts';

await main(async () => {
  const config = await configure(process.argv.slice(2), process.env);
  if (!config.minor) throw new ConfigError('k8s', '', 'a Kubernetes minor, e.g. k8s=1.36', 'make upstream builds the versions of one minor.');
  const wanted = upstreamForBuild(config.values, config.minor);
  const go = requireGo();
  console.log(`upstream binaries for Kubernetes ${config.minor} (${go.version}, cache ${upstreamCacheRoot()}):`);
  const started = Date.now();
  let built = 0;
  const failed: string[] = [];
  for (const { component, version } of wanted) {
    const line = `  ${component} ${version}`.padEnd(36);
    try {
      const result = await ensureUpstream(component, version, { log: () => console.log(`${line}building…`) });
      if (result.cached) console.log(`${line}cached`);
      else {
        built++;
        console.log(`${line}built in ${Math.round(result.seconds)} s`);
      }
    } catch (error) {
      // One component's failure should not cost the others their build: report it, go on, fail at the end.
      if (!(error instanceof UserError)) throw error;
      failed.push(`${component} ${version}`);
      console.log(`${line}failed: ${error.message}`);
    }
  }
  const total = Math.round((Date.now() - started) / 1000);
  const cached = wanted.length - built - failed.length;
  console.log(`${wanted.length} components (${built} built, ${cached} cached${failed.length ? `, ${failed.length} failed` : ''}) in ${total} s.`);
  if (failed.length) throw new ToolError(`could not build ${failed.join(', ')} (see above).`);
  return 0;
});
