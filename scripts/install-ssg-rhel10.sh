#!/usr/bin/env bash
# The SCAP Security Guide data stream for RHEL 10, for test/stig. Debian 12's ssg-nondebian (SSG 0.1.65) has
# RHEL 8/9 data streams only; Debian 13's (SSG 0.1.76) also carries ssg-rhel10-ds.xml with the RHEL 10 STIG
# profile. apt downloads that package from the Debian mirror this machine already uses (its trixie suite, with
# the Release signature apt checks), its SHA-256 is checked against the one pinned here, and only the RHEL 10
# data stream is extracted to SSG10_TARGET. Nothing is installed into the package database and the machine's
# apt sources stay as they are. Idempotent; needs root (called by scripts/install-test-deps.sh).
set -euo pipefail

readonly package=ssg-nondebian version=0.1.76-1
readonly sha256=3e16fe827b47799c9098f6ea5329ca72a6f8337daa958c99d7729578446eb284
readonly member=./usr/share/xml/scap/ssg/content/ssg-rhel10-ds.xml
readonly target=${SSG10_TARGET:-/usr/local/share/xml/scap/ssg/content/ssg-rhel10-ds.xml}
readonly marker="${target}.from-${package}_${version}"

if [[ -s ${target} && -f ${marker} ]]; then
  echo "RHEL 10 SCAP data stream present: ${target} (${package} ${version})"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "missing (run as root to install): ${target}, the RHEL 10 SCAP data stream from Debian 13's ${package} ${version}" >&2
  exit 0
fi

# The Debian mirror of the configured bookworm suite, so the same mirror serves trixie.
# shellcheck disable=SC2016 # $(REPO_URI) and $(RELEASE) are apt's placeholders, not shell expansions
mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Created-By: Packages' | awk '$2 == "bookworm" { print $1; exit }')
[[ -n ${mirror} ]] || {
  echo "no Debian bookworm source in the apt configuration: cannot fetch ${package} ${version} for ${target}" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
mkdir -p "${work}/lists/partial" "${work}/cache/archives/partial"
printf 'deb %s trixie main\n' "${mirror}" >"${work}/sources.list"
apt_opts=(-o "Dir::Etc::sourcelist=${work}/sources.list" -o Dir::Etc::sourceparts=/nonexistent
  -o "Dir::State::Lists=${work}/lists" -o "Dir::Cache=${work}/cache" -o APT::Sandbox::User=root)
echo "fetching ${package} ${version} (Debian trixie) for the RHEL 10 SCAP data stream"
apt-get "${apt_opts[@]}" update -qq
(cd "${work}" && apt-get "${apt_opts[@]}" download -qq "${package}=${version}")
deb="${work}/${package}_${version}_all.deb"
actual=$(sha256sum "${deb}" | cut -d' ' -f1)
if [[ ${actual} != "${sha256}" ]]; then
  echo "${deb##*/}: SHA-256 ${actual}, expected ${sha256}; nothing installed" >&2
  exit 1
fi
dpkg-deb --fsys-tarfile "${deb}" | tar -x -C "${work}" "${member}"
install -D -m 0644 "${work}/${member#./}" "${target}.partial"
mv "${target}.partial" "${target}"
touch "${marker}"
echo "installed ${target} from ${package} ${version}"
