#!/usr/bin/env bash
# Boots RHEL 8 with the unified cgroup hierarchy (cgroup v2), which RHEL 9 uses by default and RHEL 10 only
# supports; Kubernetes 1.35+ kubelet refuses cgroup v1.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step cgroups
require_one_of RHEL_VERSION 8 9 10

readonly cgroup_arg=systemd.unified_cgroup_hierarchy=1

if [[ ${RHEL_VERSION} != 8 ]]; then
  log "RHEL ${RHEL_VERSION} boots cgroup v2 by default; kernel arguments unchanged"
  exit 0
fi

if grubby --info=ALL | grep -q -- "${cgroup_arg}"; then
  log "kernel arguments already contain ${cgroup_arg}"
else
  step "add ${cgroup_arg} to every kernel entry" grubby --update-kernel=ALL --args="${cgroup_arg}"
  mark_reboot "kernel argument ${cgroup_arg} added"
fi
