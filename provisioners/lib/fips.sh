# shellcheck shell=bash
# FIPS mode checks for fips-preflight.sh, fips.sh, fips-check.sh and validate.sh. Sourced after common.sh.

# What the running kernel reports: 1 only when it was booted with fips=1 (RHEL 8/9: after fips-mode-setup
# --enable and a reboot; RHEL 10: only when the system was installed in FIPS mode).
readonly FIPS_KERNEL_FLAG=/proc/sys/crypto/fips_enabled

# fips_configurable : true where FIPS mode can be switched on after installation (fips-mode-setup, RHEL 8/9).
# RHEL 10 removed fips-mode-setup: FIPS mode is chosen when the system is installed, never later.
fips_configurable() {
  [[ ${RHEL_VERSION:?RHEL_VERSION is not set} == 8 || ${RHEL_VERSION} == 9 ]]
}

# fips_mode_active : true when the kernel flag is 1 AND the system is configured for FIPS mode:
#   RHEL 8/9: fips-mode-setup --check reports "FIPS mode is enabled." (exit 0);
#   RHEL 10:  the system crypto policy (update-crypto-policies --show) is FIPS or FIPS:<subpolicy>.
# Leaves a one-line account of both in FIPS_REPORT for log and error messages.
fips_mode_active() {
  local report status=0 flag=missing configured
  if [[ -r ${FIPS_KERNEL_FLAG} ]]; then
    flag=$(<"${FIPS_KERNEL_FLAG}")
  fi
  if fips_configurable; then
    report=$(fips-mode-setup --check 2>&1) || status=$?
    configured=$( ((status == 0)) && grep -qx 'FIPS mode is enabled.' <<<"${report}" && echo yes || echo no)
    report="fips-mode-setup --check said '${report//$'\n'/ }' (exit ${status})"
  else
    report=$(update-crypto-policies --show 2>&1) || status=$?
    configured=$( ((status == 0)) && [[ ${report%%:*} == FIPS ]] && echo yes || echo no)
    report="the crypto policy is '${report//$'\n'/ }' (update-crypto-policies --show, exit ${status})"
  fi
  # shellcheck disable=SC2034 # read by the scripts that source this file
  FIPS_REPORT="${report}; ${FIPS_KERNEL_FLAG} is ${flag}"
  [[ ${configured} == yes && ${flag} == 1 ]]
}
