#!/usr/bin/env bash
# Interoperability suite: the built pam_ciba.so against node-oidc-provider (tests/interop).
# check: long
set -u
dir="$ROOT/tests/interop"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The pinned provider from package-lock.json; node_modules stays in tests/interop (git-ignored).
if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
  tail -n 20 "$log"
  echo "FAIL: npm ci in tests/interop"
  echo "RESULT passed=0 failed=1"
  exit 1
fi
rm -f "$log" # exec below leaves the EXIT trap behind
exec "$PY" "$dir/test_interop.py"
