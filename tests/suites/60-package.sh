#!/usr/bin/env bash
# Packaging suite: make distcheck, the Debian package (lintian, dpkg -i, one approved
# login through the INSTALLED module, purge leaves nothing), and the RPM build.
# Needs root (dpkg -i); installs libpam-ciba on this machine and always purges it.
# check: alone (installs and purges the package)
set -u

ROOT=${ROOT:?} PY=${PY:-/usr/bin/python3}
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
MODDIR=/lib/$MULTIARCH/security
PASSED=0
FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
bad() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
check() { # description, command...
    local what=$1
    shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
finish() {
    echo "RESULT passed=$PASSED failed=$FAILED"
    exit $((FAILED > 0))
}

TMP=$(mktemp -d /tmp/pam_ciba_pkg.XXXXXX)
PROVIDER_PID=""
INSTALLED_BY_US=0
cleanup() {
    [ -n "$PROVIDER_PID" ] && kill "$PROVIDER_PID" 2>/dev/null && wait "$PROVIDER_PID" 2>/dev/null
    if [ "$INSTALLED_BY_US" = 1 ] && dpkg-query -W libpam-ciba >/dev/null 2>&1; then
        dpkg_locked --purge libpam-ciba >/dev/null 2>&1
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# dpkg has no lock timeout; other apt runs may hold the lock for a while.
dpkg_locked() {
    local out i
    for i in $(seq 120); do
        if out=$(dpkg "$@" 2>&1); then printf '%s\n' "$out"; return 0; fi
        case $out in *"lock"*) sleep 5 ;; *) printf '%s\n' "$out"; return 1 ;; esac
    done
    printf '%s\n' "$out"
    return 1
}

if [ "$(id -u)" -ne 0 ]; then
    bad "needs root for dpkg -i (run through ./dev.sh check)"
    finish
fi
if dpkg-query -W -f='${Status}' libpam-ciba 2>/dev/null | grep -q installed; then
    bad "libpam-ciba is already installed on this machine: refusing to touch it"
    finish
fi
if [ -e /var/cache/pam_ciba ]; then
    bad "/var/cache/pam_ciba exists before the package is installed: refusing to let the purge remove it"
    finish
fi

# --- documentation: every config key the code accepts is in pam_ciba.conf(5) -------
undocumented=""
for k in $(sort -u <(sed -n 's/^ *[A-Z_]*("\([a-z_0-9]*\)",.*/\1/p' "$ROOT/pam_ciba/config.c")); do
    grep -qE "^(\*[a-z_0-9]+\*, )*\*$k\*" "$ROOT/man/pam_ciba.conf.5.scd" || undocumented="$undocumented $k"
done
check "every key in config.c's key table is documented in pam_ciba.conf(5)${undocumented:+ (missing:$undocumented)}" \
    test -z "$undocumented"

# --- build system: configure, DESTDIR install, distcheck ---------------------------
echo "# configure, install into a DESTDIR, make distcheck"
mkdir -p "$TMP/build"
(cd "$TMP/build" && "$ROOT/configure" --sysconfdir=/etc >"$TMP/configure.log" 2>&1)
check "configure succeeds" test -f "$TMP/build/Makefile"
check "configure finds libpam's module directory ($MODDIR)" \
    grep -q "PAM module dir : $MODDIR (compiled into" "$TMP/configure.log"
if ! make -C "$TMP/build" -j2 -s >"$TMP/make.log" 2>&1; then
    cat "$TMP/make.log"
    bad "make"
    finish
fi
make -C "$TMP/build" -s install DESTDIR="$TMP/dest" >"$TMP/install.log" 2>&1
check "make install: pam_ciba.so in the PAM directory" test -f "$TMP/dest$MODDIR/pam_ciba.so"
check "make install: no .la or .a in the PAM directory" \
    test -z "$(find "$TMP/dest$MODDIR" -name '*.la' -o -name '*.a')"
