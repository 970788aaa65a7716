#!/usr/bin/env bash
# Policy suite: groups, exemptions, subject maps, approval reuse, templates, proxies, pinning through real libpam.
set -u
exec "$PY" "$ROOT/tests/policy/test_policy.py"
