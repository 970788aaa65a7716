#!/usr/bin/python3
"""The benchmark's counts as regression tests: what a login costs in requests, connections,
handshakes, polls, heap and descriptors, asserted exactly; timings stay in ./dev.sh bench.

Drives the built pam_ciba.so through libpam with bench/pam_bench (pam_start_confdir, no
pam_wrapper) against the bundled provider in its own process, with bench/run_bench.py's
phases and its matching of logins to what the provider saw.

Usage: /usr/bin/python3 tests/counts/test_counts.py --so PATH --driver PATH
Needs root (the module trusts only root-owned configs) and nss_wrapper.
"""

import argparse
import os
import sys
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
sys.dont_write_bytecode = True
import run_bench as rb  # noqa: E402

INTERVAL = 1          # the provider's poll interval in every phase
SEQUENTIAL = 6        # warm-cache logins, approval at a random moment
IN_A_ROW = 20         # logins in one single-threaded process (heap, descriptors)


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def ok_logins(logins, n):
    check(len(logins) == n, "%d logins reported, want %d" % (len(logins), n))
    bad = [(lg["user"], lg["rc"]) for lg in logins if lg["rc"] != 0]
    check(not bad, "logins not approved (user, PAM code): %r" % bad)
    unmatched = [lg["user"] for lg in logins if not lg.get("matched")]
    check(not unmatched, "logins the provider has no single bc-authorize for: %r" % unmatched)


def per_login(lg):
    return "requests %d (%s), connections %d, handshakes %d, too-early polls %d" % (
        lg["win_requests"], ",".join(lg["win_paths"]), lg["win_conns"], lg["win_handshakes"],
        lg["violations"])


def cold_then_warm_at_once(b):
    """The phone approves at once: the first login (empty discovery/JWKS cache) costs discovery,
    JWKS, bc-authorize and one poll; every later one exactly bc-authorize and one poll."""
    logins = rb.phase_sequential(b, "module", 3, 1, interval=INTERVAL, delays=False)
    ok_logins(logins, 3)
    cold, warm = logins[0], logins[1:]
    check(sorted(cold["win_paths"]) == sorted(["/.well-known/openid-configuration", "/.well-known/jwks.json",
                                               "/bc-authorize", "/oauth/token"]),
          "first login: %s; want discovery, JWKS, bc-authorize and one poll" % per_login(cold))
    for lg in logins:
        check(lg["win_conns"] == 1 and lg["win_handshakes"] == 1,
              "login %d: %s; want one connection and one TLS handshake" % (logins.index(lg) + 1, per_login(lg)))
        check(lg["violations"] == 0, "login %d polled before the interval: %s" % (logins.index(lg) + 1, per_login(lg)))
    for lg in warm:
        check(lg["win_paths"] == ["/bc-authorize", "/oauth/token"],
              "warm login: %s; want exactly bc-authorize and one poll" % per_login(lg))
    return "cold login 4 requests on 1 connection; warm logins 2 requests, 1 connection, 1 handshake"


def warm_random_approval(b):
    """Approval at a random moment: never more requests than the protocol minimum (bc-authorize
    plus one poll per interval slot up to the approval), no poll before the interval, no
    pending answer after the approval, one connection and handshake per login."""
    rb.phase_sequential(b, "module", 1, 2, interval=INTERVAL, delays=False)  # warms the cache
    logins = rb.phase_sequential(b, "module", SEQUENTIAL, 7, interval=INTERVAL, delays=True)
    ok_logins(logins, SEQUENTIAL)
    total = minimum = 0
    for i, lg in enumerate(logins, 1):
        check(lg["win_requests"] == lg["requests"] and not lg["other_paths"],
              "login %d: requests besides bc-authorize and token polls: %s" % (i, per_login(lg)))
        # A poll delayed past the approval by a busy machine can only make it fewer.
        check(2 <= lg["requests"] <= lg["min_polls"] + 1,
              "login %d: %s; the protocol minimum is %d" % (i, per_login(lg), lg["min_polls"] + 1))
        check(lg["pending_after_approval"] == 0, "login %d polled again after the approval was known" % i)
        check(lg["violations"] == 0, "login %d polled before the interval: %s" % (i, per_login(lg)))
        check(lg["win_conns"] == 1 and lg["win_handshakes"] == 1,
              "login %d: %s; want one connection and one TLS handshake" % (i, per_login(lg)))
        total += lg["requests"]
        minimum += lg["min_polls"] + 1
    return "%d logins, %d requests (protocol minimum %d), 0 too-early polls" % (SEQUENTIAL, total, minimum)


