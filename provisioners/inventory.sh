#!/usr/bin/env bash
# Writes $WORK_DIR/version-info.json: what the image really contains (the RHEL release installed, packages,
# kernel, runtime and Kubernetes binaries, CNI plugins, loaded modules). The template downloads it after this step.
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
  # No match is a valid answer (an empty list), not a failure.
  lsmod | awk 'NR > 1 { print $1 }' | { grep -Fx -f <(printf '%s\n' "${wanted}") || true; } | sort -u | jq -R -s 'split("\n") | map(select(length > 0))'
}

# version_of COMMAND... : the first line a version command prints. A command that fails fails the step with
# its message, rather than leaving that message in version-info.json as if it were a version.
version_of() {
  local reported
  reported=$("$@" 2>&1) || die "'$*' failed while taking the inventory: ${reported%%$'\n'*}"
  [[ -n ${reported} ]] || die "'$*' printed no version"
  printf '%s\n' "${reported%%$'\n'*}"
}

# The RHEL release actually installed (after the OS update), e.g. 9.6: from /etc/redhat-release, checked
# against VERSION_ID of /etc/os-release where that names RHEL. Hosts tag the AMI with it (rhel_release).
rhel_release() {
  local line release version_id="" id=""
  [[ -r /etc/redhat-release ]] || die "/etc/redhat-release is missing: this is not a RHEL system"
  line=$(</etc/redhat-release)
  [[ ${line} =~ release[[:space:]]+([0-9]+(\.[0-9]+)?) ]] || die "cannot read a release from /etc/redhat-release: '${line}'"
  release=${BASH_REMATCH[1]}
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && printf '%s' "${ID:-}")
    # shellcheck disable=SC1091
    version_id=$(. /etc/os-release && printf '%s' "${VERSION_ID:-}")
  fi
  if [[ ${id} == rhel && -n ${version_id} && ${version_id} != "${release}" ]]; then
    die "/etc/redhat-release says ${release} but /etc/os-release says VERSION_ID=${version_id}"
  fi
  printf '%s\n' "${release}"
}

write_inventory() {
  local os_name=unknown release redhat_release default_kernel kernel_args kubelet containerd runc aws_cli ssm_agent cni_plugins modules packages
  if [[ -r /etc/os-release ]]; then
    # shellcheck disable=SC1091
    os_name=$(. /etc/os-release && printf '%s' "${PRETTY_NAME:-${NAME:-unknown}}")
  fi
  # Each value on its own line, so a failing command stops the step (set -e) before anything is written.
  release=$(rhel_release)
  redhat_release=$(</etc/redhat-release)
  default_kernel=$(version_of grubby --default-kernel)
  kernel_args=$(grubby --info=DEFAULT | sed -n 's/^args="\(.*\)"$/\1/p')
  kubelet=$(version_of /usr/bin/kubelet --version)
  containerd=$(version_of /usr/bin/containerd --version)
  runc=$(version_of /usr/sbin/runc --version)
  aws_cli=$(version_of /usr/local/bin/aws --version)
  ssm_agent=$(version_of rpm -q amazon-ssm-agent)
  cni_plugins=$(find /opt/cni/bin -maxdepth 1 -type f -printf '%f\n' | sort | jq -R -s 'split("\n") | map(select(length > 0))')
  modules=$(loaded_modules_json)
  packages=$(packages_json)
  jq -n \
    --arg os "${os_name}" \
    --arg rhel_version "${RHEL_VERSION}" \
    --arg rhel_release "${release}" \
    --arg redhat_release "${redhat_release}" \
    --arg arch "${ARCH}" \
    --arg kernel "$(uname -r)" \
    --arg default_kernel "${default_kernel}" \
    --arg kernel_args "${kernel_args}" \
    --arg kubernetes_version "${KUBERNETES_VERSION}" \
    --arg kubernetes_build_date "${KUBERNETES_BUILD_DATE}" \
    --arg kubelet "${kubelet}" \
    --arg containerd "${containerd}" \
    --arg runc "${runc}" \
    --arg cni_version "${CNI_PLUGIN_VERSION}" \
    --argjson cni_plugins "${cni_plugins}" \
    --arg aws_cli "${aws_cli}" \
    --arg ssm_agent "${ssm_agent}" \
    --argjson modules "${modules}" \
    --argjson packages "${packages}" \
    '{
      os: $os, rhel_version: $rhel_version, rhel_release: $rhel_release, redhat_release: $redhat_release, arch: $arch,
      kernel: { running: $kernel, default: $default_kernel, args: $kernel_args },
      kubernetes: { version: $kubernetes_version, build_date: $kubernetes_build_date, kubelet: $kubelet },
      containerd: $containerd, runc: $runc,
      cni_plugins: { version: $cni_version, plugins: $cni_plugins },
      aws_cli: $aws_cli, ssm_agent: $ssm_agent,
      loaded_modules: $modules,
      packages: $packages
    }' >"${output}.partial"
  jq -e . "${output}.partial" >/dev/null || {
    rm -f "${output}.partial"
    die "${output} would not be valid JSON"
  }
  mv "${output}.partial" "${output}"
  chmod 0644 "${output}"
}

step "write ${output}" write_inventory
