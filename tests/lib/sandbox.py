"""Shared machinery for the suites that run real programs (sshd, su, sudo, login) as test
users: a private mount namespace with the test's own account and PAM files, tmux terminals,
private account files and small helpers. Used by tests/e2e/test_e2e.py and
tests/local/test_local.py; nothing here changes the host outside the namespace and the
test's own temporary directory.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path


class Failure(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def run(argv, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("timeout", 60)
    return subprocess.run(argv, **kw)


def wait_until(fn, timeout, what, step=0.02):
    """Poll fn() until it returns something true; returns that value or raises Failure."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise Failure("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(step)


class Namespace:
    """A private mount namespace, held open by a sleeping process; commands enter it."""

    def __init__(self, tmp=None):
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--",
                                      "sleep", "86400"])
        deadline = time.monotonic() + 5
        mine = os.readlink("/proc/self/ns/mnt")
        while time.monotonic() < deadline:
            try:
                if os.readlink("/proc/%d/ns/mnt" % self.proc.pid) != mine:
                    break
            except OSError:
                pass
            time.sleep(0.02)
        else:
            self.close()
            raise Skip("unshare --mount did not give a new mount namespace")
        self.pid = self.proc.pid

    def argv(self, cmd):
        return ["nsenter", "-t", str(self.pid), "-m", "--"] + list(cmd)

    def sh(self, script, **kw):
        return run(self.argv(["sh", "-euc", script]), **kw)

    def mount_private_etc(self, etc, files=("passwd", "group", "shadow", "sudoers")):
        """tmpfs on /run and /var/log (utmp, wtmp, sudo's timestamps, sshd's privsep dir),
        and the test's account files and pam.d over the real ones."""
        self.sh("mount -t tmpfs -o mode=0755 pam_ciba_test_run /run\n"
                "mkdir -p /run/sshd && chmod 0755 /run/sshd\n"
                "mount -t tmpfs -o mode=0755 pam_ciba_test_log /var/log\n"
                "for f in %(files)s; do mount --bind %(etc)s/$f /etc/$f; done\n"
                "mount --bind %(etc)s/pam.d /etc/pam.d\n" % {"etc": etc, "files": " ".join(files)})

    def close(self):
        self.proc.kill()
        self.proc.wait()


