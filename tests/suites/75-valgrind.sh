#!/usr/bin/env bash
# valgrind memcheck over integration logins through pamtester: every error and every
# definitely or indirectly lost byte fails the login (and so the test). A representative
# subset of tests/integration/test_pam.py: valgrind makes each login ~5x slower.
# check: long
set -u
logs=$(mktemp -d /tmp/pam_ciba_valgrind.XXXXXX)
trap 'rm -rf "$logs"' EXIT
TESTS=(approve_post client_secret_file pending_x3_then_approve deny_after_pending expire
  bc_authorize_500 token_500_once provider_down tls_untrusted_ca id_token_wrong_sub
  id_token_other_key id_token_garbage config_syntax_error config_secret_file_group_readable
  typed_code_right_after_approval typed_wrong_code_after_approval typed_nothing_after_approval)
args=()
for t in "${TESTS[@]}"; do args+=(-k "$t"); done
out="$logs/out.txt"
PAM_TEST_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --num-callers=30 --log-file=$logs/vg.%p" \
  "$PY" "$ROOT/tests/integration/test_pam.py" "${args[@]}" >"$out" 2>&1
# Break-glass logins (issue 14 item 1): scrypt, the locked rewrite, the refusals.
BG_TESTS=(always_code_used_once always_provider_down_enter_then_code unreachable_provider_down_code
  tampered_file_refused wrong_owner_refused)
bgargs=()
for t in "${BG_TESTS[@]}"; do bgargs+=(-k "$t"); done
out2="$logs/out-breakglass.txt"
PAM_TEST_WRAPPER="valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect --num-callers=30 --log-file=$logs/vg.%p" \
  "$PY" "$ROOT/tests/breakglass/test_breakglass.py" "${bgargs[@]}" >"$out2" 2>&1
passed=0
failed=0
for o in "$out" "$out2"; do
  sed 's/^/valgrind: /' "$o" | grep -v '^valgrind: RESULT'
  line=$(grep -E '^RESULT passed=[0-9]+ failed=[0-9]+' "$o" | tail -n1)
  if [ -z "$line" ]; then failed=$((failed + 1)); else
    passed=$((passed + $(sed 's/.*passed=\([0-9]*\).*/\1/' <<<"$line")))
    failed=$((failed + $(sed 's/.*failed=\([0-9]*\).*/\1/' <<<"$line")))
  fi
done
runs=$(find "$logs" -name 'vg.*' | wc -l)
bad=$(find "$logs" -name 'vg.*' -size +0c)
if [ -n "$bad" ]; then
  echo "FAIL: valgrind reported errors or leaks:"
  for f in $bad; do sed 's/^/    /' "$f" | head -40; done
  failed=$((failed + 1))
else
  echo "PASS: valgrind: $runs pamtester runs, 0 errors, 0 bytes definitely or indirectly lost"
  passed=$((passed + 1))
fi
echo "RESULT passed=$passed failed=$failed"
