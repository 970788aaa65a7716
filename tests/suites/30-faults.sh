#!/usr/bin/env bash
# Fault matrix: pam_ciba.so through libpam against network faults, a hostile provider,
# hostile input and odd PAM applications (tests/faults/test_faults.py).
# check: long
set -u
tmp=$(mktemp -d /tmp/pam_ciba_faults.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
CC=${CC:-cc}
if ! "$CC" -std=c11 -Wall -Wextra -Werror -O1 -o "$tmp/pam_host" "$ROOT/tests/faults/pam_host.c" -lpam -lpthread ||
   ! "$CC" -std=c11 -Wall -Wextra -Werror -O1 -DHOST_USES_CURL -o "$tmp/pam_host_curl" \
       "$ROOT/tests/faults/pam_host.c" -lpam -lpthread -lcurl -lcrypto; then
  echo "FAIL: cannot build tests/faults/pam_host.c"
  echo "RESULT passed=0 failed=1"
  exit 1
fi
PAM_HOST="$tmp/pam_host" PAM_HOST_CURL="$tmp/pam_host_curl" "$PY" "$ROOT/tests/faults/test_faults.py"
