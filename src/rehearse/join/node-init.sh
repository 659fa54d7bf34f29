#!/bin/sh
# /init of the node's initramfs (busybox sh): loads the modules listed in /etc/modules, mounts /dev/vda
# read-write and hands over to its /sbin/init (systemd). Any failure is printed on the console and the
# machine reboots at once, which ends qemu (-no-reboot): the host sees the exit, not a hang.
PATH=/bin
export PATH

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

fail() {
  echo "node-initramfs: $*"
  reboot -f
  sleep 60
}

# A module that does not load (crc32c-intel on a CPU without SSE4.2) is not fatal by itself: the mount says
# whether what is needed is there.
while read -r module; do
  insmod "$module" || echo "node-initramfs: could not load $module"
done </etc/modules

tries=0
while [ ! -b /dev/vda ]; do
  tries=$((tries + 1))
  [ "$tries" -le 100 ] || fail "no /dev/vda after 10 s (is the disk attached with if=virtio?)"
  sleep 0.1
done
mount -t ext4 -o rw /dev/vda /root || fail "cannot mount /dev/vda as ext4"

# /sbin/init is usually a symlink (to /lib/systemd/systemd): follow it inside the new root.
target=/root/sbin/init
hops=0
while [ -L "$target" ] && [ "$hops" -lt 10 ]; do
  link=$(readlink "$target")
  case "$link" in
    /*) target="/root$link" ;;
    *) target="$(dirname "$target")/$link" ;;
  esac
  hops=$((hops + 1))
done
[ -x "$target" ] || fail "/dev/vda has no /sbin/init: it is not a bootable root filesystem"

for fs in dev proc sys; do
  if [ -d "/root/$fs" ]; then mount --move "/$fs" "/root/$fs"; else umount "/$fs"; fi
done
exec switch_root /root /sbin/init