class Tmux:
    """One tmux server on a private socket; each test uses its own session (a terminal)."""

    def __init__(self, tmp):
        self.sock = str(tmp / "tmux.sock")
        self.dir = tmp
        self.n = 0

    def cmd(self, *args, **kw):
        return run(["tmux", "-S", self.sock] + list(args), **kw)

    def start(self, shell_command, width=160, height=50, wrap=True):
        """A new terminal running shell_command. wrap: a small sh script runs it in the
        foreground and records its exit status in a file; the script survives Ctrl-C with a
        trap *handler* (not an ignore, which the program would inherit), so SIGINT reaches
        the program exactly as from an interactive shell. wrap=False: exec it directly
        (login wants to be the session leader)."""
        if self.n == 0:
            # A keeper session holds the server; dead panes stay readable.
            self.cmd("new-session", "-d", "-s", "keeper", "sleep 86400", ";",
                     "set-option", "-g", "remain-on-exit", "on")
        self.n += 1
        name = "t%d" % self.n
        status = self.dir / ("%s.status" % name)
        if wrap:
            script = self.dir / ("%s.sh" % name)
            script.write_text("trap : INT\n%s\necho $? > %s.tmp && mv %s.tmp %s\n"
                              % (shell_command, status, status, status))
            command = "exec /bin/sh %s" % script
        else:
            command = "exec " + shell_command
        self.cmd("new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command)
        return name

    def status(self, name):
        """None while the program runs; its exit status once it ended."""
        f = self.dir / ("%s.status" % name)
        if f.exists():
            return int(f.read_text().strip())
        return None

    def wait_exit(self, name, timeout=15.0):
        """Wait until the program ends; returns (status, screen)."""
        deadline = time.monotonic() + timeout
        while True:
            st = self.status(name)
            if st is not None:
                return st, self.screen(name)
            if time.monotonic() > deadline:
                raise Failure("still running after %.0fs; screen:\n%s" % (timeout, self.screen(name).rstrip()))
            time.sleep(0.02)

    def screen(self, name):
        r = self.cmd("capture-pane", "-p", "-J", "-S", "-200", "-t", name, check=False)
        return r.stdout.decode("utf-8", "replace")

    def keys(self, name, *keys):
        self.cmd("send-keys", "-t", name, *keys)

    def type(self, name, line):
        """Type a line literally and press Enter."""
        self.keys(name, "-l", line)
        self.keys(name, "Enter")

    def wait_for(self, name, pattern, timeout=15.0):
        """Poll the screen until pattern (a regex) appears; returns (match, screen)."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            s = self.screen(name)
            m = rx.search(s)
            if m:
                return m, s
            if time.monotonic() > deadline:
                raise Failure("timed out after %.0fs waiting for %r; screen:\n%s" % (timeout, pattern, s.rstrip()))
            time.sleep(0.05)

    def kill(self, name):
        self.cmd("kill-session", "-t", name, check=False)

    def kill_all(self):
        """End every terminal of the last test, so nothing it started acts in the next."""
        for n in range(1, self.n + 1):
            self.kill("t%d" % n)

    def close(self):
        self.cmd("kill-server", check=False)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def snippet_lines(path, prefix):
    """The active (non-comment) lines of an etc/ snippet that start with prefix."""
    out = []
    for line in Path(path).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and line.split()[0].startswith(prefix):
            out.append(line)
    return out


def free_ids(n):
    """n numeric ids used by no user and no group of the host."""
    used = set()
    for name in ("passwd", "group"):
        for line in Path("/etc", name).read_text().splitlines():
            parts = line.split(":")
            if len(parts) > 2 and parts[2].isdigit():
                used.add(int(parts[2]))
    ids = [i for i in range(64100, 65000) if i not in used][:n]
    if len(ids) < n:
        raise Skip("no free uid")
    return ids


def private_etc(etc, users, password=None):
    """etc/pam.d (a copy of the host's) and etc/passwd, group, shadow: the host's plus one
    line per user (name, uid, home), each user in its own group, with password (hashed) or
    a locked password. Owners and modes follow the host's files."""
    etc.mkdir()
    shutil.copytree("/etc/pam.d", etc / "pam.d", symlinks=True)
    pwhash = "!"
    if password is not None:
        pwhash = run(["openssl", "passwd", "-6", "-stdin"], input=password.encode()).stdout.decode().strip()
    lines = {"passwd": "", "group": "", "shadow": ""}
    for name, uid, home in users:
        lines["passwd"] += "%s:x:%d:%d:pam_ciba test:%s:/bin/sh\n" % (name, uid, uid, home)
        lines["group"] += "%s:x:%d:\n" % (name, uid)
        lines["shadow"] += "%s:%s:19000:0:99999:7:::\n" % (name, pwhash)
    for name, extra in lines.items():
        text = Path("/etc", name).read_text()
        (etc / name).write_text(text + ("" if text.endswith("\n") else "\n") + extra)
        shutil.copymode(Path("/etc", name), etc / name)
        st = os.stat(Path("/etc", name))
        os.chown(etc / name, st.st_uid, st.st_gid)


def user_command(ns, uid, home, name, command):
    """A shell command line that runs command as the user inside the namespace, with a
    minimal environment (command may set more in front of the program it runs)."""
    inner = ("exec setpriv --reuid=%d --regid=%d --init-groups env -i HOME=%s USER=%s LOGNAME=%s "
             "PATH=/usr/bin:/bin TERM=xterm LC_ALL=C %s" % (uid, uid, home, name, name, command))
    return " ".join(ns.argv(["sh", "-c", "'%s'" % inner.replace("'", "'\\''")]))
