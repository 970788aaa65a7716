#!/bin/sh
# Builds the binary RPM from a "make dist" tarball with the spec it carries
# (packaging/rpm/pam_ciba.spec). On Debian, BuildRequires cannot be checked
# against the (empty) rpm database, so --nodeps is passed there.
# Usage: packaging/build-rpm.sh pam_ciba-VERSION.tar.gz OUTDIR [rpmbuild args]
set -eu

tarball=$(realpath "$1")
outdir=$2
shift 2
mkdir -p "$outdir"
outdir=$(realpath "$outdir")
top=$(mktemp -d "${TMPDIR:-/tmp}/pam_ciba-rpm.XXXXXX")
trap 'rm -rf "$top"' EXIT INT TERM

name=$(basename "$tarball" .tar.gz)
version=${name#pam_ciba-}
spec_version=$(tar -xzOf "$tarball" "$name/packaging/rpm/pam_ciba.spec" | sed -n 's/^Version:[[:space:]]*//p')
if [ "$spec_version" != "$version" ]; then
	echo "pam_ciba.spec says Version: $spec_version, the tarball is $version" >&2
	exit 1
fi
nodeps=""
[ -e /etc/debian_version ] && nodeps=--nodeps
mkdir -p "$top/SOURCES"
cp "$tarball" "$top/SOURCES/"
tar -xzOf "$tarball" "$name/packaging/rpm/pam_ciba.spec" >"$top/pam_ciba.spec"
rpmbuild -bb $nodeps --define "_topdir $top" "$@" "$top/pam_ciba.spec"
find "$top/RPMS" -name '*.rpm' -exec cp {} "$outdir" \;
ls -1 "$outdir"
