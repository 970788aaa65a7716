#!/usr/bin/python3
"""The hostile local caller: the real setuid su and sudo, run by an unprivileged test user,
with pam_ciba.so (the built one) in the namespace's /etc/pam.d/su and /etc/pam.d/sudo.

Everything runs in a private mount namespace (tests/lib/sandbox.py): the test's own
passwd, group, shadow, sudoers and pam.d are bound over the real ones, /run and /var/log
are private tmpfs. The bundled provider (tests/servers/ciba_provider.py, a throwaway CA)
and the fault server listen on 127.0.0.1 only. Every case asserts the PAM outcome (exit
status and whether the command ran), that nothing was created or left open, and the time
bound; every success the phone did not approve is a false accept, and the suite fails
unless there are none.

Each case names the defect of issue 11 it covers (CASES below, or --list).

Usage: /usr/bin/python3 tests/local/test_local.py [-k SUBSTRING]... [-v] [--list]
Needs root, su, sudo, tmux, unshare/nsenter, setpriv, prlimit, openssl, curl.
With CI=true a missing prerequisite is a failure, not a skip.
Prints PASS:/FAIL: per case and ends with "RESULT passed=N failed=M".
"""

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "servers"))
sys.path.insert(0, str(REPO / "tests" / "lib"))
import ciba_provider  # noqa: E402
from fault_server import FaultServer, reply  # noqa: E402
from sandbox import (Failure, Namespace, Skip, Tmux, check, free_ids, free_port,  # noqa: E402
                     private_etc, run, user_command, wait_until)

BUILD = Path(os.environ.get("BUILD", REPO / "build"))
PAM_SO = Path(os.environ.get("PAM_CIBA_SO", BUILD / "pam_ciba" / ".libs" / "pam_ciba.so")).resolve()
# A case that cannot run fails, unless the run is explicitly partial (./dev.sh check --quick
# sets PAM_CIBA_ALLOW_SKIP=1); CI=true never allows a skip.
CI = os.environ.get("CI", "") == "true"
ALLOW_SKIP = os.environ.get("PAM_CIBA_ALLOW_SKIP") == "1" and not CI
CLIENT_ID = "pam-ciba-local"
CLIENT_SECRET = "local-secret-" + os.urandom(6).hex()
CALLER = "lc_caller"    # the unprivileged user who runs su and sudo
TARGET = "lc_target"    # the account su switches to
HOST = socket.gethostname().split(".")[0]
TOOLS = ["su", "sudo", "tmux", "unshare", "nsenter", "setpriv", "prlimit", "openssl", "curl"]
CT, RT, MW = 2, 3, 6    # connect_timeout, request_timeout, max_wait of every config here
MARGIN = 4.0            # process start-up, TLS, su's own work on a loaded 2-core machine
BOUND = MW + RT + MARGIN  # issue 11's bound: max_wait + one request_timeout
APPROVE_INFO = r'Approve the request "([^"\n]+)" on your phone'


