#!/usr/bin/env bash
# Installs kubelet, ecr-credential-provider and (when the bucket has it) aws-iam-authenticator from the EKS
# binary bucket. All are downloaded and checked against their .sha256 files before any is installed. The
# kubelet unit (from rootfs) stays disabled until /etc/eks/bootstrap.sh runs on the node.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step kubernetes
require_env KUBERNETES_VERSION KUBERNETES_BUILD_DATE BINARY_ARCH BINARY_BUCKET_NAME BINARY_BUCKET_REGION
require_defined BINARY_BUCKET_ENDPOINT

dir=$(scratch_dir kubernetes)
prefix="${KUBERNETES_VERSION}/${KUBERNETES_BUILD_DATE}/bin/linux/${BINARY_ARCH}"
# The binaries of the EKS bucket, in order; where each goes comes from the build's artifact manifest
# (data/artifacts.json). aws-iam-authenticator is optional there: without it, bootstrap.sh has the kubelet get
# its token from the AWS CLI (aws eks get-token), which the image always carries.
order=(kubelet ecr-credential-provider aws-iam-authenticator)
installed=()

fetch_all() {
  local name
  for name in "${order[@]}"; do
    fetch_artifact "${name}" "${dir}/${name}"
    [[ ${ARTIFACT_SKIPPED} == true ]] || installed+=("${name}")
  done
}

install_all() {
  local name
  for name in "${installed[@]}"; do
    artifact_entry "${name}"
    install -D -o root -g root -m "${ARTIFACT_MODE}" "${dir}/${name}" "${ARTIFACT_DESTINATION}"
    log "installed ${ARTIFACT_DESTINATION}"
  done
  install -d -m 0755 /etc/kubernetes/kubelet /etc/kubernetes/manifests /etc/kubernetes/pki /var/lib/kubelet
}

check_kubelet() {
  local reported
  reported=$(/usr/bin/kubelet --version)
  [[ ${reported} == "Kubernetes v${KUBERNETES_VERSION}" ]] ||
    die "installed kubelet reports '${reported}', expected Kubernetes v${KUBERNETES_VERSION}"
}

keep_kubelet_disabled() {
  [[ -f /etc/systemd/system/kubelet.service ]] || die "kubelet.service is missing (rootfs.sh installs it)"
  systemctl disable kubelet.service
}

step "download and verify ${order[*]} (${prefix})" fetch_all
step "install the binaries" install_all
step "check the kubelet version" check_kubelet
step "keep kubelet.service disabled until bootstrap" keep_kubelet_disabled
