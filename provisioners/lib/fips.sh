# shellcheck shell=bash
# FIPS mode checks for fips.sh, fips-check.sh and validate.sh. Sourced after common.sh.

# What the running kernel reports: 1 only when it was booted with fips=1 (after fips-mode-setup --enable
# and a reboot).
readonly FIPS_KERNEL_FLAG=/proc/sys/crypto/fips_enabled

# fips_mode_active : true when fips-mode-setup --check reports "FIPS mode is enabled." (exit 0) AND the
# kernel flag is 1. Leaves a one-line account of both in FIPS_REPORT for log and error messages.
fips_mode_active() {
  local report status=0 flag=missing
  report=$(fips-mode-setup --check 2>&1) || status=$?
  if [[ -r ${FIPS_KERNEL_FLAG} ]]; then
    flag=$(<"${FIPS_KERNEL_FLAG}")
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this file
  FIPS_REPORT="fips-mode-setup --check said '${report//$'\n'/ }' (exit ${status}); ${FIPS_KERNEL_FLAG} is ${flag}"
  ((status == 0)) && grep -qx 'FIPS mode is enabled.' <<<"${report}" && [[ ${flag} == 1 ]]
}
