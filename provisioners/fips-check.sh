#!/usr/bin/env bash
# STIG variant, after the reboot that fips.sh asked for: the instance must now run in FIPS mode, both as
# fips-mode-setup --check reports it and as the kernel reports it (/proc/sys/crypto/fips_enabled = 1).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fips.sh
source "${WORK_DIR}/lib/fips.sh"
begin_step fips-check

if ! fips_mode_active; then
  die "FIPS mode is not in effect after the reboot: ${FIPS_REPORT}"
fi
log "FIPS mode is in effect: ${FIPS_REPORT}"
