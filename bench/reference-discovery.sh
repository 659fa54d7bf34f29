#!/usr/bin/env bash
# Version discovery as the existing shell sample does it, reproduced for the benchmark: list every key under
# the minor prefix (the CLI follows all pages by itself), keep the kubelet keys, version-sort them and take
# the last one's <version>/<date>. It has no arch input: any kubelet key counts, windows and arm64 included.
# Usage: reference-discovery.sh AWS_CLI ENDPOINT BUCKET MINOR
set -euo pipefail
aws_cli=$1 endpoint=$2 bucket=$3 minor=$4

"$aws_cli" s3api list-objects-v2 --bucket "$bucket" --prefix "$minor" --endpoint-url "$endpoint" \
  --query 'Contents[].[Key]' --output text |
  grep kubelet | sort -V | tail -n 1 | cut -d/ -f1-2
