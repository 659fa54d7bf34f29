#!/bin/sh
# Runs once at boot in the rehearsal's node VM, before the network is used: what EC2 gives an instance and qemu's
# user network does not. Instance metadata at 169.254.169.254:80 is redirected to the rehearsal's IMDS stand-in on
# the host (@IMDS_ADDRESS@:@IMDS_PORT@). The image itself is unchanged: this file and its unit exist only on the
# rehearsal's copy of the disk.
set -eu
nft -f - <<RULES
table ip rehearsal-instance {
  chain output {
    type nat hook output priority -150; policy accept;
    ip daddr 169.254.169.254 tcp dport 80 dnat to @IMDS_ADDRESS@:@IMDS_PORT@
  }
}
RULES
