#!/usr/bin/env bash
# sudo command_rules and two-person approval (issue 13) through the real setuid sudo; see
# tests/local/test_sudo_policy.py. Fixed user names: run under flock /tmp/pam_ciba-e2e.lock.
# check: alone (test users; real sudo)
set -u
exec "$PY" "$ROOT/tests/local/test_sudo_policy.py" "$@"
