#!/usr/bin/env bash
# Lays the repository's rootfs/ tree (uploaded to $WORK_DIR/rootfs) onto /. Templates (*.tmpl) are
# rendered by the step that owns them. Files under a bin/ directory and *.sh are executable.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
begin_step rootfs

source_dir="${WORK_DIR}/rootfs"
[[ -d ${source_dir} ]] || die "${source_dir} is missing: the template uploads rootfs/ there before the first step"

install_tree() {
  local file target mode count=0
  while IFS= read -r -d '' file; do
    file=${file#./}
    target="/${file}"
    mode=0644
    [[ ${file} == */bin/* || ${file} == *.sh ]] && mode=0755
    install -D -o root -g root -m "${mode}" "${source_dir}/${file}" "${target}"
    count=$((count + 1))
  done < <(cd "${source_dir}" && find . -type f ! -name '*.tmpl' -print0 | sort -z)
  log "installed ${count} files"
}

step "install rootfs files" install_tree
# Joins the node from NodeConfig user data at boot (does nothing for bootstrap.sh user data).
step "enable eks-nodeconfig.service" systemctl enable eks-nodeconfig.service
# Clears the CNI results cache at every boot, before containerd and kubelet start.
step "enable cni-cache-reset.service" systemctl enable cni-cache-reset.service

# Files the build generated on the host (docs/provisioner-contract.md): the max-pods table bootstrap.sh reads,
# computed from EC2 DescribeInstanceTypes in the build region; the ECR account per region (bootstrap.sh's
# pause image for another region) and the kubelet image credential provider configuration for this Kubernetes
# minor, both rendered from data/ (src/render/image-files.ts) so the host side and the image share one source.
install_generated_file() {
  local name=$1 target=$2 source="${WORK_DIR}/generated/$1"
  [[ -s ${source} ]] || die "${source} is missing or empty: the template uploads the build's generated/ files"
  install -D -o root -g root -m 0644 "${source}" "${target}"
  log "installed ${target} ($(grep -cv '^#' "${source}") lines)"
}

install_generated() {
  install_generated_file eni-max-pods.txt /etc/eks/eni-max-pods.txt
  install_generated_file ecr-accounts.txt /etc/eks/ecr-accounts.txt
  install_generated_file ecr-credential-provider-config.json /etc/eks/image-credential-provider/config.json
  jq -e '.providers[0].matchImages | length > 0' /etc/eks/image-credential-provider/config.json >/dev/null ||
    die "/etc/eks/image-credential-provider/config.json has no matchImages"
}

step "install the generated files" install_generated
