#!/usr/bin/env bash
# STIG variant: hardens the image with OpenSCAP and the SCAP Security Guide's DISA STIG profile, tailored
# for EKS workers (lib/stig/ssg-rhel<N>-stig-tailoring.xml; lib/stig/EXCEPTIONS.md lists the exceptions).
# Runs after everything is installed and configured, so the rules see kubelet, containerd and the CNI
# plugins in place, then asks reboot.sh for a reboot: kernel arguments, audit rules, mount options and
# services changed by the remediation take effect only then. stig-scan.sh measures the result afterwards.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/stig.sh
source "${WORK_DIR}/lib/stig.sh"
begin_step stig-remediate
require_one_of RHEL_VERSION 8 9 10

# One transaction from the RHEL repositories, signatures checked by their gpgcheck (never --nogpgcheck).
step "dnf install openscap-scanner scap-security-guide" dnf install -y openscap-scanner scap-security-guide
stig_content
log "profile ${STIG_PROFILE}, tailoring ${STIG_TAILORING}, data stream ${STIG_DATASTREAM}"
step "oscap xccdf eval --remediate" oscap_eval "$(scratch_dir stig)/remediate.log" --remediate
mark_reboot "STIG remediation applied (oscap --remediate)"
