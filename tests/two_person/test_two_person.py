#!/usr/bin/python3
"""Two-person approval and command_rules through real libpam (issue 13, items 3 and 4).

Same machinery as tests/integration/test_pam.py (pamtester under pam_wrapper and
nss_wrapper, the bundled HTTPS provider, which keeps one "phone" per subject through its
"phones" scenario knob and approves or denies by subject with approve(sub=...)). The
requester is alice; bob and carol are approvers.

Usage: /usr/bin/python3 tests/two_person/test_two_person.py [-k SUBSTRING]... [-v] [--list]
"""

import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import test_pam as tp  # noqa: E402

check = tp.check
TESTS = []
FIGURES = {"requests": [], "latency": []}


def test(fn):
    TESTS.append(fn)
    return fn


class Env(tp.Env):
    def __init__(self):
        super().__init__()
        with open(self.passwd, "a", encoding="utf-8") as f:
            f.write("carol:x:2101:2101:test user:/nonexistent:/bin/sh\n")
        with open(self.group, "a", encoding="utf-8") as f:
            f.write("g2101:x:2101:\nadmins:x:3000:alice\n")


def two_person(c, phones, approvers=("bob",), extra="", **over):
    """Write a config where this service needs two people, then log alice in."""
    c.p.scenario["phones"] = phones
    settings = c.settings(two_person_services=[c.service], approvers=list(approvers), **over)
    c.write_conf(text=c.render(settings) + extra)
    c.write_service()
    start = time.monotonic()
    o = c.login(conf=False)
    return o, start + o.elapsed


def by_sub(c):
    out = {}
    for r in c.p.auth_requests.values():
        out.setdefault(r.sub, []).append(r)
    return out


def decision(o):
    lines = [line for line in (o.stdout + o.stderr).splitlines() if "decision user=" in line]
    check(lines, "no decision log line: %r" % o.stderr[-600:])
    return lines[-1]


def last_approval(c):
    return max(t for (what, _rid, t) in c.p.events if what == "approved")


@test
def both_approve(c):
    o, ended = two_person(c, {"alice": {"phone_delay": 0.3}, "bob": {"phone_delay": 1.2}})
    c.expect(o, "PAM_SUCCESS")
    subs = by_sub(c)
    check(sorted(subs) == ["alice", "bob"], "requests for %r" % sorted(subs))
    check(all(len(v) == 1 and v[0].redeemed for v in subs.values()), "each request redeemed once")
    bc = c.bc_requests()
    check(len(bc) == 2, "bc-authorize requests: %d" % len(bc))
    bm = subs["bob"][0].binding_message
    check("alice" in bm and tp.HOST_SHORT in bm, "approver's binding message %r names requester and host" % bm)
    check(re.search(tp.CODE_RE, bm), "approver's binding message %r has the code" % bm)
    check("approver=bob" in decision(o), "decision line names the approver: %r" % decision(o))
    c.no_violations()
    FIGURES["requests"].append(len(bc) + len(c.token_requests()))
    FIGURES["latency"].append(ended - last_approval(c))


@test
def approver_first_then_user(c):
    o, ended = two_person(c, {"alice": {"phone_delay": 1.5}, "bob": {"phone_delay": 0}})
    c.expect(o, "PAM_SUCCESS")
    bob_polls = [t for t in c.token_requests() if t["form"]["auth_req_id"] == by_sub(c)["bob"][0].id]
    check(len(bob_polls) == 1, "the approver's request is dropped once decided: %d polls" % len(bob_polls))
    FIGURES["latency"].append(ended - last_approval(c))


@test
def second_phone_by_hand(c):
    """Both phones idle; the test approves each by subject, as two people would."""
    c.p.scenario["phones"] = {"alice": {"phone": "none"}, "bob": {"phone": "none"}}
    c.write_conf(text=c.render(c.settings(two_person_services=[c.service], approvers=["bob"])))
    c.write_service()
    start = time.monotonic()
    proc = c.spawn()
    try:
        deadline = time.monotonic() + 30  # valgrind (PAM_TEST_WRAPPER) starts slowly
        while time.monotonic() < deadline and len(c.p.auth_requests) < 2:
            time.sleep(0.05)
        check(len(c.p.auth_requests) == 2, "both requests sent at once")
        check(c.p.approve(sub="alice"), "alice's phone")
        time.sleep(1.5)  # alice's approval alone must not be enough
        check(proc.poll() is None, "login ended after the requester's approval alone")
        check(c.p.approve(sub="bob"), "bob's phone")
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    o = tp.Outcome(proc.returncode, out.decode(), err.decode(), time.monotonic() - start)
    c.last = o
    c.expect(o, "PAM_SUCCESS")
    FIGURES["latency"].append(start + o.elapsed - last_approval(c))


