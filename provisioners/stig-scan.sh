#!/usr/bin/env bash
# STIG variant, after the remediation and its reboot: scans the image with the same tailored profile and
# writes, directly in WORK_DIR for the template to download, the ARF results (stig-arf.xml), the HTML report
# (stig-report.html) and stig-score.json: the XCCDF score of the scan and the count of each rule result.
# STIG_MIN_SCORE (0 = no threshold) fails the build when the score is below it.
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/stig.sh
source "${WORK_DIR}/lib/stig.sh"
begin_step stig-scan
require_one_of RHEL_VERSION 8 9 10
min_score=${STIG_MIN_SCORE:-0}
[[ ${min_score} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "STIG_MIN_SCORE=${min_score} is not a number (0 to 100; 0 = no threshold)"

readonly arf="${WORK_DIR}/${STIG_ARF}" report="${WORK_DIR}/${STIG_REPORT}" score_file="${WORK_DIR}/${STIG_SCORE}"

# The default-model score of the TestResult; OCIL questionnaires in the ARF also have <result> elements, in
# upper case and another namespace, so only XCCDF's lower-case rule results are counted.
write_score() {
  local score_tag score maximum counts
  score_tag=$(grep -oE '<(xccdf:)?score [^>]*system="urn:xccdf:scoring:default"[^>]*>[^<]*<' "${arf}") ||
    die "no XCCDF score (urn:xccdf:scoring:default) in ${arf}"
  score_tag=${score_tag%%$'\n'*}
  score=$(sed -E 's/.*>([^<]*)<$/\1/' <<<"${score_tag}")
  maximum=$(sed -nE 's/.*maximum="([^"]*)".*/\1/p' <<<"${score_tag}")
  [[ ${score} =~ ^[0-9]+([.][0-9]+)?$ ]] || die "unreadable XCCDF score '${score}' in ${arf}"
  counts=$({ grep -oE '<(xccdf:)?result>[a-z]+</' "${arf}" || true; } | sed -E 's/.*>([a-z]+)<\//\1/' |
    jq -R -s 'split("\n") | map(select(length > 0)) | reduce .[] as $r ({}; .[$r] += 1)')
  jq -n \
    --argjson score "${score}" \
    --argjson maximum "${maximum:-100}" \
    --argjson min_score "${min_score}" \
    --argjson counts "${counts}" \
    --arg profile "${STIG_PROFILE}" \
    --arg tailoring "${STIG_TAILORING##*/}" \
    --arg datastream "${STIG_DATASTREAM}" \
    --arg rhel_version "${RHEL_VERSION}" \
    --arg scanned_at "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    '{score: $score, maximum: $maximum, min_score: $min_score, profile: $profile, tailoring: $tailoring,
      datastream: $datastream, rhel_version: $rhel_version, scanned_at: $scanned_at}
     + ({pass: 0, fail: 0, error: 0, unknown: 0, notapplicable: 0, notchecked: 0, informational: 0, fixed: 0} + ($counts | del(.notselected)))' \
    >"${score_file}"
  log "STIG score ${score} of ${maximum:-100}: $(jq -c 'del(.profile, .tailoring, .datastream, .scanned_at)' "${score_file}")"
}

stig_content
rm -f "${arf}" "${report}" "${score_file}"
step "oscap xccdf eval (ARF and HTML report)" oscap_eval "$(scratch_dir stig)/scan.log" --results-arf "${arf}" --report "${report}"
[[ -s ${arf} && -s ${report} ]] || die "oscap wrote no results (${arf}) or report (${report})"
step "score" write_score
# Downloaded by Packer as the SSH user: readable whatever umask the STIG remediation set.
chmod 0644 "${arf}" "${report}" "${score_file}"

score=$(jq -r '.score' "${score_file}")
if awk -v s="${score}" -v m="${min_score}" 'BEGIN { exit !(s < m) }'; then
  die "STIG score ${score} is below STIG_MIN_SCORE ${min_score} (report: ${STIG_REPORT})"
fi
if awk -v m="${min_score}" 'BEGIN { exit !(m == 0) }'; then
  log "no STIG_MIN_SCORE threshold; score ${score}"
else
  log "STIG score ${score} meets STIG_MIN_SCORE ${min_score}"
fi
