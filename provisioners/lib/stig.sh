# shellcheck shell=bash
# The tailored DISA STIG profile and how oscap is run with it, for stig-remediate.sh, stig-scan.sh and
# validate.sh. Sourced after common.sh. The tailoring files live next to this file (lib/stig/, uploaded
# with lib/); EXCEPTIONS.md there lists what they deselect and why.

readonly STIG_PROFILE=xccdf_org.ssgproject.content_profile_stig_eks_worker
# Scan outputs, directly in WORK_DIR so the template can download them by name (steps.json "downloads").
# cleanup.sh keeps the score file for validate.sh, which removes WORK_DIR at the end.
# shellcheck disable=SC2034 # read by the scripts that source this file
readonly STIG_ARF=stig-arf.xml STIG_REPORT=stig-report.html STIG_SCORE=stig-score.json

# stig_content : sets STIG_TAILORING and STIG_DATASTREAM for RHEL_VERSION and fails when either is missing.
stig_content() {
  STIG_TAILORING="${WORK_DIR}/lib/stig/ssg-rhel${RHEL_VERSION}-stig-tailoring.xml"
  STIG_DATASTREAM="/usr/share/xml/scap/ssg/content/ssg-rhel${RHEL_VERSION}-ds.xml"
  [[ -f ${STIG_TAILORING} ]] || die "tailoring file ${STIG_TAILORING} is missing (the template uploads provisioners/lib/)"
  [[ -f ${STIG_DATASTREAM} ]] || die "SCAP data stream ${STIG_DATASTREAM} is missing (package scap-security-guide)"
}

# oscap_eval LOG ARG... : oscap xccdf eval with the tailored profile, extra ARGs before the data stream,
# per-rule output to LOG. oscap exits 2 when some rule failed, which is expected (several STIG rules have no
# automated fix, and a remediation run reports what it could not fix): 0 and 2 mean it ran; anything else
# fails the step. Temporary files go under WORK_DIR, never /tmp (noexec on STIG bases).
oscap_eval() {
  local log=$1 status=0 tmp
  shift
  tmp=$(scratch_dir oscap)
  TMPDIR=${tmp} oscap xccdf eval --profile "${STIG_PROFILE}" --tailoring-file "${STIG_TAILORING}" "$@" "${STIG_DATASTREAM}" >"${log}" || status=$?
  case ${status} in
    0) log "oscap: every selected rule passed" ;;
    2) log "oscap: finished; some rules did not pass (exit 2)" ;;
    *) die "oscap xccdf eval failed with exit status ${status} (see ${log}): $(tail -n 5 "${log}" | paste -sd ' ')" ;;
  esac
  log "oscap results: $(awk -F '\t' '$1 == "Result" { n[$2]++ } END { for (r in n) printf "%s=%d ", r, n[r] }' "${log}")"
}
