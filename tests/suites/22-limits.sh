#!/usr/bin/env bash
# Request limits suite (issue 12): floods, the pending rule, per-source limits, lockout, tampered counters.
set -u
PAM_CIBA_CHECK="$BUILD/pam_ciba-check" exec "$PY" "$ROOT/tests/limits/test_limits.py"
