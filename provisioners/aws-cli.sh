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

asset=$(artifact_file aws-cli)
dir=$(scratch_dir aws-cli)

step "download ${asset} and check its signature (and the lock)" fetch_artifact aws-cli "${dir}/awscliv2.zip"
step "unpack the installer" unzip -q -o "${dir}/awscliv2.zip" -d "${dir}"
step "install AWS CLI v2" "${dir}/aws/install" --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin --update
log "installed $(/usr/local/bin/aws --version 2>&1)"
