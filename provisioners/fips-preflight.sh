#!/usr/bin/env bash
# STIG variant, first step of the build. RHEL 10 removed fips-mode-setup and enables FIPS mode only when the
# system is installed (fips=1 at installation), so a RHEL 10 STIG image can only be made from a source image
# that already runs in FIPS mode. This checks that before anything is installed, so a wrong source image
# fails within seconds instead of after the package installs and reboots. On RHEL 8/9 there is nothing to
# check yet: fips.sh enables FIPS mode and fips-check.sh verifies it after the reboot.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fips.sh
source "${WORK_DIR}/lib/fips.sh"
begin_step fips-preflight
require_one_of RHEL_VERSION 8 9 10

if fips_configurable; then
  log "RHEL ${RHEL_VERSION}: fips.sh enables FIPS mode during the build; nothing to check before it"
  exit 0
fi
if ! fips_mode_active; then
  die "variant=stig on RHEL ${RHEL_VERSION} needs a source image installed in FIPS mode, and this one is not: ${FIPS_REPORT}." \
    "RHEL ${RHEL_VERSION} has no fips-mode-setup; FIPS mode can only be chosen at installation (fips=1)." \
    "Build from a FIPS-installed RHEL ${RHEL_VERSION} image (e.g. made with Image Builder with fips enabled):" \
    "source_ami_id=ami-… or source_ami_owners=… source_ami_filter_name=…; or use variant=standard."
fi
log "the source image runs in FIPS mode: ${FIPS_REPORT}"
