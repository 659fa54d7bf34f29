# shellcheck shell=bash
# Reads from the instance metadata service, IMDSv2 only (a session token first). IMDS_ENDPOINT overrides the
# address for tests and the rehearsal (docs/provisioner-contract.md); unset on real builds. Sourced after common.sh.

# imds_get PATH : prints the metadata at PATH (e.g. meta-data/iam/security-credentials/); fails when IMDS does not
# answer or has nothing there.
imds_get() {
  local base=${IMDS_ENDPOINT:-http://169.254.169.254} token
  base=${base%/}
  token=$(curl --silent --fail --connect-timeout 2 --max-time 5 --request PUT \
    --header 'X-aws-ec2-metadata-token-ttl-seconds: 300' "${base}/latest/api/token") || return 1
  curl --silent --fail --connect-timeout 2 --max-time 5 --header "X-aws-ec2-metadata-token: ${token}" "${base}/latest/$1"
}
