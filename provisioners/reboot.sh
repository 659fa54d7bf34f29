#!/usr/bin/env bash
# Restarts the instance when an earlier step asked for it (new kernel, new kernel arguments).
# steps.json marks this step expect_disconnect and the next one pause_before; that step confirms the restart.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step reboot

marker="${WORK_DIR}/reboot-required"
if [[ ! -f ${marker} ]]; then
  log "no reboot needed"
  exit 0
fi

# The marker stays until the next step sees a new boot id (confirm_reboot in lib/common.sh): a reboot that
# never happens fails the build instead of being forgotten.
cat "${BOOT_ID_FILE}" >"${WORK_DIR}/reboot-pending" || die "cannot read ${BOOT_ID_FILE}"
log "rebooting: $(paste -sd ';' "${marker}")"
sync
systemctl reboot
