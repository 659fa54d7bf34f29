#!/usr/bin/env bash
# Writes $WORK_DIR/version-info.json: what the image really contains (packages, kernel, runtime and
# Kubernetes binaries, CNI plugins, loaded modules). The template downloads it after this step.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step inventory
require_env KUBERNETES_VERSION KUBERNETES_BUILD_DATE CNI_PLUGIN_VERSION IPVS_MODULES RHEL_VERSION ARCH

readonly output="${WORK_DIR}/version-info.json"

packages_json() {
  rpm -qa --queryformat '%{NAME}\t%{VERSION}-%{RELEASE}.%{ARCH}\n' |
    jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): .[1]}) | add // {} | to_entries | sort_by(.key) | from_entries'
}

loaded_modules_json() {
  local wanted
  local -a ipvs
  read -r -a ipvs <<<"${IPVS_MODULES}"
  wanted=$(
    printf '%s\n' "${ipvs[@]}"
    grep -Ev '^[[:space:]]*(#|$)' /etc/modules-load.d/containerd.conf
  )
  lsmod | awk 'NR > 1 { print $1 }' | grep -Fx -f <(printf '%s\n' "${wanted}") | sort -u | jq -R -s 'split("\n") | map(select(length > 0))'
}

first_line() {
  "$@" 2>&1 | head -n 1
}

write_inventory() {
  local os_name=unknown
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    os_name=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-${NAME:-unknown}}")
  fi
  jq -n \
    --arg os "${os_name}" \
    --arg rhel_version "${RHEL_VERSION}" \
    --arg arch "${ARCH}" \
    --arg kernel "$(uname -r)" \
    --arg default_kernel "$(grubby --default-kernel)" \
    --arg kernel_args "$(grubby --info=DEFAULT | sed -n 's/^args="\(.*\)"$/\1/p')" \
    --arg kubernetes_version "${KUBERNETES_VERSION}" \
    --arg kubernetes_build_date "${KUBERNETES_BUILD_DATE}" \
    --arg kubelet "$(first_line /usr/bin/kubelet --version)" \
    --arg containerd "$(first_line /usr/bin/containerd --version)" \
    --arg runc "$(first_line /usr/sbin/runc --version)" \
    --arg cni_version "${CNI_PLUGIN_VERSION}" \
    --argjson cni_plugins "$(find /opt/cni/bin -maxdepth 1 -type f -printf '%f\n' | sort | jq -R -s 'split("\n") | map(select(length > 0))')" \
    --arg aws_cli "$(first_line /usr/local/bin/aws --version)" \
    --arg ssm_agent "$(rpm -q amazon-ssm-agent)" \
    --argjson modules "$(loaded_modules_json)" \
    --argjson packages "$(packages_json)" \
    '{
      os: $os, rhel_version: $rhel_version, arch: $arch,
      kernel: { running: $kernel, default: $default_kernel, args: $kernel_args },
      kubernetes: { version: $kubernetes_version, build_date: $kubernetes_build_date, kubelet: $kubelet },
      containerd: $containerd, runc: $runc,
      cni_plugins: { version: $cni_version, plugins: $cni_plugins },
      aws_cli: $aws_cli, ssm_agent: $ssm_agent,
      loaded_modules: $modules,
      packages: $packages
    }' >"${output}.partial"
  jq -e . "${output}.partial" >/dev/null || die "${output} would not be valid JSON"
  mv "${output}.partial" "${output}"
  chmod 0644 "${output}"
}

step "write ${output}" write_inventory
