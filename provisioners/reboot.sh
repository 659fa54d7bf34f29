#!/usr/bin/env bash
# Restarts the instance when an earlier step asked for it (new kernel, new kernel arguments).
# steps.json marks this step expect_disconnect and the next one pause_before.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step reboot

marker="${WORK_DIR}/reboot-required"
if [[ ! -f ${marker} ]]; then
  log "no reboot needed"
  exit 0
fi

log "rebooting: $(paste -sd ';' "${marker}")"
rm -f "${marker}"
sync
systemctl reboot
