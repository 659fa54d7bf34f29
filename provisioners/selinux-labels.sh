#!/usr/bin/env bash
# Labels the binaries and units this build installed (see lib/selinux.sh) with semanage fcontext rules,
# applies them with restorecon, relabels the directories the build created (restorecon -R), and checks the rules
# with matchpathcon -n and the labels the files actually carry with matchpathcon -V.
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
  local entry path optional
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ _ path optional <<<"${entry}"
    if [[ ! -e ${path} && -n ${optional} ]]; then
      log "${path} is not installed (optional)"
      continue
    fi
    [[ -e ${path} ]] || die "${path} is not installed; selinux-labels.sh runs after the install steps"
    restorecon -R -v "${path}"
  done
  for path in "${SELINUX_RELABEL_DIRS[@]}"; do
    if [[ -e ${path} ]]; then restorecon -R -v "${path}"; else log "${path} does not exist; nothing to relabel"; fi
  done
}

check() {
  local entry type path context mismatches
  for entry in "${SELINUX_LABELS[@]}"; do
    IFS='|' read -r _ type path _ <<<"${entry}"
    context=$(matchpathcon -n "${path}")
    [[ ${context} == *":${type}:"* ]] || die "matchpathcon ${path} gives ${context}, expected type ${type}"
  done
  # The labels the files actually carry, not only what the policy expects.
  mismatches=$(selinux_verify_actual) || die "files whose SELinux label is not the policy's: ${mismatches//$'\n'/; }"
}

step "add semanage fcontext rules" add_rules
step "restorecon the installed files and the build's directories" relabel
step "check the rules (matchpathcon -n) and the actual labels (matchpathcon -V)" check
