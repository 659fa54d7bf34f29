#!/usr/bin/env bash
# Builds the initramfs for the IPVS kernel test: busybox-static, kmod (modprobe/lsmod), ipvsadm with the
# shared libraries ldd reports, the .ko files of the listed modules and of everything they depend on
# (depmod'ed), the guest /init and the two lists it reads.
#
# Environment (all required):
#   KVER         kernel release, e.g. 6.1.0-56-amd64
#   KERNEL_ROOT  directory holding lib/modules/$KVER ("/" for the installed kernel)
#   MODULES      module names, whitespace separated, in load order
#   SCHEDULERS   IPVS scheduler names, whitespace separated
#   GUEST_INIT   the script that becomes /init
#   OUT          gzip'ed newc cpio to write (written atomically)
#
# A module that the host cannot resolve is logged and left out: the guest then reports it as failed,
# which is what the test asserts on.
set -euo pipefail

: "${KVER:?}" "${KERNEL_ROOT:?}" "${MODULES:?}" "${SCHEDULERS:?}" "${GUEST_INIT:?}" "${OUT:?}"

started=$(date +%s%N)
log() { printf 'build-initramfs: %s\n' "$*" >&2; }

read -ra modules <<<"$MODULES"
read -ra schedulers <<<"$SCHEDULERS"
moddir="${KERNEL_ROOT%/}/lib/modules/$KVER"
if [[ ! -f "$moddir/modules.dep" ]]; then
  log "no $moddir/modules.dep"
  exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/ipvs-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,usr/bin,usr/sbin,etc/ipvs-test,dev,proc,sys,tmp,lib/modules/"$KVER"}

# Copy a host file to the same path inside the stage (following symlinks).
copy_same_path() {
  mkdir -p "$stage$(dirname "$1")"
  cp -L "$1" "$stage$1"
}

# Copy an executable's shared libraries and its ELF interpreter; static binaries have none.
copy_libs() {
  local lib
  ldd "$1" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
    [[ -e "$stage$lib" ]] || copy_same_path "$lib"
  done || true
}

busybox=$(command -v busybox)
kmod=$(command -v kmod)
ipvsadm=$(command -v ipvsadm)

cp -L "$busybox" "$stage/bin/busybox"
copy_libs "$busybox"
for applet in sh mount cat grep echo tr sleep poweroff uname printf head; do
  ln -s busybox "$stage/bin/$applet"
done

cp -L "$kmod" "$stage/usr/bin/kmod"
copy_libs "$kmod"
ln -s ../bin/kmod "$stage/usr/sbin/modprobe"
ln -s ../bin/kmod "$stage/usr/sbin/lsmod"

cp -L "$ipvsadm" "$stage/usr/sbin/ipvsadm"
copy_libs "$ipvsadm"

# Modules and their dependencies (hard and soft), as the host's modprobe resolves them.
missing=()
for module in "${modules[@]}"; do
  if ! plan=$(modprobe --show-depends -S "$KVER" -d "$KERNEL_ROOT" "$module" 2>&1); then
    log "cannot resolve '$module' for $KVER: $plan"
    missing+=("$module")
    continue
  fi
  while read -r verb path _; do
    [[ "$verb" == insmod ]] || continue # "builtin <name>" needs no file
    rel="${path#*/lib/modules/"$KVER"/}"
    mkdir -p "$stage/lib/modules/$KVER/$(dirname "$rel")"
    cp "$moddir/$rel" "$stage/lib/modules/$KVER/$rel"
  done <<<"$plan"
done
for meta in modules.order modules.builtin modules.builtin.modinfo; do
  [[ -f "$moddir/$meta" ]] && cp "$moddir/$meta" "$stage/lib/modules/$KVER/"
done
depmod -b "$stage" "$KVER"

printf '%s\n' "${modules[@]}" >"$stage/etc/ipvs-test/modules"
printf '%s\n' "${schedulers[@]}" >"$stage/etc/ipvs-test/schedulers"
install -m 0755 "$GUEST_INIT" "$stage/init"
# An initial console for /init; without root the guest mounts devtmpfs first and reopens it.
mknod -m 0600 "$stage/dev/console" c 5 1 2>/dev/null || true

mkdir -p "$(dirname "$OUT")"
tmp_out="$OUT.tmp.$$"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$tmp_out"
mv -f "$tmp_out" "$OUT"

elapsed_ms=$((($(date +%s%N) - started) / 1000000))
log "wrote $OUT ($(stat -c %s "$OUT") bytes, $(find "$stage/lib/modules" -name '*.ko*' | wc -l) module files, unresolved: ${missing[*]:-none}) in ${elapsed_ms} ms"
