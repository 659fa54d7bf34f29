# shellcheck shell=bash
# Downloading build artifacts and checking them before anything is installed. Sourced after common.sh.

# http_get URL DEST : one GET with retries on transient errors. Sets HTTP_GET_CODE to the HTTP status (000 when
# no answer came; HTTP_GET_ERROR then holds curl's message). DEST holds the body, whatever the status.
http_get() {
  local url=$1 dest=$2
  HTTP_GET_CODE=$(curl --silent --show-error --location --retry 5 --retry-delay 2 --retry-connrefused \
    --connect-timeout 20 --output "${dest}" --write-out '%{http_code}' "${url}" 2>"${dest}.error") || true
  HTTP_GET_CODE=${HTTP_GET_CODE:-000}
  HTTP_GET_ERROR=$(tail -n 1 "${dest}.error" 2>/dev/null) || true
  rm -f "${dest}.error"
}

# http_reason CODE : a few words for a failed request's outcome.
http_reason() {
  case $1 in
    000) printf 'no answer (%s)' "${HTTP_GET_ERROR:-connection failed}" ;;
    404) printf 'HTTP 404 not found' ;;
    401 | 403) printf 'HTTP %s access denied' "$1" ;;
    *) printf 'HTTP %s' "$1" ;;
  esac
}

# download URL DEST : fetches one file with retries; fails naming the URL and what the server answered.
download() {
  local url=$1 dest=$2
  http_get "${url}" "${dest}"
  if [[ ${HTTP_GET_CODE} != 2?? ]]; then
    rm -f "${dest}"
    die "download failed: ${url}: $(http_reason "${HTTP_GET_CODE}")"
  fi
  log_download "${url}" "${dest}"
}

# log_download URL DEST : where each artifact came from, for the build log (a mirror build shows only the mirror).
log_download() {
  log "downloaded $1 ($(stat -c %s "$2") bytes)"
}

# The S3 domain for a region (the binary bucket can sit in another partition than the build).
s3_domain_for_region() {
  case $1 in
    cn-*) printf 'amazonaws.com.cn' ;;
    us-isob-*) printf 'sc2s.sgov.gov' ;;
    us-isof-*) printf 'csp.hci.ic.gov' ;;
    us-iso-*) printf 'c2s.ic.gov' ;;
    eu-isoe-*) printf 'cloud.adc-e.uk' ;;
    eusc-*) printf 'amazonaws.eu' ;;
    *) printf 'amazonaws.com' ;;
  esac
}

# s3_object_url BUCKET REGION KEY : path-style URL; BINARY_BUCKET_ENDPOINT replaces the S3 endpoint.
s3_object_url() {
  local bucket=$1 region=$2 key=$3
  if [[ -n ${BINARY_BUCKET_ENDPOINT} ]]; then
    printf '%s/%s/%s' "${BINARY_BUCKET_ENDPOINT%/}" "${bucket}" "${key}"
  else
    printf 'https://s3.%s.%s/%s/%s' "${region}" "$(s3_domain_for_region "${region}")" "${bucket}" "${key}"
  fi
}

# bucket_read KEY DEST : one object of the binary bucket, read anonymously first (the public amazon-eks bucket,
# or a mirror whose policy allows the VPC); a mirror that refuses anonymous reads is read signed with the
# instance role (lib/s3-get.py; never forwarded credentials). Not the AWS CLI: the AWS CLI installer itself
# comes from here. Returns 0 when DEST was written; 1 when the object is not there (an anonymous 404, or a
# signed 404/NoSuchKey); 2 for any other failure. BUCKET_READ_REASON says what each attempt was answered.
bucket_read() {
  local key=$1 dest=$2 url code python signed status=0
  url=$(s3_object_url "${BINARY_BUCKET_NAME}" "${BINARY_BUCKET_REGION}" "${key}")
  BUCKET_READ_REASON=""
  http_get "${url}" "${dest}"
  code=${HTTP_GET_CODE}
  if [[ ${code} == 2?? ]]; then
    log_download "${url}" "${dest}"
    return 0
  fi
  rm -f "${dest}"
  BUCKET_READ_REASON="anonymous read: $(http_reason "${code}")"
  # A bucket that lets anonymous readers in answers 404 for a missing key; a private one answers 403 whether or
  # not the key exists, so only the signed read can tell.
  [[ ${code} == 404 ]] && return 1
  if ! python=$(command -v python3 || command -v /usr/libexec/platform-python); then
    BUCKET_READ_REASON+="; no python3 to sign the request with the instance role"
    return 2
  fi
  log "anonymous read of ${url} refused ($(http_reason "${code}")); reading it signed with the instance role"
  signed=$("${python}" "${WORK_DIR}/lib/s3-get.py" "${url}" "${BINARY_BUCKET_REGION}" "${dest}" 2>&1) || status=$?
  if ((status == 0)); then
    log_download "${url}" "${dest}"
    return 0
  fi
  BUCKET_READ_REASON+="; signed with the instance role: ${signed##*s3-get: }"
  [[ ${status} == 4 && ${signed} =~ HTTP\ 404|NoSuchKey ]] && return 1
  return 2
}

