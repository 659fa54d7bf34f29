#!/usr/bin/env bash
# Installs containerd and runc from their GitHub releases (or the binary bucket's mirror), checked
# against the published SHA-256 files, writes /etc/containerd/config.toml and enables containerd.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step containerd
require_env CONTAINERD_VERSION RUNC_VERSION PAUSE_IMAGE BINARY_ARCH GITHUB_BASE_URL BINARY_BUCKET_NAME BINARY_BUCKET_REGION
require_defined BINARY_BUCKET_ENDPOINT
require_one_of RHEL_VERSION 8 9
require_one_of PULL_CNI_FROM_GITHUB true false

# containerd 2.x binaries need glibc >= 2.34: RHEL 9 only. RHEL 8 (glibc 2.28) stays on 1.7.
case ${RHEL_VERSION}/${CONTAINERD_VERSION} in
  8/1.7.* | 9/1.7.*) template=config-1.7.toml.tmpl ;;
  9/2.*) template=config-2.toml.tmpl ;;
  8/2.*) die "CONTAINERD_VERSION=${CONTAINERD_VERSION} needs glibc 2.34 (RHEL 9); RHEL 8 has glibc 2.28: use containerd 1.7.x" ;;
  *) die "CONTAINERD_VERSION=${CONTAINERD_VERSION} is not supported on RHEL ${RHEL_VERSION}: use 1.7.x (or 2.x on RHEL 9)" ;;
esac
[[ ${PAUSE_IMAGE} =~ ^[A-Za-z0-9._/:@-]+$ ]] || die "PAUSE_IMAGE=${PAUSE_IMAGE} is not an image reference"

dir=$(scratch_dir containerd)
containerd_asset="containerd-${CONTAINERD_VERSION}-linux-${BINARY_ARCH}.tar.gz"
runc_asset="runc.${BINARY_ARCH}"

fetch_containerd() {
  download_release_asset containerd containerd "v${CONTAINERD_VERSION}" "${containerd_asset}" "${dir}/${containerd_asset}"
  download_release_asset containerd containerd "v${CONTAINERD_VERSION}" "${containerd_asset}.sha256sum" "${dir}/${containerd_asset}.sha256sum"
  verify_sha256 "${dir}/${containerd_asset}" "${dir}/${containerd_asset}.sha256sum" "${containerd_asset}"
}

fetch_runc() {
  download_release_asset opencontainers runc "v${RUNC_VERSION}" "${runc_asset}" "${dir}/${runc_asset}"
  download_release_asset opencontainers runc "v${RUNC_VERSION}" runc.sha256sum "${dir}/runc.sha256sum"
  verify_sha256 "${dir}/${runc_asset}" "${dir}/runc.sha256sum" "${runc_asset}"
}

install_binaries() {
  local binary
  tar -xzf "${dir}/${containerd_asset}" -C "${dir}"
  for binary in containerd containerd-shim-runc-v2 ctr; do
    [[ -f ${dir}/bin/${binary} ]] || die "${containerd_asset} has no bin/${binary}"
    install -o root -g root -m 0755 "${dir}/bin/${binary}" "/usr/bin/${binary}"
  done
  install -o root -g root -m 0755 "${dir}/${runc_asset}" /usr/sbin/runc
}

check_versions() {
  local containerd_reported runc_reported
  containerd_reported=$(/usr/bin/containerd --version)
  runc_reported=$(/usr/sbin/runc --version)
  [[ ${containerd_reported} == *" v${CONTAINERD_VERSION} "* || ${containerd_reported} == *" v${CONTAINERD_VERSION}" ]] ||
    die "installed containerd reports '${containerd_reported}', expected v${CONTAINERD_VERSION}"
  [[ ${runc_reported} == "runc version ${RUNC_VERSION}"* ]] ||
    die "installed runc reports '${runc_reported%%$'\n'*}', expected ${RUNC_VERSION}"
}

write_config() {
  local source="${WORK_DIR}/rootfs/etc/containerd/${template}"
  [[ -f ${source} ]] || die "${source} is missing"
  install -d -m 0755 /etc/containerd /etc/containerd/certs.d
  sed "s|@PAUSE_IMAGE@|${PAUSE_IMAGE}|g" "${source}" >/etc/containerd/config.toml
  chmod 0644 /etc/containerd/config.toml
  grep -q '^SystemdCgroup = true$' /etc/containerd/config.toml || die "containerd config lacks SystemdCgroup = true"
}

step "download and verify ${containerd_asset}" fetch_containerd
step "download and verify ${runc_asset}" fetch_runc
step "install containerd and runc" install_binaries
step "check installed versions" check_versions
step "write /etc/containerd/config.toml from ${template}" write_config
step "enable containerd.service" systemctl enable containerd.service
