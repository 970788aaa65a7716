#!/usr/bin/python3
"""sudo command_rules and two-person approval through the real setuid sudo (issue 13, items 3
and 4), run by an unprivileged test user in the private mount namespace of
tests/local/test_local.py (its Env: own passwd, sudoers and pam.d, the bundled provider).

Cases: never_reuse asks again inside reuse_window; sudo -v and sudo -l send no request and
fail; two-person sudo succeeds only with the approver's approval (denial, silence, the
requester as approver and a token carrying the requester's subject all fail). Prints the
two-person figures: requests per login and the time from the last approval to the command.

Usage: /usr/bin/python3 tests/local/test_sudo_policy.py [-k SUBSTRING]... [-v]
Run under flock /tmp/pam_ciba-e2e.lock (fixed user names). Needs what test_local.py needs.
"""

import argparse
import re
import signal
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True
import test_local as tl  # noqa: E402
from sandbox import Failure, Skip, check  # noqa: E402

CALLER, TARGET = tl.CALLER, tl.TARGET
CASES = []
FIGURES = {"requests": [], "latency": [], "after_token": []}


def case(fn):
    CASES.append(fn)
    return fn


def sudo_conf(env, name, extra, **over):
    """The sudo service with a config of name, plus raw libconfig text (lists, rules)."""
    path = env.write_conf(name, **over)
    with open(path, "a") as f:
        f.write(extra)
    env.install_service("sudo", [env.module_line(path)])
    return path


def caller_shell(env):
    name = env.terminal_as(CALLER, "env PS1=CALLER$ sh")
    env.tmux.wait_for(name, r"CALLER\$")
    return name


def last_approval(env):
    with env.provider.lock:
        return max(t for (what, _rid, t) in env.provider.events if what == "approved")


def last_token(env):
    with env.provider.lock:
        return max(t for (what, _rid, t) in env.provider.events if what == "token_issued")


@case
def t_never_reuse_asks_again(env):
    """reuse_window = 300: a second `sudo echo` in the same terminal is reused (no request);
    `sudo id` (a never_reuse rule) asks every time, also right after an approval."""
    sudo_conf(env, "never_reuse", 'command_rules = ( { command = "/usr/bin/id"; action = "never_reuse"; } );\n',
              reuse_window=300)
    env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
    name = caller_shell(env)
    steps = [("sudo echo RAN-1", "S1", 1), ("sudo echo RAN-2", "S2", 1), ("sudo id -un", "S3", 2),
             ("sudo id -un", "S4", 3), ("sudo echo RAN-5", "S5", 3)]
    for command, label, want in steps:
        rc, screen = tl.step(env, name, command, label)
        check(rc == 0, "%s failed (rc %s):\n%s" % (command, rc, screen))
        n = len(env.auth_requests())
        check(n == want, "after %r: %d requests, want %d" % (command, n, want))
    env.tmux.type(name, "exit")
    env.tmux.wait_exit(name)


@case
def t_two_person_never_reused(env):
    """reuse_window = 300: an approved `sudo echo` is not reused for `sudo whoami`, which a
    two_person rule covers: the user and the approver are both asked (2 new requests)."""
    sudo_conf(env, "tp_reuse", 'command_rules = ( { command = "whoami"; action = "two_person"; } );\n'
              'approvers = ["%s"];\n' % TARGET, reuse_window=300)
    env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
    name = caller_shell(env)
    for command, label, want in [("sudo echo RAN-1", "T1", 1), ("sudo echo RAN-2", "T2", 1),
                                 ("sudo whoami", "T3", 3)]:
        rc, screen = tl.step(env, name, command, label)
        check(rc == 0, "%s failed (rc %s):\n%s" % (command, rc, screen))
        n = len(env.auth_requests())
        check(n == want, "after %r: %d requests, want %d" % (command, n, want))
    check(sorted(r["sub"] for r in env.auth_requests()) == sorted([CALLER, CALLER, TARGET]),
          "subjects asked: %r" % [r["sub"] for r in env.auth_requests()])
    env.tmux.type(name, "exit")
    env.tmux.wait_exit(name)


@case
def t_validate_and_list_send_nothing(env):
    """sudo -v and sudo -l (no command) never reach the provider and fail; sudo -l with a
    command is a question about that command and is approved as usual."""
    sudo_conf(env, "nocmd", "")
    problems = []
    for argv in (["sudo", "-v"], ["sudo", "-l"], ["sudo", "-l", "-U", TARGET]):
        env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
        rc, out, took = env.run_as(CALLER, argv)
        if env.auth_requests():
            problems.append("%s sent %d requests" % (" ".join(argv), len(env.auth_requests())))
        if rc == 0:
            problems.append("%s succeeded" % " ".join(argv))
        if took > 5:
            problems.append("%s took %.1fs" % (" ".join(argv), took))
        env.notes.append(("sudo %s (no request)" % " ".join(argv[1:]), ["rc %s: %s" % (rc, out.strip()[-300:])]))
    # With sudo's default passwd_tries (3), what the user sees: still no request.
    sudoers = env.tmp / "etc" / "sudoers"
    saved = sudoers.read_text()
    try:
        with open(sudoers, "r+") as f:  # in place: the namespace bind-mounts this inode
            text = saved.replace("Defaults passwd_tries=1\n", "")
            f.seek(0)
            f.write(text)
            f.truncate()
        env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
        rc, out, took = env.run_as(CALLER, ["sudo", "-v"])
        if env.auth_requests() or rc == 0:
            problems.append("sudo -v (passwd_tries=3): rc %s, %d requests" % (rc, len(env.auth_requests())))
        env.notes.append(("sudo -v with passwd_tries=3 (no request), %.2fs" % took, ["rc %s: %s" % (rc, out.strip()[-400:])]))
    finally:
        with open(sudoers, "r+") as f:
            f.seek(0)
            f.write(saved)
            f.truncate()
    env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
    rc, out, _ = env.run_as(CALLER, ["sudo", "-l", "/usr/bin/id"])
    if len(env.auth_requests()) != 1 or rc != 0:
        problems.append("sudo -l /usr/bin/id: rc %s, %d requests: %s" % (rc, len(env.auth_requests()), out[-200:]))
    check(not problems, "; ".join(problems))