# download_from_bucket KEY DEST : bucket_read, failing the step with the reason when the object cannot be read.
download_from_bucket() {
  bucket_read "$1" "$2" || die "download failed: s3://${BINARY_BUCKET_NAME}/$1 (${BUCKET_READ_REASON})"
}

# from_mirror : true when every download comes from the binary bucket (PULL_CNI_FROM_GITHUB=false, the
# mirror `make stage` fills) rather than from GitHub, the AWS CLI site and the amazon-ssm buckets.
from_mirror() {
  [[ ${PULL_CNI_FROM_GITHUB} == false ]]
}

# download_upstream_or_mirror URL MIRROR_KEY DEST : URL normally; MIRROR_KEY of the binary bucket from_mirror.
download_upstream_or_mirror() {
  local url=$1 key=$2 dest=$3
  if from_mirror; then
    download_from_bucket "${key}" "${dest}"
  else
    download "${url}" "${dest}"
  fi
}

# expected_sha256 SUMS_FILE ASSET : the digest for ASSET from a checksum file. Accepts a bare digest,
# "digest  name" lines (sha256sum format, with or without a path or '*') and multi-asset lists.
expected_sha256() {
  local sums=$1 asset=$2 digest name rest
  while read -r digest name rest || [[ -n ${digest} ]]; do
    name=${name#\*}
    name=${name##*/}
    if [[ ${digest} =~ ^[0-9a-fA-F]{64}$ ]] && [[ -z ${name} || ${name} == "${asset}" ]]; then
      printf '%s\n' "${digest,,}"
      return 0
    fi
  done <"${sums}"
  return 1
}

# refuse FILE MESSAGE : deletes a download that failed a check, then fails the step with MESSAGE.
refuse() {
  rm -f "$1"
  die "$2"
}

# require_digest FILE EXPECTED MESSAGE : FILE must hash to EXPECTED; else it is refused with "MESSAGE, got <actual>".
require_digest() {
  local file=$1 expected=$2 message=$3 actual
  actual=$(sha256sum "${file}")
  actual=${actual%% *}
  [[ ${actual} == "${expected}" ]] || refuse "${file}" "${message}, got ${actual}"
}

# pinned_sha256 FILE ASSET : the digest the lock (PINNED_SHA256_FILE) pins for ASSET; FILE is refused when
# the lock lists none. Call as pinned=$(pinned_sha256 …) || exit 1 (die only leaves the subshell).
pinned_sha256() {
  expected_sha256 "${PINNED_SHA256_FILE}" "$2" || refuse "$1" "$2 is not in the lock's pinned checksums (${PINNED_SHA256_FILE})"
}

# verify_sha256 FILE SUMS_FILE ASSET : on mismatch the file is deleted and the step fails naming ASSET.
# With PINNED_SHA256_FILE (a build replaying a lock file), ASSET must be listed there, the published digest
# must equal the pinned one, and the file must match it: nothing but the staged artifact is accepted.
verify_sha256() {
  local file=$1 sums=$2 asset=$3 expected pinned
  expected=$(expected_sha256 "${sums}" "${asset}") ||
    refuse "${file}" "no SHA-256 for ${asset} in its published checksum file"
  if [[ -n ${PINNED_SHA256_FILE:-} ]]; then
    pinned=$(pinned_sha256 "${file}" "${asset}") || exit 1
    [[ ${pinned} == "${expected}" ]] ||
      refuse "${file}" "published checksum of ${asset} (${expected}) differs from the lock's pinned ${pinned}"
  fi
  require_digest "${file}" "${expected}" "checksum mismatch for ${asset}: expected ${expected}"
  log "verified ${asset} (sha256 ${expected}${PINNED_SHA256_FILE:+, pinned by the lock})"
}

# verify_pinned FILE ASSET : replaying a lock (PINNED_SHA256_FILE), FILE must hash to the digest pinned for
# ASSET; for artifacts vouched for by a signature, whose upstream "latest" moves. No lock, nothing to do.
verify_pinned() {
  local file=$1 asset=$2 pinned
  [[ -n ${PINNED_SHA256_FILE:-} ]] || return 0
  pinned=$(pinned_sha256 "${file}" "${asset}") || exit 1
  require_digest "${file}" "${pinned}" "${asset} does not match the lock: pinned sha256 ${pinned}"
  log "verified ${asset} (sha256 ${pinned}, pinned by the lock)"
}

# verify_pgp KEY_FILE SIGNATURE FILE WHAT : detached signature check against one committed public key,
# in a throw-away keyring so nothing else is trusted. A failure says gpg's verdict.
verify_pgp() {
  local key=$1 signature=$2 file=$3 what=$4 home status verdict
  home=$(mktemp -d "${WORK_DIR}/gnupg.XXXXXX")
  gpg --homedir "${home}" --batch --quiet --import "${key}" 2>/dev/null ||
    die "cannot import the public key ${key} for ${what}"
  status=$(gpg --homedir "${home}" --batch --status-fd 1 --verify "${signature}" "${file}" 2>/dev/null) || true
  rm -rf "${home}"
  if ! grep -q '^\[GNUPG:\] VALIDSIG ' <<<"${status}"; then
    rm -f "${file}"
    verdict=$(pgp_verdict "${status}" "${key}")
    die "PGP signature check failed for ${what}: ${verdict}"
  fi
  log "verified the PGP signature of ${what}"
}

# pgp_verdict GPG_STATUS KEY_FILE : gpg's status lines in words.
pgp_verdict() {
  local status=$1 key=$2
  if grep -q '^\[GNUPG:\] BADSIG ' <<<"${status}"; then
    printf 'BAD signature: the file does not match what %s signed (altered or truncated download)' "$(basename "${key}")"
  elif grep -q '^\[GNUPG:\] NO_PUBKEY ' <<<"${status}"; then
    printf 'signed by key %s, not by the key in %s' "$(awk '/^\[GNUPG:\] NO_PUBKEY / { print $3; exit }' <<<"${status}")" "$(basename "${key}")"
  elif grep -q '^\[GNUPG:\] EXPKEYSIG \|^\[GNUPG:\] REVKEYSIG ' <<<"${status}"; then
    printf 'the signing key in %s has expired or been revoked' "$(basename "${key}")"
  elif grep -q '^\[GNUPG:\] NODATA ' <<<"${status}"; then
    printf 'the signature file holds no OpenPGP signature'
  else
    printf 'gpg said: %s' "$(grep '^\[GNUPG:\]' <<<"${status}" | paste -sd ' ' | cut -c1-200)"
  fi
}

# The build's artifacts (generated/artifacts.tsv, written by the render step from data/artifacts.json): what each
# step downloads, where from, and how it is verified. Columns in src/data/artifacts.ts INSTANCE_MANIFEST_COLUMNS.
ARTIFACT_MANIFEST="${WORK_DIR}/generated/artifacts.tsv"

# artifact_entry NAME : sets ARTIFACT_STEP, _FILE, _SOURCE, _PATH, _MIRROR_KEY, _CHECKSUM_FILE, _CHECK, _OPTIONAL,
# _DESTINATION, _MODE and _SUBJECT from NAME's line of the manifest; fails the step when there is none.
artifact_entry() {
  local name=$1 entry
  [[ -f ${ARTIFACT_MANIFEST} ]] || die "${ARTIFACT_MANIFEST} is missing: the render step writes it (docs/provisioner-contract.md)"
  entry=$(awk -F '\t' -v n="${name}" '!/^#/ && $1 == n { print; exit }' "${ARTIFACT_MANIFEST}")
  [[ -n ${entry} ]] || die "${name} is not in ${ARTIFACT_MANIFEST}: data/artifacts.json declares no such artifact for this build"
  # shellcheck disable=SC2034 # ARTIFACT_DESTINATION and ARTIFACT_MODE are read by the steps that install
  IFS=$'\t' read -r _ ARTIFACT_STEP ARTIFACT_FILE ARTIFACT_SOURCE ARTIFACT_PATH ARTIFACT_MIRROR_KEY ARTIFACT_CHECKSUM_FILE \
    ARTIFACT_CHECK ARTIFACT_OPTIONAL ARTIFACT_DESTINATION ARTIFACT_MODE ARTIFACT_SUBJECT <<<"${entry}"
}

# artifact_file NAME : the file name NAME is published and verified as (kubelet, runc.amd64, …).
artifact_file() {
  artifact_entry "$1"
  printf '%s\n' "${ARTIFACT_FILE}"
}

# artifact_location NAME : where NAME is downloaded from in this build: the mirror's URL when from_mirror (and
# always for the EKS bucket's binaries), else upstream. For logs and the SBOM.
artifact_location() {
  artifact_entry "$1"
  artifact_url "${ARTIFACT_PATH}"
}

# artifact_url PATH : the upstream URL of PATH for the current entry's source; a mirror build's URL instead when
# the artifact comes from the binary bucket.
artifact_url() {
  local path=$1 bucket region
  if [[ ${ARTIFACT_SOURCE} == eks ]]; then
    s3_object_url "${BINARY_BUCKET_NAME}" "${BINARY_BUCKET_REGION}" "${path}"
  elif from_mirror; then
    s3_object_url "${BINARY_BUCKET_NAME}" "${BINARY_BUCKET_REGION}" "${ARTIFACT_MIRROR_KEY%/*}/${path##*/}"
  else
    case ${ARTIFACT_SOURCE} in
      github) printf '%s/%s' "${GITHUB_BASE_URL%/}" "${path}" ;;
      awscli) printf '%s/%s' "${AWSCLI_BASE_URL%/}" "${path}" ;;
      s3:*:*)
        IFS=: read -r _ bucket region <<<"${ARTIFACT_SOURCE}"
        s3_object_url "${bucket}" "${region}" "${path}"
        ;;
      *) die "unknown artifact source ${ARTIFACT_SOURCE} in ${ARTIFACT_MANIFEST}" ;;
    esac
  fi
}

