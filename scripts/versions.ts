#!/usr/bin/env tsx
// `make versions k8s=1.28 [arch=arm64]`: the Kubernetes build a build would use, as its last line:
//   kubernetes_version=1.28.15 kubernetes_build_date=2024-11-22
import 'zx/globals';
import { s3Client, type RequestCounter } from '../src/aws/clients.ts';
import { main, stderrLog } from '../src/cli/main.ts';
import { resolveKubernetes } from '../src/resolve/resolve.ts';
import { configure } from '../src/variables/configure.ts';

await main(async () => {
  const config = await configure(process.argv.slice(2), process.env);
  const counter: RequestCounter = { requests: 0, bytes: 0 };
  const { kubernetes } = await resolveKubernetes(
    config,
    { s3: (region, unsigned) => s3Client(region, { unsigned, counter }), ec2: () => { throw new Error('versions needs no EC2'); } },
    stderrLog,
  );
  stderrLog(`${counter.requests} S3 requests, ${counter.bytes} bytes`);
  console.log(`kubernetes_version=${kubernetes.version} kubernetes_build_date=${kubernetes.buildDate}`);
  return 0;
});
