#!/usr/bin/env bash
# The existing sample's way of mirroring artifacts, for bench/stage.ts: one artifact after another, download
# the whole file to disk, then its checksum file (or signature), then `sha256sum` (or `gpg --verify`), then
# upload both with the AWS CLI.
# Usage: reference-stage.sh AWS_CLI ENDPOINT MIRROR_BUCKET WORK_DIR MANIFEST
#   MANIFEST lines: <source URL or s3://bucket/key> <checksum URL or s3://…> <file name> <key> <checksum key> <sha256|pgp:KEY_FILE>
set -euo pipefail
aws=$1 endpoint=$2 bucket=$3 work=$4 manifest=$5
mkdir -p "${work}"

fetch() {
  case $1 in
    s3://*) "${aws}" s3 cp --only-show-errors --endpoint-url "${endpoint}" "$1" "$2" ;;
    *) curl --fail --silent --show-error --location --retry 5 --output "$2" "$1" ;;
  esac
}

while read -r source checksum file key checksum_key check; do
  fetch "${source}" "${work}/${file}"
  fetch "${checksum}" "${work}/${file}.sum"
  if [[ ${check} == pgp:* ]]; then
    home=$(mktemp -d)
    gpg --homedir "${home}" --batch --quiet --import "${check#pgp:}" 2>/dev/null
    gpg --homedir "${home}" --batch --quiet --verify "${work}/${file}.sum" "${work}/${file}" 2>/dev/null || {
      echo "bad signature for ${file}" >&2
      exit 1
    }
    rm -rf "${home}"
  else
    expected=$(awk -v f="${file}" '{ n = $2; sub(/^\*/, "", n); sub(/.*\//, "", n) } NF == 1 || n == f { print $1; exit }' "${work}/${file}.sum")
    actual=$(sha256sum "${work}/${file}" | cut -d' ' -f1)
    if [[ ${expected} != "${actual}" ]]; then
      echo "checksum mismatch for ${file}" >&2
      exit 1
    fi
  fi
  "${aws}" s3 cp --only-show-errors --endpoint-url "${endpoint}" "${work}/${file}" "s3://${bucket}/${key}"
  "${aws}" s3 cp --only-show-errors --endpoint-url "${endpoint}" "${work}/${file}.sum" "s3://${bucket}/${checksum_key}"
  rm -f "${work}/${file}" "${work}/${file}.sum"
done <"${manifest}"
