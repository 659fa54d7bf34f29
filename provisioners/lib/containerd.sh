# shellcheck shell=bash
# containerd at build time, for sandbox-image.sh and validate.sh: started through its unit when it is not
# running, stopped again by whoever started it, and the pause (sandbox) image's place in its store. Sourced
# after common.sh.

# shellcheck disable=SC2034 # read by the scripts that source this file
readonly CRI_NAMESPACE=k8s.io
# The label kubelet's image garbage collection honours (containerd's CRI "pinned" image label).
# shellcheck disable=SC2034
readonly PINNED_LABEL=io.cri-containerd.pinned=pinned
# The export of the pause image kept on the image, for bootstrap.sh to re-import should it ever be missing.
# shellcheck disable=SC2034
readonly PAUSE_IMAGE_ARCHIVE=/etc/eks/pause-image.tar

CONTAINERD_STARTED_HERE=false
CONTAINERD_PID=""

# containerd_answers : the daemon is up and serving its socket.
containerd_answers() {
  ctr version >/dev/null 2>&1
}

# containerd_ensure_running : starts containerd unless it already answers, and waits for it. Through its unit
# on a booted system; in a chroot without systemd (the provisioner tests' sandbox) the daemon is run directly.
containerd_ensure_running() {
  local waited=0
  containerd_answers && return 0
  if [[ -d /run/systemd/system ]]; then
    log "starting containerd.service for this step"
    systemctl start containerd.service ||
      die "containerd.service did not start: $(systemctl status containerd.service --no-pager 2>&1 | tail -n 5 | paste -sd ' ')"
  else
    log "no systemd running (a chroot): starting /usr/bin/containerd directly for this step"
    /usr/bin/containerd >/dev/null 2>&1 &
    CONTAINERD_PID=$!
  fi
  CONTAINERD_STARTED_HERE=true
  until containerd_answers; do
    ((waited < 30)) || die "containerd was started but ctr cannot reach it after 30 s"
    sleep 1
    waited=$((waited + 1))
  done
}

# containerd_stop_if_started : leaves containerd as the step found it (the image ships it stopped, enabled).
containerd_stop_if_started() {
  [[ ${CONTAINERD_STARTED_HERE} == true ]] || return 0
  if [[ -n ${CONTAINERD_PID} ]]; then
    kill "${CONTAINERD_PID}" 2>/dev/null || true
    wait "${CONTAINERD_PID}" 2>/dev/null || true
  else
    systemctl stop containerd.service
  fi
  CONTAINERD_STARTED_HERE=false
  log "stopped containerd again"
}

# image_labels REF : the labels column of `ctr images ls` for REF (empty when REF is not in the store).
image_labels() {
  ctr --namespace "${CRI_NAMESPACE}" images ls "name==$1" 2>/dev/null | awk -v ref="$1" 'NR > 1 && $1 == ref { print $NF }'
}
