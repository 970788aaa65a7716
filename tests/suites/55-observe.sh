#!/usr/bin/env bash
# Operations: the decision's journal fields in a private journal, and metrics_file under 200
# concurrent logins (tests/observe/test_observe.py).
# check: alone (200 logins at once)
set -u
tmp=$(mktemp -d /tmp/pam_ciba_observe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
if ! "${CC:-cc}" -std=c11 -Wall -Wextra -Werror -O1 -o "$tmp/pam_host" "$ROOT/tests/faults/pam_host.c" -lpam -lpthread; then
  echo "FAIL: cannot build tests/faults/pam_host.c"
  echo "RESULT passed=0 failed=1"
  exit 1
fi
PAM_HOST="$tmp/pam_host" "$PY" "$ROOT/tests/observe/test_observe.py" "$@"
