#!/bin/bash
# Runs one command with a /tmp of its own, so pam_wrapper's /tmp/pam.X directories are never shared.
#
# pam_wrapper (1.1.4, Debian 12) copies each process's PAM service files into /tmp/pam.X, X one
# of 62 letters and digits, picked with lstat() and then mkdir() without O_EXCL (a failed mkdir
# is only logged). Two processes starting together can pick the same X: one reads the service
# file while the other truncates and rewrites it (or removes the directory as it exits), finds
# it empty or gone and runs the "other" stack (pam_deny): PAM_AUTH_ERR without the module ever
# running. A private mount namespace with a fresh tmpfs on /tmp makes every X private.
#
# Usage: PRIVATE_TMP_LD_PRELOAD=... private_tmp.sh [--keep /tmp/NAME]... -- COMMAND [ARG...]
#        private_tmp.sh --check    (exit 0 if a private /tmp can be made here; root: it mounts)
# On a systemd host journald's sockets are hidden too (see below).
# Each --keep entry of /tmp (the test's configs, CA, caches, logs) is bound back at its own
# path, so the command sees it and what it writes there stays visible outside.
# The command's LD_PRELOAD comes in PRIVATE_TMP_LD_PRELOAD: preloaded into this script and the
# tools it runs, pam_wrapper would set itself up in the shared /tmp before the namespace exists.
set -eu
if [ "${1:-}" != "--in-namespace" ]; then
  exec unshare --mount --propagation private -- "$0" --in-namespace "$@"
fi
shift
keep=()
fds=()
while [ $# -gt 0 ] && [ "$1" = "--keep" ]; do
  case $2 in /tmp/?*) ;; *) echo "private_tmp: --keep takes a /tmp entry, not $2" >&2; exit 2 ;; esac
  # Opened before the tmpfs covers it; the bind mount below takes it from this descriptor.
  exec {fd}<"$2"
  keep+=("$2")
  fds+=("$fd")
  shift 2
done
[ "${1:-}" = "--" ] && shift
mount -t tmpfs -o mode=1777 tmpfs /tmp
for i in "${!keep[@]}"; do
  p=${keep[$i]}
  if [ -d "/proc/self/fd/${fds[$i]}" ]; then mkdir -p "$p"; else mkdir -p "$(dirname "$p")"; : >"$p"; fi
  # Without --no-canonicalize mount would resolve /proc/self/fd/N to the path, now in the tmpfs.
  mount --no-canonicalize --bind "/proc/self/fd/${fds[$i]}" "$p"
  exec {fds[$i]}<&-
done
# The module sends its decision to journald when journald takes it (pam_ciba(8), LOGGING),
# and then writes no syslog line; pam_wrapper shows only syslog lines, which the tests read.
# On a host where journald runs, its sockets are hidden here, so the decision comes as the
# syslog line the tests expect. PRIVATE_TMP_JOURNAL=keep leaves them (the journal tests).
if [ "${PRIVATE_TMP_JOURNAL:-}" != keep ] && [ -d /run/systemd/journal ]; then
  mount -t tmpfs -o mode=0755 tmpfs /run/systemd/journal
fi
unset PRIVATE_TMP_JOURNAL
[ "${1:-}" = "--check" ] && exit 0
if [ -n "${PRIVATE_TMP_LD_PRELOAD:-}" ]; then export LD_PRELOAD=$PRIVATE_TMP_LD_PRELOAD; fi
unset PRIVATE_TMP_LD_PRELOAD
exec "$@"
