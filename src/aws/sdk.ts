// The AWS SDK packages a plan needs, loaded with require. Each @aws-sdk/client-* package's entry point is one
// large CommonJS bundle; an ESM `import` of it makes Node scan the whole bundle for export names first (about
// 0.3 s for EC2 and S3 together under tsx, a sixth of a dry run). require loads the same file without the scan,
// into the same module cache, so classes are identical to those an ESM import elsewhere (tests) gets.
// Types still come from `import type`, which costs nothing at run time.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const ec2Sdk = (): typeof import('@aws-sdk/client-ec2') => require('@aws-sdk/client-ec2') as typeof import('@aws-sdk/client-ec2');
export const s3Sdk = (): typeof import('@aws-sdk/client-s3') => require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
