#!/usr/bin/python3
"""Request limits (issue 12 item 2) through real libpam: a flood of logins for one user from
many sources, the one-pending rule, the per-source limit, the denial lockout and its end,
pam_ciba-check --show-limits/--clear-lockout, and counter files that were tampered with,
replaced by another owner or swapped, which must fail the login (closed).

Same machinery as tests/policy/test_policy.py (pamtester under pam_wrapper and nss_wrapper
with -I rhost=..., the bundled HTTPS provider, which counts every request it gets).
Each test has its own runtime directory (reuse_dir), so counters never cross tests.

Usage: /usr/bin/python3 tests/limits/test_limits.py [-k SUBSTRING]... [-v] [--list]
Env: PAM_CIBA_CHECK: the built pam_ciba-check (default <repo>/build/pam_ciba-check).
"""

import concurrent.futures
import os
import re
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "policy"))
sys.dont_write_bytecode = True
import test_pam as tp  # noqa: E402
import test_policy as tpol  # noqa: E402

check = tp.check
CHECK_TOOL = os.environ.get("PAM_CIBA_CHECK") or str(
    Path(os.environ.get("BUILD", REPO / "build")) / "pam_ciba-check")
SOURCES = ["198.51.100.%d" % i for i in range(1, 11)]
MAX_WAIT, REQUEST_TIMEOUT = 8, 10
# A login refused by the limits sends nothing and should end at once; the machine is
# shared and 50 processes start together, so the bound is generous; the figure is printed.
BOUND = MAX_WAIT + REQUEST_TIMEOUT + 20
FIGURES = []


class LimitsCase(tpol.PolicyCase):
    def counters(self):
        d = self.dir / "run" / "limits"
        return sorted(p for p in d.iterdir() if re.fullmatch(r"[us]-[0-9a-f]{64}", p.name)) if d.exists() else []

    def user_file(self):
        files = [p for p in self.counters() if p.name.startswith("u-")]
        check(len(files) == 1, "expected one user counter file, found %r" % files)
        return files[0]

    def outcome(self, o):
        m = re.search(r"outcome=(\S+)", self.decision(o))
        return m.group(1) if m else None

    def refused(self, o, outcome, words=None):
        """A login the limits refused: failure, the outcome, no request, the user told why."""
        if o.code == "PAM_SUCCESS":
            self.env.false_accepts += 1
        check(o.code == "PAM_AUTH_ERR", "expected PAM_AUTH_ERR, got %s" % o.describe())
        check(self.outcome(o) == outcome, "decision %r, want outcome=%s" % (self.decision(o), outcome))
        if words:
            check(words in o.stdout, "the user was not told %r: stdout %r" % (words, o.stdout))


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def conf(**over):
    s = {"max_wait": MAX_WAIT, "request_timeout": REQUEST_TIMEOUT, "connect_timeout": 5}
    s.update(over)
    return s


def flood(c, n, parallel, user="alice"):
    """n logins for user, parallel at a time, from the ten sources in turn."""
    def one(i):
        return c.login(user, conf=False, rhost=SOURCES[i % len(SOURCES)], timeout=BOUND + 30)
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(n)))


def tally(c, outs):
    counts = {}
    for o in outs:
        if o.code == "PAM_SUCCESS":
            c.env.false_accepts += 1
        try:
            k = c.outcome(o)
        except tp.Failure:
            k = "no-decision:" + o.code
        counts[k] = counts.get(k, 0) + 1
    return counts


# ---------------------------------------------------------------- floods

@test
def flood_50_logins_10_sources_nobody_answers(c):
    """The attacker's flood: 50 logins at once for alice from 10 addresses; the phone never
    answers. One request reaches the provider (the pending rule), every login fails, and
    every one ends within the bound: the refused ones at once, the pending one at max_wait."""
    c.write_conf(**conf())
    c.write_service()
    c.p.scenario.update(phone="none", interval=1)
    outs = flood(c, 50, 50)
    counts = tally(c, outs)
    bc = len(c.bc_requests())
    slowest = max(o.elapsed for o in outs)
    refused = [o.elapsed for o in outs if o.code == "PAM_AUTH_ERR" and "outcome=pending_exists" in o.stderr]
    FIGURES.append("flood of 50 concurrent logins (alice, 10 sources, nobody answers): %d requests reached the "
                   "provider (max_requests 5), outcomes %s, slowest login %.1fs, slowest refused login %.1fs"
                   % (bc, counts, slowest, max(refused) if refused else 0.0))
    print("  " + FIGURES[-1])
    check(all(o.code != "PAM_SUCCESS" for o in outs), "a flood login succeeded")
    check(1 <= bc <= 5, "%d requests reached the provider" % bc)
    check(slowest <= BOUND, "a login took %.1fs (bound %ds)" % (slowest, BOUND))
    check(counts.get("pending_exists", 0) >= 45, "outcomes %r" % counts)
    check("already waiting" in next(o.stdout for o in outs if "outcome=pending_exists" in o.stderr),
          "no message for a refused login")


