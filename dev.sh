#!/usr/bin/env bash
# Developer entry point: ./dev.sh demo | check | build | deps (see README.md).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD="$ROOT/build"
PY=/usr/bin/python3

# Debian packages the build, the tests and the demo need.
PACKAGES=(build-essential autoconf automake libtool pkg-config
  libpam0g-dev libcurl4-openssl-dev libjson-c-dev libconfig-dev libssl-dev libcmocka-dev libsystemd-dev
  python3 python3-cryptography openssl pamtester libpam-wrapper libnss-wrapper)

# Suites add their own packages in tests/deps.d/*.txt (one per line, # comments).
for f in "$ROOT"/tests/deps.d/*.txt; do
  [ -f "$f" ] && while read -r p _; do [ -n "$p" ] && [ "${p#\#}" = "$p" ] && PACKAGES+=("$p"); done <"$f"
done

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" -ne 0 ]; then
    say "root is needed (packages, root-owned test configs): re-running with sudo"
    exec sudo -E "$0" "$@"
  fi
}

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    # Wait for a dpkg lock held by another apt run instead of failing.
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    # A daemon installed for the tests (openssh-server) must not start as a system service:
    # a temporary policy-rc.d (Debian's hook for that) says no, unless one exists already.
    local policy=/usr/sbin/policy-rc.d made_policy=0
    if [ ! -e "$policy" ]; then
      printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && made_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
      --no-install-recommends "${missing[@]}" >/dev/null || { if [ $made_policy = 1 ]; then rm -f "$policy"; fi; return 1; }
    if [ $made_policy = 1 ]; then rm -f "$policy"; fi
  fi
}

build() {
  say "building in $BUILD"
  # An in-tree configure would block the out-of-tree build.
  if [ -f "$ROOT/config.status" ]; then make -C "$ROOT" distclean >/dev/null 2>&1 || true; fi
  if [ ! -x "$ROOT/configure" ] || [ "$ROOT/configure.ac" -nt "$ROOT/configure" ] ||
     [ "$ROOT/Makefile.am" -nt "$ROOT/Makefile.in" ]; then
    (cd "$ROOT" && ./autogen.sh >/dev/null 2>&1)
  fi
  mkdir -p "$BUILD"
  if [ ! -f "$BUILD/Makefile" ] || [ "$ROOT/configure" -nt "$BUILD/Makefile" ]; then
    (cd "$BUILD" && "$ROOT/configure" --enable-werror -q)
  fi
  make -C "$BUILD" -j"$(nproc)" -s >/dev/null
}

# Totals across every suite, for the closing line.
PASSED=0
FAILED=0
SKIPPED=0
# A partial run (./dev.sh check --quick) leaves these out and lets a suite skip what it cannot
# run here; a full run, and any run with CI=true, counts every skip as a failure.
QUICK_OMIT=(60-package 70-sanitizers 75-valgrind 80-soak)
ALLOW_SKIP=0
count_cmocka() {
  local log p f
  for log in "$BUILD"/tests/test_*.log; do
    p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    if [ -z "$p$f" ]; then f=1; fi # crashed before cmocka's summary
    PASSED=$((PASSED + ${p:-0}))
    FAILED=$((FAILED + ${f:-0}))
  done
}
count_result_line() { # suite output file
  local line s
  line=$(grep -E '^RESULT passed=[0-9]+ failed=[0-9]+( skipped=[0-9]+)?$' "$1" | tail -n1 || true)
  if [ -z "$line" ]; then FAILED=$((FAILED + 1)); return; fi
  PASSED=$((PASSED + $(sed 's/.*passed=\([0-9]*\).*/\1/' <<<"$line")))
  FAILED=$((FAILED + $(sed 's/.*failed=\([0-9]*\).*/\1/' <<<"$line")))
  s=$(sed -n 's/.*skipped=\([0-9]*\).*/\1/p' <<<"$line")
  s=${s:-0}
  if [ "$s" -gt 0 ] && [ $ALLOW_SKIP = 0 ]; then
    echo "FAIL: $(basename "$1" .txt) skipped $s test(s): skips are allowed only in ./dev.sh check --quick (never with CI=true)"
    FAILED=$((FAILED + s))
  else
    SKIPPED=$((SKIPPED + s))
  fi
}

