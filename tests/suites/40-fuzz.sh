#!/usr/bin/env bash
# libFuzzer targets (tests/fuzz/fuzz_*.c), each for a fixed number of executions over its
# seed corpus. ./dev.sh fuzz runs them longer.
# check: long
set -u
exec bash "$ROOT/tests/fuzz/run.sh" "$BUILD/fuzz" "${FUZZ_RUNS:-20000}"
