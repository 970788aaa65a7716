#!/usr/bin/env bash
# The hostile local caller: the real setuid su and sudo run by an unprivileged test user, with
# the built module in a private mount namespace's pam.d; see tests/local/test_local.py.
# check: alone (a test user; real su and sudo)
set -u
exec "$PY" "$ROOT/tests/local/test_local.py" "$@"
