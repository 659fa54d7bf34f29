#!/usr/bin/env bash
# Writes $WORK_DIR/sbom.spdx.json: an SPDX 2.3 JSON document of what the image contains, made on the instance.
#  - every package of the RPM database (name, epoch:version-release, arch, vendor, licence tag, a pkg:rpm purl);
#  - every binary the build installed outside it: kubelet, ecr-credential-provider, aws-iam-authenticator (when
#    installed), containerd, containerd-shim-runc-v2, ctr, runc, each CNI plugin in /opt/cni/bin, the AWS CLI
#    installer, the pause image archive; each with the plan's version (the environment; earlier steps checked the
#    installed binaries report it), the SHA-256 of the installed file, and the URL it was downloaded from (the
#    same locations lib/fetch.sh reads: upstream, or the binary bucket's mirror when PULL_CNI_FROM_GITHUB=false).
# The SSM agent is an RPM: its entry also carries the digest and location of the .rpm the build downloaded.
# The template downloads the file next to version-info.json; the host records its SHA-256 (summary, AMI tag).
set -euo pipefail
# shellcheck source=lib/common.sh
source "${WORK_DIR:?WORK_DIR is not set; the Packer template passes it (docs/provisioner-contract.md)}/lib/common.sh"
# shellcheck source=lib/fetch.sh
source "${WORK_DIR}/lib/fetch.sh"
begin_step sbom
require_env KUBERNETES_VERSION KUBERNETES_BUILD_DATE CONTAINERD_VERSION RUNC_VERSION CNI_PLUGIN_VERSION ARCH BINARY_ARCH \
  RHEL_VERSION AWS_REGION BINARY_BUCKET_NAME BINARY_BUCKET_REGION GITHUB_BASE_URL AWSCLI_BASE_URL VARIANT PAUSE_IMAGE
require_defined BINARY_BUCKET_ENDPOINT
require_one_of PULL_CNI_FROM_GITHUB true false

readonly output="${WORK_DIR}/sbom.spdx.json"
readonly scratch="${WORK_DIR}/scratch"
dir=$(scratch_dir sbom)
readonly binaries="${dir}/binaries.jsonl" rpms="${dir}/rpms.json"
: >"${binaries}"

sha256_of() {
  local sum
  sum=$(sha256sum "$1")
  printf '%s\n' "${sum%% *}"
}

# Download locations: lib/fetch.sh's artifact_location, from the build's artifact manifest (generated/artifacts.tsv),
# the same table fetch_artifact downloaded from.

# add_binary NAME VERSION INSTALLED_FILE DOWNLOAD_LOCATION PURL SOURCE_INFO : one SPDX package for a binary.
add_binary() {
  local name=$1 version=$2 file=$3 location=$4 purl=$5 source_info=$6
  [[ -f ${file} ]] || die "${file} is missing: ${name} was not installed by an earlier step"
  jq -n -c --arg name "${name}" --arg version "${version}" --arg file "${file}" --arg location "${location}" \
    --arg purl "${purl}" --arg source "${source_info}" --arg sha "$(sha256_of "${file}")" \
    '{name: $name, versionInfo: $version, packageFileName: $file, downloadLocation: $location, filesAnalyzed: false,
      checksums: [{algorithm: "SHA256", checksumValue: $sha}], primaryPackagePurpose: "APPLICATION",
      externalRefs: [{referenceCategory: "PACKAGE-MANAGER", referenceType: "purl", referenceLocator: $purl}]}
     + (if $source == "" then {} else {sourceInfo: $source} end)' >>"${binaries}"
}

# archive_note ASSET STEP : "extracted from ASSET", with the digest of the download when it is still in scratch.
archive_note() {
  local archive="${scratch}/$2/$1"
  if [[ -f ${archive} ]]; then
    printf 'extracted from %s (sha256 %s)' "$1" "$(sha256_of "${archive}")"
  else
    printf 'extracted from %s' "$1"
  fi
}

kubernetes_binaries() {
  local name file location
  # EKS builds these itself, so no upstream purl fits: a generic one naming the download.
  for name in kubelet ecr-credential-provider aws-iam-authenticator; do
    artifact_entry "${name}"
    file=${ARTIFACT_DESTINATION}
    # kubernetes.sh installs aws-iam-authenticator only when the bucket has it for this build.
    if [[ ${name} == aws-iam-authenticator && ! -f ${file} ]]; then
      log "${file} is not installed (the bucket had none for this build): not listed"
      continue
    fi
    location=$(artifact_location "${name}")
    add_binary "${name}" "${KUBERNETES_VERSION}" "${file}" "${location}" \
      "pkg:generic/${name}@${KUBERNETES_VERSION}?download_url=$(jq -rn --arg u "${location}" '$u | @uri')" \
      "EKS binary bucket, build ${KUBERNETES_VERSION}/${KUBERNETES_BUILD_DATE}"
  done
}

