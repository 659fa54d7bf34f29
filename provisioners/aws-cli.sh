#!/usr/bin/env bash
# Installs AWS CLI v2 after checking the installer's PGP signature against the AWS CLI team's public
# key committed in provisioners/lib/keys/aws-cli-v2.asc (fingerprint FB5D B77F D5C1 18B8 0511 ADA8 A631 0ACC 4672 475C).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step aws-cli
require_one_of ARCH x86_64 arm64
require_env AWSCLI_BASE_URL

case ${ARCH} in
  x86_64) cli_arch=x86_64 ;;
  arm64) cli_arch=aarch64 ;;
esac
url="${AWSCLI_BASE_URL%/}/awscli-exe-linux-${cli_arch}.zip"
dir=$(scratch_dir aws-cli)

step "download ${url}" download "${url}" "${dir}/awscliv2.zip"
step "download ${url}.sig" download "${url}.sig" "${dir}/awscliv2.zip.sig"
step "check the installer signature" verify_pgp "${WORK_DIR}/lib/keys/aws-cli-v2.asc" \
  "${dir}/awscliv2.zip.sig" "${dir}/awscliv2.zip" "the AWS CLI v2 installer"
step "unpack the installer" unzip -q -o "${dir}/awscliv2.zip" -d "${dir}"
step "install AWS CLI v2" "${dir}/aws/install" --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin --update
log "installed $(/usr/local/bin/aws --version 2>&1)"
