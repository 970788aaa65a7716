#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, -fsanitize=fuzzer,address,undefined) and runs each
# over its seed corpus. Usage: tests/fuzz/run.sh BUILD_DIR RUNS|SECONDS [TARGET...]
#   RUNS:     a number: each target runs exactly that many inputs (./dev.sh check)
#   SECONDS:  "Ns", e.g. 300s: each target runs that long (./dev.sh fuzz)
# A new target is a file tests/fuzz/fuzz_NAME.c plus seeds in tests/fuzz/corpus/NAME/.
# Crashing inputs land in BUILD_DIR/crashes/; copy them into the corpus as regression seeds.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=${1:?build dir}
BUDGET=${2:?runs or seconds}
shift 2
CLANG=${CLANG:-$(command -v clang || command -v clang-14)}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
CFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -DPACKAGE_VERSION=\"fuzz\" -I$ROOT/pam_ciba $(pkg-config --cflags libcurl json-c libconfig libssl libcrypto)"
LIBS="$(pkg-config --libs libcurl json-c libconfig libssl libcrypto) -lm"
passed=0
failed=0
mkdir -p "$OUT/obj" "$OUT/crashes" "$OUT/corpus"

# The PAM-free core, instrumented once; every source but the PAM glue (new files such as
# jwks.c are picked up by themselves).
objs=()
for src in "$ROOT"/pam_ciba/*.c; do
  [ "$(basename "$src")" = pam_ciba.c ] && continue
  obj="$OUT/obj/$(basename "$src" .c).o"
  if [ ! -f "$obj" ] || [ "$src" -nt "$obj" ] || [ -n "$(find "$ROOT/pam_ciba" -name '*.h' -newer "$obj")" ]; then
    # shellcheck disable=SC2086
    "$CLANG" $CFLAGS $SAN -fsanitize=fuzzer-no-link -c "$src" -o "$obj" || { echo "FAIL: compile $src"; failed=$((failed + 1)); }
  fi
  objs+=("$obj")
done

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in "$ROOT"/tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c | sed 's/^fuzz_//')"); done
fi
for t in "${targets[@]}"; do
  bin="$OUT/fuzz_$t"
  # shellcheck disable=SC2086
  if ! "$CLANG" $CFLAGS $SAN -fsanitize=fuzzer "$ROOT/tests/fuzz/fuzz_$t.c" "${objs[@]}" $LIBS -o "$bin"; then
    echo "FAIL: fuzz_$t: does not build"
    failed=$((failed + 1))
    continue
  fi
  seeds="$ROOT/tests/fuzz/corpus/$t"
  mkdir -p "$OUT/corpus/$t"
  if [[ $BUDGET == *s ]]; then limit=(-max_total_time="${BUDGET%s}"); else limit=(-runs="$BUDGET"); fi
  log="$OUT/fuzz_$t.log"
  # Seeds are read-only inputs; new finds go to BUILD_DIR/corpus.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    LSAN_OPTIONS=suppressions="$ROOT/tests/fuzz/lsan.supp":print_suppressions=0 \
    "$bin" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$OUT/crashes/$t-" "$OUT/corpus/$t" "$seeds" >"$log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  if [ $rc -eq 0 ]; then
    echo "PASS: fuzz_$t: ${execs:-?} executions, $(ls "$OUT/corpus/$t" | wc -l) new corpus entries"
    passed=$((passed + 1))
  else
    echo "FAIL: fuzz_$t (exit $rc) after ${execs:-?} executions; artifacts in $OUT/crashes; log:"
    grep -E 'ERROR|SUMMARY|oracle|#0 |#1 |#2 |#3 ' "$log" | head -20 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done
echo "RESULT passed=$passed failed=$failed"
[ $failed -eq 0 ]
