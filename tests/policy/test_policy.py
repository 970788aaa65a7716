#!/usr/bin/python3
"""Policy integration tests: groups, exemptions, services, require_tty, subject maps, approval
reuse, message and authorization_details templates, proxies, TLS pinning, through real libpam.

Same machinery as tests/integration/test_pam.py (pamtester under pam_wrapper and nss_wrapper,
the bundled HTTPS provider); reuses its classes. pamtester sets PAM_TTY and PAM_RHOST with
-I tty=... and -I rhost=...; NSS_WRAPPER_GROUP gives the users their groups.

Usage: /usr/bin/python3 tests/policy/test_policy.py [-k SUBSTRING]... [-v] [--list]
"""

import base64
import hashlib
import json
import os
import re
import select
import shutil
import socket
import socketserver
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
import test_pam as tp  # noqa: E402

check = tp.check
Failure = tp.Failure
PAM_PERMIT = next((p for p in ("/usr/lib/x86_64-linux-gnu/security/pam_permit.so",
                               "/usr/lib/aarch64-linux-gnu/security/pam_permit.so",
                               "/lib/security/pam_permit.so", "/usr/lib64/security/pam_permit.so")
                   if os.path.exists(p)), None)

# alice: admins (supplementary); bob: contractors and admins; carol: only her own group.
GROUPS = {"admins": ["alice", "bob"], "contractors": ["bob"], "ops": []}


