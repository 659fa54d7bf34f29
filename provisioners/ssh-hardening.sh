#!/usr/bin/env bash
# sshd hardening that RHEL's crypto policies honour: the EKS-SSH subpolicy (rootfs) narrows ciphers
# and MACs for OpenSSH on top of the current base policy; the sshd_config.d drop-in (rootfs) sets
# PermitRootLogin no and friends. Ends with sshd -t.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step ssh-hardening

readonly module=/etc/crypto-policies/policies/modules/EKS-SSH.pmod
readonly drop_in=/etc/ssh/sshd_config.d/10-eks-hardening.conf

apply_crypto_policy() {
  local current base
  [[ -f ${module} ]] || die "${module} is missing (rootfs.sh installs it)"
  current=$(update-crypto-policies --show)
  base=${current%%:*}
  update-crypto-policies --set "${base}:EKS-SSH"
  log "crypto policy: ${base}:EKS-SSH (was ${current})"
}

# RHEL 9's sshd_config includes sshd_config.d; older RHEL 8 files may not. The Include must come
# first, because sshd keeps the first value it reads for a keyword.
include_drop_ins() {
  [[ -f ${drop_in} ]] || die "${drop_in} is missing (rootfs.sh installs it)"
  if grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*\.conf' /etc/ssh/sshd_config; then
    log "sshd_config already includes sshd_config.d"
  else
    sed -i '1i Include /etc/ssh/sshd_config.d/*.conf' /etc/ssh/sshd_config
    log "added the sshd_config.d include to sshd_config"
  fi
}

step "apply the EKS-SSH crypto subpolicy" apply_crypto_policy
step "make sshd read sshd_config.d" include_drop_ins
step "check the sshd configuration" sshd -t