TWO_PERSON = 'command_rules = ( { command = "id"; target = "root"; action = "two_person"; } );\n'


def two_person_sudo(env, phones, approvers=(TARGET,)):
    sudo_conf(env, "two_person", TWO_PERSON + "approvers = [%s];\n" % ", ".join('"%s"' % a for a in approvers),
              binding_message="%h sudo %u: %C #%c")
    env.reset_provider(interval=1, phone="approve", phones=phones)
    rc, out, took = env.run_as(CALLER, ["sudo", "id", "-un"])
    ended = time.monotonic()
    ran = rc == 0 and re.search(r"(?m)^root$", out) is not None
    return rc, out, ran, ended


@case
def t_two_person_success(env):
    """The caller and the approver approve: the command runs; two requests, one per subject."""
    sudo_conf(env, "two_person", "")
    before = env.snapshot()
    for phones in ({CALLER: {"phone_delay": 0.3}, TARGET: {"phone_delay": 1.5}},
                   {CALLER: {"phone_delay": 1.5}, TARGET: {"phone_delay": 0.3}},
                   {CALLER: {"phone_delay": 0.2}, TARGET: {"phone_delay": 2.7}}):
        rc, out, ran, ended = two_person_sudo(env, phones)
        env.count_accept(ran)
        check(ran, "two-person sudo did not run (rc %s): %s" % (rc, out[-300:]))
        reqs = env.auth_requests()
        check(sorted(r["sub"] for r in reqs) == sorted([CALLER, TARGET]), "requests: %r" % [r["sub"] for r in reqs])
        check(all(r["redeemed"] for r in reqs), "a token was not issued for each")
        appr = [r for r in reqs if r["sub"] == TARGET][0]
        check(CALLER in appr["binding_message"] and "id" in appr["binding_message"],
              "approver's message %r names the requester and the command" % appr["binding_message"])
        with env.provider.lock:
            polls = sum(len(r.polls) for r in env.provider.auth_requests.values())
        FIGURES["requests"].append(len(reqs) + polls)
        FIGURES["latency"].append(ended - last_approval(env))
        FIGURES["after_token"].append(ended - last_token(env))
    env.assert_clean(before, "two-person sudo")


@case
def t_two_person_failures(env):
    """Approver denies; never answers (max_wait); is the requester; the approver's token
    carries the requester's subject: the command never runs."""
    problems = []
    rows = [("approver denies", {TARGET: {"phone": "deny", "phone_delay": 0.3}}, (TARGET,), 2),
            ("approver never answers", {TARGET: {"phone": "none"}}, (TARGET,), 2),
            ("approver is the requester", {}, (CALLER,), 0),
            ("approver's token names the requester", {TARGET: {"token_sub": CALLER}}, (TARGET,), 2)]
    for what, phones, approvers, nreq in rows:
        started = time.monotonic()
        rc, out, ran, ended = two_person_sudo(env, phones, approvers)
        if env.count_accept(ran, approved_expected=False) or ran or rc == 0:
            problems.append("FALSE ACCEPT: %s: the command ran" % what)
        if len(env.auth_requests()) != nreq:
            problems.append("%s: %d requests, want %d" % (what, len(env.auth_requests()), nreq))
        if ended - started > tl.BOUND:
            problems.append("%s: took %.1fs" % (what, ended - started))
    check(not problems, "; ".join(problems))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.k or any(k in c.__name__ for k in args.k)]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    passed = failed = 0
    try:
        env = tl.Env(args.v)
    except Skip as exc:
        if tl.CI:
            print("FAIL: prerequisites (CI=true): %s" % exc)
            print("RESULT passed=0 failed=1")
            return 1
        print("SKIP: all %d cases: %s" % (len(cases), exc))
        print("RESULT passed=0 failed=0 skipped=%d" % len(cases))
        return 0
    try:
        for c in cases:
            started = time.monotonic()
            try:
                c(env)
                passed += 1
                print("PASS: %s (%.1fs)" % (c.__name__[2:], time.monotonic() - started), flush=True)
            except Exception as exc:  # noqa: BLE001
                failed += 1
                print("FAIL: %s (%.1fs): %s" % (c.__name__[2:], time.monotonic() - started, exc), flush=True)
                if args.v or not isinstance(exc, Failure):
                    traceback.print_exc()
            finally:
                env.tmux.kill_all()
                env.reset_provider()
        for title, lines in env.notes:
            print("---- %s ----" % title)
            print("\n".join("    | " + line for line in lines))
        if FIGURES["requests"]:
            print("two-person sudo: requests per login (bc-authorize + token polls): %s" % FIGURES["requests"])
            print("two-person sudo: last approval -> command output: %s s"
                  % ", ".join("%.2f" % x for x in FIGURES["latency"]))
            print("two-person sudo: last token issued -> command output: %s s"
                  % ", ".join("%.3f" % x for x in FIGURES["after_token"]))
        print("false accepts: %d" % env.false_accepts)
        if env.false_accepts:
            failed += 1
    finally:
        env.close()
    print("RESULT passed=%d failed=%d" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
