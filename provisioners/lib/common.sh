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

# mark_reboot REASON : asks reboot.sh to restart the instance before later steps run.
mark_reboot() {
  printf '%s\n' "$1" >>"${WORK_DIR}/reboot-required"
  log "reboot required: $1"
}
