#!/usr/bin/env bash
# Installs the SSM agent RPM from the regional amazon-ssm-<region> bucket (or the binary bucket's
# amazon-ssm-agent/ when from_mirror) after checking its detached PGP signature (.sig) against the SSM agent
# public key committed in provisioners/lib/keys/amazon-ssm-agent.asc, and, replaying a lock, its SHA-256.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step ssm-agent
require_env AWS_REGION BINARY_ARCH
require_one_of PULL_CNI_FROM_GITHUB true false
require_defined BINARY_BUCKET_NAME BINARY_BUCKET_REGION BINARY_BUCKET_ENDPOINT

dir=$(scratch_dir ssm-agent)
rpm_file="${dir}/$(artifact_file ssm-agent)"

step "download amazon-ssm-agent.rpm and check its signature (and the lock)" fetch_artifact ssm-agent "${rpm_file}"
step "dnf install the SSM agent" dnf install -y "${rpm_file}"
step "enable amazon-ssm-agent.service" systemctl enable amazon-ssm-agent.service
