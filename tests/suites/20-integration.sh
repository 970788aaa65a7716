#!/usr/bin/env bash
# Integration suite: the built pam_ciba.so through real libpam against the HTTPS test provider.
# check: long
set -u
exec "$PY" "$ROOT/tests/integration/test_pam.py"
