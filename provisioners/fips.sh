#!/usr/bin/env bash
# STIG variant: FIPS mode (the STIG rule enable_fips_mode). On RHEL 8/9, fips-mode-setup --enable adds fips=1
# to the kernel arguments, rebuilds the initramfs with the FIPS module and sets the FIPS crypto policy; the
# kernel only runs in FIPS mode after a reboot, so this step asks reboot.sh for one and fips-check.sh verifies
# the result afterwards. A base image that already runs in FIPS mode (some customer STIG bases) needs neither.
# RHEL 10 has no fips-mode-setup (FIPS mode is chosen at installation): fips-preflight.sh has already required
# a FIPS-installed source image, and this step only confirms it, never calling fips-mode-setup.
# Runs before ssh-hardening.sh, which puts the EKS-SSH subpolicy on top of the FIPS policy set here.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fips.sh
source "${WORK_DIR}/lib/fips.sh"
begin_step fips
require_one_of RHEL_VERSION 8 9 10

if fips_mode_active; then
  log "FIPS mode is already in effect, nothing to do: ${FIPS_REPORT}"
  exit 0
fi
if ! fips_configurable; then
  die "RHEL ${RHEL_VERSION} cannot switch to FIPS mode after installation (no fips-mode-setup) and this instance is not in FIPS mode: ${FIPS_REPORT}. Build from a FIPS-installed source image."
fi
step "fips-mode-setup --enable" fips-mode-setup --enable
mark_reboot "FIPS mode enabled (fips-mode-setup --enable)"
