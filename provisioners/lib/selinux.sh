# shellcheck shell=bash
# The SELinux file contexts this build sets: "path regex|type|path to relabel". Used by selinux-labels.sh
# to write the rules and by validate.sh to check them with matchpathcon.
# shellcheck disable=SC2034 # read by the scripts that source this file
SELINUX_LABELS=(
  "/usr/bin/kubelet|kubelet_exec_t|/usr/bin/kubelet"
  "/usr/bin/containerd|container_runtime_exec_t|/usr/bin/containerd"
  "/usr/bin/containerd-shim-runc-v2|container_runtime_exec_t|/usr/bin/containerd-shim-runc-v2"
  "/usr/sbin/runc|container_runtime_exec_t|/usr/sbin/runc"
  "/usr/bin/ctr|bin_t|/usr/bin/ctr"
  "/usr/bin/aws-iam-authenticator|bin_t|/usr/bin/aws-iam-authenticator"
  "/etc/eks/image-credential-provider/ecr-credential-provider|bin_t|/etc/eks/image-credential-provider/ecr-credential-provider"
  "/opt/cni/bin(/.*)?|bin_t|/opt/cni/bin"
  "/usr/local/aws-cli(/.*)?|bin_t|/usr/local/aws-cli"
  "/etc/systemd/system/containerd.service|systemd_unit_file_t|/etc/systemd/system/containerd.service"
  "/etc/systemd/system/kubelet.service|systemd_unit_file_t|/etc/systemd/system/kubelet.service"
)