check "make install: example config mode 0600" \
    test "$(stat -c %a "$TMP/dest/etc/security/pam_ciba.conf" 2>/dev/null)" = 600
check "make install: man pages pam_ciba.8, pam_ciba.conf.5, pam_ciba-check.8, pam_ciba-codes.8" \
    test -f "$TMP/dest/usr/local/share/man/man8/pam_ciba.8" -a -f "$TMP/dest/usr/local/share/man/man5/pam_ciba.conf.5" \
    -a -f "$TMP/dest/usr/local/share/man/man8/pam_ciba-check.8" -a -f "$TMP/dest/usr/local/share/man/man8/pam_ciba-codes.8"
echo 'issuer = "https://edited.example/";' >"$TMP/dest/etc/security/pam_ciba.conf"
make -C "$TMP/build" -s install DESTDIR="$TMP/dest" >>"$TMP/install.log" 2>&1
check "make install keeps an existing config" \
    grep -q edited.example "$TMP/dest/etc/security/pam_ciba.conf"
check "man pages render without warnings" \
    test -z "$(for m in "$TMP"/build/man/*.[58] "$ROOT"/man/*.[58]; do [ -f "$m" ] && LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" 2>&1 >/dev/null; done)"

start=$(date +%s)
if make -C "$TMP/build" -j2 distcheck >"$TMP/distcheck.log" 2>&1; then
    ok "make distcheck ($(($(date +%s) - start)) s)"
else
    tail -40 "$TMP/distcheck.log"
    # A unit test that failed inside distcheck: its name and its own log (distcheck leaves them).
    grep -E '^(FAIL|ERROR): ' "$TMP/distcheck.log" | sed 's/^/# /'
    find "$TMP/build" -path '*/_build/*' -name 'test_*.log' -exec grep -l -E '^\[  FAILED  \]|^\[  ERROR   \]' {} + 2>/dev/null |
        while read -r log; do echo "# $log:"; sed 's/^/#   /' "$log" | tail -30; done
    bad "make distcheck"
fi
TARBALL=$(ls "$TMP"/build/pam_ciba-*.tar.gz 2>/dev/null | head -n1)
if [ -z "$TARBALL" ]; then
    make -C "$TMP/build" -s dist >/dev/null 2>&1
    TARBALL=$(ls "$TMP"/build/pam_ciba-*.tar.gz 2>/dev/null | head -n1)
fi
if [ -z "$TARBALL" ]; then
    bad "make dist produced no tarball"
    finish
