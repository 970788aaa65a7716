#!/bin/sh
# Builds the Debian packages from a "make dist" tarball: unpacks it in a scratch
# directory, puts packaging/debian at the top as debian/, runs dpkg-buildpackage.
# Usage: packaging/build-deb.sh pam_ciba-VERSION.tar.gz OUTDIR [dpkg-buildpackage args]
set -eu

tarball=$(realpath "$1")
outdir=$2
shift 2
mkdir -p "$outdir"
outdir=$(realpath "$outdir")
work=$(mktemp -d "${TMPDIR:-/tmp}/pam_ciba-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

tar -xzf "$tarball" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'pam_ciba-*')
version=${src##*/pam_ciba-}
# The orig tarball lets "dpkg-buildpackage -S" work too; -b does not need it.
cp "$tarball" "$work/pam-ciba_$version.orig.tar.gz"
cp -a "$src/packaging/debian" "$src/debian"
upstream=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version | sed 's/-[^-]*$//')
if [ "$upstream" != "$version" ]; then
	echo "debian/changelog says $upstream, the tarball is $version: add a changelog entry (dch -v $version-1)" >&2
	exit 1
fi
(cd "$src" && dpkg-buildpackage -us -uc -b "$@")
find "$work" -maxdepth 1 -type f \( -name '*.deb' -o -name '*.ddeb' -o -name '*.changes' -o -name '*.buildinfo' \) \
	-exec cp {} "$outdir" \;
ls -1 "$outdir"
