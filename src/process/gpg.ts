// Detached-signature checks with gpg, in a throw-away keyring holding one public key, so nothing else a
// user's keyring trusts can vouch for an artifact. The same check provisioners/lib/fetch.sh makes on the
// instance, made before anything reaches the mirror.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from '../errors.ts';
import type { Runner } from './run.ts';

/** Fails with what to install when gpg is missing: checked before anything is downloaded. */
export async function requireGpg(runner: Runner): Promise<void> {
  const result = await runner.capture('gpg', ['--version']).catch(() => ({ exitCode: 127, stdout: '', stderr: '' }));
  if (result.exitCode !== 0) throw new ToolError('gpg is not installed; it checks the AWS CLI and SSM agent signatures (apt-get install gnupg / dnf install gnupg2).');
}

export type SignatureCheck = { valid: true; fingerprint: string } | { valid: false; reason: string };

export async function verifyDetachedSignature(runner: Runner, keyFile: string, signatureFile: string, file: string): Promise<SignatureCheck> {
  const home = await mkdtemp(join(tmpdir(), 'eks-ami-gpg-'));
  try {
    // requireGpg has run: a failure here is about the key or the signature, not a missing gpg.
    const gpg = (args: string[]) => runner.capture('gpg', ['--homedir', home, '--batch', '--no-tty', ...args]);
    const imported = await gpg(['--import', keyFile]);
    if (imported.exitCode !== 0) return { valid: false, reason: `cannot import the public key ${keyFile}: ${lastLine(imported.stderr)}` };
    const checked = await gpg(['--status-fd', '1', '--verify', signatureFile, file]);
    // VALIDSIG is printed only for a good signature by the imported key; exit 0 alone is not enough.
    const valid = /^\[GNUPG:\] VALIDSIG ([0-9A-F]{40})/m.exec(checked.stdout);
    if (checked.exitCode === 0 && valid) return { valid: true, fingerprint: valid[1] };
    const status = /^\[GNUPG:\] (BADSIG|ERRSIG|NO_PUBKEY|EXPKEYSIG|REVKEYSIG|NODATA)\b.*$/m.exec(checked.stdout);
    return { valid: false, reason: status ? status[0].replace('[GNUPG:] ', '') : lastLine(checked.stderr) || `gpg exit ${checked.exitCode}` };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

const lastLine = (text: string): string => text.trim().split('\n').pop() ?? '';
