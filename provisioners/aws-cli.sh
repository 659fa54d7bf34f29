#!/usr/bin/env bash
# Installs AWS CLI v2 after checking the installer's PGP signature against the AWS CLI team's public
# key committed in provisioners/lib/keys/aws-cli-v2.asc (fingerprint FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C),
# and, replaying a lock, its SHA-256. From AWSCLI_BASE_URL, or the binary bucket's awscli/ (from_mirror).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step aws-cli
require_one_of ARCH x86_64 arm64
require_env AWSCLI_BASE_URL
require_one_of PULL_CNI_FROM_GITHUB true false
require_defined BINARY_BUCKET_NAME BINARY_BUCKET_REGION BINARY_BUCKET_ENDPOINT

case ${ARCH} in
  x86_64) cli_arch=x86_64 ;;
  arm64) cli_arch=aarch64 ;;
esac
asset="awscli-exe-linux-${cli_arch}.zip"
url="${AWSCLI_BASE_URL%/}/${asset}"
dir=$(scratch_dir aws-cli)

step "download ${asset}" download_upstream_or_mirror "${url}" "awscli/${asset}" "${dir}/awscliv2.zip"
step "download ${asset}.sig" download_upstream_or_mirror "${url}.sig" "awscli/${asset}.sig" "${dir}/awscliv2.zip.sig"
step "check the installer signature" verify_pgp "${WORK_DIR}/lib/keys/aws-cli-v2.asc" \
  "${dir}/awscliv2.zip.sig" "${dir}/awscliv2.zip" "the AWS CLI v2 installer"
step "check the installer against the lock" verify_pinned "${dir}/awscliv2.zip" "${asset}"
step "unpack the installer" unzip -q -o "${dir}/awscliv2.zip" -d "${dir}"
step "install AWS CLI v2" "${dir}/aws/install" --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin --update
log "installed $(/usr/local/bin/aws --version 2>&1)"
