# shellcheck shell=bash
# Shared functions for the build steps. Each step sources this file from $WORK_DIR/lib (see
# docs/provisioner-contract.md); nothing here runs on its own.

# Messages go to stderr with a UTC timestamp and the step's name, so Packer's log reads as a timeline.
log() {
  printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "${STEP_NAME:-provisioner}" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# require_env NAME... : each variable must be set and non-empty.
require_env() {
  local name
  for name in "$@"; do
    [[ -n ${!name:-} ]] || die "environment variable ${name} is not set; the Packer template passes it (docs/provisioner-contract.md)"
  done
}

# require_defined NAME... : each variable must be set; empty is a valid value (e.g. BINARY_BUCKET_ENDPOINT).
require_defined() {
  local name
  for name in "$@"; do
    [[ -v ${name} ]] || die "environment variable ${name} is not set (it may be empty, but must be passed; docs/provisioner-contract.md)"
  done
}

# require_one_of NAME VALUE... : the variable must hold one of the listed values.
require_one_of() {
  local name=$1 allowed
  shift
  require_env "${name}"
  for allowed in "$@"; do
    [[ ${!name} == "${allowed}" ]] && return 0
  done
  die "${name}=${!name} is not allowed; expected one of: $*"
}

# step DESCRIPTION COMMAND [ARG...] : runs one unit of work and logs how long it took.
step() {
  local description=$1 started=${SECONDS}
  shift
  log "${description} ..."
  "$@"
  log "${description}: done in $((SECONDS - started))s"
}

# begin_step NAME : names the script in log lines and reports its total duration and outcome on exit.
begin_step() {
  STEP_NAME=$1
  STEP_STARTED=${SECONDS}
  log "started"
  trap 'finish_step $?' EXIT
  confirm_reboot
}

finish_step() {
  local status=$1
  if ((status == 0)); then
    log "finished in $((SECONDS - STEP_STARTED))s"
  else
    log "FAILED with status ${status} after $((SECONDS - STEP_STARTED))s"
  fi
}

# The step's scratch space on the instance. Never /tmp: hardened bases mount it noexec.
scratch_dir() {
  local dir="${WORK_DIR}/scratch/$1"
  install -d -m 0700 "${dir}"
  printf '%s\n' "${dir}"
}

# The kernel's id of the current boot: a new one after every restart (systemd-nspawn gives each container boot
# its own, so the rehearsal's reboots count too).
readonly BOOT_ID_FILE=/proc/sys/kernel/random/boot_id

# confirm_reboot : the first step after reboot.sh checks that the instance really restarted (a new boot id)
# before the reboot marker is removed; if it did not, the build stops here instead of going on unrebooted.
confirm_reboot() {
  local pending="${WORK_DIR}/reboot-pending" before now
  [[ -f ${pending} ]] || return 0
  before=$(<"${pending}")
  now=$(cat "${BOOT_ID_FILE}" 2>/dev/null) || die "cannot read ${BOOT_ID_FILE} to confirm the reboot reboot.sh asked for"
  [[ ${now} != "${before}" ]] ||
    die "reboot.sh asked for a reboot ($(paste -sd ';' "${WORK_DIR}/reboot-required" 2>/dev/null)) but the instance has not restarted (boot id ${now} unchanged)"
  rm -f "${WORK_DIR}/reboot-required" "${pending}"
  log "reboot confirmed (boot id ${before} -> ${now})"
}

# mark_reboot REASON : asks reboot.sh to restart the instance before later steps run.
mark_reboot() {
  printf '%s\n' "$1" >>"${WORK_DIR}/reboot-required"
  log "reboot required: $1"
}
