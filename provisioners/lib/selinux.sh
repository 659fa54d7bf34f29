# shellcheck shell=bash
# The SELinux file contexts this build sets: "path regex|type|path to relabel[|optional]". Used by
# selinux-labels.sh to write the rules and by validate.sh to check them with matchpathcon. An optional path may
# be absent (aws-iam-authenticator, when the EKS bucket does not carry it for the build).
# shellcheck disable=SC2034 # read by the scripts that source this file
SELINUX_LABELS=(
  "/usr/bin/kubelet|kubelet_exec_t|/usr/bin/kubelet"
  "/usr/bin/containerd|container_runtime_exec_t|/usr/bin/containerd"
  "/usr/bin/containerd-shim-runc-v2|container_runtime_exec_t|/usr/bin/containerd-shim-runc-v2"
  "/usr/sbin/runc|container_runtime_exec_t|/usr/sbin/runc"
  "/usr/bin/ctr|bin_t|/usr/bin/ctr"
  "/usr/bin/aws-iam-authenticator|bin_t|/usr/bin/aws-iam-authenticator|optional"
  "/etc/eks/image-credential-provider/ecr-credential-provider|bin_t|/etc/eks/image-credential-provider/ecr-credential-provider"
  "/opt/cni/bin(/.*)?|bin_t|/opt/cni/bin"
  "/usr/local/aws-cli(/.*)?|bin_t|/usr/local/aws-cli"
  "/etc/systemd/system/containerd.service|systemd_unit_file_t|/etc/systemd/system/containerd.service"
  "/etc/systemd/system/kubelet.service|systemd_unit_file_t|/etc/systemd/system/kubelet.service"
)

# Directories the build creates or fills, relabelled recursively (restorecon -R) after the last of them is
# written, so their files carry the policy's types rather than whatever they inherited when created.
SELINUX_RELABEL_DIRS=(
  /etc/containerd
  /etc/kubernetes
  /var/lib/kubelet
  /etc/eks
  /opt/cni
  /etc/cni
  /etc/NetworkManager/conf.d
  /etc/sysctl.d
  /etc/modules-load.d
)

# selinux_labelled_paths : every path the build labels, one a line (the label list's paths and everything in
# the relabelled directories), for matchpathcon -V.
selinux_labelled_paths() {
  local entry path
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ _ path _ <<<"${entry}"
    [[ -e ${path} ]] && find "${path}" -xdev
  done
  for path in "${SELINUX_RELABEL_DIRS[@]}"; do
    [[ -e ${path} ]] && find "${path}" -xdev
  done
  return 0
}

# selinux_verify_actual : matchpathcon -V on every labelled path: the label each file ACTUALLY has must be the
# one the policy (with this build's rules) gives it. Prints the mismatches; fails when there is one.
selinux_verify_actual() {
  local output
  if output=$(selinux_labelled_paths | sort -u | xargs -r -d '\n' matchpathcon -V 2>&1); then
    return 0
  fi
  grep -v ' verified\.$' <<<"${output}"
  return 1
}
