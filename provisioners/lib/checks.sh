# shellcheck shell=bash
# expect_* checks for validate.sh. Each records a failure instead of exiting, so one run lists every
# problem; report_checks fails the step when any check failed.

CHECK_FAILURES=()
CHECK_COUNT=0

pass() {
  CHECK_COUNT=$((CHECK_COUNT + 1))
}

fail() {
  CHECK_COUNT=$((CHECK_COUNT + 1))
  CHECK_FAILURES+=("$*")
  log "FAIL: $*"
}

report_checks() {
  if ((${#CHECK_FAILURES[@]} > 0)); then
    die "${#CHECK_FAILURES[@]} of ${CHECK_COUNT} checks failed: $(printf '%s; ' "${CHECK_FAILURES[@]}")"
  fi
  log "all ${CHECK_COUNT} checks passed"
}

# expect_no_match GLOB... : no path matches any of the globs.
expect_no_match() {
  local pattern path found
  for pattern in "$@"; do
    found=()
    for path in ${pattern}; do
      [[ -e ${path} || -L ${path} ]] && found+=("${path}")
    done
    if ((${#found[@]} > 0)); then fail "must not exist: ${found[*]}"; else pass; fi
  done
}

expect_empty_file() {
  if [[ -f $1 && ! -s $1 ]]; then pass; else fail "$1 must exist and be empty"; fi
}

expect_empty_dir() {
  if [[ ! -d $1 ]] || [[ -z $(find "$1" -mindepth 1 -print -quit) ]]; then pass; else fail "$1 must be empty"; fi
}

expect_executable() {
  local path
  for path in "$@"; do
    if [[ -f ${path} && -x ${path} ]]; then pass; else fail "${path} must be an executable file"; fi
  done
}

expect_file_line() {
  if [[ -f $1 ]] && grep -qxF -- "$2" "$1"; then pass; else fail "$1 must contain the line '$2'"; fi
}

expect_file_contains() {
  if [[ -f $1 ]] && grep -qF -- "$2" "$1"; then pass; else fail "$1 must contain '$2'"; fi
}

# expect_output SUBSTRING COMMAND... : the command succeeds and its output contains SUBSTRING.
expect_output() {
  local wanted=$1 output
  shift
  if output=$("$@" 2>&1) && [[ ${output} == *"${wanted}"* ]]; then
    pass
  else
    fail "'$*' must report '${wanted}' (got '${output%%$'\n'*}')"
  fi
}

expect_unit_enabled() {
  local state
  state=$(systemctl is-enabled "$1" 2>/dev/null) || true
  if [[ ${state} == enabled ]]; then pass; else fail "$1 must be enabled (is '${state}')"; fi
}

expect_unit_not_enabled() {
  local state
  state=$(systemctl is-enabled "$1" 2>/dev/null) || true
  if [[ ${state} != enabled && -f /etc/systemd/system/$1 ]]; then pass; else fail "$1 must be installed and not enabled (is '${state}')"; fi
}

expect_unit_masked() {
  if [[ $(readlink "/etc/systemd/system/$1") == /dev/null ]]; then pass; else fail "$1 must be masked (linked to /dev/null)"; fi
}

expect_packages() {
  local package
  for package in "$@"; do
    if rpm -q "${package}" >/dev/null 2>&1; then pass; else fail "package ${package} must be installed"; fi
  done
}

expect_modules_loaded() {
  local loaded module
  loaded=$(lsmod | awk 'NR > 1 { print $1 }')
  for module in "$@"; do
    if grep -qx "${module}" <<<"${loaded}" || [[ -d /sys/module/${module} ]]; then pass; else fail "module ${module} must be loaded"; fi
  done
}

# expect_sysctl KEY VALUE : the value systemd-sysctl will apply at boot (last assignment wins, files
# ordered by name across /etc, /run and /usr/lib with /etc overriding files of the same name).
expect_sysctl() {
  local key=$1 wanted=$2 value="" dir file name line k v
  declare -A files=()
  for dir in /usr/lib/sysctl.d /run/sysctl.d /etc/sysctl.d; do
    for file in "${dir}"/*.conf; do
      [[ -e ${file} ]] && files[${file##*/}]=${file}
    done
  done
  while IFS= read -r name; do
    [[ -n ${name} ]] || continue
    while IFS= read -r line || [[ -n ${line} ]]; do
      [[ ${line} =~ ^[[:space:]]*[-]?([a-z0-9_./-]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])[[:space:]]*$ ]] || continue
      k=${BASH_REMATCH[1]//\//.}
      v=${BASH_REMATCH[2]}
      [[ ${k} == "${key}" ]] && value=${v}
    done <"${files[${name}]}"
  done < <(printf '%s\n' "${!files[@]}" | sort)
  if [[ ${value} == "${wanted}" ]]; then pass; else fail "sysctl ${key} must be ${wanted} at boot (configured: '${value}')"; fi
}

expect_selinux_context() {
  local path=$1 type=$2 context
  context=$(matchpathcon -n "${path}" 2>&1) || true
  if [[ ${context} == *":${type}:"* ]]; then pass; else fail "${path} must be labelled ${type} (matchpathcon: ${context})"; fi
}
