# shellcheck shell=bash
# kube-proxy data planes the image is ready for (KUBE_PROXY_MODES, from data/kube-proxy-modes.json through the
# plan). Sourced by validate.sh after lib/checks.sh. IPVS readiness (modules, ipvsadm, ipset) is checked with the
# kernel and packages on every image; nftables mode additionally needs what kube-proxy itself checks before it
# starts in that mode: kernel >= 5.13 and nft >= 1.0.1 (the same numbers as data/kube-proxy-modes.json; a unit
# test keeps them equal).

readonly NFTABLES_MIN_KERNEL=5.13
readonly NFTABLES_MIN_NFT=1.0.1

# version_at_least HAVE WANT : dotted numeric comparison (5.14.0-503.el9.x86_64 counts as 5.14.0).
version_at_least() {
  local have=${1%%[!0-9.]*} want=$2
  [[ -n ${have} ]] || return 1
  [[ $(printf '%s\n%s\n' "${want}" "${have}" | sort -V | head -n 1) == "${want}" ]]
}

# nft_version : "1.0.9" from "nftables v1.0.9 (Old Doc Yago)"; empty when nft is missing.
nft_version() {
  local out
  out=$(nft --version 2>/dev/null) || return 0
  [[ ${out} =~ v([0-9]+(\.[0-9]+)*) ]] && printf '%s' "${BASH_REMATCH[1]}"
}

check_nftables_ready() {
  local kernel nft
  kernel=$(uname -r)
  if version_at_least "${kernel}" "${NFTABLES_MIN_KERNEL}"; then
    pass
  else
    fail "kube-proxy nftables mode needs kernel >= ${NFTABLES_MIN_KERNEL}; this image runs ${kernel}"
  fi
  nft=$(nft_version)
  if [[ -z ${nft} ]]; then
    fail "kube-proxy nftables mode needs nft >= ${NFTABLES_MIN_NFT}; nft is not installed (package nftables)"
  elif version_at_least "${nft}" "${NFTABLES_MIN_NFT}"; then
    pass
  else
    fail "kube-proxy nftables mode needs nft >= ${NFTABLES_MIN_NFT}; this image has nft ${nft}"
  fi
}

# check_kube_proxy_modes : every mode in KUBE_PROXY_MODES is known and, for nftables, ready; an image without
# nftables says so in the build log.
check_kube_proxy_modes() {
  local mode nftables=false
  for mode in ${KUBE_PROXY_MODES}; do
    case ${mode} in
      ipvs) pass ;; # modules, ipvsadm and ipset are checked with the kernel and the packages
      nftables)
        nftables=true
        check_nftables_ready
        ;;
      *) fail "KUBE_PROXY_MODES lists an unknown kube-proxy mode: ${mode}" ;;
    esac
  done
  if [[ ${nftables} == false ]]; then
    log "this image is NOT ready for kube-proxy nftables mode (kernel $(uname -r); nftables mode needs kernel >= ${NFTABLES_MIN_KERNEL} and nft >= ${NFTABLES_MIN_NFT}): run kube-proxy in ipvs or iptables mode on its nodes"
  fi
}