class Env:
    def __init__(self, verbose):
        self.verbose = verbose
        self.false_accepts = 0
        self.notes = []           # printed at the end (binding messages seen, fd lists, ...)
        missing = [t for t in TOOLS if not shutil.which(t)]
        if missing:
            raise Skip("missing programs: %s (tests/deps.d/e2e.txt installs them)" % " ".join(missing))
        if not PAM_SO.exists():
            raise Failure("not built: %s" % PAM_SO)
        if os.geteuid() != 0:
            raise Skip("must run as root (private mount namespace, test users)")
        self.tmp = Path(tempfile.mkdtemp(prefix="pam_ciba_local."))
        os.chmod(self.tmp, 0o755)  # the test users reach their homes and scripts below
        self.ns = self.tmux = self.provider = self.fault = None
        try:
            self._setup()
        except BaseException:
            self.close()
            raise

    def _setup(self):
        t = self.tmp
        run(["sh", str(REPO / "tests/servers/make_ca.sh"), str(t / "ca")])
        self.provider = ciba_provider.Provider(
            certfile=str(t / "ca/server.pem"), keyfile=str(t / "ca/server.key"),
            clients={CLIENT_ID: CLIENT_SECRET}, scenario={"interval": 1, "phone": "none"})
        self.provider.start()
        self.fault = FaultServer(str(t / "ca/server.pem"), str(t / "ca/server.key")).start()
        ids = free_ids(2)
        self.uids = {CALLER: ids[0], TARGET: ids[1]}
        self.homes = {u: t / "home" / u for u in self.uids}
        for u, home in self.homes.items():
            home.mkdir(parents=True)
            os.chown(home, self.uids[u], self.uids[u])
            os.chmod(home, 0o700)
        etc = t / "etc"
        private_etc(etc, [(u, self.uids[u], self.homes[u]) for u in (CALLER, TARGET)])
        (etc / "sudoers").write_text(
            "# pam_ciba local suite: only the test user, only here\n"
            "Defaults env_reset\n"
            "Defaults secure_path=\"/usr/sbin:/usr/bin:/sbin:/bin\"\n"
            "Defaults !lecture\n"
            "Defaults passwd_tries=1\n"       # one request per sudo, one denial is final
            "Defaults timestamp_timeout=0\n"  # sudo's own cache never answers for the phone
            "%s ALL=(ALL) ALL\n" % CALLER)
        os.chmod(etc / "sudoers", 0o440)
        self.ns = Namespace(t)
        self.ns.mount_private_etc(etc)
        # A root-owned directory nobody else may write to, private to the namespace: where
        # the hostile environment asks for the TLS key log.
        self.ns.sh("mkdir -m 0755 /run/lc_rootdir")
        self.tmux = Tmux(t)

    def close(self):
        if self.tmux:
            self.tmux.close()
        if self.ns:
            self.ns.close()
        if self.fault:
            self.fault.stop()
        if self.provider:
            self.provider.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- configuration ---------------------------------------------------------

    def write_conf(self, name, **over):
        s = {
            "issuer": self.provider.issuer, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "ca_file": str(self.tmp / "ca/ca.pem"), "binding_message": "%h login %u #%c",
            "max_wait": MW, "connect_timeout": CT, "request_timeout": RT,
            "cache_dir": str(self.tmp / ("cache-" + name)),  # never the system's /var/cache/pam_ciba
        }
        s.update(over)
        text = "".join("%s = %s;\n" % (k, v if isinstance(v, int) else '"%s"' % v) for k, v in s.items())
        path = self.tmp / (name + ".conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def install_service(self, service, auth_lines, drop_rootok=False):
        """Debian's /etc/pam.d/SERVICE in the namespace with auth_lines in place of
        "@include common-auth"; drop_rootok: without pam_rootok, so root is asked too."""
        out, done = [], False
        for line in Path("/etc/pam.d", service).read_text().splitlines():
            if line.strip() == "@include common-auth":
                out.extend(auth_lines)
                done = True
            elif drop_rootok and "pam_rootok.so" in line and not line.lstrip().startswith("#"):
                continue
            else:
                out.append(line)
        check(done, "/etc/pam.d/%s has no @include common-auth line" % service)
        (self.tmp / "etc/pam.d" / service).write_text("\n".join(out) + "\n")

    def module_line(self, conf, control="required"):
        return "auth %s %s conf=%s" % (control, PAM_SO, conf)

    # ---- running things ----------------------------------------------------------

    def script(self, name, text):
        """A root-owned script the test users can read and run."""
        path = self.tmp / (name + ".sh")
        path.write_text(text)
        os.chmod(path, 0o755)
        return path

    def as_user_argv(self, user, argv):
        return self.ns.argv(["setpriv", "--reuid=%d" % self.uids[user], "--regid=%d" % self.uids[user],
                             "--init-groups", "env", "-i", "HOME=%s" % self.homes[user],
                             "USER=%s" % user, "LOGNAME=%s" % user, "PATH=/usr/bin:/bin",
                             "LC_ALL=C"] + list(argv))

    def run_as(self, user, argv, timeout=None):
        """Runs argv as user in the namespace without a terminal; returns (rc, output, seconds)."""
        started = time.monotonic()
        try:
            r = subprocess.run(self.as_user_argv(user, argv), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=timeout or BOUND + 30, cwd=str(self.homes[user]))
            rc, out = r.returncode, r.stdout.decode("utf-8", "replace")
        except subprocess.TimeoutExpired as exc:
            rc, out = None, (exc.stdout or b"").decode("utf-8", "replace")
        return rc, out, time.monotonic() - started

    def terminal_as(self, user, command):
        return self.tmux.start(user_command(self.ns, self.uids[user], self.homes[user], user, command),
                               width=200)

    # ---- the provider's view -------------------------------------------------------

    def reset_provider(self, **scenario):
        self.provider.reset(scenario=True)
        self.provider.scenario.update(scenario)

    def auth_requests(self):
        with self.provider.lock:
            return [r.as_dict() for r in self.provider.auth_requests.values()]

    def issued(self):
        """auth_req_ids whose token the phone's approval let the provider issue."""
        with self.provider.lock:
            return [r.id for r in self.provider.auth_requests.values() if r.redeemed and r.decision == "approved"]

    def count_accept(self, ran, approved_expected=True):
        """A command that ran although the provider issued no approved token is a false
        accept (unless the case expects the stack to decide without the phone)."""
        if ran and approved_expected and not self.issued():
            self.false_accepts += 1
            return True
        if ran and not approved_expected:
            return False
        return False

    # ---- what must be true after every login ---------------------------------------

    def snapshot(self):
        """Every path below the test directory, the homes, and the namespace's /run and
        /var/log, except the module's own state (cache_dir, reuse_dir) and the terminals'
        bookkeeping; a login must add nothing else."""
        paths = set()
        skip = re.compile(r"/(cache-[^/]*|tmux\.sock|t\d+\.(sh|status|status\.tmp))(/|$)")
        for root, dirs, files in os.walk(self.tmp):
            for n in dirs + files:
                p = os.path.join(root, n)
                if not skip.search(p):
                    paths.add(p)
        r = self.ns.sh("find /run /var/log -xdev 2>/dev/null || true")
        for p in r.stdout.decode().split():
            # utmp/wtmp/btmp/lastlog and sudo's timestamp/lecture records are su's and
            # sudo's own; the module's reuse records live in reuse_dir (/run/pam_ciba).
            if not re.match(r"/(run/(utmp|sudo|pam_ciba)|var/log/(wtmp|btmp|lastlog|faillog|sudo))", p):
                paths.add("ns:" + p)
        return paths

    def assert_clean(self, before, what):
        after = self.snapshot()
        new = sorted(after - before)
        check(not new, "%s created: %s" % (what, new))
        # Nothing of the login may outlive it: no process of the test users, and every
        # connection to the providers closed.
        uids = set(self.uids.values())

        def no_procs():
            left = []
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        st = os.stat("/proc/" + d)
                    except OSError:
                        continue
                    if st.st_uid in uids:
                        left.append(d)
            return not left
        wait_until(no_procs, 5, "the test users' processes to end")

        def closed():
            with self.provider.lock:
                return all(c["closed"] is not None for c in self.provider.connections.values() if not c["control"])
        wait_until(closed, 5, "every connection to the provider to close")


# ---- the cases ---------------------------------------------------------------------

CASES = []


def case(defect):
    """Registers a case; defect: the issue-11 defect it covers (shown by --list)."""
    def deco(fn):
        fn.defect = defect
        CASES.append(fn)
        return fn
    return deco


def ran_marker(user):
    return "RAN-AS-%s" % user


def su_argv(target, command):
    return ["su", target, "-c", command]


def su_ran(rc, out, target):
    return rc == 0 and ran_marker(target) in out


class FifoWatch:
    """A named pipe standing in for an attacker's file (OPENSSL_CONF, SSL_CERT_FILE, ...):
    whoever opens it to read is recorded, and reads the attacker's content."""

    def __init__(self, path, content, owner):
        self.path = path
        self.opened = 0
        self.stopping = False
        os.mkfifo(path, 0o644)
        os.chown(path, owner, owner)
        self.content = content
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                fd = os.open(self.path, os.O_WRONLY)
            except OSError:
                return
            if self.stopping:
                os.close(fd)
                return
            self.opened += 1
            try:
                os.write(fd, self.content)
            except OSError:
                pass
            os.close(fd)

    def stop(self):
        self.stopping = True
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            self.thread.join(2)
            os.close(fd)
        except OSError:
            pass


class Listener:
    """A TCP listener on 127.0.0.1 that counts connections and never answers (the
    attacker's proxy)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stopped = threading.Event()
        self.held = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.connections += 1
            self.held.append(c)

    def stop(self):
        self.stopped.set()
        self.thread.join(2)
        for c in self.held:
            c.close()
        self.sock.close()


def hostile_env_controls(env, listener):
    """Proves this machine's libcurl honours the variables at all (else the case could
    not fail): the curl command, not setuid, writes the key log and uses the proxy."""
    ctl = env.tmp / "ctl"
    ctl.mkdir()
    url = env.provider.issuer + ".well-known/openid-configuration"
    e = {"PATH": "/usr/bin:/bin", "SSLKEYLOGFILE": str(ctl / "keys.log")}
    subprocess.run(["curl", "-s", "--max-time", "5", "--cacert", str(env.tmp / "ca/ca.pem"), "-o", "/dev/null", url],
                   env=e, timeout=20)
    check((ctl / "keys.log").exists(), "control: curl did not honour SSLKEYLOGFILE here; the case would prove nothing")
    e = {"PATH": "/usr/bin:/bin", "https_proxy": "http://127.0.0.1:%d" % listener.port}
    subprocess.run(["curl", "-s", "--max-time", "2", "--cacert", str(env.tmp / "ca/ca.pem"), "-o", "/dev/null", url],
                   env=e, timeout=20)
    check(listener.connections > 0, "control: curl did not use https_proxy for %s; the proxy check would prove nothing" % url)
    listener.connections = 0
    shutil.rmtree(ctl)


def hostile_su(env, phone):
    conf = env.write_conf("hostile")
    env.install_service("su", [env.module_line(conf)])
    listener = Listener()
    attacker = env.tmp / "attacker"
    attacker.mkdir()
    os.chown(attacker, env.uids[CALLER], env.uids[CALLER])
    other_ca = (env.tmp / "ca/other-ca.pem").read_bytes()
    fifos = {
        "OPENSSL_CONF": FifoWatch(attacker / "openssl.cnf", b"openssl_conf = x\n[x]\n", env.uids[CALLER]),
        "SSL_CERT_FILE": FifoWatch(attacker / "cert.pem", other_ca, env.uids[CALLER]),
        "CURL_CA_BUNDLE": FifoWatch(attacker / "bundle.pem", other_ca, env.uids[CALLER]),
    }
    keylog = "/run/lc_rootdir/sslkeys.log"
    proxy = "http://127.0.0.1:%d" % listener.port
    try:
        if phone == "approve":
            hostile_env_controls(env, listener)
        env.reset_provider(interval=1, phone=phone, phone_delay=0.5)
        # ls lists the descriptors of the shell su started (not its own: $$ is the shell,
        # which cannot exec ls as a last command since an echo follows).
        inner = 'ls -l /proc/$$/fd; echo %s-$(id -un)' % "RAN-AS"
        script = env.script("hostile", "\n".join([
            "umask 000",
            "export SSLKEYLOGFILE=%s" % keylog,
            "export https_proxy=%s HTTPS_PROXY=%s http_proxy=%s ALL_PROXY=%s all_proxy=%s" % ((proxy,) * 5),
            "export OPENSSL_CONF=%s SSL_CERT_FILE=%s CURL_CA_BUNDLE=%s SSL_CERT_DIR=%s" % (
                fifos["OPENSSL_CONF"].path, fifos["SSL_CERT_FILE"].path, fifos["CURL_CA_BUNDLE"].path, attacker),
            "exec su %s -c '%s'" % (TARGET, inner), ""]))
        before = env.snapshot()  # after the test's own script exists
        started = time.monotonic()
        name = env.terminal_as(CALLER, "/bin/sh %s" % script)
        code, screen = env.tmux.wait_exit(name, timeout=BOUND + 10)
        took = time.monotonic() - started
        ran = ran_marker(TARGET) in screen and code == 0
        if env.count_accept(ran):
            raise Failure("FALSE ACCEPT: su ran the command without an approval:\n" + screen)
        problems = []
        created = env.ns.sh("test -e %s && echo yes || echo no" % keylog).stdout.decode().strip()
        if created == "yes":
            problems.append("the TLS key log %s was created (as root) in a root-only directory" % keylog)
        if listener.connections:
            problems.append("the caller's proxy got %d connection(s)" % listener.connections)
        for var, f in fifos.items():
            if f.opened:
                problems.append("%s (%s) was opened %d time(s)" % (var, f.path, f.opened))
        fds = re.findall(r" (\d+) -> (.*)$", screen, re.M)
        if phone == "approve":
            if not (ran and env.issued()):
                problems.append("su did not run the command after approval (status %s):\n%s" % (code, screen))
            else:
                check(fds, "no descriptor list on the screen:\n" + screen)
                env.notes.append(("descriptors of the shell su started (%s)" % phone,
                                  ["%s -> %s" % (n, t) for n, t in fds]))
                for n, target in fds:
                    if int(n) > 2 or not target.startswith("/dev/pts/"):
                        problems.append("descriptor %s of the user's shell points to %s" % (n, target))
        else:
            if ran or code == 0:
                problems.append("su succeeded although the phone denied (status %s)" % code)
            reqs = env.auth_requests()
            if not (len(reqs) == 1 and reqs[0]["decision"] == "denied"):
                problems.append("expected one denied request, provider saw %r" % reqs)
        if took > BOUND:
            problems.append("took %.1fs, bound %.1fs" % (took, BOUND))
        check(not problems, "; ".join(problems))
        env.tmux.kill(name)
        env.assert_clean(before, "the login")
    finally:
        listener.stop()
        for f in fifos.values():
            f.stop()
        env.ns.sh("rm -f %s" % keylog)
        shutil.rmtree(attacker, ignore_errors=True)


@case("item 1: SSLKEYLOGFILE creates a root-owned key log from the caller's umask and its fd "
      "(no CLOEXEC) reaches the user's shell; proxy and CA variables of the caller must not steer TLS")
def t_hostile_environment_approve(env):
    """umask 000 and a hostile environment through su, phone approves: no key log, no proxy
    connection, no attacker file read, real provider verified, no extra descriptor in the shell."""
    hostile_su(env, "approve")


@case("item 1 (denial path): the same hostile environment, phone denies")
def t_hostile_environment_deny(env):
    """Same environment, phone denies: su fails, nothing is created, nothing reaches the proxy."""
    hostile_su(env, "deny")


def failsafe_stack(env, conf):
    env.install_service("su", [env.module_line(conf, "[success=done ignore=ignore default=die]"),
                               "auth required pam_permit.so"])


@case("item 3: failmode=\"safe\" takes a local failure (EMFILE under a small RLIMIT_NOFILE) for a "
      "provider outage and returns PAM_IGNORE, which the stack skips")
def t_failsafe_small_nofile(env):
    """failmode=safe, stack skipping PAM_IGNORE into pam_permit, phone denies: for every
    RLIMIT_NOFILE from 3 to 24, su never succeeds."""
    conf = env.write_conf("failsafe", failmode="safe")
    failsafe_stack(env, conf)
    env.reset_provider(interval=1, phone="deny", phone_delay=0)
    env.run_as(CALLER, su_argv(TARGET, "true"))  # fills the discovery cache, as on a live host
    before = env.snapshot()
    accepted, table = [], []
    for n in range(3, 25):
        env.reset_provider(interval=1, phone="deny", phone_delay=0)
        rc, out, took = env.run_as(CALLER, ["prlimit", "--nofile=%d:%d" % (n, n)] +
                                   su_argv(TARGET, "echo %s-$(id -un)" % "RAN-AS"))
        ran = su_ran(rc, out, TARGET)
        reqs = len(env.auth_requests())
        table.append("nofile=%-2d rc=%s ran=%s requests=%d %.1fs" % (n, rc, ran, reqs, took))
        if ran:
            env.count_accept(ran)
            accepted.append(n)
        check(took <= BOUND, "nofile=%d took %.1fs, bound %.1fs" % (n, took, BOUND))
    env.notes.append(("su with a small RLIMIT_NOFILE, failmode=safe, phone denying", table))
    check(not accepted, "FALSE ACCEPT: su succeeded without approval at RLIMIT_NOFILE %s" % accepted)
    env.assert_clean(before, "the logins")


@case("item 3 (the documented half): a provider that really cannot be reached under failmode=safe "
      "leaves the decision to the stack")
def t_failsafe_unreachable_is_ignored(env):
    """failmode=safe and a closed port, normal limits: PAM_IGNORE, so pam_permit lets su
    through. Documented; proves the case above tells a local failure from an outage."""
    port = free_port()
    conf = env.write_conf("unreachable", failmode="safe", issuer="https://127.0.0.1:%d/" % port)
    failsafe_stack(env, conf)
    env.reset_provider(interval=1, phone="deny")
    before = env.snapshot()
    rc, out, took = env.run_as(CALLER, su_argv(TARGET, "echo %s-$(id -un)" % "RAN-AS"))
    check(su_ran(rc, out, TARGET), "su did not fall through to pam_permit (rc %s):\n%s" % (rc, out))
    check(not env.auth_requests(), "the real provider was contacted")
    check(took <= CT + RT + MARGIN, "took %.1fs" % took)
    env.assert_clean(before, "the login")


ID_RAN = r"uid=0\(root\)"
SUDO_VARIANTS = [
    # (name, argv run by the caller, the program that runs, what its output shows,
    #  words of attacker text that must not come before the program)
    ("abbreviated --prompt", ["sudo", "--pro", "apt upgrade", "/usr/bin/id"], "id", ID_RAN, ["apt", "upgrade"]),
    ("--prompt padded past the cut", ["sudo", "--pro", "apt upgrade" + " " * 80, "/usr/bin/id"], "id", ID_RAN,
     ["apt", "upgrade"]),
    ("abbreviated --user= then --", ["sudo", "--us=root", "--", "/usr/bin/id"], "id", ID_RAN, ["us=root", "--"]),
    ("argv[0] apt-get", ["bash", "-c", "exec -a apt-get sudo /usr/bin/id"], "id", ID_RAN, ["apt"]),
    ("80 spaces of padding", ["sudo", "/usr/bin/echo", " " * 80, "x", "RAN-ECHO"], "echo", r"(?m) x RAN-ECHO$", []),
    ("argument with spaces", ["sudo", "/usr/bin/echo", "apt upgrade --yes", "RAN-ECHO"], "echo", r"(?m)^apt upgrade --yes RAN-ECHO$",
     ["apt", "upgrade"]),
]


def command_part(binding):
    m = re.fullmatch(r"%s sudo %s: (.*) #[A-Z2-9]{4}" % (re.escape(HOST), CALLER), binding)
    check(m, "binding message %r does not follow the template" % binding)
    return m.group(1)


def program_first(cmd, program, attacker):
    """The program that runs (however shown: id, /usr/bin/id, _usr_bin_id, quoted) must be
    in the command text, and no attacker text may come before it."""
    m = re.search(r"(?:^|[\s/_\"'\[(])%s(?=$|[\s\"'\])])" % program, cmd)
    if not m:
        return "the program %s is not shown at all" % program
    before = cmd[:m.start()]
    for w in attacker:
        if w in before:
            return "attacker text %r is shown before the program" % w
    if re.search(r"\bapt", before):
        return "'apt' is shown as the program"
    return None


@case("item 4: the command on the phone can be forged (abbreviated long options, argv[0], padding "
      "past the cut, arguments with spaces)")
def t_sudo_command_forgery(env):
    """sudo from the caller with %C in the binding message: for each forged command line the
    program that really runs comes first in what the phone shows."""
    conf = env.write_conf("sudo", binding_message="%h sudo %u: %C #%c")
    env.install_service("sudo", [env.module_line(conf)])
    before = env.snapshot()
    problems, seen = [], []
    for name, argv, program, ran_re, attacker in SUDO_VARIANTS:
        env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
        rc, out, took = env.run_as(CALLER, argv)
        reqs = env.auth_requests()
        if len(reqs) != 1:
            problems.append("%s: expected one request, provider saw %d (rc %s): %s" % (name, len(reqs), rc, out[-300:]))
            continue
        binding = reqs[0]["binding_message"]
        seen.append("%-28s %r" % (name + ":", binding))
        ran = rc == 0 and re.search(ran_re, out) is not None
        env.count_accept(ran)
        if not ran:
            problems.append("%s: the approved command did not run (rc %s): %s" % (name, rc, out[-300:]))
        if took > BOUND:
            problems.append("%s: took %.1fs" % (name, took))
        why = program_first(command_part(binding), program, attacker)
        if why:
            problems.append("%s: %s in %r" % (name, why, binding))
    env.notes.append(("binding messages the provider received for sudo", seen))
    check(not problems, "; ".join(problems))
    env.assert_clean(before, "sudo")


def root_shell(env):
    """A root shell in the namespace on its own terminal (one tty, one session)."""
    name = env.tmux.start(" ".join(env.ns.argv(["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm",
                                                "PS1=ROOT# ", "HOME=/root", "sh"])), width=200)
    env.tmux.wait_for(name, r"ROOT#")
    return name


def step(env, name, command, label, timeout=BOUND + 5):
    """Types command on the terminal followed by an echo of its status; waits for that
    line (the typed text shows the echo unexpanded, so only the real one matches)."""
    env.tmux.type(name, "%s; echo %s-$?" % (command, label))
    m, screen = env.tmux.wait_for(name, r"(?m)%s-(\d+)\s*$" % re.escape(label), timeout=timeout)
    return int(m.group(1)), screen


@case("item 2: approval reuse crosses accounts (the record is keyed by target user, service, tty and "
      "session, not by who asks)")
def t_reuse_bound_to_caller(env):
    """reuse_window=300, pam_rootok removed: root's approved `su - caller` is reused for
    root's next one (no request), but not for the caller's own `su - caller` or `su - other`
    in the same terminal and session: each reaches the provider and, denied, fails.
    (`su -` everywhere: util-linux su uses the PAM service su-l for it, which includes su,
    and the reuse record is bound to the service name.)"""
    conf = env.write_conf("reuse", reuse_window=300)
    env.install_service("su", [env.module_line(conf)], drop_rootok=True)
    before = env.snapshot()
    env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
    name = root_shell(env)
    # 1. root -> caller, approved on the phone.
    rc, screen = step(env, name, "su - %s -c 'echo RAN-ONE-$(id -un)'" % CALLER, "STEP-ONE")
    check(rc == 0 and re.search(r"(?m)^RAN-ONE-%s$" % CALLER, screen), "root's first su failed:\n" + screen)
    check(len(env.auth_requests()) == 1 and env.issued(), "first su: %r" % env.auth_requests())
    # 2. The same caller (root), the same target, within the window: reused, no request.
    rc, screen = step(env, name, "su - %s -c 'echo RAN-TWO-$(id -un)'" % CALLER, "STEP-TWO")
    check(rc == 0 and re.search(r"(?m)^RAN-TWO-%s$" % CALLER, screen),
          "root's second su inside the window failed:\n" + screen)
    check(len(env.auth_requests()) == 1, "root's second su sent a new request: reuse does not work")
    # 3. root opens the caller's shell on this terminal (reused again), then the caller,
    # in the same tty and session, asks su for itself and for the other account.
    env.tmux.type(name, "su - %s" % CALLER)
    env.tmux.type(name, "echo IN-SHELL-$(id -un)")
    env.tmux.wait_for(name, r"IN-SHELL-%s" % CALLER, timeout=BOUND)
    check(len(env.auth_requests()) == 1, "root's su to the caller was not reused")
    problems = []
    for target in (CALLER, TARGET):
        env.reset_provider(interval=1, phone="deny", phone_delay=0.3)
        started = time.monotonic()
        rc, screen = step(env, name, "su - %s -c 'echo RAN-X-$(id -un)'" % target, "SU-DONE-" + target)
        took = time.monotonic() - started
        ran = re.search(r"RAN-X-%s" % re.escape(target), screen) is not None
        reqs = env.auth_requests()
        if env.count_accept(ran):
            problems.append("FALSE ACCEPT: the caller's su %s ran without an approval (requests %d)" % (target, len(reqs)))
        elif ran or rc == 0:
            problems.append("the caller's su %s succeeded although the phone denied" % target)
        if len(reqs) != 1:
            problems.append("the caller's su %s sent %d requests, want 1 fresh one" % (target, len(reqs)))
        if took > BOUND:
            problems.append("su %s took %.1fs" % (target, took))
    env.tmux.type(name, "exit")
    env.tmux.type(name, "exit")
    env.tmux.wait_exit(name)
    check(not problems, "; ".join(problems))
    env.assert_clean(before, "the logins")


@case("item 5: access() checks the real uid, so a ca_file in a root-only (0700) directory fails for "
      "su/sudo callers")
def t_ca_file_in_root_only_dir(env):
    """ca_file in a 0700 root directory: the caller's su still verifies the provider and,
    approved, succeeds."""
    private = env.tmp / "rootonly"
    private.mkdir(mode=0o700)
    shutil.copy(env.tmp / "ca/ca.pem", private / "ca.pem")
    os.chmod(private / "ca.pem", 0o644)
    conf = env.write_conf("rootonly", ca_file=str(private / "ca.pem"))
    env.install_service("su", [env.module_line(conf)])
    env.reset_provider(interval=1, phone="approve", phone_delay=0.3)
    before = env.snapshot()
    rc, out, took = env.run_as(CALLER, su_argv(TARGET, "echo %s-$(id -un)" % "RAN-AS"))
    ran = su_ran(rc, out, TARGET)
    if env.count_accept(ran):
        raise Failure("FALSE ACCEPT")
    check(ran and env.issued(), "su failed with an approval (rc %s): %s" % (rc, out.strip()[-400:]))
    check(took <= BOUND, "took %.1fs" % took)
    env.assert_clean(before, "the login")


def accept_body():
    return reply(200, {"auth_req_id": "LOCAL-" + os.urandom(12).hex(), "expires_in": 60, "interval": 1})


PENDING = reply(400, {"error": "authorization_pending"})

HANG = reply(200, {}, delivery="hang")


def discovery_doc(base):
    return reply(200, {"issuer": base, "backchannel_authentication_endpoint": base + "bc-authorize",
                       "token_endpoint": base + "oauth/token", "jwks_uri": base + "jwks.json",
                       "backchannel_token_delivery_modes_supported": ["poll"]})


# Provider steps that can hang: (step, endpoints from discovery?, the fault server's behaviour).
HANG_STEPS = [
    ("discovery", True, lambda base: dict(discovery=HANG)),
    ("jwks", True, lambda base: dict(discovery=discovery_doc(base), jwks=[HANG])),
    ("bc-authorize", False, lambda base: dict(bc=dict(accept_body(), delivery="hang"))),
    ("token", False, lambda base: dict(bc=accept_body(), token=[dict(PENDING, delivery="hang")])),
    ("token after pending", False, lambda base: dict(bc=accept_body(), token=[PENDING, dict(PENDING, delivery="hang")])),
]


@case("item 6: one deadline: a provider hanging at any step ends the login within max_wait + one "
      "request_timeout")
def t_hang_at_each_step(env):
    """The fault server hangs at each step in turn (discovery, JWKS, bc-authorize, token);
    su fails and returns within max_wait + request_timeout + a margin."""
    base = env.fault.base_url
    explicit = env.write_conf("hang", issuer=base, backchannel_authentication_endpoint=base + "bc-authorize",
                              token_endpoint=base + "oauth/token",
                              jwks_uri=env.provider.issuer + ".well-known/jwks.json")
    discovered = env.write_conf("hang-discovery", issuer=base)
    env.reset_provider()
    problems, table = [], []
    before = env.snapshot()
    for step, discovery, behaviour in HANG_STEPS:
        env.install_service("su", [env.module_line(discovered if discovery else explicit)])
        env.fault.set(**behaviour(base))
        rc, out, took = env.run_as(CALLER, su_argv(TARGET, "echo %s-$(id -un)" % "RAN-AS"))
        ran = su_ran(rc, out, TARGET)
        table.append("%-20s rc=%s ran=%s %.1fs (paths %s)" % (step, rc, ran, took, env.fault.paths()))
        if env.count_accept(ran):
            problems.append("FALSE ACCEPT at %s" % step)
        elif rc in (0, None):
            problems.append("%s: su rc %s" % (step, rc))
        if took > BOUND:
            problems.append("%s: took %.1fs, bound %.1fs" % (step, took, BOUND))
    env.fault.set()
    env.notes.append(("su against a provider hanging at each step (bound %.0fs)" % BOUND, table))
    check(not problems, "; ".join(problems))
    env.assert_clean(before, "the logins")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", action="append", default=[])
    ap.add_argument("-v", action="store_true")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    cases = [c for c in CASES if not args.k or any(k in c.__name__ for k in args.k)]
    if args.list:
        for c in cases:
            print("%s\n    defect: %s\n    %s" % (c.__name__[2:], c.defect, " ".join(c.__doc__.split())))
        return 0
    # A run stopped with SIGTERM still removes its users' files, namespace and servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    suite_started = time.monotonic()
    passed = failed = 0
    try:
        env = Env(args.v)
    except Skip as exc:
        if not ALLOW_SKIP:
            print("FAIL: local suite prerequisites: %s (skips are allowed only in ./dev.sh check --quick,"
                  " never with CI=true)" % exc)
            print("RESULT passed=0 failed=1")
            return 1
        print("SKIP: all %d local cases: %s" % (len(cases), exc))
        print("RESULT passed=0 failed=0 skipped=%d" % len(cases))
        return 0
    except Exception as exc:  # noqa: BLE001
        print("FAIL: local environment: %s" % exc)
        traceback.print_exc()
        print("RESULT passed=0 failed=1")
        return 1
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
                print("  covers: %s" % c.defect)
                if args.v or not isinstance(exc, Failure):
                    traceback.print_exc()
            finally:
                env.tmux.kill_all()
                env.reset_provider()
        for title, lines in env.notes:
            print("---- %s ----" % title)
            print("\n".join("    | " + l for l in lines))
        print("false accepts: %d" % env.false_accepts)
        if env.false_accepts:
            failed += 1
            print("FAIL: false_accepts: %d success(es) the phone did not approve" % env.false_accepts)
    finally:
        env.close()
    print("suite time: %.1fs" % (time.monotonic() - suite_started))
    print("RESULT passed=%d failed=%d" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
