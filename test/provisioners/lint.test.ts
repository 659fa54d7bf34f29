// Static checks of provisioners/ and rootfs/: shellcheck -S warning and shfmt -i 2 -ci (Debian's
// shellcheck 0.9 and shfmt 3.6, real tools), script conventions, the step list, the committed public keys.
import { expect } from 'chai';
import { capture } from '../support/spawn.ts';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { REPO } from '../support/sandbox.ts';
import { requireTool } from '../support/tools.ts';

const provisioners = join(REPO, 'provisioners');
const scripts = readdirSync(provisioners).filter((n) => n.endsWith('.sh'));
const libs = readdirSync(join(provisioners, 'lib')).filter((n) => n.endsWith('.sh')).map((n) => join('lib', n));
const walk = (dir: string): string[] =>
  readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));

describe('provisioners: lint and conventions', function () {
  this.timeout(60_000);

  it('is clean under shellcheck -S warning', () => {
    requireTool('shellcheck', 'linting provisioners/');
    const result = capture('shellcheck', ['-S', 'warning', ...scripts, ...libs], { cwd: provisioners });
    expect(result.status, result.stdout + result.stderr).to.equal(0);
  });

  it('is formatted (shfmt -d -i 2 -ci)', () => {
    requireTool('shfmt', 'checking the format of provisioners/');
    const result = capture('shfmt', ['-d', '-i', '2', '-ci', 'provisioners/'], { cwd: REPO });
    expect(result.status, result.stdout + result.stderr).to.equal(0);
  });

  it('every step starts with the bash shebang and set -euo pipefail, and nothing runs from /tmp', () => {
    for (const name of scripts) {
      const text = readFileSync(join(provisioners, name), 'utf8');
      expect(text.startsWith('#!/usr/bin/env bash\n'), name).to.equal(true);
      expect(text, name).to.match(/^set -euo pipefail$/m);
      expect(text, name).not.to.match(/(^|[\s"'=])\/tmp\/(?!\*)/m);
    }
  });

  it('steps.json lists every step once (reboot.sh once per reboot point), reboots with expect_disconnect and pauses before the next step', () => {
    const steps = JSON.parse(readFileSync(join(provisioners, 'steps.json'), 'utf8')) as { script: string; expect_disconnect?: boolean; pause_before?: string; downloads?: string[]; variants?: string[] }[];
    expect([...new Set(steps.map((s) => s.script))].sort()).to.deep.equal([...scripts].sort());
    expect(steps.filter((s) => s.script !== 'reboot.sh').length, 'only reboot.sh may appear more than once').to.equal(scripts.length - 1);
    // In every variant's sequence, each reboot is expect_disconnect and the next step waits for the instance.
    for (const variant of ['standard', 'stig']) {
      const sequence = steps.filter((s) => !s.variants || s.variants.includes(variant));
      sequence.forEach((s, i) => {
        if (s.script !== 'reboot.sh') return;
        expect(s.expect_disconnect, `${variant}: reboot #${i}`).to.equal(true);
        // The reboot_pause build variable (rendered as var.reboot_pause) or a literal duration.
        expect(sequence[i + 1].pause_before, `${variant}: the step after reboot #${i}`).to.match(/^(\d+[sm]|reboot_pause)$/);
      });
    }
    const reboot = steps.findIndex((s) => s.script === 'reboot.sh');
    expect(steps.findIndex((s) => s.script === 'os-update.sh')).to.be.lessThan(reboot);
    expect(steps.findIndex((s) => s.script === 'cgroups.sh')).to.be.lessThan(reboot);
    const inventory = steps.findIndex((s) => s.downloads?.includes('version-info.json'));
    expect(inventory).to.be.lessThan(steps.findIndex((s) => s.script === 'cleanup.sh'));
    expect(steps.at(-1)?.script).to.equal('validate.sh');
  });

  it('every instance metadata call uses an IMDSv2 token', () => {
    const files = [...walk(provisioners), ...walk(join(REPO, 'rootfs'))].filter((p) => !p.endsWith('.asc'));
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      if (text.includes('169.254.169.254')) expect(text, relative(REPO, file)).to.include('X-aws-ec2-metadata-token');
    }
  });

  it('the committed public keys are the published AWS CLI and SSM agent keys', () => {
    requireTool('gpg', 'reading the committed public keys');
    const fingerprint = (file: string) => {
      const out = capture('gpg', ['--batch', '--with-colons', '--show-keys', join(provisioners, 'lib', 'keys', file)]).stdout;
      return out.split('\n').find((l) => l.startsWith('fpr:'))?.split(':')[9];
    };
    expect(fingerprint('aws-cli-v2.asc')).to.equal('FB5DB77FD5C118B80511ADA8A6310ACC4672475C');
    expect(fingerprint('amazon-ssm-agent.asc')).to.equal('DE92C7DA3E56E92331D62A36BC1F495C97DD04ED');
  });
});
