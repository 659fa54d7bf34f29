#!/usr/bin/env bash
# Kernel modules kube-proxy (IPVS mode) and containerd need: loaded at every boot through
# /etc/modules-load.d, and loaded now to prove the running kernel has them.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step kernel-modules
require_env IPVS_MODULES

read -r -a ipvs_modules <<<"${IPVS_MODULES}"
((${#ipvs_modules[@]} > 0)) || die "IPVS_MODULES is empty"
for module in "${ipvs_modules[@]}"; do
  [[ ${module} =~ ^[a-z0-9_]+$ ]] || die "IPVS_MODULES contains '${module}', which is not a module name"
done

write_ipvs_conf() {
  printf '%s\n' "${ipvs_modules[@]}" >/etc/modules-load.d/ipvs.conf
  chmod 0644 /etc/modules-load.d/ipvs.conf
}

runtime_modules() {
  grep -Ev '^[[:space:]]*(#|$)' /etc/modules-load.d/containerd.conf
}

load_all() {
  local module
  for module in $(runtime_modules) "${ipvs_modules[@]}"; do
    modprobe "${module}" || die "modprobe ${module} failed on kernel $(uname -r)"
  done
}

check_loaded() {
  local loaded module missing=()
  loaded=$(lsmod | awk 'NR > 1 { print $1 }')
  for module in $(runtime_modules) "${ipvs_modules[@]}"; do
    grep -qx "${module}" <<<"${loaded}" || [[ -d /sys/module/${module} ]] || missing+=("${module}")
  done
  ((${#missing[@]} == 0)) || die "modules not loaded after modprobe: ${missing[*]}"
}

[[ -f /etc/modules-load.d/containerd.conf ]] || die "/etc/modules-load.d/containerd.conf is missing (rootfs.sh installs it)"
step "write /etc/modules-load.d/ipvs.conf" write_ipvs_conf
step "modprobe the runtime and IPVS modules" load_all
step "check the modules with lsmod" check_loaded
