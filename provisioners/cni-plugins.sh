#!/usr/bin/env bash
# Installs the CNI reference plugins into /opt/cni/bin from their GitHub release (or the binary
# bucket's mirror when PULL_CNI_FROM_GITHUB=false), checked against the published SHA-256 file.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step cni-plugins
require_env CNI_PLUGIN_VERSION BINARY_ARCH GITHUB_BASE_URL BINARY_BUCKET_NAME BINARY_BUCKET_REGION
require_defined BINARY_BUCKET_ENDPOINT
require_one_of PULL_CNI_FROM_GITHUB true false
[[ ${CNI_PLUGIN_VERSION} == v* ]] || die "CNI_PLUGIN_VERSION=${CNI_PLUGIN_VERSION} must be a release tag such as v1.6.2"

dir=$(scratch_dir cni-plugins)
asset=$(artifact_file cni-plugins)

install_plugins() {
  local plugin
  install -d -m 0755 "${dir}/plugins" /opt/cni/bin /etc/cni/net.d
  tar -xzf "${dir}/${asset}" -C "${dir}/plugins"
  for plugin in loopback bridge host-local portmap; do
    [[ -f ${dir}/plugins/${plugin} ]] || die "${asset} has no ${plugin} plugin"
  done
  find "${dir}/plugins" -maxdepth 1 -type f -exec install -o root -g root -m 0755 -t /opt/cni/bin {} +
  log "installed: $(ls /opt/cni/bin | paste -sd ' ')"
}

step "download and verify ${asset}" fetch_artifact cni-plugins "${dir}/${asset}"
step "install the plugins into /opt/cni/bin" install_plugins
