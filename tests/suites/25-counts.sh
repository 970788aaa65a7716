#!/usr/bin/env bash
# The benchmark's machine-independent counts (requests, connections, TLS handshakes, polls
# against the interval, heap and descriptors after many logins) as exact regression tests.
set -u
tmp=$(mktemp -d /tmp/pam_ciba_counts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$tmp/pam_bench" "$ROOT/bench/pam_bench.c" -lpam; then
  echo "FAIL: cannot build bench/pam_bench.c"
  echo "RESULT passed=0 failed=1"
  exit 1
fi
# Not exec: the EXIT trap must still remove the driver's directory.
"$PY" "$ROOT/tests/counts/test_counts.py" --so "$PAM_CIBA_SO" --driver "$tmp/pam_bench"
