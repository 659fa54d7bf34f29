#!/usr/bin/env bash
# Installs what a worker needs from the RHEL repositories in one dnf transaction (signatures checked).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step base-os
require_one_of RHEL_VERSION 8 9 10

# One package a line, so additions merge cleanly.
packages=(
  conntrack-tools
  ipvsadm
  # kube-proxy's IPVS mode calls ipset. RHEL 10 deprecates ipset but still ships it; images keep IPVS working.
  ipset
  nftables
  socat
  ethtool
  iproute
  iproute-tc
  jq
  # PyYAML for /etc/eks/nodeconfig.py (NodeConfig user data); cloud-init depends on it too, but not every base has cloud-init.
  python3-pyyaml
  nfs-utils
  chrony
  container-selinux
  policycoreutils-python-utils
  pigz
  unzip
  tar
  gzip
  gnupg2
  kernel-modules
)
case ${RHEL_VERSION} in
  # RHEL 8 calls the iptables front end iptables (nft backend).
  8) packages+=(iptables) ;;
  9) packages+=(iptables-nft) ;;
  # RHEL 10 moved netfilter compat modules (nft_compat, xt_CT, …) that iptables-nft users such as kubelet and
  # the VPC CNI load to kernel-modules-extra. No iptables-services/iptables-nft-services (deprecated; nothing
  # here uses them).
  10) packages+=(iptables-nft kernel-modules-extra) ;;
esac

step "dnf install ${packages[*]}" dnf install -y --setopt=install_weak_deps=False "${packages[@]}"
