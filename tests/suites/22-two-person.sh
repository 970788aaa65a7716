#!/usr/bin/env bash
# Two-person approval and command_rules (issue 13) through real libpam against the HTTPS test provider.
set -u
exec "$PY" "$ROOT/tests/two_person/test_two_person.py"