def write_groups(env):
    with open(env.group, "a", encoding="utf-8") as f:
        for i, (name, members) in enumerate(GROUPS.items()):
            f.write("%s:x:%d:%s\n" % (name, 3000 + i, ",".join(members)))
    with open(env.passwd, "a", encoding="utf-8") as f:
        f.write("carol:x:2101:2101:test user:/nonexistent:/bin/sh\n")
    with open(env.group, "a", encoding="utf-8") as f:
        f.write("g2101:x:2101:\n")


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records every tunnel it opens and only
    tunnels to loopback."""

    def __init__(self):
        self.connects = []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data = b""
                while b"\r\n\r\n" not in data and len(data) < 8192:
                    chunk = self.request.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                line = data.split(b"\r\n", 1)[0].decode("latin-1")
                parts = line.split()
                if len(parts) != 3 or parts[0] != "CONNECT":
                    self.request.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
                    return
                host, _, port = parts[1].rpartition(":")
                host = host.strip("[]")
                proxy.connects.append(parts[1])
                if host not in ("127.0.0.1", "::1", "localhost"):
                    self.request.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                    return
                try:
                    upstream = socket.create_connection((host, int(port)), timeout=5)
                except OSError:
                    self.request.sendall(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
                    return
                self.request.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                rest = data.split(b"\r\n\r\n", 1)[1]
                if rest:
                    upstream.sendall(rest)
                socks = [self.request, upstream]
                try:
                    while True:
                        ready, _, _ = select.select(socks, [], [], 10)
                        if not ready:
                            break
                        for s in ready:
                            buf = s.recv(65536)
                            if not buf:
                                return
                            (upstream if s is self.request else self.request).sendall(buf)
                finally:
                    upstream.close()

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def new_login_session():
    """In the child: a new session (what the module falls back to without an audit
    session) and, when the runner has an audit session, a new one of those too (writing
    loginuid, which needs CAP_AUDIT_CONTROL, assigns a fresh session id)."""
    os.setsid()
    try:
        if Path("/proc/self/sessionid").read_text().strip() != "4294967295":
            uid = Path("/proc/self/loginuid").read_text().strip()
            with open("/proc/self/loginuid", "w") as f:
                f.write(uid)
    except OSError:
        pass


class PolicyCase(tp.Case):
    """A Case whose logins can set PAM items, flags, the environment and a new session."""

    def __init__(self, env, name):
        super().__init__(env, name)
        self.stack = None  # None: "auth required pam_ciba.so"; "ignorable": see write_service
        self.extra_env = {}

    def write_service(self, conf_path=None, args="debug"):
        super().write_service(conf_path, args)
        if self.stack == "ignorable":
            # PAM_IGNORE from pam_ciba falls through to pam_permit; success skips it;
            # anything else ends the stack with a failure.
            conf_path = conf_path or self.conf_path
            (self.svcdir / self.service).write_text(
                "auth [success=done ignore=ignore default=die] %s conf=%s %s\n"
                "auth required %s\n" % (tp.PAM_SO, conf_path, args, PAM_PERMIT))

    def env_vars(self):
        e = super().env_vars()
        e.update(self.extra_env)
        return {k: v for k, v in e.items() if v is not None}

    def login(self, user="alice", timeout=30, conf=True, stdin=b"", tty=None, rhost=None,
              flags="", new_session=False, hidden_session=False, ruser=None, ruid=None, **over):
        if conf:
            self.write_conf(**over)
            self.write_service()
        cmd = [tp.PAMTESTER, "-v"]
        if ruid is not None:
            # Another caller: real uid ruid, effective uid 0, as inside su or sudo.
            cmd = tp.WRAPPER + [sys.executable, str(REPO / "tests" / "policy" / "pam_as_caller.py"), str(ruid),
                                self.service, user, tty]
        if hidden_session:
            # pamtester as PID 1 of a new PID namespace, its session leader (setsid) outside:
            # a container without pam_loginuid, where no login session can be named.
            cmd = ["setsid", "--wait", "unshare", "--pid", "--fork", "--mount-proc"] + cmd
        if ruid is None:
            if tty is not None:
                cmd += ["-I", "tty=" + tty]
            if rhost is not None:
                cmd += ["-I", "rhost=" + rhost]
            if ruser is not None:
                cmd += ["-I", "ruser=" + ruser]
            cmd += [self.service, user, "authenticate" + flags]
        start = time.monotonic()
        try:
            cmd, env = tp.isolated(cmd, self.env_vars())
            r = subprocess.run(cmd, input=stdin, capture_output=True, env=env,
                               timeout=timeout, preexec_fn=new_login_session if new_session else None)
            rc, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = None, exc.stdout or b"", exc.stderr or b""
        o = tp.Outcome(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                       time.monotonic() - start)
        self.last = o
        return o

    def decision(self, o):
        m = re.findall(r"decision user=.*", o.stderr)
        check(m, "no decision line in stderr %r" % o.stderr[-600:])
        return m[-1]

    def expect_ignored(self, o, why):
        """PAM_IGNORE: the ignorable stack succeeds through pam_permit, the provider never
        hears of the login, and the decision line says ignored with the rule."""
        check(o.code == "PAM_SUCCESS", "ignorable stack: expected success via pam_permit, got %s" % o.describe())
        self.no_traffic()
        d = self.decision(o)
        check("outcome=ignored" in d and why in d, "decision %r lacks ignored/%r" % (d, why))
        check("failmode" not in d, "a policy decision is not a failmode one: %r" % d)

    def expect_required(self, o):
        self.expect(o, "PAM_SUCCESS")
        check("outcome=approved" in self.decision(o), "decision %r" % self.decision(o))
        check(self.bc_requests(), "no bc-authorize")


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


# ---------------------------------------------------------------- groups, users, hosts, services

@test
def groups_member_needs_approval(c):
    c.stack = "ignorable"
    c.expect_required(c.login("alice", groups=["admins"]))


@test
def groups_non_member_ignored(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login("carol", groups=["admins"]), "none of the groups")


@test
def groups_excluded_group_ignored(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login("bob", groups=["admins", "!contractors"]), "excluded group contractors")


@test
def groups_primary_group_counts(c):
    c.stack = "ignorable"
    c.expect_required(c.login("carol", groups=["g2101"]))


@test
def ignored_alone_in_stack_does_not_succeed(c):
    # The module's PAM_IGNORE never becomes success by itself: libpam fails a stack
    # where no module decided, so an exemption needs another module (documented).
    o = c.login("carol", groups=["admins"])
    check(o.code != "PAM_SUCCESS", "ignored login succeeded on its own: %s" % o.describe())
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1
    c.no_traffic()


@test
def exempt_users_ignored(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login("bob", exempt_users=["bob", "deploy"]), "exempt_users")


@test
def exempt_users_others_need_approval(c):
    c.stack = "ignorable"
    c.expect_required(c.login("alice", exempt_users=["bob", "deploy"]))


@test
def exempt_rhosts_ipv4(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login(rhost="10.1.2.3", exempt_rhosts=["192.0.2.0/24", "10.0.0.0/8"]),
                     "exempt_rhosts 10.0.0.0/8")


@test
def exempt_rhosts_ipv6(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login(rhost="2001:db8:7::1", exempt_rhosts=["2001:db8::/32"]),
                     "exempt_rhosts 2001:db8::/32")


@test
def exempt_rhosts_outside(c):
    c.stack = "ignorable"
    c.expect_required(c.login(rhost="192.0.3.1", exempt_rhosts=["192.0.2.0/24", "2001:db8::/32"]))


@test
def exempt_rhosts_names_never_match(c):
    c.stack = "ignorable"
    c.expect_required(c.login(rhost="localhost", exempt_rhosts=["127.0.0.0/8", "::1/128"]))


@test
def services_unlisted_ignored(c):
    c.stack = "ignorable"
    c.expect_ignored(c.login(services=["sudo", "sshd"]), "services")


@test
def services_listed_needs_approval(c):
    c.stack = "ignorable"
    c.service = "sudo"
    c.expect_required(c.login(services=["sudo", "sshd"]))


@test
def require_tty_without_tty(c):
    o = c.login(require_tty=True)
    c.expect(o, "PAM_CONV_ERR")
    c.no_traffic()
    check("interactive terminal" in o.stdout + o.stderr, "no message for the user: %s" % o.describe())
    check("require_tty" in c.decision(o), "decision %r" % c.decision(o))


@test
def require_tty_silent(c):
    # sudo sets PAM_SILENT on every call; the binding message is shown anyway, so a
    # terminal with a conversation is still interactive.
    c.expect_required(c.login(tty="/dev/pts/4", flags="(PAM_SILENT)", require_tty=True))


@test
def require_tty_with_tty(c):
    c.expect_required(c.login(tty="/dev/pts/4", require_tty=True))


@test
def config_bad_cidr(c):
    tp.config_error(c, exempt_rhosts=["10.0.0.1/8"])


@test
def config_empty_groups(c):
    tp.config_error(c, text=c.render(c.settings()) + "groups = [];\n")


# ---------------------------------------------------------------- subject map

def write_map(c, text, mode=0o600, uid=0):
    p = c.dir / "subjects"
    p.write_text(text)
    os.chown(p, uid, 0)
    os.chmod(p, mode)
    return str(p)


def sent_sub(c):
    return json.loads(c.bc_requests()[-1]["form"]["login_hint"])["sub"]


@test
def subject_map_listed(c):
    m = write_map(c, "# map\nalice   auth0|65a1f00d\nbob auth0|b0b\n")
    o = c.login(subject=None, subject_map_file=m)
    c.expect(o, "PAM_SUCCESS")
    check(sent_sub(c) == "auth0|65a1f00d", "sub %r" % sent_sub(c))


@test
def subject_map_default_template(c):
    m = write_map(c, "bob auth0|b0b\n*  idp|%u\n")
    o = c.login(subject=None, subject_map_file=m)
    c.expect(o, "PAM_SUCCESS")
    check(sent_sub(c) == "idp|alice", "sub %r" % sent_sub(c))


@test
def subject_map_unmapped_deny(c):
    m = write_map(c, "bob auth0|b0b\n")
    o = c.login(subject=None, subject_map_file=m)
    c.expect(o, "PAM_USER_UNKNOWN")
    c.no_traffic()


@test
def subject_map_unmapped_ignore(c):
    c.stack = "ignorable"
    m = write_map(c, "bob auth0|b0b\n")
    c.expect_ignored(c.login(subject=None, subject_map_file=m, unmapped="ignore"), "subject_map_file")


@test
def subject_map_change_applies(c):
    m = write_map(c, "alice auth0|first\n")
    c.expect(c.login(subject=None, subject_map_file=m), "PAM_SUCCESS")
    check(sent_sub(c) == "auth0|first", "sub %r" % sent_sub(c))
    write_map(c, "alice auth0|second\n")
    c.expect(c.login(subject=None, subject_map_file=m), "PAM_SUCCESS")
    check(sent_sub(c) == "auth0|second", "sub %r" % sent_sub(c))


@test
def subject_map_group_writable(c):
    m = write_map(c, "alice auth0|a\n", mode=0o620)
    c.expect(c.login(subject=None, subject_map_file=m), "PAM_SERVICE_ERR")
    c.no_traffic()


@test
def subject_map_not_root_owned(c):
    m = write_map(c, "alice auth0|a\n", uid=1)
    c.expect(c.login(subject=None, subject_map_file=m), "PAM_SERVICE_ERR")
    c.no_traffic()


@test
def subject_map_malformed(c):
    m = write_map(c, "alice auth0|a extra\n")
    o = c.login(subject=None, subject_map_file=m)
    c.expect(o, "PAM_SERVICE_ERR")
    check("subjects:1:" in c.decision(o), "decision %r" % c.decision(o))


@test
def subject_map_wrong_sub_token_refused(c):
    # The token must be for the mapped subject, not for the Unix name.
    c.p.scenario.update(id_token="wrong_sub")
    m = write_map(c, "alice auth0|a\n")
    c.expect(c.login(subject=None, subject_map_file=m), "PAM_AUTH_ERR")


# ---------------------------------------------------------------- what the user and phone see

@test
def message_default_shows_code_and_expiry(c):
    o = c.login()
    c.expect(o, "PAM_SUCCESS")
    bm = c.bc_requests()[0]["form"]["binding_message"]
    check(re.search(r'Approve the request "%s" on your phone \(expires in (2[0-9]|30) s\)' % re.escape(bm),
                    o.stdout), "stdout %r" % o.stdout)


@test
def message_template(c):
    o = c.login(tty="/dev/pts/9", message="[%u@%h on %t] code %c: %b, %e s left, 100%%")
    c.expect(o, "PAM_SUCCESS")
    bm = c.bc_requests()[0]["form"]["binding_message"]
    code = bm.rsplit("#", 1)[1]
    want = r"\[alice@%s on /dev/pts/9\] code %s: %s, \d+ s left, 100%%" % (
        re.escape(tp.HOST_SHORT), code, re.escape(bm))
    check(re.search(want, o.stdout), "stdout %r" % o.stdout)


@test
def config_message_bad_escape(c):
    tp.config_error(c, message="%b %y")


@test
def authorization_details_templates(c):
    details = [{"type": "pam_login", "host": "%H", "short": "%h", "service": "%s",
                "from": "%r", "tty": "%t", "user": "%u", "n": 3,
                "nested": {"list": ["%u@%h", "100%%"]}}]
    rhost = 'x","type":"admin'
    o = c.login(tty="/dev/pts/2", rhost=rhost, authorization_details=json.dumps(details))
    c.expect(o, "PAM_SUCCESS")
    got = json.loads(c.bc_requests()[0]["form"]["authorization_details"])
    want = [{"type": "pam_login", "host": socket.gethostname(), "short": tp.HOST_SHORT,
             "service": "ciba-it", "from": rhost, "tty": "/dev/pts/2", "user": "alice", "n": 3,
             "nested": {"list": ["alice@" + tp.HOST_SHORT, "100%"]}}]
    check(got == want, "authorization_details %r" % got)


@test
def config_authorization_details_bad_escape(c):
    tp.config_error(c, authorization_details='[{"type": "t", "x": "%Q"}]')


# ---------------------------------------------------------------- approval reuse

def reuse_conf(c, **over):
    s = {"reuse_window": 60, "reuse_dir": str(c.dir / "reuse")}
    s.update(over)
    return s


def records(c):
    d = c.dir / "reuse"
    return sorted(p for p in d.iterdir() if re.fullmatch(r"[0-9a-f]{64}", p.name)) if d.exists() else []


def first_login(c, **over):
    o = c.login(tty="/dev/pts/7", **reuse_conf(c, **over))
    c.expect(o, "PAM_SUCCESS")
    check(len(c.bc_requests()) == 1, "first login made %d requests" % len(c.bc_requests()))
    # Without a record every "no reuse" below would hold for the wrong reason.
    check(len(records(c)) == 1, "the approval left %d reuse records" % len(records(c)))
    # Every later login that is not a reuse must reach the provider and be denied.
    c.p.reset()
    c.p.scenario.update(phone="deny")


def expect_no_reuse(c, o):
    if o.code == "PAM_SUCCESS":
        c.env.false_accepts += 1
    c.expect(o, "PAM_AUTH_ERR")
    check(c.bc_requests(), "no new bc-authorize: the login was not sent to the provider")


@test
def reuse_same_session(c):
    first_login(c)
    st = os.stat(c.dir / "reuse")
    check(stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == 0, "reuse dir mode %o" % st.st_mode)
    check(stat.S_IMODE(os.stat(c.dir / "reuse" / "key").st_mode) == 0o600, "key mode")
    recs = records(c)
    check(len(recs) == 1 and stat.S_IMODE(os.stat(recs[0]).st_mode) == 0o600, "records %r" % recs)
    o = c.login(tty="/dev/pts/7", conf=False)
    check(o.code == "PAM_SUCCESS", "reuse refused: %s" % o.describe())
    c.no_traffic()
    d = c.decision(o)
    check("outcome=approved" in d and "approval reused" in d, "decision %r" % d)
    check(re.search(r"approval reused: tty=/dev/pts/7", o.stderr), "no reuse log line")


@test
def reuse_other_caller_ruid(c):
    # root approved on this terminal; another user's su (real uid 2101, effective uid 0)
    # in the same session and terminal is a fresh request.
    o = c.login(tty="/dev/pts/7", ruid=0, **reuse_conf(c))
    c.expect(o, "PAM_SUCCESS")
    check(len(records(c)) == 1, "the approval left %d reuse records" % len(records(c)))
    c.p.reset()
    c.p.scenario.update(phone="deny")
    o = c.login(tty="/dev/pts/7", ruid=2101, conf=False)
    expect_no_reuse(c, o)
    check("differs in ruid" in o.stderr, "no debug line naming the caller's uid: %r" % o.stderr[-900:])


@test
def reuse_same_caller_ruid(c):
    o = c.login(tty="/dev/pts/7", ruid=2101, **reuse_conf(c))
    c.expect(o, "PAM_SUCCESS")
    c.p.reset()
    o = c.login(tty="/dev/pts/7", ruid=2101, conf=False)
    check(o.code == "PAM_SUCCESS", "same caller not reused: %s" % o.describe())
    c.no_traffic()
    check("approval reused" in c.decision(o), "decision %r" % c.decision(o))


@test
def reuse_other_ruser(c):
    o = c.login(tty="/dev/pts/7", ruser="root", **reuse_conf(c))
    c.expect(o, "PAM_SUCCESS")
    c.p.reset()
    c.p.scenario.update(phone="deny")
    o = c.login(tty="/dev/pts/7", ruser="carol", conf=False)
    expect_no_reuse(c, o)
    check("differs in ruser" in o.stderr, "no debug line naming PAM_RUSER: %r" % o.stderr[-900:])
    # Unset is not a wildcard either.
    c.p.reset()
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_same_ruser(c):
    c.expect(c.login(tty="/dev/pts/7", ruser="carol", **reuse_conf(c)), "PAM_SUCCESS")
    c.p.reset()
    o = c.login(tty="/dev/pts/7", ruser="carol", conf=False)
    check(o.code == "PAM_SUCCESS", "same PAM_RUSER not reused: %s" % o.describe())
    c.no_traffic()


@test
def reuse_scope_command_other_command(c):
    # pamtester's own argv is the command: an extra -I rhost=... makes it another one.
    first_login(c, reuse_scope="command")
    o = c.login(tty="/dev/pts/7", rhost="192.0.2.1", conf=False)
    expect_no_reuse(c, o)
    check("differs in command" in o.stderr, "no debug line naming the command: %r" % o.stderr[-900:])


@test
def reuse_scope_command_same_command(c):
    first_login(c, reuse_scope="command")
    c.p.scenario.update(phone="approve")
    o = c.login(tty="/dev/pts/7", conf=False)
    check(o.code == "PAM_SUCCESS", "same command not reused: %s" % o.describe())
    c.no_traffic()


@test
def reuse_scope_session_other_command(c):
    # The default scope covers the caller's session, whatever the command.
    first_login(c)
    c.p.scenario.update(phone="approve")
    o = c.login(tty="/dev/pts/7", rhost="192.0.2.1", conf=False)
    check(o.code == "PAM_SUCCESS", "session scope not reused: %s" % o.describe())
    c.no_traffic()


@test
def reuse_old_format_record(c):
    first_login(c)
    rec = records(c)[0]
    # A record from before the caller was bound: refused, removed, a fresh request.
    rec.write_text("v1 %d %s\n" % (int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000), "0" * 64))
    o = c.login(tty="/dev/pts/7", conf=False)
    expect_no_reuse(c, o)
    check(not rec.exists(), "old record left in place")


@test
def reuse_other_tty(c):
    first_login(c)
    expect_no_reuse(c, c.login(tty="/dev/pts/8", conf=False))


@test
def reuse_other_user(c):
    first_login(c)
    expect_no_reuse(c, c.login("bob", tty="/dev/pts/7", conf=False))


@test
def reuse_other_service(c):
    first_login(c)
    c.service = "other-svc"
    c.write_service()
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_other_session(c):
    audit = Path("/proc/self/sessionid").read_text().strip()
    probe = subprocess.run(["cat", "/proc/self/sessionid"], capture_output=True,
                           preexec_fn=new_login_session).stdout.decode().strip()
    check(audit == "4294967295" or probe != audit,
          "cannot start a new audit session here (sessionid %s): the test cannot run" % audit)
    first_login(c)
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False, new_session=True))


@test
def reuse_without_visible_session(c):
    audit = Path("/proc/self/sessionid").read_text().strip()
    check(audit == "4294967295", "an audit session (%s) names the session anyway: the test cannot run" % audit)
    o = c.login(tty="/dev/pts/7", hidden_session=True, **reuse_conf(c))
    c.expect(o, "PAM_SUCCESS")
    check(not records(c), "a record written without a login session: %r" % records(c))
    c.p.reset()
    c.p.scenario.update(phone="deny")
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False, hidden_session=True))


@test
def reuse_after_window(c):
    first_login(c, reuse_window=2)
    time.sleep(2.2)
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))
    check(not any(p.name != "key" and not p.name.startswith("tmp.") and p.stat().st_mtime < time.time() - 2
                  for p in records(c)), "expired record left behind")


@test
def reuse_without_tty(c):
    o = c.login(**reuse_conf(c))
    c.expect(o, "PAM_SUCCESS")
    c.p.reset()
    c.p.scenario.update(phone="deny")
    expect_no_reuse(c, c.login(conf=False))


@test
def reuse_forged_record(c):
    first_login(c)
    rec = records(c)[0]
    # A fresh timestamp without the key: the MAC no longer matches.
    text = re.sub(r"^approved \d+$", "approved %d" % int(time.clock_gettime(time.CLOCK_BOOTTIME) * 1000),
                  rec.read_text(), flags=re.M)
    rec.write_text(re.sub(r"^mac [0-9a-f]{64}$", "mac " + "0" * 64, text, flags=re.M))
    o = c.login(tty="/dev/pts/7", conf=False)
    expect_no_reuse(c, o)
    check("MAC" in o.stderr, "no warning about the forged record")


@test
def reuse_tampered_time(c):
    first_login(c)
    rec = records(c)[0]
    text = rec.read_text()
    ms = re.search(r"^approved (\d+)$", text, re.M)
    check(ms, "no approved line in %r" % text)
    rec.write_text(text.replace(ms.group(0), "approved %d" % (int(ms.group(1)) + 1)))
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_tampered_caller(c):
    # Rewriting the caller in the record (same length) does not make it anyone's.
    first_login(c)
    rec = records(c)[0]
    text = rec.read_text()
    check("\nruid 0\n" in text, "no ruid line in %r" % text)
    rec.write_text(text.replace("\nruid 0\n", "\nruid 1\n"))
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_record_replayed_for_other_user(c):
    first_login(c)
    alice_rec = records(c)[0]
    c.p.reset()
    c.p.scenario.update(phone="approve")
    c.expect(c.login("bob", tty="/dev/pts/7", conf=False), "PAM_SUCCESS")
    bob_rec = [r for r in records(c) if r != alice_rec][0]
    shutil.copyfile(alice_rec, bob_rec)
    c.p.reset()
    c.p.scenario.update(phone="deny")
    expect_no_reuse(c, c.login("bob", tty="/dev/pts/7", conf=False))


@test
def reuse_record_wrong_permissions(c):
    first_login(c)
    os.chmod(records(c)[0], 0o644)
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_record_wrong_owner(c):
    first_login(c)
    os.chown(records(c)[0], 1, 1)
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


@test
def reuse_dir_insecure(c):
    first_login(c)
    os.chmod(c.dir / "reuse", 0o755)
    o = c.login(tty="/dev/pts/7", conf=False)
    expect_no_reuse(c, o)
    check("0700" in o.stderr, "no warning about the directory")


@test
def reuse_off_by_default(c):
    c.expect(c.login(tty="/dev/pts/7", reuse_dir=str(c.dir / "reuse")), "PAM_SUCCESS")
    check(not (c.dir / "reuse").exists(), "records written with reuse_window 0")
    c.p.reset()
    c.p.scenario.update(phone="deny")
    expect_no_reuse(c, c.login(tty="/dev/pts/7", conf=False))


# ---------------------------------------------------------------- network

@test
def proxy_configured_is_used(c):
    proxy = ConnectProxy()
    try:
        o = c.login(https_proxy=proxy.url)
    finally:
        proxy.stop()
    c.expect(o, "PAM_SUCCESS")
    want = "127.0.0.1:%d" % c.p.port
    check(want in proxy.connects, "proxy saw %r, wanted %s" % (proxy.connects, want))


@test
def proxy_environment_ignored_by_default(c):
    proxy = ConnectProxy()
    c.extra_env = {"https_proxy": proxy.url, "HTTPS_PROXY": proxy.url, "ALL_PROXY": proxy.url,
                   "NO_PROXY": None, "no_proxy": None}
    try:
        o = c.login()
    finally:
        proxy.stop()
    c.expect(o, "PAM_SUCCESS")
    check(not proxy.connects, "environment proxy used: %r" % proxy.connects)


@test
def proxy_environment_honoured_when_asked(c):
    proxy = ConnectProxy()
    c.extra_env = {"https_proxy": proxy.url, "NO_PROXY": None, "no_proxy": None}
    try:
        o = c.login(proxy_from_env=True)
    finally:
        proxy.stop()
    c.expect(o, "PAM_SUCCESS")
    check(proxy.connects, "proxy_from_env did not use https_proxy")


@test
def proxy_environment_no_proxy_ignored(c):
    # An application's NO_PROXY must not switch off the admin's proxy either.
    proxy = ConnectProxy()
    c.extra_env = {"NO_PROXY": "*", "no_proxy": "*"}
    try:
        o = c.login(https_proxy=proxy.url)
    finally:
        proxy.stop()
    c.expect(o, "PAM_SUCCESS")
    check(proxy.connects, "the environment's NO_PROXY bypassed the configured proxy")


@test
def no_proxy_key_bypasses(c):
    proxy = ConnectProxy()
    try:
        o = c.login(https_proxy=proxy.url, no_proxy="127.0.0.1")
    finally:
        proxy.stop()
    c.expect(o, "PAM_SUCCESS")
    check(not proxy.connects, "no_proxy host went through the proxy: %r" % proxy.connects)


@test
def proxy_down_is_unavailable(c):
    port = tp.closed_port()
    o = c.login(https_proxy="http://127.0.0.1:%d" % port)
    c.expect(o, "PAM_AUTHINFO_UNAVAIL")
    c.no_traffic()


def spki_pin(pem_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    cert = x509.load_pem_x509_certificate(Path(pem_path).read_bytes())
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


@test
def pinned_public_key_right(c):
    pin = spki_pin(c.env.ca / "server.pem")
    wrong = spki_pin(c.env.ca / "ca.pem")
    c.expect(c.login(pinned_public_key=wrong + ";" + pin), "PAM_SUCCESS")


@test
def pinned_public_key_wrong(c):
    o = c.login(pinned_public_key=spki_pin(c.env.ca / "ca.pem"))
    c.expect(o, "PAM_AUTH_ERR")  # a trust failure, never an outage
    c.no_traffic()


@test
def pinned_public_key_file(c):
    pub = c.dir / "server-pub.pem"
    subprocess.run(["openssl", "x509", "-in", str(c.env.ca / "server.pem"), "-pubkey", "-noout",
                    "-out", str(pub)], check=True)
    c.expect(c.login(pinned_public_key=str(pub)), "PAM_SUCCESS")


@test
def tls_min_13_against_12_only_provider(c):
    ctx = c.p.ssl_context
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    try:
        o = c.login(tls_min_version="1.3")
        o12 = c.login(tls_min_version="1.2")
    finally:
        ctx.maximum_version = ssl.TLSVersion.MAXIMUM_SUPPORTED
    check(o.code == "PAM_AUTHINFO_UNAVAIL", "TLS 1.2 accepted with tls_min_version 1.3: %s" % o.describe())
    c.expect(o12, "PAM_SUCCESS")


@test
def tls_min_13(c):
    c.expect(c.login(tls_min_version="1.3"), "PAM_SUCCESS")


@test
def ca_path_directory(c):
    d = c.dir / "certs"
    d.mkdir()
    shutil.copy(c.env.ca / "ca.pem", d / "test-ca.pem")
    subprocess.run(["openssl", "rehash", str(d)], check=True, capture_output=True)
    c.expect(c.login(ca_file=None, ca_path=str(d)), "PAM_SUCCESS")


@test
def ca_path_without_our_ca(c):
    d = c.dir / "certs"
    d.mkdir()
    o = c.login(ca_file=None, ca_path=str(d))
    c.expect(o, "PAM_AUTH_ERR")  # a trust failure, never an outage


# ---------------------------------------------------------------- runner

def make_env():
    env = tp.Env()
    write_groups(env)
    return env


def main():
    if Path("/proc/self/sessionid").read_text().strip() == "4294967295" and os.getsid(0) == 0:
        # Our session leader is outside this PID namespace (some CI containers), so the module
        # could not name the login session and reuse tests would test nothing. Logins of this
        # run share a session of their own instead, as logins from one terminal do.
        os.setsid()
    return tp.run_suite(TESTS, make_env, PolicyCase,
                        extra_preflight=lambda: [] if PAM_PERMIT else ["pam_permit.so not found"],
                        on_failure=tp.provider_saw)


if __name__ == "__main__":
    sys.exit(main())
