#!/usr/bin/env bash
# Applies OS updates; when the kernel the instance will boot changed, asks reboot.sh to restart first,
# so later steps and the validation run on the kernel the AMI boots.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step os-update

before=$(grubby --default-kernel)
step "dnf upgrade" dnf upgrade -y --refresh
after=$(grubby --default-kernel)
running="/boot/vmlinuz-$(uname -r)"

if [[ ${after} != "${before}" ]]; then
  mark_reboot "default kernel changed from ${before} to ${after}"
elif [[ ${after} != "${running}" ]]; then
  mark_reboot "default kernel ${after} is not the running kernel ${running}"
else
  log "default kernel unchanged: ${after}"
fi
