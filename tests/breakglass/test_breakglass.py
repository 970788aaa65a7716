#!/usr/bin/python3
"""Break-glass codes (issue 14 item 1) through real libpam: pam_ciba-codes issues codes,
pamtester types them at the module's prompt. Each breakglass mode with the provider up and
down (a closed port), use once, reuse refused, wrong code, tampered file, wrong owner and
mode, and 20 rounds of two logins racing with the same code (exactly one may succeed).

Same machinery as tests/integration/test_pam.py (pamtester under pam_wrapper and
nss_wrapper, the bundled HTTPS provider); reuses its classes.

Usage: /usr/bin/python3 tests/breakglass/test_breakglass.py [-k SUBSTRING]... [-v] [--list]
"""

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import test_pam as tp  # noqa: E402

check = tp.check
BUILD = Path(os.environ.get("BUILD", REPO / "build"))
CODES_TOOL = BUILD / "pam_ciba-codes"
CODE_RE = re.compile(r"^\s*(\d+)\s+([0-9A-Z]{5}-[0-9A-Z]{5})$", re.M)
RACE_ROUNDS = 20
FIGURES = []  # printed at the end


class Case(tp.Case):
    def __init__(self, env, name):
        super().__init__(env, name)
        self.bgdir = self.dir / "bg"

    def settings(self, **over):
        s = super().settings(breakglass_dir=str(self.bgdir))
        s.update({k: v for k, v in over.items()})
        return {k: v for k, v in s.items() if v is not None}

    def tool(self, *args, ok=True):
        r = subprocess.run([str(CODES_TOOL), "--dir", str(self.bgdir)] + [str(a) for a in args],
                           capture_output=True, timeout=60)
        out, err = r.stdout.decode(), r.stderr.decode()
        if ok:
            check(r.returncode == 0, "pam_ciba-codes %s: rc %d: %s" % (" ".join(map(str, args)), r.returncode, err))
        return r.returncode, out, err

    def issue(self, user="alice", n=3):
        _, out, _ = self.tool("issue", "--count", n, user)
        codes = [c for _, c in CODE_RE.findall(out)]
        check(len(codes) == n, "expected %d codes, got %r" % (n, out))
        return codes

    def count(self, user="alice"):
        _, out, _ = self.tool("count", user, ok=False)
        return int(out.strip())

    def decision(self, o):
        m = re.findall(r"decision user=.*", o.stderr)
        check(m, "no decision line in stderr %r" % o.stderr[-600:])
        return m[-1]

    def expect_breakglass(self, o, remaining):
        check(o.code == "PAM_SUCCESS", "expected success with the code, got %s" % o.describe())
        d = self.decision(o)
        check("outcome=breakglass " in d, "decision %r" % d)
        check(re.search(r"break-glass code used: user=alice .*remaining=%d" % remaining, o.stderr),
              "no alert with remaining=%d in %r" % (remaining, o.stderr[-800:]))

    def expect_wrong(self, o):
        check(o.code == "PAM_AUTH_ERR", "expected PAM_AUTH_ERR, got %s" % o.describe())
        if o.code == "PAM_SUCCESS":
            self.env.false_accepts += 1
        d = self.decision(o)
        check("outcome=breakglass_wrong" in d, "decision %r" % d)


def down(c):
    return "https://127.0.0.1:%d/" % tp.closed_port()


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------- "always"

@test
def always_code_used_once(c):
    """Provider up: a code at the first prompt logs in without any request; the same code
    again is refused (and told apart as replayed); the count goes down by one."""
    codes = c.issue(n=3)
    o = c.login(breakglass="always", stdin=(codes[1] + "\n").encode())
    c.expect_breakglass(o, 2)
    c.no_traffic()
    check("Break-glass code" in o.stdout + o.stderr, "no prompt shown: %r" % o.stdout)
    check(codes[1] not in o.stdout + o.stderr, "the code was echoed or logged")
    check(c.count() == 2, "count %d after one use" % c.count())
    o = c.login(breakglass="always", stdin=(codes[1] + "\n").encode())
    c.expect_wrong(o)
    check("was used at" in c.decision(o), "replay not told apart: %r" % c.decision(o))
    c.no_traffic()
    _, out, _ = c.tool("list", "alice")
    check(re.search(r"^\s*2\s+used\s+\d{4}-", out, re.M) and len(re.findall(r"^\s*\d+\s+unused", out, re.M)) == 2, "list: %r" % out)