runtime_binaries() {
  local asset binary location
  # The asset containerd.sh installed (RHEL 8 gets containerd's static 2.x build: data/artifacts.json).
  asset=$(artifact_file containerd)
  location=$(artifact_location containerd)
  for binary in containerd containerd-shim-runc-v2 ctr; do
    add_binary "${binary}" "${CONTAINERD_VERSION}" "/usr/bin/${binary}" "${location}" \
      "pkg:github/containerd/containerd@v${CONTAINERD_VERSION}" "$(archive_note "${asset}" containerd)"
  done
  add_binary runc "${RUNC_VERSION}" /usr/sbin/runc \
    "$(artifact_location runc)" \
    "pkg:github/opencontainers/runc@v${RUNC_VERSION}" ""
}

cni_binaries() {
  local asset location plugin count=0
  asset=$(artifact_file cni-plugins)
  location=$(artifact_location cni-plugins)
  while IFS= read -r plugin; do
    add_binary "cni-plugin-${plugin}" "${CNI_PLUGIN_VERSION#v}" "/opt/cni/bin/${plugin}" "${location}" \
      "pkg:github/containernetworking/plugins@${CNI_PLUGIN_VERSION}" "$(archive_note "${asset}" cni-plugins)"
    count=$((count + 1))
  done < <(find /opt/cni/bin -maxdepth 1 -type f -printf '%f\n' | sort)
  ((count > 0)) || die "/opt/cni/bin holds no plugins: cni-plugins.sh did not run"
}

# The AWS CLI: the installer aws-cli.sh verified (still in its scratch directory), else the installed program.
aws_cli() {
  local reported version asset location file
  reported=$(/usr/local/bin/aws --version 2>&1) || die "/usr/local/bin/aws --version failed: ${reported}"
  [[ ${reported} =~ ^aws-cli/([0-9][0-9.]*) ]] || die "cannot read a version from '${reported}'"
  version=${BASH_REMATCH[1]}
  asset=$(artifact_file aws-cli)
  location=$(artifact_location aws-cli)
  file="${scratch}/aws-cli/awscliv2.zip"
  [[ -f ${file} ]] || file=$(readlink -f /usr/local/bin/aws)
  add_binary aws-cli "${version}" "${file}" "${location}" "pkg:generic/aws-cli@${version}" \
    "AWS CLI v2 installer ${asset}, PGP signature checked"
}

# The pause image sandbox-image.sh exported (containerd imports it at boot); no purl without its registry digest.
pause_image() {
  local archive=/etc/eks/pause-image.tar tag
  [[ -f ${archive} ]] || return 0
  tag=${PAUSE_IMAGE##*:}
  jq -n -c --arg version "${tag}" --arg file "${archive}" --arg sha "$(sha256_of "${archive}")" --arg image "${PAUSE_IMAGE}" \
    '{name: "pause", versionInfo: $version, packageFileName: $file, downloadLocation: "NOASSERTION", filesAnalyzed: false,
      checksums: [{algorithm: "SHA256", checksumValue: $sha}], primaryPackagePurpose: "CONTAINER", sourceInfo: ("pulled from " + $image)}' >>"${binaries}"
}

# Every RPM package, sorted; gpg-pubkey entries are imported keys, not software. The SSM agent's entry also gets
# the digest and location of the .rpm ssm-agent.sh verified.
rpm_packages() {
  local release ssm_rpm ssm_sha="" ssm_location
  release=$(sed -n 's/.*release[[:space:]]\+\([0-9][0-9.]*\).*/\1/p' /etc/redhat-release 2>/dev/null | head -n 1)
  [[ -n ${release} ]] || release=${RHEL_VERSION}
  ssm_rpm="${scratch}/ssm-agent/$(artifact_file ssm-agent)"
  ssm_location=$(artifact_location ssm-agent)
  [[ -f ${ssm_rpm} ]] && ssm_sha=$(sha256_of "${ssm_rpm}")
  rpm -qa --queryformat '%{NAME}\t%{EPOCH}\t%{VERSION}\t%{RELEASE}\t%{ARCH}\t%{VENDOR}\t%{LICENSE}\n' | LC_ALL=C sort |
    jq -R -s --arg distro "rhel-${release}" --arg ssm_sha "${ssm_sha}" --arg ssm_location "${ssm_location}" '
      def none: . == "(none)" or . == "";
      def namespace: ascii_downcase | if test("red hat") then "redhat" elif test("amazon") then "amazon"
        else (split(" ")[0] | gsub("[^a-z0-9]"; "")) end;
      split("\n") | map(select(length > 0) | split("\t")
        | {name: .[0], epoch: .[1], version: .[2], release: .[3], arch: .[4], vendor: .[5], license: .[6]})
      | map(select(.name != "gpg-pubkey"))
      | map(
          (if (.epoch | none) then "" else .epoch + ":" end) as $e
          | {name, versionInfo: ($e + .version + "-" + .release), downloadLocation: "NOASSERTION", filesAnalyzed: false,
             supplier: (if (.vendor | none) then "NOASSERTION" else "Organization: " + .vendor end),
             licenseDeclared: "NOASSERTION",
             comment: ("rpm " + .name + "-" + $e + .version + "-" + .release + "." + .arch
                       + (if (.license | none) then "" else "; License tag: " + .license end))}
          + (if (.vendor | none) then {} else {externalRefs: [{referenceCategory: "PACKAGE-MANAGER", referenceType: "purl",
              referenceLocator: ("pkg:rpm/" + (.vendor | namespace) + "/" + (.name | @uri) + "@" + (.version + "-" + .release | @uri)
                + "?arch=" + .arch + (if (.epoch | none) then "" else "&epoch=" + .epoch end) + "&distro=" + $distro)}]} end)
          + (if .name == "amazon-ssm-agent" and $ssm_sha != "" then
              {downloadLocation: $ssm_location, checksums: [{algorithm: "SHA256", checksumValue: $ssm_sha}],
               sourceInfo: "SSM agent RPM, PGP signature checked"} else {} end))' >"${rpms}"
  [[ $(jq length "${rpms}") -gt 0 ]] || die "rpm -qa listed no packages"
}

