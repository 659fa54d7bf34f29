#!/usr/bin/env bash
# Installs the SSM agent RPM from the regional amazon-ssm-<region> bucket after checking its detached
# PGP signature (.sig) against the SSM agent public key committed in provisioners/lib/keys/amazon-ssm-agent.asc.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step ssm-agent
require_env AWS_REGION BINARY_ARCH
require_defined BINARY_BUCKET_ENDPOINT

dir=$(scratch_dir ssm-agent)
url=$(s3_object_url "amazon-ssm-${AWS_REGION}" "${AWS_REGION}" "latest/linux_${BINARY_ARCH}/amazon-ssm-agent.rpm")
rpm_file="${dir}/amazon-ssm-agent.rpm"

step "download ${url}" download "${url}" "${rpm_file}"
step "download ${url}.sig" download "${url}.sig" "${rpm_file}.sig"
step "check the package signature" verify_pgp "${WORK_DIR}/lib/keys/amazon-ssm-agent.asc" \
  "${rpm_file}.sig" "${rpm_file}" "the SSM agent package"
step "dnf install the SSM agent" dnf install -y "${rpm_file}"
step "enable amazon-ssm-agent.service" systemctl enable amazon-ssm-agent.service