# One suite, its output on stdout and its duration in OUT/NAME.secs.
run_suite() { # name out-dir
  local started=$SECONDS
  ROOT="$ROOT" BUILD="$BUILD" PY="$PY" PAM_CIBA_SO="$BUILD/pam_ciba/.libs/pam_ciba.so" \
    PAM_CIBA_ALLOW_SKIP=$ALLOW_SKIP bash "$ROOT/tests/suites/$1.sh" </dev/null 2>&1 || true
  echo $((SECONDS - started)) >"$2/$1.secs"
}

check() {
  local out rc=0 quick=0
  if [ "${1:-}" = "--quick" ]; then
    quick=1
    if [ "${CI:-}" = true ]; then say "CI=true: a partial run may still not skip anything"; else ALLOW_SKIP=1; fi
  elif [ -n "${1:-}" ]; then
    echo "usage: $0 check [--quick]" >&2; return 2
  fi
  out=$(mktemp -d "$BUILD/check-out.XXXXXX") # not /tmp: tests mount private /tmps
  trap 'rm -rf "$out"' RETURN

  say "unit tests (cmocka)"
  local started=$SECONDS
  make -C "$BUILD" -j"$(nproc)" -s check >/dev/null 2>&1 || true
  grep -h -E '^\[  (PASSED|FAILED)  \]|^\[  FAILED  \] [a-z_]+' "$BUILD"/tests/test_*.log || true
  count_cmocka
  say "unit tests: $((SECONDS - started)) s"

  # Every other suite is an executable tests/suites/NN-name.sh that ends its output
  # with "RESULT passed=N failed=M [skipped=K]"; a suite that prints no such line counts as failed.
  # A suite with a "# check: alone" line (it creates users, installs a package or loads the
  # machine on purpose) runs with nothing else, its output shown as it goes. The others spend
  # most of their time waiting on their own providers' timers, so CHECK_JOBS of them (default
  # 2) run at once, "# check: long" ones first; each one's output is shown whole when it ends.
  local suite name alone=() long=() rest=()
  for suite in "$ROOT"/tests/suites/*.sh; do
    [ -f "$suite" ] || continue
    name=$(basename "$suite" .sh)
    if [ $quick = 1 ] && [[ " ${QUICK_OMIT[*]} " == *" $name "* ]]; then
      say "suite $name: left out (--quick)"
      SKIPPED=$((SKIPPED + 1))
      continue
    fi
    if grep -q '^# check: alone' "$suite"; then alone+=("$name")
    elif grep -q '^# check: long' "$suite"; then long+=("$name")
    else rest+=("$name"); fi
  done
  for name in "${alone[@]}"; do
    say "suite $name (alone)"
    run_suite "$name" "$out" | tee "$out/$name.txt" || true
    count_result_line "$out/$name.txt"
    say "suite $name: $(cat "$out/$name.secs") s"
  done
  # A suite has ended when its OUT/NAME.secs exists (run_suite writes it last): bash's
  # "wait -n" alone can miss a job that ended while the loop was busy printing another.
  local jobs=${CHECK_JOBS:-2} n finished st
  local -A pid_of=()
  # Stopped (CI timeout, Ctrl-C): the suites running in the background stop too.
  trap 'kill $(jobs -p) 2>/dev/null; exit 130' INT TERM
  for name in "${long[@]}" "${rest[@]}" ""; do
    while [ ${#pid_of[@]} -gt 0 ] && { [ ${#pid_of[@]} -ge "$jobs" ] || [ -z "$name" ]; }; do
      finished=""
      for n in "${!pid_of[@]}"; do
        if [ -f "$out/$n.secs" ]; then finished=$n; break; fi
      done
      if [ -z "$finished" ]; then
        st=0
        wait -n || st=$?
        if [ $st = 127 ]; then # no job left, yet a suite never finished: it was killed
          for n in "${!pid_of[@]}"; do
            [ -f "$out/$n.secs" ] || { echo "FAIL: suite $n ended before it finished"; FAILED=$((FAILED + 1)); unset "pid_of[$n]"; }
          done
        fi
        continue
      fi
      wait "${pid_of[$finished]}" 2>/dev/null || true
      unset "pid_of[$finished]"
      say "suite $finished: $(cat "$out/$finished.secs") s"
      cat "$out/$finished.txt"
      count_result_line "$out/$finished.txt"
    done
    [ -n "$name" ] || break
    say "suite $name started"
    run_suite "$name" "$out" >"$out/$name.txt" &
    pid_of[$name]=$!
  done
  say "check: $SECONDS s since ./dev.sh started"
  echo
  if [ $quick = 1 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped (partial run: --quick leaves out ${QUICK_OMIT[*]})"
  else
    # A full run allows no skip (a skipped test counted as a failure above).
    echo "$PASSED passed, $FAILED failed"
  fi
  [ "$FAILED" -eq 0 ] || rc=1
  return $rc
}

demo() {
  local deny=0 port outcome
  [ "${1:-}" = "--deny" ] && deny=1
  DEMO_TMP=$(mktemp -d /tmp/pam_ciba_demo.XXXXXX)
  DEMO_PID=""
  local tmp=$DEMO_TMP
  cleanup() { [ -n "$DEMO_PID" ] && kill "$DEMO_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$DEMO_TMP"; }
  trap cleanup EXIT INT TERM

  say "starting the bundled CIBA provider on 127.0.0.1 (a throwaway CA, no Auth0 tenant needed)"
  sh "$ROOT/tests/servers/make_ca.sh" "$tmp/ca" >/dev/null
  # A fresh demo secret, handed over in files: never on a command line.
  umask 077
  head -c 24 /dev/urandom | base64 | tr -d '/+=\n' >"$tmp/client_secret"
  printf '{"pam-ciba-demo": "%s"}' "$(cat "$tmp/client_secret")" >"$tmp/clients.json"
  "$PY" "$ROOT/tests/servers/ciba_provider.py" --cert "$tmp/ca/server.pem" --key "$tmp/ca/server.key" \
    --port-file "$tmp/port" --phone "$([ $deny = 1 ] && echo deny || echo approve)" --phone-delay 4 \
    --interval 2 --clients-json "$tmp/clients.json" >"$tmp/provider.log" 2>&1 &
  DEMO_PID=$!
  # Waits on the port file while the provider lives (its RSA key takes long on a busy machine).
  for _ in $(seq 600); do [ -s "$tmp/port" ] || ! kill -0 "$DEMO_PID" 2>/dev/null && break; sleep 0.1; done
  [ -s "$tmp/port" ] || { cat "$tmp/provider.log"; echo "provider did not start"; exit 1; }
  port=$(cat "$tmp/port")

  # The demo login: a service file for pam_wrapper and a passwd entry for nss_wrapper,
  # so nothing under /etc changes.
  mkdir -p "$tmp/pam.d"
  cat >"$tmp/pam_ciba.conf" <<CONF
issuer = "https://127.0.0.1:$port/";
client_id = "pam-ciba-demo";
client_secret_file = "$tmp/client_secret";
ca_file = "$tmp/ca/ca.pem";
binding_message = "%h login %u #%c";
max_wait = 60;
cache_dir = "$tmp/cache";
reuse_dir = "$tmp/run";
CONF
  chmod 600 "$tmp/pam_ciba.conf"
  echo "auth required $BUILD/pam_ciba/.libs/pam_ciba.so conf=$tmp/pam_ciba.conf" >"$tmp/pam.d/demo"
  echo "account required pam_permit.so" >>"$tmp/pam.d/demo"
  echo "auth required pam_deny.so" >"$tmp/pam.d/other"
  echo "alice:x:4242:4242:Demo User:/home/alice:/bin/sh" >"$tmp/passwd"
  echo "alice:x:4242:" >"$tmp/group"

  say "pamtester demo alice authenticate  (the simulated phone will $([ $deny = 1 ] && echo deny || echo approve) in 4 s)"
  # pam_wrapper copies the service files to /tmp/pam.X, a name another pam_wrapper process
  # starting at the same moment can pick too: a /tmp of its own when the machine allows it.
  local isolate=() preload=LD_PRELOAD
  if "$ROOT/tests/integration/private_tmp.sh" --check 2>/dev/null; then
    isolate=("$ROOT/tests/integration/private_tmp.sh" --keep "$tmp" --)
    preload=PRIVATE_TMP_LD_PRELOAD
  fi
  set +e
  env "$preload=libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$tmp/pam.d" PAM_WRAPPER_DEBUGLEVEL=2 \
    NSS_WRAPPER_PASSWD="$tmp/passwd" NSS_WRAPPER_GROUP="$tmp/group" \
    "${isolate[@]}" pamtester -v demo alice authenticate </dev/null 2>"$tmp/pam.err"
  outcome=$?
  # pam_wrapper hands the module's syslog lines to stderr; show those, drop its own chatter.
  sed -e '/SYSLOG(/{s/^PWRAP_[A-Z]*\[[^]]*\] - SYSLOG([0-9]*): /syslog (authpriv): pam_ciba: /;b' -e '}' \
    -e '/^PWRAP_/d' -e '/^$/d' "$tmp/pam.err"
  set -e
  echo
  say "provider's view"
  sed 's/^/    /' "$tmp/provider.log"
  if [ $outcome -eq 0 ]; then say "outcome: login APPROVED (PAM_SUCCESS)"; else say "outcome: login REFUSED (pamtester exit $outcome)"; fi
  [ $deny = 1 ] && [ $outcome -ne 0 ] && return 0
  return $outcome
}

# The cost of a login (not part of check): prints a table, writes bench/results.md.
bench() {
  mkdir -p "$BUILD/bench"
  cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o "$BUILD/bench/pam_bench" "$ROOT/bench/pam_bench.c" -lpam
  "$PY" "$ROOT/bench/run_bench.py" --so "$BUILD/pam_ciba/.libs/pam_ciba.so" --driver "$BUILD/bench/pam_bench" "$@"
}

cmd=${1:-help}
shift || true
case "$cmd" in
  deps) need_root "$cmd" "$@"; deps ;;
  build) need_root "$cmd" "$@"; deps; build ;;
  check) need_root "$cmd" "$@"; deps; build; check "$@" ;;
  demo) need_root "$cmd" "$@"; deps; build; demo "$@" ;;
  # Longer fuzzing than check does: ./dev.sh fuzz [SECONDS_PER_TARGET] [TARGET...]
  fuzz) need_root "$cmd" "$@"; deps; bash "$ROOT/tests/fuzz/run.sh" "$BUILD/fuzz" "${1:-300}s" "${@:2}" ;;
  # The soak with the long-lived PAM application at N logins (default 1,000, as check runs it).
  soak) need_root "$cmd" "$@"; deps; build
    ROOT="$ROOT" BUILD="$BUILD" PY="$PY" PAM_CIBA_SO="$BUILD/pam_ciba/.libs/pam_ciba.so" SOAK_REPEAT="${1:-1000}" \
      bash "$ROOT/tests/suites/80-soak.sh" ;;
  bench) need_root "$cmd" "$@"; PACKAGES+=(curl valgrind); deps; build; bench "$@" ;;
  *) echo "usage: $0 demo [--deny] | check [--quick] | build | deps | bench [--quick] | fuzz [SECONDS] [TARGET...] | soak [LOGINS]" >&2; exit 2 ;;
esac
