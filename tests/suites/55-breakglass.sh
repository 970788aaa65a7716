#!/usr/bin/env bash
# Break-glass codes (issue 14 item 1): pam_ciba-codes and the module's code prompt through real libpam.
set -u
exec "$PY" "$ROOT/tests/breakglass/test_breakglass.py" "$@"
