#!/usr/bin/env bash
# STIG variant, after the reboot that fips.sh asked for: the instance must now run in FIPS mode, both as the
# system's configuration reports it (RHEL 8/9: fips-mode-setup --check; RHEL 10, which has no fips-mode-setup:
# the FIPS crypto policy) and as the kernel reports it (/proc/sys/crypto/fips_enabled = 1).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fips.sh
source "${WORK_DIR}/lib/fips.sh"
begin_step fips-check
require_one_of RHEL_VERSION 8 9 10

if ! fips_mode_active; then
  die "FIPS mode is not in effect after the reboot: ${FIPS_REPORT}"
fi
log "FIPS mode is in effect: ${FIPS_REPORT}"
