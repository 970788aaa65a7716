#!/usr/bin/env bash
# Integration suite: the built pam_ciba.so through real libpam against the HTTPS test provider.
set -u
exec "$PY" "$ROOT/tests/integration/test_pam.py"
