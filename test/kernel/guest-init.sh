#!/bin/sh
# /init of the IPVS test initramfs (busybox sh). Loads /etc/ipvs-test/modules in order with kmod's
# modprobe, lists the loaded modules, creates one virtual service per scheduler in
# /etc/ipvs-test/schedulers and lists them, printing one marker per result on the console, then powers off.
# Markers (one per line): IPVS-TEST-BEGIN, MODULE-OK|MODULE-FAIL <name>, LSMOD-BEGIN/END,
# SCHED-OK|SCHED-FAIL <name> <vip>, IPVSADM-LN-BEGIN/END, IPVS-TEST-END.
# busybox-static prefers its own applets (it has modprobe and lsmod) for bare names: kmod and
# ipvsadm are called by absolute path.
PATH=/bin:/usr/sbin:/usr/bin
export PATH

mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

# Error messages go on their marker's line.
one_line() { echo "$1" | tr '\n' ' '; }

kver=$(uname -r)
echo "IPVS-TEST-BEGIN kernel=$kver"

while read -r module; do
  [ -n "$module" ] || continue
  name=$(echo "$module" | tr - _)
  if output=$(/usr/sbin/modprobe "$module" 2>&1 </dev/null); then
    if grep -q "^$name " /proc/modules; then
      echo "MODULE-OK $module"
    elif tr - _ <"/lib/modules/$kver/modules.builtin" | grep -q "/$name\.ko"; then
      echo "MODULE-OK $module builtin"
    else
      echo "MODULE-FAIL $module modprobe succeeded but it is not in /proc/modules"
    fi
  else
    echo "MODULE-FAIL $module $(one_line "$output")"
  fi
done </etc/ipvs-test/modules

echo LSMOD-BEGIN
/usr/sbin/lsmod
echo LSMOD-END

# From here on the kernel must not load anything by itself: a scheduler works only if the list above
# loaded its module (as on a node whose kube-proxy image has no modprobe).
echo >/proc/sys/kernel/modprobe
echo "AUTOLOAD-OFF modprobe='$(cat /proc/sys/kernel/modprobe)'"

index=0
while read -r scheduler; do
  [ -n "$scheduler" ] || continue
  index=$((index + 1))
  vip="10.0.0.$index:80"
  if output=$(/usr/sbin/ipvsadm -A -t "$vip" -s "$scheduler" 2>&1 </dev/null); then
    echo "SCHED-OK $scheduler $vip"
  else
    echo "SCHED-FAIL $scheduler $vip $(one_line "$output")"
  fi
done </etc/ipvs-test/schedulers

echo IPVSADM-LN-BEGIN
/usr/sbin/ipvsadm -Ln
echo IPVSADM-LN-END

echo IPVS-TEST-END
poweroff -f