# fetch_piece PATH MIRROR_KEY DEST : one download of the current entry (the artifact or its checksum file).
fetch_piece() {
  local path=$1 key=$2 dest=$3
  if [[ ${ARTIFACT_SOURCE} == eks ]]; then
    download_from_bucket "${path}" "${dest}"
  else
    download_upstream_or_mirror "$(artifact_url "${path}")" "${key}" "${dest}"
  fi
}

# fetch_artifact NAME DEST : the one download-and-verify of every artifact a step installs. Downloads NAME from
# where the manifest says (upstream, or the binary bucket's mirror when from_mirror), its checksum file or
# detached signature beside DEST, and verifies it: the published SHA-256, or the PGP signature against the key
# in lib/keys; replaying a lock, also the pinned SHA-256. Fails the step on any problem, except that an optional
# artifact the bucket lacks for this build is logged and skipped: ARTIFACT_SKIPPED is then true (else false).
fetch_artifact() {
  local name=$1 dest=$2 checksum_path checksum_key
  ARTIFACT_SKIPPED=false
  artifact_entry "${name}"
  # Only the step the manifest names installs an artifact: what is staged is what is installed, once.
  [[ ${ARTIFACT_STEP} == "${STEP_NAME:-${ARTIFACT_STEP}}" ]] ||
    die "${name} is installed by ${ARTIFACT_STEP}.sh (data/artifacts.json), not by ${STEP_NAME}.sh"
  checksum_path="${ARTIFACT_PATH%"${ARTIFACT_FILE}"}${ARTIFACT_CHECKSUM_FILE}"
  checksum_key="${ARTIFACT_MIRROR_KEY%"${ARTIFACT_FILE}"}${ARTIFACT_CHECKSUM_FILE}"
  if [[ ${ARTIFACT_SOURCE} == eks ]] && ! bucket_read "${ARTIFACT_PATH}" "${dest}"; then
    if [[ ${ARTIFACT_OPTIONAL} == optional && ${BUCKET_READ_REASON} == *404* ]]; then
      log "${name} is not in the bucket for this build (${BUCKET_READ_REASON}); it is optional: not installed"
      # shellcheck disable=SC2034 # read by the step that asked
      ARTIFACT_SKIPPED=true
      return 0
    fi
    die "download failed: s3://${BINARY_BUCKET_NAME}/${ARTIFACT_PATH} (${BUCKET_READ_REASON})"
  elif [[ ${ARTIFACT_SOURCE} != eks ]]; then
    fetch_piece "${ARTIFACT_PATH}" "${ARTIFACT_MIRROR_KEY}" "${dest}"
  fi
  case ${ARTIFACT_CHECK} in
    sha256)
      fetch_piece "${checksum_path}" "${checksum_key}" "${dest}.sha256"
      verify_sha256 "${dest}" "${dest}.sha256" "${ARTIFACT_FILE}"
      ;;
    pgp:*)
      fetch_piece "${checksum_path}" "${checksum_key}" "${dest}.sig"
      verify_pgp "${WORK_DIR}/lib/keys/${ARTIFACT_CHECK#pgp:}" "${dest}.sig" "${dest}" "${ARTIFACT_SUBJECT}"
      verify_pinned "${dest}" "${ARTIFACT_FILE}"
      ;;
    *) die "unknown check ${ARTIFACT_CHECK} for ${name} in ${ARTIFACT_MANIFEST}" ;;
  esac
}
