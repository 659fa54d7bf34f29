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
# binary name -> where it is installed
declare -A targets=(
  ["kubelet"]=/usr/bin/kubelet
  ["ecr-credential-provider"]=/etc/eks/image-credential-provider/ecr-credential-provider
  ["aws-iam-authenticator"]=/usr/bin/aws-iam-authenticator
)
order=(kubelet ecr-credential-provider aws-iam-authenticator)
# Binaries a bucket may lack for a build: without aws-iam-authenticator, bootstrap.sh has the kubelet get its
# token from the AWS CLI (aws eks get-token), which the image always carries.
declare -A optional=(["aws-iam-authenticator"]=1)
installed=()

fetch_all() {
  local name
  for name in "${order[@]}"; do
    if ! bucket_read "${prefix}/${name}" "${dir}/${name}"; then
      if [[ -n ${optional[${name}]:-} && ${BUCKET_READ_REASON} == *404* ]]; then
        log "${name} is not in the bucket for this build (${BUCKET_READ_REASON}); it is optional: not installed"
        continue
      fi
      die "download failed: s3://${BINARY_BUCKET_NAME}/${prefix}/${name} (${BUCKET_READ_REASON})"
    fi
    download_from_bucket "${prefix}/${name}.sha256" "${dir}/${name}.sha256"
    verify_sha256 "${dir}/${name}" "${dir}/${name}.sha256" "${name}"
    installed+=("${name}")
  done
}

install_all() {
  local name
  for name in "${installed[@]}"; do
    install -D -o root -g root -m 0755 "${dir}/${name}" "${targets[${name}]}"
    log "installed ${targets[${name}]}"
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
