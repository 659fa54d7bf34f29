#!/usr/bin/env bash
# Removes what must not ship in the image: SSH host keys, the machine id, cloud-init state, logs,
# dnf history and caches, shell history, Packer's launch key and the build's scratch files. $WORK_DIR/lib and, in the STIG
# variant, stig-score.json (already downloaded) stay for validate.sh, which deletes $WORK_DIR last.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/imds.sh
source "${WORK_DIR}/lib/imds.sh"
begin_step cleanup

remove_host_keys() {
  rm -f /etc/ssh/ssh_host_*
}

# An empty (not missing) /etc/machine-id makes systemd generate a new one on first boot.
reset_machine_id() {
  truncate -s 0 /etc/machine-id
  if [[ -f /var/lib/dbus/machine-id && ! -L /var/lib/dbus/machine-id ]]; then
    rm -f /var/lib/dbus/machine-id
  fi
}

remove_cloud_init_state() {
  rm -rf /var/lib/cloud/instances /var/lib/cloud/instance /var/lib/cloud/data /var/lib/cloud/sem /var/lib/cloud/handlers
}

remove_logs() {
  rm -f /var/log/cloud-init*.log /var/log/dnf*.log /var/log/hawkey.log
  find /var/log -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]' \) -delete
  find /var/log -type f -exec truncate -s 0 {} +
  if [[ -d /var/log/journal ]]; then
    find /var/log/journal -mindepth 1 -delete
  fi
}

remove_package_state() {
  dnf clean all
  rm -rf /var/cache/dnf/* /var/lib/dnf/history.sqlite*
}

remove_shell_history() {
  rm -f /root/.bash_history /home/*/.bash_history
}

# The key Packer logged in with (its temporary key pair, or ssh_keypair_name) is the instance's launch key:
# cloud-init put it into the SSH user's authorized_keys, and it must not ship. IMDS names it; only lines with
# that key are removed (a customer base image's own keys stay). Packer's open session is not affected.
remove_launch_key() {
  local launch_key user home file kept
  user=${SUDO_USER:-root}
  home=$(getent passwd "${user}" | cut -d : -f 6)
  file="${home}/.ssh/authorized_keys"
  if ! launch_key=$(imds_get meta-data/public-keys/0/openssh-key) || [[ -z ${launch_key} ]]; then
    log "WARNING: IMDS names no launch key; ${file} left as it is"
    return 0
  fi
  read -r -a launch_key <<<"${launch_key}"
  [[ -f ${file} ]] || {
    log "${file} does not exist"
    return 0
  }
  kept=$(awk -v type="${launch_key[0]}" -v key="${launch_key[1]}" '!($1 == type && $2 == key) && !($2 == type && $3 == key)' "${file}")
  if [[ ${kept} == "$(cat "${file}")" ]]; then
    log "the launch key is not in ${file}"
  else
    printf '%s' "${kept}${kept:+$'\n'}" >"${file}"
    log "removed the launch key (${launch_key[2]:-${launch_key[0]}}) from ${file}"
  fi
}

remove_build_files() {
  find "${WORK_DIR}" -mindepth 1 -maxdepth 1 ! -name lib ! -name stig-score.json -exec rm -rf {} +
  rm -rf /var/tmp/* /tmp/*
}

step "remove SSH host keys" remove_host_keys
step "empty /etc/machine-id" reset_machine_id
step "remove cloud-init state" remove_cloud_init_state
step "remove logs" remove_logs
step "remove dnf history and caches" remove_package_state
step "remove shell history" remove_shell_history
step "remove Packer's launch key from authorized_keys" remove_launch_key
step "remove build files" remove_build_files
