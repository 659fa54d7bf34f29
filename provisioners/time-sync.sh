#!/usr/bin/env bash
# chrony keeps time from the Amazon Time Sync Service: the drop-in /etc/chrony.d/amazon-time-sync.conf (from
# rootfs) names its IPv4 and IPv6 link-local servers, and /etc/chrony.conf must read that directory. RHEL's
# default chrony.conf does not (it has no confdir/include line), so one is added. chronyd.service is enabled on
# Red Hat's images already.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step time-sync

readonly conf=/etc/chrony.conf drop_in=/etc/chrony.d/amazon-time-sync.conf

[[ -f ${conf} ]] || die "${conf} is missing: chrony is not installed (base-os.sh installs it)"
[[ -f ${drop_in} ]] || die "${drop_in} is missing (rootfs.sh installs it)"

include_drop_ins() {
  if grep -Eq '^[[:space:]]*(confdir[[:space:]]+(.*[[:space:]])?/etc/chrony\.d/?([[:space:]]|$)|include[[:space:]]+/etc/chrony\.d/\*\.conf)' "${conf}"; then
    log "${conf} already reads /etc/chrony.d"
  else
    printf '\n# Drop-ins, among them the Amazon Time Sync Service (added by the EKS image build).\nconfdir /etc/chrony.d\n' >>"${conf}"
    log "added 'confdir /etc/chrony.d' to ${conf}"
  fi
}

step "make chrony read /etc/chrony.d" include_drop_ins
