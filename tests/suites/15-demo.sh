#!/usr/bin/env bash
# The README's first command under test: ./dev.sh demo (the phone approves) and ./dev.sh demo
# --deny, each asserted by its exit status and the outcome and decision lines it prints.
# check: alone (the README's demo, shown as a newcomer sees it)
set -u
passed=0
failed=0
out=$(mktemp -d /tmp/pam_ciba_demo_suite.XXXXXX)
trap 'rm -rf "$out"' EXIT

# run NAME WANT_RC OUTCOME_LINE DECISION ARGS...
run() {
  local name=$1 want_rc=$2 outcome=$3 decision=$4 rc start why=""
  shift 4
  start=$(date +%s)
  # deps and build are no-ops on a built tree; the demo's login takes the phone's 4 s.
  "$ROOT/dev.sh" demo "$@" </dev/null >"$out/$name.txt" 2>&1
  rc=$?
  sed 's/\x1b\[[0-9;]*m//g' "$out/$name.txt" >"$out/$name.plain"
  [ "$rc" = "$want_rc" ] || why="exit $rc, want $want_rc"
  grep -qxF "==> outcome: $outcome" "$out/$name.plain" || why="${why:+$why; }no line \"==> outcome: $outcome\""
  grep -qE "pam_ciba: decision user=alice service=demo .*outcome=$decision " "$out/$name.plain" ||
    why="${why:+$why; }no decision line with outcome=$decision"
  grep -qF "phone: $decision request '" "$out/$name.plain" ||
    why="${why:+$why; }the provider's view shows no phone $decision"
  if [ -z "$why" ]; then
    passed=$((passed + 1)); echo "PASS: $name ($(( $(date +%s) - start ))s)"
  else
    failed=$((failed + 1)); echo "FAIL: $name: $why; output:"; sed 's/^/    /' "$out/$name.plain" | tail -n 25
  fi
}

run demo_approve 0 "login APPROVED (PAM_SUCCESS)" approved
run demo_deny 0 "login REFUSED (pamtester exit 1)" denied --deny
echo "RESULT passed=$passed failed=$failed"
[ "$failed" = 0 ]
