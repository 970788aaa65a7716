#!/usr/bin/env bash
# End-to-end suite: pam_ciba inside real sshd, sudo and login (and the pam_ciba-check tool),
# driven through tmux in a private mount namespace; see tests/e2e/test_e2e.py.
# check: alone (test users, sshd and terminals)
set -u
exec "$PY" "$ROOT/tests/e2e/test_e2e.py" "$@"
