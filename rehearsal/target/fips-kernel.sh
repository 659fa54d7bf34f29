#!/bin/bash
# Rehearsal only: models what a FIPS kernel shows after `fips-mode-setup --enable` and a reboot. The container
# shares the host's kernel, which has no /proc/sys/crypto; once the fips-mode-setup stand-in has recorded that
# FIPS was configured, this boot-time unit lays a copy of /proc/sys with crypto/fips_enabled = 1 over it.
set -euo pipefail
[[ -f /.stubs/state/fips-configured ]] || exit 0
[[ -e /proc/sys/crypto/fips_enabled ]] && exit 0
copy=/run/rehearsal-fips-sys
mkdir -p "$copy"
cp -r /proc/sys/. "$copy/" 2>/dev/null || true
mkdir -p "$copy/crypto"
echo 1 >"$copy/crypto/fips_enabled"
mount --bind "$copy" /proc/sys
mount -o remount,bind,ro /proc/sys