def pending_then_approve(b):
    """Three authorization_pending answers first: exactly bc-authorize and four polls, each at
    least the interval after the one before, all on one connection."""
    rb.phase_sequential(b, "module", 1, 3, interval=INTERVAL, delays=False)  # warms the cache
    logins = rb.phase_sequential(b, "module", 1, 4, interval=INTERVAL, pending=3, delays=False)
    ok_logins(logins, 1)
    lg = logins[0]
    check(lg["win_paths"] == ["/bc-authorize"] + ["/oauth/token"] * 4,
          "%s; want bc-authorize and four polls" % per_login(lg))
    check(lg["answers"] == ["authorization_pending"] * 3 + ["ok"], "poll answers %r" % lg["answers"])
    check(lg["violations"] == 0, "polled before the interval: %s" % per_login(lg))
    check(lg["win_conns"] == 1 and lg["win_handshakes"] == 1,
          "%s; want one connection and one TLS handshake" % per_login(lg))
    return "5 requests, 0 too-early polls, 1 connection"


def no_growth_in_one_process(b):
    """IN_A_ROW logins in one single-threaded process, pam_start .. pam_end each: the heap in
    use and the open descriptors after the last pam_end are those after the second."""
    out = rb.phase_single_long(b, IN_A_ROW)
    logins = out["logins"]
    check(len(logins) == IN_A_ROW and all(lg["rc"] == 0 for lg in logins),
          "not every login approved: %r" % [lg["rc"] for lg in logins])
    fds = [lg["fds"] for lg in logins]
    heap = [lg["heap"] for lg in logins]
    check(min(fds) >= 0, "pam_bench could not count its descriptors")
    # The first login loads what a process keeps (libcurl, OpenSSL, NSS state): compare from the second.
    check(fds[-1] == fds[1], "open descriptors after login 2: %d, after login %d: %d (all: %r)"
          % (fds[1], IN_A_ROW, fds[-1], fds))
    # malloc's count with the thread cache off is exact: a leak of even one byte a login shows.
    check(heap[-1] - heap[1] < IN_A_ROW - 2, "heap in use grew by %d bytes from login 2 to login %d (%r)"
          % (heap[-1] - heap[1], IN_A_ROW, heap))
    return "after login 2 → %d: descriptors %d → %d, heap %+d bytes" % (IN_A_ROW, fds[1], fds[-1], heap[-1] - heap[1])


TESTS = [cold_then_warm_at_once, warm_random_approval, pending_then_approve, no_growth_in_one_process]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--so", required=True)
    ap.add_argument("--driver", required=True)
    args = ap.parse_args()
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (the module trusts only root-owned config files)")
    for path in (args.so, args.driver):
        if not os.path.isfile(path):
            problems.append("not built: %s" % path)
    if problems:
        for p in problems:
            print("FAIL: preflight: %s" % p)
        print("RESULT passed=0 failed=%d" % len(problems))
        return 1
    bench_args = argparse.Namespace(so=args.so, driver=args.driver, scale=1, long_threads=1)
    passed = failed = 0
    b = None
    try:
        b = rb.Bench(bench_args)
        for t in TESTS:
            try:
                detail = t(b)
            except Failure as exc:
                failed += 1
                print("FAIL: %s: %s" % (t.__name__, exc), flush=True)
            except Exception:  # noqa: BLE001
                failed += 1
                print("FAIL: %s: %s" % (t.__name__, traceback.format_exc().strip().replace("\n", " | ")),
                      flush=True)
            else:
                passed += 1
                print("PASS: %s (%s)" % (t.__name__, detail), flush=True)
    except Exception:  # noqa: BLE001
        failed += 1
        print("FAIL: setup: %s" % traceback.format_exc().strip().replace("\n", " | "), flush=True)
    finally:
        if b is not None:
            b.close()
    print("RESULT passed=%d failed=%d" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
