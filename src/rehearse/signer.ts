// A throw-away OpenPGP key for signing rehearsal stand-ins (the AWS CLI installer, the SSM agent RPM). RSA, like
// the real AWS keys: gpg on a FIPS-mode system refuses ed25519 signatures.
// The rehearsal trusts it in place of AWS's keys; nothing else ever does.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from '../process/run.ts';

export interface Signer {
  publicKey: string;
  /** Writes <file>.sig, a detached binary signature. */
  sign(file: string): void;
  dispose(): void;
}

function gpg(home: string, args: string[]): string {
  const result = runSync('gpg', ['--homedir', home, '--batch', ...args]);
  if (result.exitCode !== 0) throw new Error(`gpg ${args.join(' ')} failed: ${result.stderr}`);
  return result.stdout;
}

export function createSigner(dir: string): Signer {
  const home = join(dir, 'gnupg');
  mkdirSync(home, { recursive: true, mode: 0o700 });
  gpg(home, ['--passphrase', '', '--quick-gen-key', 'EKS AMI rehearsal <rehearsal@example.invalid>', 'rsa3072', 'sign', '1d']);
  return {
    publicKey: gpg(home, ['--armor', '--export']),
    sign: (file) => void gpg(home, ['--yes', '--detach-sign', '--output', `${file}.sig`, file]),
    dispose: () => {
      runSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(home, { recursive: true, force: true });
    },
  };
}
