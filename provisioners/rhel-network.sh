#!/usr/bin/env bash
# RHEL networking for the VPC CNI: nm-cloud-setup masked (it rewrites routing rules and breaks pod
# networking), CNI interfaces unmanaged by NetworkManager (conf.d file from rootfs), firewalld off.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step rhel-network

readonly nm_conf=/etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf

step "mask nm-cloud-setup" systemctl mask nm-cloud-setup.service nm-cloud-setup.timer
[[ -f ${nm_conf} ]] || die "${nm_conf} is missing (rootfs.sh installs it)"
grep -q '^unmanaged-devices=interface-name:veth\*;interface-name:eni\*;interface-name:vlan\*$' "${nm_conf}" ||
  die "${nm_conf} does not leave veth*, eni* and vlan* unmanaged"

# The cluster's security groups filter traffic; a host firewall would drop kubelet (10250) and NodePorts.
if [[ -n $(systemctl list-unit-files --no-legend firewalld.service) ]]; then
  step "disable firewalld" systemctl disable firewalld.service
else
  log "firewalld is not installed"
fi