@test
def flood_50_logins_10_sources_all_denied(c):
    """A flood the phone keeps denying (no lockout here, max_denials = 0, so the count is
    what stops it): no more than max_requests requests in the window reach the provider."""
    c.write_conf(**conf(max_denials=0))
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    # Ten at a time, then one at a time: the pending rule stops most of the first part,
    # the count has to stop the second.
    outs = flood(c, 40, 10) + flood(c, 10, 1)
    counts = tally(c, outs)
    bc = len(c.bc_requests())
    slowest = max(o.elapsed for o in outs)
    FIGURES.append("flood of 50 logins (40 ten at a time, 10 one at a time), phone denies, no lockout: %d requests "
                   "reached the provider (max_requests 5), outcomes %s, slowest login %.1fs" % (bc, counts, slowest))
    print("  " + FIGURES[-1])
    check(bc <= 5, "%d requests reached the provider, max_requests is 5" % bc)
    check(counts.get("denied", 0) == bc, "outcomes %r vs %d requests" % (counts, bc))
    check(bc == 5 and counts.get("rate_limited", 0) >= 5, "the count did not stop the flood at 5: %r" % counts)
    check(slowest <= BOUND, "a login took %.1fs" % slowest)
    # Other users, from the same sources, are not held back by alice's flood.
    c.p.scenario.update(phone="approve")
    o = c.login("bob", conf=False, rhost=SOURCES[0])
    c.expect(o, "PAM_SUCCESS")


@test
def flood_with_default_lockout(c):
    """The defaults: after 3 denials alice is locked out, so a flood the phone denies gets
    3 requests to the provider and no more."""
    c.write_conf(**conf())
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    outs = flood(c, 20, 5) + flood(c, 10, 1)
    counts = tally(c, outs)
    bc = len(c.bc_requests())
    FIGURES.append("flood of 30 logins (20 five at a time, 10 one at a time), phone denies, default limits: %d "
                   "requests reached the provider, outcomes %s" % (bc, counts))
    print("  " + FIGURES[-1])
    check(bc == 3, "%d requests, max_denials = 3" % bc)
    check(counts.get("locked_out", 0) >= 7, "outcomes %r" % counts)


@test
def approvals_never_slowed(c):
    """An admin running many approved sudo commands: approved requests do not count."""
    c.write_conf(**conf(max_requests=2))
    c.write_service()
    for _ in range(6):
        c.expect(c.login("alice", conf=False, rhost=SOURCES[0]), "PAM_SUCCESS")
    check(len(c.bc_requests()) == 6, "requests %d" % len(c.bc_requests()))


# ---------------------------------------------------------------- one pending request

@test
def second_login_while_one_is_pending(c):
    c.write_conf(**conf(max_wait=30))
    c.write_service()
    c.p.scenario.update(phone="none", interval=1)
    first = {}
    t = threading.Thread(target=lambda: first.update(o=c.login("alice", conf=False, rhost=SOURCES[0], timeout=60)))
    t.start()
    try:
        deadline = time.monotonic() + 30
        while not c.p.auth_requests and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the event: the first request at the provider
        check(c.p.auth_requests, "the first login never reached the provider")
        o = c.login("alice", conf=False, rhost=SOURCES[1])
        c.refused(o, "pending_exists", "already waiting")
        check(o.elapsed < 10, "the refused login took %.1fs" % o.elapsed)
        check(len(c.bc_requests()) == 1, "the second login sent a request")
    finally:
        for rid in list(c.p.auth_requests):
            c.p.approve(rid)
        t.join(60)
    c.expect(first["o"], "PAM_SUCCESS")
    # Approved: nothing pending, nothing counted, the next login goes through.
    c.p.scenario.update(phone="approve")
    c.expect(c.login("alice", conf=False), "PAM_SUCCESS")