write_document() {
  local created namespace redhat_release
  created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  namespace="urn:uuid:$(cat /proc/sys/kernel/random/uuid)"
  redhat_release=$(cat /etc/redhat-release 2>/dev/null || printf 'RHEL %s' "${RHEL_VERSION}")
  # Ids: SPDXRef-<kind>-<n>-<name>, made unique by the counter (names may repeat across arches).
  jq -n --slurpfile bins <(jq -s . "${binaries}") --slurpfile rpms "${rpms}" \
    --arg created "${created}" --arg namespace "${namespace}" --arg os "${redhat_release}" \
    --arg k8s "${KUBERNETES_VERSION}" --arg arch "${ARCH}" --arg variant "${VARIANT}" --arg rhel "${RHEL_VERSION}" '
    def ids($kind): to_entries | map(.value + {SPDXID: ("SPDXRef-" + $kind + "-" + (.key | tostring) + "-" + (.value.name | gsub("[^A-Za-z0-9.-]"; "-")))});
    ($bins[0] | ids("bin")) as $b | ($rpms[0] | ids("rpm")) as $r
    | {
        spdxVersion: "SPDX-2.3", dataLicense: "CC0-1.0", SPDXID: "SPDXRef-DOCUMENT",
        name: ("EKS worker image, Kubernetes " + $k8s + ", " + $os + ", " + $arch + ", " + $variant),
        documentNamespace: $namespace,
        creationInfo: {created: $created, creators: ["Tool: rhel-eks-ami provisioners/sbom.sh"],
                       comment: "Made on the build instance from the RPM database and the binaries the build installed."},
        documentDescribes: ["SPDXRef-image"],
        packages: ([{SPDXID: "SPDXRef-image", name: ("rhel-" + $rhel + "-eks-worker"), versionInfo: $k8s,
                     downloadLocation: "NOASSERTION", filesAnalyzed: false, primaryPackagePurpose: "OPERATING_SYSTEM",
                     comment: ("Amazon EKS worker image on " + $os + " (" + $arch + ", " + $variant + ")")}] + $b + $r),
        relationships: ([{spdxElementId: "SPDXRef-DOCUMENT", relationshipType: "DESCRIBES", relatedSpdxElement: "SPDXRef-image"}]
          + (($b + $r) | map({spdxElementId: "SPDXRef-image", relationshipType: "CONTAINS", relatedSpdxElement: .SPDXID})))
      }' >"${output}.partial"
  # Ids unique, every binary with a SHA-256: a document that breaks either is not written.
  jq -e '(.packages | map(.SPDXID) | (unique | length) == length)
         and ([.packages[] | select(.primaryPackagePurpose == "APPLICATION") | .checksums[0].checksumValue | test("^[0-9a-f]{64}$")] | all)' \
    "${output}.partial" >/dev/null || {
    rm -f "${output}.partial"
    die "${output} would not be a consistent SPDX document"
  }
  mv "${output}.partial" "${output}"
  chmod 0644 "${output}"
  log "${output}: $(jq '.packages | length' "${output}") packages ($(jq -s length "${binaries}") installed binaries), sha256 $(sha256_of "${output}")"
}

step "list the Kubernetes binaries" kubernetes_binaries
step "list containerd and runc" runtime_binaries
step "list the CNI plugins" cni_binaries
step "list the AWS CLI" aws_cli
step "list the pause image archive" pause_image
step "list the RPM packages" rpm_packages
step "write ${output}" write_document
