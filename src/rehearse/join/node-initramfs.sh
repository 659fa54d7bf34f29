#!/usr/bin/env bash
# Builds the node's initramfs: busybox-static, the modules that mount an ext4 root on virtio-blk, and the NIC's
# and entropy source's drivers (with what they depend on, in load order), and node-init.sh as /init. The
# drivers stay loaded after switch_root: the rehearsal's root has no udev to load them (RHEL's does). Debian's own initrd works too but costs ~6 s more under
# TCG (a 30 MB image to unpack, udev to settle).
#
# Environment (all required):
#   KVER        kernel release, e.g. 6.1.0-57-amd64
#   MODULES_DIR the host's lib/modules/$KVER
#   NODE_INIT   the script that becomes /init
#   OUT         gzip'ed newc cpio to write (written atomically)
set -euo pipefail

: "${KVER:?}" "${MODULES_DIR:?}" "${NODE_INIT:?}" "${OUT:?}"

stage=$(mktemp -d "${TMPDIR:-/tmp}/node-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,root,etc,modules}

busybox=$(command -v busybox)
if ldd "$busybox" >/dev/null 2>&1; then
  echo "node-initramfs: $busybox is not static (apt-get install busybox-static)" >&2
  exit 1
fi
cp -L "$busybox" "$stage/bin/busybox"
for applet in sh mount umount insmod sleep echo cat readlink dirname switch_root reboot; do
  ln -s busybox "$stage/bin/$applet"
done

# modprobe resolves the order (dependencies first); the guest only insmods the files in that order.
modules_root=$(dirname "$(dirname "$(dirname "$MODULES_DIR")")")
: >"$stage/etc/modules"
for module in virtio_pci virtio_blk ext4 virtio_net virtio_rng; do
  modprobe --show-depends -S "$KVER" -d "$modules_root" "$module" | while read -r verb path _; do
    [[ "$verb" == insmod ]] || continue # built in: nothing to load
    name=$(basename "$path")
    grep -qx "/modules/$name" "$stage/etc/modules" && continue
    cp "$path" "$stage/modules/$name"
    echo "/modules/$name" >>"$stage/etc/modules"
  done
done

install -m 0755 "$NODE_INIT" "$stage/init"
mkdir -p "$(dirname "$OUT")"
tmp_out="$OUT.tmp.$$"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$tmp_out"
mv -f "$tmp_out" "$OUT"