@test
def killed_login_leaves_nothing_pending(c):
    """sshd kills its PAM process when the client hangs up: the request it was waiting for
    must not block the user's next login ("already waiting") until max_wait has passed."""
    c.write_conf(**conf(max_wait=60))
    c.write_service()
    c.p.scenario.update(phone="none", interval=1)
    proc = c.spawn("alice")
    try:
        deadline = time.monotonic() + 30
        while not c.p.auth_requests and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the event: the request at the provider
        check(c.p.auth_requests, "the login never reached the provider")
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    c.p.scenario.update(phone="approve")
    o = c.login("alice", conf=False)
    c.expect(o, "PAM_SUCCESS")
    check(len(c.bc_requests()) == 2, "requests %d" % len(c.bc_requests()))


# ---------------------------------------------------------------- per source

@test
def per_source_limit_across_users(c):
    c.write_conf(**conf(max_requests=2, max_denials=0))
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    c.expect(c.login("alice", conf=False, rhost="203.0.113.5"), "PAM_AUTH_ERR")
    c.expect(c.login("bob", conf=False, rhost="203.0.113.5"), "PAM_AUTH_ERR")
    check(len(c.bc_requests()) == 2, "requests %d" % len(c.bc_requests()))
    o = c.login("o'brien", conf=False, rhost="203.0.113.5")
    c.refused(o, "rate_limited", "too many unapproved requests from 203.0.113.5")
    check(len(c.bc_requests()) == 2, "a request from a full source was sent")
    o = c.login("o'brien", conf=False, rhost="203.0.113.6")
    check(c.outcome(o) == "denied", "another source was limited: %r" % c.decision(o))
    # IPv6: one /64 is one source.
    c.expect(c.login("alice", conf=False, rhost="2001:db8:5:6::1"), "PAM_AUTH_ERR")
    c.expect(c.login("bob", conf=False, rhost="2001:db8:5:6:ffff::2"), "PAM_AUTH_ERR")
    c.refused(c.login("zo\u00eb", conf=False, rhost="2001:db8:5:6::99"), "rate_limited", "2001:db8:5:6::/64")


# ---------------------------------------------------------------- lockout

@test
def lockout_after_denials_and_its_end(c):
    c.write_conf(**conf(max_denials=2, lockout_time=4))
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    for _ in range(2):
        o = c.login("alice", conf=False, rhost=SOURCES[0])
        check(c.outcome(o) == "denied", "decision %r" % c.decision(o))
    o = c.login("alice", conf=False, rhost=SOURCES[0])
    c.refused(o, "locked_out", "too many denied approval requests for alice")
    m = re.search(r"until (\d\d):(\d\d):(\d\d) UTC \(in (\d+) s\)", o.stdout)
    check(m, "no end time in %r" % o.stdout)
    check(1 <= int(m.group(4)) <= 4, "lockout ends in %s s, lockout_time is 4" % m.group(4))
    check(len(c.bc_requests()) == 2, "a locked-out login sent a request")
    # Other users are not locked out.
    c.p.scenario.update(phone="approve")
    c.expect(c.login("bob", conf=False), "PAM_SUCCESS")
    # After lockout_time, requests go out again, and an approval ends the streak.
    end = time.monotonic() + int(m.group(4)) + 0.5
    while time.monotonic() < end:
        time.sleep(end - time.monotonic())  # the event is the lockout's end: time itself
    c.expect(c.login("alice", conf=False), "PAM_SUCCESS")
    c.p.scenario.update(phone="deny")
    o = c.login("alice", conf=False)
    check(c.outcome(o) == "denied", "after the approval one denial locked out again: %r" % c.decision(o))


