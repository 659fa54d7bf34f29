#!/usr/bin/env bash
# Install what the tests need on a fresh Debian/Ubuntu machine. Idempotent: only missing packages are
# installed. Without root it only reports what is missing (the tests then fail naming the tool).
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t wanted < <(grep -vE '^\s*(#|$)' scripts/test-packages.txt)
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "test prerequisites: all ${#wanted[@]} packages present"
else
  if [[ $(id -u) -ne 0 ]]; then
    echo "test prerequisites missing (run as root to install): ${missing[*]}" >&2
  else
    echo "installing test prerequisites: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# The RHEL 10 SCAP data stream for test/stig (Debian 12's ssg-nondebian has RHEL 8/9 only).
bash scripts/install-ssg-rhel10.sh

# moto_server (the local AWS emulator) comes from PyPI, which these machines may not reach; say so early.
if ! python3 -c 'import moto' 2>/dev/null; then
  if python3 -m pip install --quiet 'moto[server]' 2>/dev/null; then
    echo "installed moto[server] with pip"
  else
    echo "moto (AWS emulator) is not importable by python3 and pip could not install it: integration tests will fail" >&2
  fi
fi

# The AWS CLI: bootstrap.sh calls it on the node (DescribeInstances, DescribeInstanceTypes, ECR tokens), and the
# bootstrap tests run it against moto_server. Any v1 or v2 `aws` will do; PyPI's awscli when none is there.
if ! command -v aws >/dev/null; then
  if python3 -m pip install --quiet awscli 2>/dev/null; then
    echo "installed awscli with pip"
  else
    echo "the AWS CLI (aws) is missing and pip could not install it: the bootstrap tests will fail" >&2
  fi
fi
