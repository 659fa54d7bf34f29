#!/usr/bin/env bash
# Labels the binaries and units this build installed (see lib/selinux.sh) with semanage fcontext rules,
# applies them with restorecon and checks each with matchpathcon.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/selinux.sh
source "${WORK_DIR}/lib/selinux.sh"
begin_step selinux-labels

add_rules() {
  local entry regex type
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r regex type _ <<<"${entry}"
    # -a fails when a local rule for the regex already exists; -m then updates it.
    semanage fcontext -a -t "${type}" "${regex}" 2>/dev/null || semanage fcontext -m -t "${type}" "${regex}"
  done
}

relabel() {
  local entry path
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ _ path <<<"${entry}"
    [[ -e ${path} ]] || die "${path} is not installed; selinux-labels.sh runs after the install steps"
    restorecon -R -v "${path}"
  done
}

check() {
  local entry type path context
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ type path <<<"${entry}"
    context=$(matchpathcon -n "${path}")
    [[ ${context} == *":${type}:"* ]] || die "matchpathcon ${path} gives ${context}, expected type ${type}"
  done
}

step "add semanage fcontext rules" add_rules
step "restorecon the installed files" relabel
step "check the contexts with matchpathcon" check
