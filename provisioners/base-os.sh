#!/usr/bin/env bash
# Installs what a worker needs from the RHEL repositories in one dnf transaction (signatures checked).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step base-os
require_one_of RHEL_VERSION 8 9

packages=(
  conntrack-tools ipvsadm ipset nftables socat ethtool iproute iproute-tc
  jq nfs-utils chrony container-selinux policycoreutils-python-utils
  pigz unzip tar gzip gnupg2 kernel-modules
)
# RHEL 9 ships the iptables front end to nftables as iptables-nft; RHEL 8 calls it iptables.
if [[ ${RHEL_VERSION} == 9 ]]; then
  packages+=(iptables-nft)
else
  packages+=(iptables)
fi

step "dnf install ${packages[*]}" dnf install -y --setopt=install_weak_deps=False "${packages[@]}"
