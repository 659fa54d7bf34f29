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

# Files the build generated on the host (docs/provisioner-contract.md): the max-pods table bootstrap.sh reads,
# computed from EC2 DescribeInstanceTypes in the build region.
install_generated() {
  local table="${WORK_DIR}/generated/eni-max-pods.txt"
  [[ -s ${table} ]] || die "${table} is missing or empty: the template uploads the generated max-pods table"
  install -D -o root -g root -m 0644 "${table}" /etc/eks/eni-max-pods.txt
  log "installed /etc/eks/eni-max-pods.txt ($(grep -cv '^#' "${table}") instance types)"
}

step "install the max-pods table" install_generated
