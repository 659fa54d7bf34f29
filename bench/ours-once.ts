// One discovery with our resolver in a fresh process, so its start-up and peak RSS can be measured the way
// the shell pipeline's are. Prints one JSON line: the build found, the SDK counter and the in-process time.
// Usage: node --import tsx bench/ours-once.ts BUCKET MINOR x86_64|arm64   (endpoint from AWS_ENDPOINT_URL*)
import { s3Client, type RequestCounter } from '../src/aws/clients.ts';
import { findKubernetesBuild } from '../src/resolve/kubernetes-build.ts';

const [bucket, minor, arch] = process.argv.slice(2);
if (!bucket || !minor || (arch !== 'x86_64' && arch !== 'arm64')) {
  console.error('usage: ours-once.ts BUCKET MINOR x86_64|arm64');
  process.exit(2);
}
const region = process.env.AWS_REGION ?? 'us-west-2';
const counter: RequestCounter = { requests: 0, bytes: 0 };
const started = performance.now();
const s3 = s3Client(region, { counter });
const build = await findKubernetesBuild(s3, { bucket, region, arch, minors: [minor] });
const ms = performance.now() - started;
s3.destroy();
console.log(JSON.stringify({ answer: `${build.version}/${build.buildDate}`, counter, ms }));
