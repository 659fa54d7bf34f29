#!/usr/bin/env bash
# The last step: fails the build unless the image is clean and the node software is in place. Reads as a
# checklist; every failed check is listed. Deletes $WORK_DIR at the very end.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/checks.sh
source "${WORK_DIR}/lib/checks.sh"
# shellcheck source=lib/selinux.sh
source "${WORK_DIR}/lib/selinux.sh"
# shellcheck source=lib/fips.sh
source "${WORK_DIR}/lib/fips.sh"
# shellcheck source=lib/stig.sh
source "${WORK_DIR}/lib/stig.sh"
# shellcheck source=lib/containerd.sh
source "${WORK_DIR}/lib/containerd.sh"
# shellcheck source=lib/kube-proxy.sh
source "${WORK_DIR}/lib/kube-proxy.sh"
begin_step validate
require_env KUBERNETES_VERSION CONTAINERD_VERSION RUNC_VERSION PAUSE_IMAGE IPVS_MODULES KUBE_PROXY_MODES
require_one_of RHEL_VERSION 8 9 10
require_one_of VARIANT standard stig
read -r -a ipvs_modules <<<"${IPVS_MODULES}"

check_clean() {
  expect_no_match '/etc/ssh/ssh_host_*' /root/.bash_history '/home/*/.bash_history'
  expect_empty_file /etc/machine-id
  expect_no_match /var/lib/cloud/instances /var/lib/cloud/instance '/var/log/cloud-init*.log' '/var/log/dnf*.log'
  expect_no_match '/var/lib/dnf/history.sqlite*'
  expect_empty_dir /var/cache/dnf
  expect_no_match "${WORK_DIR}/reboot-required" "${WORK_DIR}/scratch" "${WORK_DIR}/rootfs"
}

check_kernel() {
  expect_output "/boot/vmlinuz-$(uname -r)" grubby --default-kernel
  if [[ ${RHEL_VERSION} == 8 ]]; then
    expect_output systemd.unified_cgroup_hierarchy=1 grubby --info=DEFAULT
  fi
  expect_file_line /etc/modules-load.d/containerd.conf overlay
  expect_file_line /etc/modules-load.d/containerd.conf br_netfilter
  if [[ $(grep -Ev '^[[:space:]]*(#|$)' /etc/modules-load.d/ipvs.conf 2>/dev/null) == "$(printf '%s\n' "${ipvs_modules[@]}")" ]]; then
    pass
  else
    fail "/etc/modules-load.d/ipvs.conf must list exactly: ${ipvs_modules[*]}"
  fi
  expect_modules_loaded overlay br_netfilter "${ipvs_modules[@]}"
  expect_sysctl net.ipv4.ip_forward 1
  expect_sysctl net.bridge.bridge-nf-call-iptables 1
  expect_sysctl net.bridge.bridge-nf-call-ip6tables 1
  expect_sysctl vm.overcommit_memory 1
  expect_sysctl kernel.panic 10
  expect_sysctl kernel.panic_on_oops 1
  expect_sysctl net.ipv4.ip_local_reserved_ports 2703,9808,9809,10249,10250,10256,61678,61679
}

check_packages() {
  expect_packages conntrack-tools ipvsadm ipset socat ethtool container-selinux policycoreutils-python-utils amazon-ssm-agent
}

check_runtime() {
  expect_executable /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/sbin/runc
  expect_executable /opt/cni/bin/loopback /opt/cni/bin/bridge /opt/cni/bin/host-local /opt/cni/bin/portmap
  expect_output "v${CONTAINERD_VERSION}" /usr/bin/containerd --version
  expect_output "runc version ${RUNC_VERSION}" /usr/sbin/runc --version
  expect_file_line /etc/containerd/config.toml 'SystemdCgroup = true'
  expect_file_contains /etc/containerd/config.toml "\"${PAUSE_IMAGE}\""
  expect_file_line /etc/containerd/config.toml 'imports = ["/etc/containerd/config.d/*.toml"]'
  if [[ -d /etc/containerd/config.d ]]; then pass; else fail "/etc/containerd/config.d must exist (containerd config fragments)"; fi
  expect_file_line /etc/containerd/config.toml 'base_runtime_spec = "/etc/containerd/base-runtime-spec.json"'
  if jq -e '.process.rlimits[] | select(.type == "RLIMIT_NOFILE" and .soft == 65536 and .hard == 1048576)' /etc/containerd/base-runtime-spec.json >/dev/null 2>&1; then
    pass
  else
    fail "/etc/containerd/base-runtime-spec.json must set RLIMIT_NOFILE soft 65536, hard 1048576"
  fi
  expect_unit_enabled containerd.service
  expect_unit_enabled cni-cache-reset.service
  check_sandbox_image
}