@test
def clear_lockout_with_pam_ciba_check(c):
    c.write_conf(**conf(max_denials=1, lockout_time=900))
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    c.login("alice", conf=False)
    c.refused(c.login("alice", conf=False), "locked_out", "no new request is sent until")
    r = subprocess.run([CHECK_TOOL, "--config", str(c.conf_path), "--show-limits", "alice"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and "next request: locked_out" in r.stdout, "show-limits: %r %r" % (r.stdout, r.stderr))
    r = subprocess.run([CHECK_TOOL, "--config", str(c.conf_path), "--clear-lockout", "alice"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and "removed" in r.stdout, "clear-lockout: %r %r" % (r.stdout, r.stderr))
    c.p.scenario.update(phone="approve")
    c.expect(c.login("alice", conf=False), "PAM_SUCCESS")
    # Root only.
    r = subprocess.run(["setpriv", "--reuid=2001", "--regid=2001", "--clear-groups", CHECK_TOOL, "--config",
                        str(c.conf_path), "--clear-lockout", "alice"], capture_output=True, text=True, timeout=30)
    check(r.returncode != 0, "a user could clear a lockout: %r" % r.stdout)


# ---------------------------------------------------------------- tampering: fail closed

def fails_closed(c, why):
    c.p.reset()
    c.p.scenario.update(phone="approve", interval=1)
    o = c.login("alice", conf=False)
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1
    check(o.code != "PAM_SUCCESS", "%s: the login succeeded" % why)
    check(not c.bc_requests(), "%s: a request was sent" % why)
    check("limits:" in c.decision(o) and "refused" in c.decision(o), "%s: decision %r" % (why, c.decision(o)))
    return o


@test
def tampered_counter_file_fails_closed(c):
    c.write_conf(**conf())
    c.write_service()
    c.p.scenario.update(phone="deny", interval=1)
    c.login("alice", conf=False)
    f = c.user_file()
    text = f.read_bytes()
    check(b"streak 1\n" in text, "counter file %r" % text[:200])
    f.write_bytes(text.replace(b"streak 1\n", b"streak 0\n"))  # forget a denial
    o = fails_closed(c, "MAC mismatch")
    check("MAC" in c.decision(o), "decision %r" % c.decision(o))
    check(f.exists(), "the refused file was removed: the next login would start afresh")
    fails_closed(c, "MAC mismatch, again")
    # Root clears it; logins work again.
    subprocess.run([CHECK_TOOL, "--config", str(c.conf_path), "--clear-lockout", "alice"], check=True,
                   capture_output=True, timeout=30)
    c.expect(c.login("alice", conf=False), "PAM_SUCCESS")


@test
def counter_file_of_another_owner_fails_closed(c):
    c.write_conf(**conf())
    c.write_service()
    c.login("alice", conf=False)
    f = c.user_file()
    os.chown(f, 2001, 2001)
    fails_closed(c, "owned by alice")
    os.chown(f, 0, 0)
    os.chmod(f, 0o644)
    fails_closed(c, "mode 0644")
    # Replaced by a file another user wrote (same bytes, so the MAC would pass).
    data = f.read_bytes()
    f.unlink()
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, data)
    os.close(fd)
    os.chown(f, 2002, 2002)
    fails_closed(c, "replaced by bob's file")
    f.unlink()
    os.symlink("/etc/passwd", f)
    fails_closed(c, "a symbolic link")


@test
def counter_file_of_another_user_fails_closed(c):
    """An authentic record moved under another user's name (a reset by swapping files)."""
    c.write_conf(**conf())
    c.write_service()
    c.login("bob", conf=False)
    bob = c.user_file()
    c.login("alice", conf=False)
    alice = next(p for p in c.counters() if p.name.startswith("u-") and p != bob)
    os.replace(bob, alice)
    o = fails_closed(c, "bob's counters under alice's name")
    check("another user" in c.decision(o), "decision %r" % c.decision(o))


@test
def counter_directory_unsafe_fails_closed(c):
    c.write_conf(**conf())
    c.write_service()
    c.login("alice", conf=False)
    d = c.dir / "run" / "limits"
    check(stat.S_IMODE(d.stat().st_mode) == 0o700 and d.stat().st_uid == 0, "limits dir mode")
    os.chmod(d, 0o777)
    c.p.reset()
    o = c.login("alice", conf=False)
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1
    check(o.code == "PAM_SERVICE_ERR" and not c.bc_requests(), "unsafe dir: %s" % o.describe())


@test
def config_ranges(c):
    for k, v in (("max_requests", 101), ("max_requests", -1), ("request_window", 0), ("max_denials", 101),
                 ("lockout_time", 0), ("lockout_time", 86401)):
        tp.config_error(c, **{k: v})


def summary(env, selected):
    return "".join(f + "\n" for f in FIGURES)


def main():
    return tp.run_suite(TESTS, tpol.make_env, LimitsCase, on_failure=tp.provider_saw, summary=summary)


if __name__ == "__main__":
    sys.exit(main())
