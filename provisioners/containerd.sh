#!/usr/bin/env bash
# Installs containerd and runc from their GitHub releases (or the binary bucket's mirror), checked
# against the published SHA-256 files, writes /etc/containerd/config.toml and the base runtime spec (open-file
# limits for containers), and enables containerd.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step containerd
require_env CONTAINERD_VERSION RUNC_VERSION PAUSE_IMAGE BINARY_ARCH GITHUB_BASE_URL BINARY_BUCKET_NAME BINARY_BUCKET_REGION
require_defined BINARY_BUCKET_ENDPOINT
require_one_of RHEL_VERSION 8 9 10
require_one_of PULL_CNI_FROM_GITHUB true false

# Which configuration schema. Which build of containerd is the artifact manifest's choice (data/artifacts.json):
# RHEL 8 gets the project's static 2.x build, as the dynamically linked one needs a newer glibc than RHEL 8's 2.28.
# RHEL 10 starts with Kubernetes minors that need containerd 2.x.
case ${RHEL_VERSION}/${CONTAINERD_VERSION} in
  8/1.7.* | 9/1.7.*) template=config-1.7.toml.tmpl ;;
  8/2.* | 9/2.* | 10/2.*) template=config-2.toml.tmpl ;;
  10/1.*) die "CONTAINERD_VERSION=${CONTAINERD_VERSION}: RHEL 10 images get containerd 2.x only; set containerd_version to a 2.x release" ;;
  *) die "CONTAINERD_VERSION=${CONTAINERD_VERSION} is not supported on RHEL ${RHEL_VERSION}: use 1.7.x or 2.x" ;;
esac
[[ ${PAUSE_IMAGE} =~ ^[A-Za-z0-9._/:@-]+$ ]] || die "PAUSE_IMAGE=${PAUSE_IMAGE} is not an image reference"

# Open-file limits of every container (the upstream EKS node's base runtime spec): without them containers
# inherit containerd's LimitNOFILE=infinity, about a billion open files on RHEL 9.
readonly nofile_soft=65536 nofile_hard=1048576
readonly base_spec=/etc/containerd/base-runtime-spec.json

dir=$(scratch_dir containerd)
containerd_asset=$(artifact_file containerd)
runc_asset=$(artifact_file runc)

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
  install -d -m 0755 /etc/containerd /etc/containerd/certs.d /etc/containerd/config.d
  sed "s|@PAUSE_IMAGE@|${PAUSE_IMAGE}|g" "${source}" >/etc/containerd/config.toml
  chmod 0644 /etc/containerd/config.toml
  grep -q '^SystemdCgroup = true$' /etc/containerd/config.toml || die "containerd config lacks SystemdCgroup = true"
  grep -qF "base_runtime_spec = \"${base_spec}\"" /etc/containerd/config.toml || die "containerd config does not use ${base_spec}"
}

# containerd's own default OCI spec for this version (ctr oci spec), with RLIMIT_NOFILE set: containerd uses
# base_runtime_spec instead of its defaults, so the file must be complete.
write_base_runtime_spec() {
  ctr oci spec |
    jq --argjson soft "${nofile_soft}" --argjson hard "${nofile_hard}" \
      '.process.rlimits = ([.process.rlimits[]? | select(.type != "RLIMIT_NOFILE")] + [{type: "RLIMIT_NOFILE", soft: $soft, hard: $hard}])' \
      >"${base_spec}.partial" || {
    rm -f "${base_spec}.partial"
    die "could not write ${base_spec} from ctr oci spec"
  }
  jq -e '.ociVersion and .process and .linux' "${base_spec}.partial" >/dev/null || {
    rm -f "${base_spec}.partial"
    die "ctr oci spec did not give a complete OCI runtime spec"
  }
  mv "${base_spec}.partial" "${base_spec}"
  chmod 0644 "${base_spec}"
  log "${base_spec}: RLIMIT_NOFILE soft ${nofile_soft}, hard ${nofile_hard}"
}

step "download and verify ${containerd_asset}" fetch_artifact containerd "${dir}/${containerd_asset}"
step "download and verify ${runc_asset}" fetch_artifact runc "${dir}/${runc_asset}"
step "install containerd and runc" install_binaries
step "check installed versions" check_versions
step "write /etc/containerd/config.toml from ${template}" write_config
step "write ${base_spec}" write_base_runtime_spec
step "enable containerd.service" systemctl enable containerd.service