# The pause image in containerd's store, pinned, and its export for bootstrap.sh (sandbox-image.sh).
check_sandbox_image() {
  local labels
  if [[ -s ${PAUSE_IMAGE_ARCHIVE} ]]; then pass; else fail "${PAUSE_IMAGE_ARCHIVE} must hold the exported pause image"; fi
  containerd_ensure_running
  labels=$(image_labels "${PAUSE_IMAGE}")
  if [[ -z ${labels} ]]; then
    fail "${PAUSE_IMAGE} must be in containerd's store (namespace ${CRI_NAMESPACE}); sandbox-image.sh pulls it"
  elif [[ ${labels} != *"${PINNED_LABEL}"* ]]; then
    fail "${PAUSE_IMAGE} must be labelled ${PINNED_LABEL} (has: ${labels})"
  else
    pass
  fi
  containerd_stop_if_started
}

check_kubernetes() {
  expect_executable /usr/bin/kubelet /etc/eks/image-credential-provider/ecr-credential-provider
  # Optional: bootstrap.sh uses the AWS CLI when the EKS bucket had no aws-iam-authenticator for this build.
  [[ ! -e /usr/bin/aws-iam-authenticator ]] || expect_executable /usr/bin/aws-iam-authenticator
  expect_output "Kubernetes v${KUBERNETES_VERSION}" /usr/bin/kubelet --version
  expect_unit_not_enabled kubelet.service
  expect_file_contains /etc/eks/image-credential-provider/config.json '*.dkr.ecr-fips.*.amazonaws.com'
  expect_file_contains /etc/eks/image-credential-provider/config.json '*.dkr-ecr.*.on.aws'
  expect_file_contains /etc/eks/ecr-accounts.txt 'us-west-2 602401143452'
  expect_output aws-cli/2 /usr/local/bin/aws --version
  expect_unit_enabled amazon-ssm-agent.service
  expect_executable /etc/eks/bootstrap.sh /usr/local/bin/eks-nodeconfig
  expect_unit_enabled eks-nodeconfig.service
  # Any instance type will do (regions offer different ones): "<type> <max pods> <max pods with prefix delegation>".
  if grep -Eq '^[a-z0-9-]+\.[a-z0-9-]+ [0-9]+ [0-9]+$' /etc/eks/eni-max-pods.txt 2>/dev/null; then pass; else fail "/etc/eks/eni-max-pods.txt must list instance types with two max-pods columns"; fi
}

check_rhel() {
  expect_unit_masked nm-cloud-setup.service
  expect_unit_masked nm-cloud-setup.timer
  expect_file_contains /etc/NetworkManager/conf.d/90-eks-unmanaged-devices.conf 'interface-name:veth*;interface-name:eni*;interface-name:vlan*;interface-name:eth*;except:interface-name:eth0'
  expect_unit_masked firewalld.service
  expect_file_line /etc/selinux/config SELINUX=enforcing
  local entry type path optional mismatches
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ type path optional <<<"${entry}"
    [[ -n ${optional} && ! -e ${path} ]] && continue
    expect_selinux_context "${path}" "${type}"
  done
  if mismatches=$(selinux_verify_actual); then pass; else fail "SELinux labels on disk differ from the policy's (matchpathcon -V): ${mismatches//$'\n'/; }"; fi
  expect_file_contains /etc/chrony.d/amazon-time-sync.conf 'server 169.254.169.123 '
  expect_file_contains /etc/chrony.d/amazon-time-sync.conf 'server fd00:ec2::123 '
  expect_file_line /etc/chrony.conf 'confdir /etc/chrony.d'
}

check_ssh() {
  expect_file_line /etc/ssh/sshd_config.d/10-eks-hardening.conf 'PermitRootLogin no'
  expect_output EKS-SSH update-crypto-policies --show
}

# STIG variant: FIPS mode in effect, the FIPS policy still carrying the EKS-SSH subpolicy after the
# remediation, and the scan's score file (kept by cleanup.sh for this check; downloaded after stig-scan.sh).
check_stig() {
  if fips_mode_active; then pass; else fail "FIPS mode must be in effect: ${FIPS_REPORT}"; fi
  expect_output FIPS:EKS-SSH update-crypto-policies --show
  if jq -e --arg profile "${STIG_PROFILE}" '(.score | type == "number") and .profile == $profile' "${WORK_DIR}/${STIG_SCORE}" >/dev/null 2>&1; then
    pass
  else
    fail "${WORK_DIR}/${STIG_SCORE} must exist with the score of the ${STIG_PROFILE} scan (stig-scan.sh)"
  fi
}

step "image is clean" check_clean
step "kernel, modules and sysctls" check_kernel
step "packages" check_packages
step "kube-proxy modes: ${KUBE_PROXY_MODES}" check_kube_proxy_modes
step "container runtime" check_runtime
step "Kubernetes and AWS tools" check_kubernetes
step "RHEL networking and SELinux" check_rhel
step "sshd" check_ssh
if [[ ${VARIANT} == stig ]]; then
  step "STIG: FIPS mode, crypto policy, scan score" check_stig
fi
report_checks

# Last: the build's working directory (this script and lib/ live there; bash already read them).
rm -rf "${WORK_DIR}"
[[ ! -e ${WORK_DIR} ]] || die "${WORK_DIR} could not be removed"
log "removed ${WORK_DIR}"
