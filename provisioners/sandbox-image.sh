#!/usr/bin/env bash
# Puts the pause (CRI sandbox) image into containerd's store and pins it. containerd pulls the sandbox image
# itself, without registry credentials, and EKS's pause image lives in a private per-region ECR repository: a
# node whose store lacks it cannot start its first pod. So the build pulls PAUSE_IMAGE (the build region's
# EKS ECR image, the reference the containerd config names) with an ECR token from the instance role, labels it
# io.cri-containerd.pinned=pinned (kubelet's image GC keeps pinned images), and exports it to
# /etc/eks/pause-image.tar for bootstrap.sh to re-import should the store ever lose it.
#
# Why the regional private ECR image: it is the reference a real EKS node and the VPC CNI use, and GovCloud,
# ISO and air-gapped accounts cannot reach public.ecr.aws. Only in the commercial partition, and only when the
# instance has no role, the same image is taken from public ECR (eks-distro) and tagged under PAUSE_IMAGE.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/containerd.sh
source "${WORK_DIR}/lib/containerd.sh"
# shellcheck source=lib/imds.sh
source "${WORK_DIR}/lib/imds.sh"
begin_step sandbox-image
require_env PAUSE_IMAGE AWS_REGION PARTITION BINARY_ARCH
[[ ${PAUSE_IMAGE} =~ ^[A-Za-z0-9._/:@-]+$ ]] || die "PAUSE_IMAGE=${PAUSE_IMAGE} is not an image reference"
trap 'status=$?; containerd_stop_if_started || true; finish_step "${status}"' EXIT

readonly platform="linux/${BINARY_ARCH}"
readonly registry=${PAUSE_IMAGE%%/*}
readonly public_pause_repository=public.ecr.aws/eks-distro/kubernetes/pause

# instance_role : the instance profile's role name, empty when the instance has none.
instance_role() {
  imds_get meta-data/iam/security-credentials/ | head -n 1 || true
}

# pull REF [ctr pull options...] : one pull for this instance's platform; the error names the reference.
pull() {
  local ref=$1 output
  shift
  output=$(ctr --namespace "${CRI_NAMESPACE}" images pull --platform "${platform}" "$@" "${ref}" 2>&1) ||
    die "could not pull ${ref}: ${output##*$'\n'}"
  log "pulled ${ref}"
}

# pull_private_ecr : with an ECR token for the registry's region, obtained with the instance role by the AWS CLI.
pull_private_ecr() {
  local ecr_region role password
  ecr_region=$(cut -d . -f 4 <<<"${registry}")
  role=$(instance_role)
  if [[ -n ${role} ]]; then
    log "getting an ECR token for ${registry} with the instance role ${role}"
    # The AWS CLI honours this variable; unset on real builds, where IMDS is at its usual address.
    [[ -z ${IMDS_ENDPOINT:-} ]] || export AWS_EC2_METADATA_SERVICE_ENDPOINT=${IMDS_ENDPOINT}
    password=$(/usr/local/bin/aws ecr get-login-password --region "${ecr_region}") ||
      die "aws ecr get-login-password --region ${ecr_region} failed with the instance role ${role}: it needs ecr:GetAuthorizationToken and pull access to ${registry}'s eks/pause repository (AmazonEC2ContainerRegistryReadOnly)"
    pull "${PAUSE_IMAGE}" --user "AWS:${password}"
  elif [[ ${PARTITION} == aws ]]; then
    local public_ref="${public_pause_repository}:${PAUSE_IMAGE##*:}"
    log "WARNING: this build instance has no instance role, so it cannot get an ECR token for ${registry}."
    log "WARNING: taking the pause image from public ECR instead (${public_ref}) and tagging it ${PAUSE_IMAGE}."
    log "WARNING: set iam_instance_profile to pull the regional EKS image itself."
    pull "${public_ref}"
    ctr --namespace "${CRI_NAMESPACE}" images tag --force "${public_ref}" "${PAUSE_IMAGE}" >/dev/null
    ctr --namespace "${CRI_NAMESPACE}" images rm "${public_ref}" >/dev/null
  else
    die "PAUSE_IMAGE=${PAUSE_IMAGE} is in a private ECR registry and this build instance has no instance role to get a token with (partition ${PARTITION} has no public copy it can reach): set iam_instance_profile to an instance profile whose role may pull from ECR (AmazonEC2ContainerRegistryReadOnly)"
  fi
}

fetch_image() {
  case ${registry} in
    *.dkr.ecr.* | *.dkr.ecr-fips.*) pull_private_ecr ;;
    *)
      log "${registry} is not a private ECR registry: pulling ${PAUSE_IMAGE} anonymously, as containerd itself would"
      pull "${PAUSE_IMAGE}"
      ;;
  esac
}

pin_image() {
  ctr --namespace "${CRI_NAMESPACE}" images label "${PAUSE_IMAGE}" "${PINNED_LABEL}" >/dev/null
  [[ $(image_labels "${PAUSE_IMAGE}") == *"${PINNED_LABEL}"* ]] ||
    die "${PAUSE_IMAGE} is not labelled ${PINNED_LABEL} in containerd's store after labelling it"
}

export_image() {
  install -d -m 0755 "$(dirname "${PAUSE_IMAGE_ARCHIVE}")"
  ctr --namespace "${CRI_NAMESPACE}" images export --platform "${platform}" "${PAUSE_IMAGE_ARCHIVE}.partial" "${PAUSE_IMAGE}" ||
    {
      rm -f "${PAUSE_IMAGE_ARCHIVE}.partial"
      die "could not export ${PAUSE_IMAGE} to ${PAUSE_IMAGE_ARCHIVE}"
    }
  mv "${PAUSE_IMAGE_ARCHIVE}.partial" "${PAUSE_IMAGE_ARCHIVE}"
  chmod 0644 "${PAUSE_IMAGE_ARCHIVE}"
  log "exported ${PAUSE_IMAGE} to ${PAUSE_IMAGE_ARCHIVE} ($(stat -c %s "${PAUSE_IMAGE_ARCHIVE}") bytes)"
}

step "start containerd" containerd_ensure_running
step "pull ${PAUSE_IMAGE}" fetch_image
step "pin it (${PINNED_LABEL})" pin_image
step "export it to ${PAUSE_IMAGE_ARCHIVE}" export_image
step "stop containerd if this step started it" containerd_stop_if_started