@test
def approver_denies(c):
    o, _ = two_person(c, {"bob": {"phone": "deny", "phone_delay": 0.5}})
    c.expect(o, "PAM_AUTH_ERR")
    check("outcome=denied" in decision(o) and "approver bob" in decision(o), decision(o))
    check("approver=" not in decision(o), "nobody approved")


@test
def approver_never_answers(c):
    o, _ = two_person(c, {"bob": {"phone": "none"}}, max_wait=6)
    c.expect(o, "PAM_AUTH_ERR")
    check("outcome=timeout" in decision(o), decision(o))
    check(5.5 < o.elapsed < 25, "ended at max_wait: %.1fs" % o.elapsed)


@test
def user_denies(c):
    o, _ = two_person(c, {"alice": {"phone": "deny", "phone_delay": 0.5}})
    c.expect(o, "PAM_AUTH_ERR")


@test
def approver_is_requester(c):
    o, _ = two_person(c, {}, approvers=("alice",))
    c.expect(o, "PAM_AUTH_ERR")
    check("outcome=no_approver" in decision(o), decision(o))
    check(not c.bc_requests(), "a request was sent")


@test
def approver_subject_is_requesters(c):
    """An approver given by subject, or another user name, that is the requester's subject."""
    o, _ = two_person(c, {}, approvers=("sub:ALICE", "sub:alice"))
    c.expect(o, "PAM_AUTH_ERR")
    check(not c.bc_requests(), "a request was sent")
    check("outcome=no_approver" in decision(o), decision(o))


@test
def approver_token_with_requesters_sub(c):
    o, _ = two_person(c, {"bob": {"token_sub": "alice"}})
    c.expect(o, "PAM_AUTH_ERR")
    check("outcome=invalid_token" in decision(o) and "alice" in decision(o), decision(o))


@test
def approver_token_wrong_sub(c):
    o, _ = two_person(c, {"bob": {"id_token": "wrong_sub"}})
    c.expect(o, "PAM_AUTH_ERR")


@test
def first_of_two_approvers(c):
    o, _ = two_person(c, {"bob": {"phone": "none"}, "carol": {"phone_delay": 0.5}}, approvers=("bob", "carol"))
    c.expect(o, "PAM_SUCCESS")
    check("approver=carol" in decision(o), decision(o))
    check(len(c.bc_requests()) == 3, "three requests sent")


@test
def approver_by_subject(c):
    o, _ = two_person(c, {}, approvers=("sub:bob",))
    c.expect(o, "PAM_SUCCESS")
    check("approver=sub:bob" in decision(o), decision(o))


@test
def two_person_group(c):
    c.p.scenario["phones"] = {}
    c.write_conf(text=c.render(c.settings(two_person_groups=["admins"], approvers=["bob"])))
    c.write_service()
    o = c.login(conf=False)
    c.expect(o, "PAM_SUCCESS")
    check(len(c.bc_requests()) == 2, "alice is in admins: two requests")


@test
def no_two_person_without_trigger(c):
    c.write_conf(text=c.render(c.settings(two_person_groups=["admins"], approvers=["carol"])))
    c.write_service()
    o = c.login(user="bob", conf=False)
    c.expect(o, "PAM_SUCCESS")
    check(len(c.bc_requests()) == 1, "bob is not in admins: one request")


@test
def command_rules_skip_other_programs(c):
    """pamtester is not sudo: a rule for every command does not apply to it."""
    extra = 'command_rules = ( { command = "*"; action = "two_person"; } );\n'
    c.write_conf(text=c.render(c.settings(approvers=["bob"])) + extra)
    c.write_service()
    o = c.login(conf=False)
    c.expect(o, "PAM_SUCCESS")
    check(len(c.bc_requests()) == 1, "one request")


def figures(env, selected):
    out = []
    if FIGURES["requests"]:
        out.append("requests per two-person login (bc-authorize + token): %s" % FIGURES["requests"])
    if FIGURES["latency"]:
        out.append("last approval -> PAM return: %s s" % ", ".join("%.2f" % x for x in FIGURES["latency"]))
    return "; ".join(out) + ("; " if out else "")


def main():
    return tp.run_suite(TESTS, Env, tp.Case, on_failure=tp.provider_saw, summary=figures)


if __name__ == "__main__":
    sys.exit(main())
