#!/bin/bash
# Runs a command next to a systemd-journald of its own, in a private mount namespace, and
# saves what the journal holds afterwards. Nothing outside the namespace changes: /run (and
# /var/log/journal, if there) are fresh tmpfs mounts, journald's config is bound over, and
# its own messages go to stderr, not to the kernel log.
#
# Usage: journal_ns.sh OUTDIR -- COMMAND [ARG...]
# Writes OUTDIR/journal.json (journalctl -o json), OUTDIR/denied.json (journalctl
# PAM_CIBA_OUTCOME=denied -o json), OUTDIR/export.txt (every field of every entry) and
# OUTDIR/journald.log. Exit status: the command's, or 3 if journald did not come up.
set -eu
if [ "${1:-}" != "--in-namespace" ]; then
  exec unshare --mount --propagation private -- "$0" --in-namespace "$@"
fi
shift
out=$1
shift
[ "${1:-}" = "--" ] && shift
journald=
for p in /lib/systemd/systemd-journald /usr/lib/systemd/systemd-journald; do
  if [ -x "$p" ]; then journald=$p; break; fi
done
[ -n "$journald" ] || { echo "journal_ns: systemd-journald not found" >&2; exit 3; }

mount -t tmpfs -o mode=0755 tmpfs /run
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 tmpfs /var/log/journal; fi
mkdir -p /run/systemd/journal
# journald needs a machine ID: a container's /etc/machine-id may be empty.
if ! grep -qE '^[0-9a-f]{32}$' /etc/machine-id 2>/dev/null; then
  [ -e /etc/machine-id ] || { echo "journal_ns: no /etc/machine-id (systemd-machine-id-setup makes one)" >&2; exit 3; }
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >/run/machine-id
  echo >>/run/machine-id
  mount --bind /run/machine-id /etc/machine-id
fi
conf=/run/journald-test.conf
cat >"$conf" <<'CONF'
[Journal]
Storage=volatile
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
RateLimitBurst=0
CONF
if [ -f /etc/systemd/journald.conf ]; then mount --bind "$conf" /etc/systemd/journald.conf; fi
if [ -d /etc/systemd/journald.conf.d ]; then mount -t tmpfs tmpfs /etc/systemd/journald.conf.d; fi

SYSTEMD_LOG_TARGET=console "$journald" >"$out/journald.log" 2>&1 &
jpid=$!
trap 'kill "$jpid" 2>/dev/null; wait "$jpid" 2>/dev/null || true' EXIT
# journald binds its sockets before it serves: wait for them (bounded), not for a fixed time.
for _ in $(seq 200); do
  [ -S /run/systemd/journal/socket ] && [ -S /run/systemd/journal/io.systemd.journal ] && break
  kill -0 "$jpid" 2>/dev/null || break
  sleep 0.05
done
if [ ! -S /run/systemd/journal/socket ]; then
  echo "journal_ns: journald did not start:" >&2
  cat "$out/journald.log" >&2
  exit 3
fi

rc=0
"$@" || rc=$?

# Everything sent is written before it is read: --sync asks journald itself (varlink).
journalctl --sync
dir=/run/log/journal/$(cat /etc/machine-id)
journalctl -D "$dir" -o json >"$out/journal.json"
journalctl -D "$dir" -o json PAM_CIBA_OUTCOME=denied >"$out/denied.json"
journalctl -D "$dir" -o export >"$out/export.txt"
exit $rc