fi
VERSION=$(basename "$TARBALL" .tar.gz)
VERSION=${VERSION#pam_ciba-}
check "tarball carries the prebuilt man pages, packaging and the test suites" \
    test "$(tar -tzf "$TARBALL" | grep -c -E "/(man/pam_ciba\.8|man/pam_ciba\.conf\.5|packaging/debian/rules|packaging/rpm/pam_ciba\.spec|tests/suites/60-package\.sh|tests/servers/ciba_provider\.py)$")" = 6

# --- Debian package ---------------------------------------------------------------
echo "# Debian package"
start=$(date +%s)
# The unit tests already ran in distcheck.
if DEB_BUILD_OPTIONS="nocheck parallel=2" sh "$ROOT/packaging/build-deb.sh" "$TARBALL" "$TMP/debs" \
    >"$TMP/deb.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($(($(date +%s) - start)) s)"
else
    tail -40 "$TMP/deb.log"
    bad "dpkg-buildpackage -us -uc -b"
    finish
fi
DEB=$(ls "$TMP"/debs/libpam-ciba_*.deb | head -n1)
check "a -dbgsym package was built" test -n "$(ls "$TMP"/debs/libpam-ciba-dbgsym_*.deb 2>/dev/null)"

lintian -I --pedantic --show-overrides "$TMP"/debs/*.changes >"$TMP/lintian.txt" 2>&1
echo "# lintian -I --pedantic --show-overrides output:"
grep -v '^running with root privileges' "$TMP/lintian.txt" | sed 's/^/#   /'
check "lintian: no errors" test -z "$(grep '^E:' "$TMP/lintian.txt")"
check "lintian: no warnings (the two deliberate ones are overridden with a reason)" \
    test -z "$(grep '^W:' "$TMP/lintian.txt")"

dpkg-deb -c "$DEB" | awk '{print $1, $6}' >"$TMP/deb-files.txt"
echo "# package file list:"
sed 's/^/#   /' "$TMP/deb-files.txt"
check "module at $MODDIR/pam_ciba.so, mode 0644" grep -qx -- "-rw-r--r-- .$MODDIR/pam_ciba.so" "$TMP/deb-files.txt"
check "no .la/.a in the package" test -z "$(grep -E '\.(la|a)$' "$TMP/deb-files.txt")"
check "config mode 0600 in the package" grep -qx -- "-rw------- ./etc/security/pam_ciba.conf" "$TMP/deb-files.txt"
dpkg-deb --ctrl-tarfile "$DEB" | tar -xO ./conffiles >"$TMP/conffiles" 2>/dev/null
check "/etc/security/pam_ciba.conf is a conffile" grep -qx /etc/security/pam_ciba.conf "$TMP/conffiles"
dpkg-deb --fsys-tarfile "$DEB" | tar -xO ./usr/share/pam-configs/pam_ciba >"$TMP/profile" 2>/dev/null
check "pam-auth-update profile is off by default (Default: no)" grep -qx "Default: no" "$TMP/profile"
check "man pages in the package" \
    test "$(grep -c -E 'man/man(5/pam_ciba\.conf\.5|8/pam_ciba\.8|8/pam_ciba-check\.8|8/pam_ciba-codes\.8)\.gz$' "$TMP/deb-files.txt")" = 4

# --- install, log in through the installed module, purge -------------------------
echo "# dpkg -i, one approved login through the installed module, dpkg --purge"
common_before=$(cat /etc/pam.d/common-* | sha256sum)
INSTALLED_BY_US=1
if dpkg_locked -i "$DEB" >"$TMP/dpkg-i.log" 2>&1; then ok "dpkg -i"; else cat "$TMP/dpkg-i.log"; bad "dpkg -i"; finish; fi
dpkg-query -L libpam-ciba >"$TMP/owned.txt"
check "installed module at $MODDIR/pam_ciba.so" test -f "$MODDIR/pam_ciba.so"
check "installed config mode 0600, owned by root" \
    test "$(stat -c '%a %U' /etc/security/pam_ciba.conf)" = "600 root"
check "installing changed no PAM service (profile not enabled)" \
    test "$common_before" = "$(cat /etc/pam.d/common-* | sha256sum)"
check "common-auth does not name pam_ciba" test -z "$(grep pam_ciba /etc/pam.d/common-auth)"

# What an admin does next: pam-auth-update --enable, then --disable. Run in a private mount
# namespace over copies of /etc/pam.d and /var/lib/pam, so the machine's PAM never changes.
pam_auth_update_in_ns() {
    unshare --mount --propagation private sh -c '
        set -e
        mkdir -p "$1/ns-pam.d" "$1/ns-lib-pam"
        cp -a /etc/pam.d/. "$1/ns-pam.d/"; cp -a /var/lib/pam/. "$1/ns-lib-pam/"
        mount --bind "$1/ns-pam.d" /etc/pam.d; mount --bind "$1/ns-lib-pam" /var/lib/pam
        DEBIAN_FRONTEND=noninteractive pam-auth-update --enable pam_ciba
        cp /etc/pam.d/common-auth "$1/common-auth.enabled"
        DEBIAN_FRONTEND=noninteractive pam-auth-update --disable pam_ciba
        cp /etc/pam.d/common-auth "$1/common-auth.disabled"' sh "$TMP" >"$TMP/pam-auth-update.log" 2>&1
}
if pam_auth_update_in_ns; then ok "pam-auth-update --enable/--disable pam_ciba (private mount namespace)"; else
    sed 's/^/#   /' "$TMP/pam-auth-update.log"
    bad "pam-auth-update --enable/--disable pam_ciba (private mount namespace)"
fi
# Enabled: one "required pam_ciba.so" line, in the additional block after the primary one
# (after pam_permit), so a wrong password never reaches the phone.
check "enabled: common-auth has one 'auth required pam_ciba.so', after the primary block" \
    awk '/^auth[ \t]/ && /pam_permit\.so/ { p = NR } /^auth[ \t]+required[ \t]+pam_ciba\.so[ \t]*$/ { c = NR; n++ }
         END { exit !(n == 1 && p > 0 && c > p) }' "$TMP/common-auth.enabled"
check "disabled: common-auth is back to what it was" cmp -s "$TMP/common-auth.disabled" /etc/pam.d/common-auth
check "the machine's common-auth never changed" test -z "$(grep pam_ciba /etc/pam.d/common-auth)"

# The local provider on loopback, as in ./dev.sh demo; secrets handed over in files.
sh "$ROOT/tests/servers/make_ca.sh" "$TMP/ca" >/dev/null 2>&1
(umask 077
 head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$TMP/client_secret"
 printf '{"pam-ciba-pkg": "%s"}' "$(cat "$TMP/client_secret")" >"$TMP/clients.json")
"$PY" "$ROOT/tests/servers/ciba_provider.py" --cert "$TMP/ca/server.pem" --key "$TMP/ca/server.key" \
    --port-file "$TMP/port" --phone approve --phone-delay 1 --interval 1 \
    --clients-json "$TMP/clients.json" >"$TMP/provider.log" 2>&1 &
PROVIDER_PID=$!
for _ in $(seq 100); do [ -s "$TMP/port" ] && break; sleep 0.1; done
if [ -s "$TMP/port" ]; then
    # The test config goes into the installed conffile: the module reads its default
    # path, and the purge below must remove the edited file too.
    cat >/etc/security/pam_ciba.conf <<CONF
issuer = "https://127.0.0.1:$(cat "$TMP/port")/";
client_id = "pam-ciba-pkg";
client_secret_file = "$TMP/client_secret";
ca_file = "$TMP/ca/ca.pem";
max_wait = 30;
CONF
    mkdir -p "$TMP/pam.d"
    # A bare module name: libpam must find the installed module in its own directory.
    printf 'auth required pam_ciba.so\naccount required pam_permit.so\n' >"$TMP/pam.d/pkgtest"
    echo "auth required pam_deny.so" >"$TMP/pam.d/other"
    echo "alice:x:4242:4242:Package Test:/nonexistent:/bin/sh" >"$TMP/passwd"
    echo "alice:x:4242:" >"$TMP/group"
    # A /tmp of its own for pam_wrapper, and (on a host running journald) the decision as
    # the syslog line pam_wrapper shows: private_tmp.sh hides journald's sockets.
    isolate=() preload=LD_PRELOAD
    if "$ROOT/tests/integration/private_tmp.sh" --check 2>/dev/null; then
        isolate=("$ROOT/tests/integration/private_tmp.sh" --keep "$TMP" --)
        preload=PRIVATE_TMP_LD_PRELOAD
    fi
    pam_login() { # user
        env "$preload=libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
            PAM_WRAPPER_SERVICE_DIR="$TMP/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
            NSS_WRAPPER_PASSWD="$TMP/passwd" NSS_WRAPPER_GROUP="$TMP/group" \
            "${isolate[@]}" timeout 60 pamtester -v pkgtest "$1" authenticate </dev/null >"$TMP/pam-$1.out" 2>&1
    }
    if pam_login alice; then ok "approved login through the installed module"; else
        sed 's/^/#   /' "$TMP/pam-alice.out"
        bad "approved login through the installed module"
    fi
    check "the decision came from pam_ciba (outcome=approved in its log line)" \
        grep -q "decision user=alice service=pkgtest .*outcome=approved" "$TMP/pam-alice.out"
    check "the binding message reached the conversation" grep -q 'Approve the request "' "$TMP/pam-alice.out"
    if pam_login mallory; then bad "an unknown user is refused"; else ok "an unknown user is refused"; fi
    check "the refusal came from pam_ciba (outcome=user_unknown)" \
        grep -q "decision user=mallory .*outcome=user_unknown" "$TMP/pam-mallory.out"
else
    sed 's/^/#   /' "$TMP/provider.log"
    bad "the local provider did not start"
fi
kill "$PROVIDER_PID" 2>/dev/null
wait "$PROVIDER_PID" 2>/dev/null
PROVIDER_PID=""

# The test config keeps the default cache_dir: the installed module creates it, and the
# purge must remove it.
check "the installed module cached discovery in /var/cache/pam_ciba" \
    test -n "$(ls -A /var/cache/pam_ciba 2>/dev/null)"
if dpkg_locked --purge libpam-ciba >"$TMP/purge.log" 2>&1; then ok "dpkg --purge"; else cat "$TMP/purge.log"; bad "dpkg --purge"; fi
INSTALLED_BY_US=0
check "package no longer known to dpkg" test -z "$(dpkg-query -W -f='${Status}' libpam-ciba 2>/dev/null | grep -v not-installed)"
left=""
while read -r f; do
    [ "$f" = /. ] && continue
    # A directory may stay when it holds other packages' files or another package owns it.
    if [ -d "$f" ]; then
        [ -n "$(ls -A "$f" 2>/dev/null)" ] && continue
        dpkg-query -S "$f" >/dev/null 2>&1 && continue
    fi
    [ -e "$f" ] || [ -L "$f" ] && left="$left $f"
done <"$TMP/owned.txt"
check "every file the package owned is gone${left:+ (left:$left)}" test -z "$left"
check "module, conffile, pam-configs profile and docs are gone" \
    test ! -e "$MODDIR/pam_ciba.so" -a ! -e /etc/security/pam_ciba.conf -a ! -e /usr/share/pam-configs/pam_ciba \
    -a ! -e /usr/share/doc/libpam-ciba
check "the runtime cache /var/cache/pam_ciba is gone" test ! -e /var/cache/pam_ciba
check "pam-auth-update forgot the profile (/var/lib/pam/seen)" test -z "$(grep -x pam_ciba /var/lib/pam/seen 2>/dev/null)"
check "PAM services unchanged after purge" test "$common_before" = "$(cat /etc/pam.d/common-* | sha256sum)"

# --- RPM --------------------------------------------------------------------------
echo "# RPM"
start=$(date +%s)
if sh "$ROOT/packaging/build-rpm.sh" "$TARBALL" "$TMP/rpms" --nocheck >"$TMP/rpm.log" 2>&1; then
    ok "rpmbuild -bb from the tarball ($(($(date +%s) - start)) s)"
else
    tail -40 "$TMP/rpm.log"
    bad "rpmbuild -bb from the tarball"
    finish
fi
RPM=$(ls "$TMP"/rpms/pam_ciba-"$VERSION"-*.rpm 2>/dev/null | grep -v -e debuginfo -e debugsource | head -n1)
rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]' "$RPM" >"$TMP/rpm-files.txt" 2>/dev/null
echo "# rpm file list (mode owner flags path):"
sed 's/^/#   /' "$TMP/rpm-files.txt"
check "rpm: module in /usr/lib64/security" grep -q " /usr/lib64/security/pam_ciba.so$" "$TMP/rpm-files.txt"
check "rpm: config is %config(noreplace), mode 0600, root" \
    grep -qx -- "-rw------- root cn /etc/security/pam_ciba.conf" "$TMP/rpm-files.txt"
check "rpm: no .la/.a" test -z "$(grep -E '\.(la|a)$' "$TMP/rpm-files.txt")"
check "rpm: the four man pages" test "$(grep -c '/usr/share/man/man[58]/pam_ciba' "$TMP/rpm-files.txt")" = 4

finish
