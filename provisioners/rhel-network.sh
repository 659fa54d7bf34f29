#!/usr/bin/env bash
# RHEL networking for the VPC CNI: nm-cloud-setup masked (it rewrites routing rules and breaks pod
# networking), CNI interfaces and secondary ENIs unmanaged by NetworkManager (conf.d file from rootfs),
# firewalld masked.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step rhel-network

readonly nm_conf=/etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf
readonly unmanaged='interface-name:veth*;interface-name:eni*;interface-name:vlan*;interface-name:eth*;except:interface-name:eth0'

step "mask nm-cloud-setup" systemctl mask nm-cloud-setup.service nm-cloud-setup.timer
[[ -f ${nm_conf} ]] || die "${nm_conf} is missing (rootfs.sh installs it)"
grep -qxF "unmanaged-devices=${unmanaged}" "${nm_conf}" ||
  die "${nm_conf} does not leave veth*, eni*, vlan* and the secondary ENIs (eth* but eth0) unmanaged"

# The cluster's security groups filter traffic; firewalld's default zone would drop kubelet (10250), NodePorts
# and forwarded pod traffic. Red Hat's images do not ship it, but the STIG remediation (or any later install)
# can, and its package preset enables it: masked, not just disabled, so nothing can start it. Masking works
# whether or not the package is installed.
step "mask firewalld" systemctl mask firewalld.service