@test
def wrong_codes_count_toward_the_lockout(c):
    """Guessing codes is push fatigue by other means: max_denials (3) wrong codes in a row
    lock the user out, and then even a right code is not asked for until lockout_time ends."""
    codes = c.issue(n=2)
    for guess in ("ZZZZZ-ZZZZZ", "YYYYY-YYYYY", "XXXXX-XXXXX"):
        c.expect_wrong(c.login(breakglass="always", max_denials=3, stdin=(guess + "\n").encode()))
    o = c.login(breakglass="always", max_denials=3, stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_AUTH_ERR", "a locked-out user logged in with a code: %s" % o.describe())
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1
    check("outcome=locked_out" in c.decision(o), "decision %r" % c.decision(o))
    check(c.count() == 2, "the locked-out attempt consumed a code")
    c.no_traffic()


@test
def always_lowercase_with_blanks(c):
    codes = c.issue(n=1)
    typed = codes[0].lower().replace("-", " ")
    o = c.login(breakglass="always", stdin=(typed + "\n").encode())
    c.expect_breakglass(o, 0)


@test
def always_wrong_code(c):
    c.issue(n=2)
    o = c.login(breakglass="always", stdin=b"ZZZZZ-ZZZZZ\n")
    c.expect_wrong(o)
    c.no_traffic()
    check(c.count() == 2, "a wrong code consumed a slot")
    o = c.login(breakglass="always", stdin=b"not a code\n")
    c.expect_wrong(o)


@test
def always_enter_then_phone(c):
    """Enter at the prompt: the normal approval, with the provider up."""
    c.issue(n=1)
    o = c.login(breakglass="always", stdin=b"\n")
    c.expect(o, "PAM_SUCCESS")
    check("outcome=approved" in c.decision(o), "decision %r" % c.decision(o))
    check(c.count() == 1, "a code was consumed")


@test
def always_no_codes_file(c):
    o = c.login(breakglass="always", stdin=b"ABCDE-FGHJK\n")
    c.expect_wrong(o)
    check("no break-glass" in c.decision(o), "decision %r" % c.decision(o))


@test
def always_provider_down_enter_then_code(c):
    """Provider down: Enter at the first prompt, the approval cannot reach it, the second
    prompt takes the code."""
    codes = c.issue(n=2)
    o = c.login(breakglass="always", issuer=down(c), stdin=("\n" + codes[0] + "\n").encode())
    c.expect_breakglass(o, 1)
    check("cannot be reached" in o.stdout + o.stderr, "no outage prompt: %r" % o.stdout)


@test
def always_provider_down_code_first(c):
    codes = c.issue(n=2)
    o = c.login(breakglass="always", issuer=down(c), stdin=(codes[0] + "\n").encode())
    c.expect_breakglass(o, 1)


# ---------------------------------------------------------------- "unreachable"

@test
def unreachable_provider_up_no_prompt(c):
    """Provider up, phone denies: no code prompt at all, the denial stands, codes untouched."""
    codes = c.issue(n=2)
    c.p.scenario.update(phone="deny")
    o = c.login(breakglass="unreachable", stdin=(codes[0] + "\n").encode())
    c.expect(o, "PAM_AUTH_ERR")
    check("outcome=denied" in c.decision(o), "decision %r" % c.decision(o))
    check("Break-glass" not in o.stdout + o.stderr.split("decision")[0], "a code prompt with the provider up")
    check(c.count() == 2, "a code was consumed with the provider up")


@test
def unreachable_provider_up_approve(c):
    c.issue(n=1)
    o = c.login(breakglass="unreachable")
    c.expect(o, "PAM_SUCCESS")
    check("outcome=approved" in c.decision(o), "decision %r" % c.decision(o))


@test
def unreachable_provider_down_code(c):
    codes = c.issue(n=3)
    o = c.login(breakglass="unreachable", issuer=down(c), stdin=(codes[2] + "\n").encode())
    c.expect_breakglass(o, 2)
    o = c.login(breakglass="unreachable", issuer=down(c), stdin=(codes[2] + "\n").encode())
    c.expect_wrong(o)


@test
def unreachable_provider_down_wrong(c):
    c.issue(n=1)
    o = c.login(breakglass="unreachable", issuer=down(c), stdin=b"ABCDE-FGHJK\n")
    c.expect_wrong(o)


@test
def unreachable_provider_down_enter(c):
    """Enter instead of a code: the outage result, as without break-glass."""
    c.issue(n=1)
    o = c.login(breakglass="unreachable", issuer=down(c), stdin=b"\n")
    check(o.code == "PAM_AUTHINFO_UNAVAIL", "got %s" % o.describe())
    check("outcome=unavailable" in c.decision(o), "decision %r" % c.decision(o))


@test
def unreachable_provider_500(c):
    """A 5xx is the same outage class (failmode = "safe" would soften it): the code works."""
    codes = c.issue(n=1)
    c.p.scenario.update(bc_status=500)
    o = c.login(breakglass="unreachable", stdin=(codes[0] + "\n").encode())
    check(c.bc_requests(), "bc-authorize never sent")
    c.expect_breakglass(o, 0)


# ---------------------------------------------------------------- "off"

@test
def off_provider_down_code_ignored(c):
    codes = c.issue(n=1)
    o = c.login(breakglass=None, issuer=down(c), stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_AUTHINFO_UNAVAIL", "got %s" % o.describe())
    check("Break-glass" not in o.stdout, "prompt with breakglass off")
    check(c.count() == 1, "a code was consumed with breakglass off")


@test
def off_provider_up(c):
    c.issue(n=1)
    o = c.login(breakglass="off", stdin=b"\n")
    c.expect(o, "PAM_SUCCESS")
    check(c.count() == 1, "a code was consumed")


# ---------------------------------------------------------------- files

def file_of(c, user="alice"):
    return c.bgdir / user


@test
def tampered_file_refused(c):
    codes = c.issue(n=2)
    p = file_of(c)
    p.write_bytes(p.read_bytes() + b"live " + b"00" * 32 + b"\nx")
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_SERVICE_ERR", "tampered file: %s" % o.describe())
    check("malformed" in c.decision(o), "decision %r" % c.decision(o))
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1


@test
def edited_hash_refused(c):
    """A hash edited by hand: the file parses, the code no longer matches."""
    codes = c.issue(n=1)
    p = file_of(c)
    text = p.read_text().splitlines(True)
    text[-1] = "live " + "ab" * 32 + "\n"
    p.write_text("".join(text))
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    c.expect_wrong(o)


@test
def wrong_owner_refused(c):
    codes = c.issue(n=2)
    os.chown(file_of(c), 2001, 0)
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_SERVICE_ERR", "file owned by uid 2001: %s" % o.describe())
    check("owned by uid 2001" in c.decision(o), "decision %r" % c.decision(o))
    rc, _, err = c.tool("list", "alice", ok=False)
    check(rc == 2 and "owned by uid 2001" in err, "the tool read an unsafe file: %d %r" % (rc, err))
    os.chown(file_of(c), 0, 0)
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    c.expect_breakglass(o, 1)


@test
def readable_file_refused(c):
    codes = c.issue(n=1)
    os.chmod(file_of(c), 0o644)
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_SERVICE_ERR", "mode 0644: %s" % o.describe())


@test
def open_directory_refused(c):
    codes = c.issue(n=1)
    os.chmod(c.bgdir, 0o755)
    o = c.login(breakglass="always", stdin=(codes[0] + "\n").encode())
    check(o.code == "PAM_SERVICE_ERR", "directory 0755: %s" % o.describe())


@test
def other_users_file_refused(c):
    """bob's file copied over alice's: refused, bob's codes never open alice."""
    c.issue(n=1, user="alice")
    bob = c.issue(n=1, user="bob")
    os.replace(file_of(c, "bob"), file_of(c, "alice"))
    o = c.login(breakglass="always", stdin=(bob[0] + "\n").encode())
    check(o.code == "PAM_SERVICE_ERR", "another user's file: %s" % o.describe())


@test
def tool_revoke(c):
    codes = c.issue(n=3)
    c.tool("revoke", "alice", "2")
    check(c.count() == 2, "count after revoke")
    o = c.login(breakglass="always", stdin=(codes[1] + "\n").encode())
    c.expect_wrong(o)
    check("was revoked" in c.decision(o), "decision %r" % c.decision(o))
    c.tool("revoke", "--all", "alice")
    check(not file_of(c).exists(), "revoke --all left the file")
    rc, out, _ = c.tool("count", "alice", ok=False)
    check(rc == 1 and out.strip() == "0", "count without codes: %d %r" % (rc, out))


# ---------------------------------------------------------------- config

@test
def config_breakglass_dir_relative(c):
    o = c.login(breakglass="always", breakglass_dir="bg", stdin=b"\n")
    check(o.code == "PAM_SERVICE_ERR", "relative breakglass_dir: %s" % o.describe())
    check("breakglass_dir" in c.decision(o), "decision %r" % c.decision(o))


@test
def config_breakglass_unknown_mode(c):
    o = c.login(breakglass="sometimes", stdin=b"\n")
    check(o.code == "PAM_SERVICE_ERR", "breakglass = sometimes: %s" % o.describe())


@test
def tool_refuses_non_root(c):
    """The tool is root's: an unprivileged run is refused before it touches anything."""
    r = subprocess.run(["setpriv", "--reuid=2001", "--regid=2001", "--clear-groups", str(CODES_TOOL), "--dir",
                        str(c.bgdir), "issue", "alice"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "must run as root" in r.stderr, "rc %d: %r" % (r.returncode, r.stderr))
    check(not c.bgdir.exists(), "the directory was created")


# ---------------------------------------------------------------- the race

@test
def race_two_logins_one_code(c):
    """RACE_ROUNDS rounds: two pamtester logins start together with the same code; exactly
    one succeeds each round, and the file ends with every code used."""
    codes = c.issue(n=RACE_ROUNDS)
    c.write_conf(breakglass="always")
    c.write_service()
    wins, durations, bad = [], [], []
    for i, code in enumerate(codes):
        procs = [c.spawn() for _ in range(2)]
        t0 = time.monotonic()
        outs = [p.communicate(input=(code + "\n").encode(), timeout=60) for p in procs]
        durations.append(time.monotonic() - t0)
        results = []
        for p, (out, err) in zip(procs, outs):
            o = tp.Outcome(p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), 0)
            results.append(o.code)
        n = results.count("PAM_SUCCESS")
        wins.append(n)
        if n != 1 or results.count("PAM_AUTH_ERR") != 1:
            bad.append("round %d: %r" % (i + 1, results))
        if n > 1:
            c.env.false_accepts += n - 1
    check(c.count() == 0, "codes left after the race: %d" % c.count())
    FIGURES.append("race: %d rounds of 2 concurrent logins with one code: %d rounds with exactly one "
                   "success, %d with two, %d with none; a round took %.0f ms median, %.0f ms max"
                   % (RACE_ROUNDS, wins.count(1), sum(1 for w in wins if w > 1), wins.count(0),
                      statistics.median(durations) * 1000, max(durations) * 1000))
    check(not bad, "; ".join(bad))


@test
def module_cost_per_check(c):
    """What a code check costs a login, from the decision lines (duration=)."""
    codes = c.issue(n=5)
    ok, wrong = [], []
    # Five replays would lock alice out (wrong codes count toward max_denials): not measured here.
    for code in codes:
        o = c.login(breakglass="always", max_denials=0, stdin=(code + "\n").encode())
        c.expect_breakglass(o, len(codes) - 1 - codes.index(code))
        ok.append(float(re.search(r"duration=([\d.]+)s", c.decision(o)).group(1)))
        o = c.login(breakglass="always", max_denials=0, stdin=(code + "\n").encode())
        c.expect_wrong(o)
        wrong.append(float(re.search(r"duration=([\d.]+)s", c.decision(o)).group(1)))
    r = subprocess.run([str(CODES_TOOL), "bench"], capture_output=True, text=True, timeout=60)
    FIGURES.append("module: a break-glass login (scrypt N=2^14 r=8 p=1) took %.0f ms median (min %.0f), "
                   "a replayed code %.0f ms median; pam_ciba-codes bench: %s"
                   % (statistics.median(ok) * 1000, min(ok) * 1000, statistics.median(wrong) * 1000,
                      r.stdout.strip()))


def main():
    def summary(env, selected):
        return "".join(f + "\n" for f in FIGURES)

    def extra():
        return [] if CODES_TOOL.exists() else ["not built: %s" % CODES_TOOL]
    return tp.run_suite(TESTS, tp.Env, Case, extra_preflight=extra, on_failure=tp.provider_saw, summary=summary)


if __name__ == "__main__":
    sys.exit(main())
