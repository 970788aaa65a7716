#!/usr/bin/python3
"""Operations: the decision in a real journal with its PAM_CIBA_* fields, and metrics_file
under 200 concurrent logins through real libpam (tests/faults/pam_host.c under pam_wrapper).

The journal tests run the module in a private mount namespace with its own systemd-journald
(tests/observe/journal_ns.sh) and read the entries back with journalctl. The metrics tests
check every count against what the provider did, and parse the file with a strict parser of
the Prometheus text format written here (not the module's own parser).

Usage: /usr/bin/python3 tests/observe/test_observe.py [-k SUBSTRING]... [-v] [--list]
Needs root, pam_wrapper, nss_wrapper, systemd-journald, unshare, and $PAM_HOST (built by
tests/suites/55-observe.sh).
"""

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "servers"))
sys.dont_write_bytecode = True
import ciba_provider  # noqa: E402
import test_pam as tp  # noqa: E402
from test_pam import check, Failure  # noqa: E402

PAM_HOST = os.environ.get("PAM_HOST", "")
JOURNAL_NS = REPO / "tests" / "observe" / "journal_ns.sh"
MESSAGE_ID = "3f1efa92da1f4e58963407804a192a5e"
LOCK_BUDGET_MS = 200

# Who the simulated phone approves is in the user's name: "bob" and the "md" users are
# denied, everyone else approved, so one run can hold both outcomes.
_orig_bc = ciba_provider.Provider._bc_authorize


def _bc_by_name(self, method, headers, body, entry):
    status, answer = _orig_bc(self, method, headers, body, entry)
    if status == 200 and self.scenario.get("phone") == "none":
        with self.lock:
            req = self.auth_requests.get(answer["auth_req_id"])
        if req is not None and (req.sub == "bob" or req.sub.startswith("md")):
            self.deny(req.id)
        elif req is not None:
            self.approve(req.id)
    return status, answer


ciba_provider.Provider._bc_authorize = _bc_by_name


# ---------------------------------------------------------------- a strict Prometheus text parser

NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def parse_value(text, where):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    check(re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text), "%s: bad value %r" % (where, text))
    return float(text)


def parse_labels(s, where):
    """'{a="x",b="y"}' (label values with \\\\, \\" and \\n escapes) -> dict; s is the text after the name."""
    labels, i = {}, 1
    check(s.startswith("{"), where)
    while True:
        if s[i] == "}":
            return labels, s[i + 1:]
        m = re.match(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", s[i:])
        check(m, "%s: bad label at %r" % (where, s[i:]))
        name, i = m.group(1), i + m.end()
        check(not name.startswith("__"), "%s: reserved label name %s" % (where, name))
        val = []
        while True:
            check(i < len(s), "%s: unterminated label value" % where)
            c = s[i]
            if c == "\\":
                check(i + 1 < len(s) and s[i + 1] in '\\"n', "%s: bad escape" % where)
                val.append({"\\": "\\", '"': '"', "n": "\n"}[s[i + 1]])
                i += 2
            elif c == '"':
                i += 1
                break
            else:
                check(c != "\n", "%s: newline in a label value" % where)
                val.append(c)
                i += 1
        check(name not in labels, "%s: label %s twice" % (where, name))
        labels[name] = "".join(val)
        if s[i] == ",":
            i += 1
        else:
            check(s[i] == "}", "%s: expected , or } at %r" % (where, s[i:]))


def parse_prometheus(text):
    """The text format as node_exporter's textfile collector reads it: # HELP/# TYPE before
    a family's samples, each family's samples together, no sample twice, no timestamps
    (the collector refuses them), a newline after the last line, histograms with increasing
    le bounds, cumulative counts, a +Inf bucket equal to _count, and _sum. Returns
    {family: {"type": t, "help": h, "samples": [(name, labels, value)]}}."""
    check(text.endswith("\n"), "no newline after the last line")
    families, seen, order, current = {}, set(), [], None
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d" % n
        check(line and line == line.strip(), "%s: empty line or surrounding blanks: %r" % (where, line))
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                fam = parts[2]
                check(NAME_RE.match(fam), "%s: bad metric name" % where)
                f = families.setdefault(fam, {"type": "untyped", "help": None, "samples": [], "typed": False})
                check(not f["samples"], "%s: %s after the family's samples" % (where, parts[1]))
                if parts[1] == "TYPE":
                    check(len(parts) == 4 and parts[3] in TYPES and not f["typed"], "%s: bad TYPE" % where)
                    f["type"], f["typed"] = parts[3], True
                else:
                    check(len(parts) == 4 and f["help"] is None, "%s: bad or repeated HELP" % where)
                    f["help"] = parts[3]
                if fam not in order:
                    order.append(fam)
                current = fam
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)", line)
        check(m, "%s: no metric name in %r" % (where, line))
        name, rest = m.group(1), line[m.end():]
        labels = {}
        if rest.startswith("{"):
            labels, rest = parse_labels(rest, where)
        check(rest.startswith(" ") and " " not in rest[1:], "%s: want exactly one value, no timestamp: %r"
              % (where, line))
        value = parse_value(rest[1:], where)
        fam = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and name[:-len(suffix)] in families and \
                    families[name[:-len(suffix)]]["type"] in ("histogram", "summary"):
                fam = name[:-len(suffix)]
        check(fam == current, "%s: sample of %s outside its family's block" % (where, fam))
        f = families.setdefault(fam, {"type": "untyped", "help": None, "samples": [], "typed": False})
        key = (name, tuple(sorted(labels.items())))
        check(key not in seen, "%s: sample %r twice" % (where, key))
        seen.add(key)
        if f["type"] == "counter":
            check(value >= 0 and not math.isnan(value), "%s: negative counter" % where)
        f["samples"].append((name, labels, value))
    for fam, f in families.items():
        if f["type"] == "histogram":
            buckets = [(s[1]["le"], s[2]) for s in f["samples"] if s[0] == fam + "_bucket"]
            check(buckets and buckets[-1][0] == "+Inf", "%s: no +Inf bucket last" % fam)
            bounds = [parse_value(b[0], fam) for b in buckets]
            check(bounds == sorted(set(bounds)), "%s: le bounds not increasing" % fam)
            counts = [b[1] for b in buckets]
            check(counts == sorted(counts), "%s: bucket counts not cumulative" % fam)
            total = [s[2] for s in f["samples"] if s[0] == fam + "_count"]
            sums = [s[2] for s in f["samples"] if s[0] == fam + "_sum"]
            check(total == [counts[-1]] and len(sums) == 1, "%s: _count %r vs +Inf %r, _sum %r"
                  % (fam, total, counts[-1], sums))
    return families


# ---------------------------------------------------------------- the cases

class OCase(tp.Case):
    def __init__(self, env, name):
        super().__init__(env, name)
        self.p.scenario.update(phone="none", interval=1)
        # A root-owned directory, closed to writes by others, as a textfile collector's.
        self.mdir = self.dir / "textfile"
        self.mdir.mkdir(mode=0o755)
        os.chmod(self.mdir, 0o755)
        self.metrics = self.mdir / "pam_ciba.prom"

    def settings(self, **over):
        over.setdefault("metrics_file", str(self.metrics))
        over.setdefault("max_wait", 90)
        over.setdefault("connect_timeout", 20)
        over.setdefault("request_timeout", 30)
        return super().settings(**over)

    def host_cmd(self, user, extra=(), prefix=()):
        return tp.isolated(list(prefix) + tp.WRAPPER + [PAM_HOST] + list(extra) + [self.service, user],
                           self.env_vars())

    def host(self, user, extra=(), timeout=240, prefix=()):
        cmd, env = self.host_cmd(user, extra, prefix)
        start = time.monotonic()
        r = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)
        o = tp.Outcome(r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace"),
                       time.monotonic() - start)
        o.results = re.findall(r"^result: (\S+)$", o.stdout, re.M)
        self.last = o
        return o

    def read_metrics(self):
        text = self.metrics.read_text()
        return text, parse_prometheus(text)


def decisions(fams):
    return {(s[1]["outcome"], s[1]["service"]): int(s[2])
            for s in fams["pam_ciba_decisions_total"]["samples"]}


def histogram(fams):
    h = fams["pam_ciba_approval_seconds"]["samples"]
    count = [s[2] for s in h if s[0].endswith("_count")][0]
    total = [s[2] for s in h if s[0].endswith("_sum")][0]
    return int(count), total


METRICS_RE = re.compile(r"metrics: (updated in|deferred after|not updated after) ([0-9.]+) ms "
                        r"\(lock: ([0-9.]+) ms, (\d+) tries; held ([0-9.]+) ms(?:; folded (\d+))?\)")


def metrics_lines(text):
    """(what, total ms, lock wait ms, flock tries, held ms, folded) of each metrics debug line;
    what is "updated", "deferred" or "not"."""
    return [(m.group(1).split()[0], float(m.group(2)), float(m.group(3)), int(m.group(4)), float(m.group(5)),
             int(m.group(6) or 0)) for m in METRICS_RE.finditer(text)]


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else 0.0


@test
def metrics_200_concurrent_logins(c):
    """200 logins at once (8 processes x 25 threads, two services, approvals and denials):
    the file parses and, once one more login has folded in what the last ones deferred for
    a busy lock, counts exactly the logins; the histogram holds exactly the approvals."""
    # One user logs in 75 times at once: the request limits (one pending request per user,
    # the denial lockout) would refuse most of them, which is not what this test counts.
    c.write_conf(max_requests=0, max_denials=0)
    for svc in ("sudo", "sshd"):
        c.service = svc
        c.write_service()
    # (service, user, processes): 25 logins per process.
    plan = [("sudo", "alice", 3), ("sudo", "bob", 1), ("sshd", "alice", 2), ("sshd", "bob", 2)]
    want = {}
    procs = []
    for svc, user, n in plan:
        outcome = "denied" if user == "bob" else "approved"
        want[(outcome, svc)] = want.get((outcome, svc), 0) + 25 * n
        for _ in range(n):
            c.service = svc
            cmd, env = c.host_cmd(user, ["--repeat", "25", "--threads", "25"])
            procs.append((svc, user, subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)))
    outs = {}

    def collect(i, p):
        o, e = p.communicate(timeout=400)
        outs[i] = (p.returncode, o.decode("utf-8", "replace"), e.decode("utf-8", "replace"))

    start = time.monotonic()
    threads = [threading.Thread(target=collect, args=(i, p[2])) for i, p in enumerate(procs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(420)
    wall = time.monotonic() - start
    updates, deferred, folded, lost, waits, tries, totals, holds = 0, 0, 0, [], [], [], [], []
    wrong = []
    for i, (svc, user, _) in enumerate(procs):
        rc, out, err = outs.get(i, (None, "", ""))
        counts = dict(re.findall(r" (PAM_\w+)=(\d+)", (re.findall(r"^counts:.*$", out, re.M) or [""])[-1]))
        code = "PAM_AUTH_ERR" if user == "bob" else "PAM_SUCCESS"
        if rc != 0 or counts != {code: "25"}:
            wrong.append("process %d (%s %s): rc %s, results %r, stderr %r" % (i, svc, user, rc, counts,
                                                                               err[-400:]))
        if user == "bob":
            c.env.false_accepts += int(counts.get("PAM_SUCCESS", 0))
        # private_tmp.sh hides any journald: the decision is pam_wrapper's syslog line here.
        n_decisions = len(re.findall(r"SYSLOG\(\d\): decision user=%s service=%s " % (user, svc), err))
        if n_decisions != 25:
            wrong.append("process %d: %d decision lines, want 25" % (i, n_decisions))
        lines = metrics_lines(err)
        if len(lines) != 25:
            wrong.append("process %d: %d metrics debug lines, want 25" % (i, len(lines)))
        outcome = "denied" if user == "bob" else "approved"
        for what, total, wait, n, held, nfold in lines:
            holds.append(held)
            waits.append(wait)
            tries.append(n)
            totals.append(total)
            folded += nfold
            if what == "updated":
                updates += 1
            elif what == "deferred":
                deferred += 1
            else:
                lost.append("%s/%s" % (outcome, svc))
    check(not wrong, "; ".join(wrong[:4]))
    check(not lost, "updates that failed: %r" % lost[:5])
    # Decisions deferred by the last logins wait for the next update: one more login folds them.
    c.service = "sudo"
    o = c.host("alice")
    last = metrics_lines(o.stderr)
    check(o.results == ["PAM_SUCCESS"] and len(last) == 1 and last[0][0] == "updated",
          "closing login %r %r" % (o.results, last))
    folded += last[0][5]
    want[("approved", "sudo")] += 1
    check(not [n for n in os.listdir(c.mdir) if ".pending." in n or ".writing." in n],
          "deferred counts left: %r" % os.listdir(c.mdir))
    text, fams = c.read_metrics()
    got = decisions(fams)
    check(got == want, "counts %r, want %r" % (got, want))
    count, total = histogram(fams)
    approvals = sum(got.get(("approved", s), 0) for s in ("sudo", "sshd"))
    check(count == approvals, "histogram _count %d, approvals counted %d" % (count, approvals))
    check(folded == deferred, "%d decisions deferred, %d folded in" % (deferred, folded))
    # The phone approves at once; the module's first poll is one interval (1 s) later.
    check(count == 0 or 0.9 <= total / count <= 90, "mean approval time %.3f s" % (total / max(count, 1)))
    st = os.stat(c.metrics)
    check(st.st_uid == 0 and (st.st_mode & 0o7777) == 0o644, "file owner %d mode %o" % (st.st_uid, st.st_mode))
    check(sorted(os.listdir(c.mdir)) == ["pam_ciba.prom", "pam_ciba.prom.lock"],
          "directory holds %r" % os.listdir(c.mdir))
    c.figures = ("200 logins in %.1fs: counts %s (with one closing login); %d updates, %d deferred "
                 "(lock busy > %d ms), all folded in; "
                 "per update median %.2f ms, p95 %.2f ms, max %.2f ms; lock wait median %.2f ms, p95 %.2f ms, "
                 "max %.2f ms; lock held median %.2f ms, p95 %.2f ms, max %.2f ms; flock tries median %d, max %d"
                 % (wall, ", ".join("%s/%s=%d" % (k[0], k[1], v) for k, v in sorted(got.items())), updates,
                    deferred, LOCK_BUDGET_MS, pct(totals, 50), pct(totals, 95), max(totals),
                    pct(waits, 50), pct(waits, 95), max(waits), pct(holds, 50), pct(holds, 95), max(holds),
                    pct(tries, 50), max(tries)))
    print("  " + c.figures, flush=True)
    check(updates + deferred == 200, "%d updates + %d deferred != 200" % (updates, deferred))


@test
def metrics_never_block_or_fail_a_login(c):
    """Another update holding the lock: the login still succeeds, waits no longer than the
    budget, and leaves its count for the next login, which counts it. An unsafe directory: the login succeeds, a warning
    says why, no file is written."""
    c.write_conf()
    c.write_service()
    o = c.host("alice")
    check(o.results == ["PAM_SUCCESS"], "first login %r" % o.results)
    before = decisions(c.read_metrics()[1])
    lock = os.open(str(c.metrics) + ".lock", os.O_RDWR)
    try:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        o = c.host("alice", ["--threads", "1"])
    finally:
        os.close(lock)
    check(o.results == ["PAM_SUCCESS"], "login with the lock held: %r" % o.results)
    lines = metrics_lines(o.stderr)
    check(len(lines) == 1 and lines[0][0] == "deferred", "debug lines %r" % lines)
    check(LOCK_BUDGET_MS <= lines[0][2] < LOCK_BUDGET_MS + 150, "lock wait %.1f ms" % lines[0][2])
    check(decisions(c.read_metrics()[1]) == before, "count changed while the lock was held")
    o = c.host("alice")
    lines = metrics_lines(o.stderr)
    check(lines and lines[0][0] == "updated" and lines[0][5] == 1, "next login did not fold it in: %r" % lines)
    check(decisions(c.read_metrics()[1]) == {k: v + 2 for k, v in before.items()}, "deferred count lost")
    # Writable by others: refused, with a warning, and the login is unaffected.
    os.chmod(c.mdir, 0o777)
    try:
        os.unlink(c.metrics)
        o = c.host("bob")
    finally:
        os.chmod(c.mdir, 0o755)
    check(o.results == ["PAM_AUTH_ERR"], "denied login with an unsafe directory: %r" % o.results)
    check(re.search(r"SYSLOG\(4\).*metrics: not updated .*writable", o.stderr) or
          re.search(r"metrics: not updated .*(group|others)", o.stderr), "no warning: %r" % o.stderr[-600:])
    check(not c.metrics.exists(), "file written into an unsafe directory")


@test
def metrics_corrupt_or_foreign_file_starts_over(c):
    """A file not in the module's own format, or not owned by root, is not trusted: the
    next login starts the counts over (Prometheus sees a counter reset)."""
    c.write_conf()
    c.write_service()
    c.metrics.write_text('pam_ciba_decisions_total{outcome="approved",service="ciba-it"} 1000000\n')
    os.chmod(c.metrics, 0o644)
    o = c.host("alice")
    check(o.results == ["PAM_SUCCESS"], "login %r" % o.results)
    check(decisions(c.read_metrics()[1]) == {("approved", "ciba-it"): 1}, "counts %r" % decisions(c.read_metrics()[1]))
    check("started over" in o.stderr, "no debug note that the file was started over")
    os.chown(c.metrics, 1234, 1234)
    o = c.host("alice")
    check(decisions(c.read_metrics()[1]) == {("approved", "ciba-it"): 1}, "foreign file's counts were taken")
    check(os.stat(c.metrics).st_uid == 0, "file not root's after the update")


@test
def metrics_off_by_default(c):
    c.write_conf(metrics_file=None)
    c.write_service()
    o = c.host("alice")
    check(o.results == ["PAM_SUCCESS"], "login %r" % o.results)
    check(os.listdir(c.mdir) == [] and "metrics:" not in o.stderr, "metrics written without metrics_file")


# ---------------------------------------------------------------- the journal

def journal_run(c, logins):
    """Run logins [(user, extra pam_host args)] one after another inside a private mount
    namespace with its own systemd-journald; return (entries, denied_entries, export_text, outcomes)."""
    out = c.dir / "journal"
    out.mkdir()
    script = c.dir / "logins.sh"
    lines = ["#!/bin/sh", "set -u"]
    for i, login in enumerate(logins):
        user, extra = login[:2]
        cmd, env = c.host_cmd(user, extra)
        if len(login) < 3 or login[2]:
            env["PRIVATE_TMP_JOURNAL"] = "keep"  # private_tmp.sh would hide journald otherwise
        envs = " ".join("%s=%s" % (k, shlex_quote(v)) for k, v in env.items())
        lines.append("env -i %s %s >%s/login%d.out 2>%s/login%d.err" % (
            envs, " ".join(shlex_quote(x) for x in cmd), out, i, out, i))
    script.write_text("\n".join(lines) + "\n")
    os.chmod(script, 0o755)
    r = subprocess.run([str(JOURNAL_NS), str(out), "--", str(script)], capture_output=True, timeout=300)
    check(r.returncode == 0, "journal_ns.sh failed (%d): %s" % (r.returncode, r.stderr.decode()[-800:]))
    entries = [json.loads(x) for x in (out / "journal.json").read_text().splitlines() if x.strip()]
    denied = [json.loads(x) for x in (out / "denied.json").read_text().splitlines() if x.strip()]
    outs = [((out / ("login%d.out" % i)).read_text(), (out / ("login%d.err" % i)).read_text())
            for i in range(len(logins))]
    return entries, denied, (out / "export.txt").read_text(errors="replace"), outs


def shlex_quote(s):
    import shlex
    return shlex.quote(str(s))


@test
def journal_fields_and_one_entry_per_decision(c):
    """An approval and a denial (with hostile PAM_RHOST bytes) in a real journal: one entry
    each with every field, `journalctl PAM_CIBA_OUTCOME=denied` finds exactly the denial,
    no syslog copy of the line (it would be a second entry), and the auth_req_id itself
    appears nowhere in the journal; PAM_CIBA_REQUEST is its hash."""
    c.write_conf(metrics_file=None)
    c.write_service()
    hostile = "evil\nPAM_CIBA_OUTCOME=approved"
    entries, denied, export, outs = journal_run(c, [
        ("alice", ["--rhost", "192.0.2.10", "--tty", "/dev/pts/7"]),
        ("bob", ["--rhost", hostile, "--tty", "ssh"]),
    ])
    check([re.findall(r"^result: (\S+)$", o, re.M) for o, _ in outs] == [["PAM_SUCCESS"], ["PAM_AUTH_ERR"]],
          "results %r" % [o for o, _ in outs])
    mine = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_ID]
    check(len(mine) == 2, "want 2 decision entries, got %d: %r" % (len(mine), [e.get("MESSAGE") for e in entries]))
    check(not [e for e in entries if "decision user=" in str(e.get("MESSAGE")) and e not in mine],
          "a second (syslog) entry for a decision")
    for _, err in outs:
        check("decision user=" not in err, "the syslog line was written too: %r" % err[-300:])
    reqs = {r.sub: r.id for r in c.p.auth_requests.values()}
    check(set(reqs) == {"alice", "bob"}, "provider requests %r" % reqs)
    a, b = mine
    issuer = c.p.issuer
    want_a = {"PAM_CIBA_OUTCOME": "approved", "PAM_CIBA_PAM_RESULT": "PAM_SUCCESS", "PAM_CIBA_USER": "alice",
              "PAM_CIBA_SERVICE": c.service, "PAM_CIBA_RHOST": "192.0.2.10", "PAM_CIBA_TTY": "/dev/pts/7",
              "PAM_CIBA_SUBJECT": "alice", "PAM_CIBA_PROVIDER": issuer, "PAM_CIBA_REASON": "id_token verified",
              "PAM_CIBA_REQUEST": hashlib.sha256(reqs["alice"].encode()).hexdigest()[:16],
              "PRIORITY": "5", "SYSLOG_FACILITY": "10", "SYSLOG_IDENTIFIER": os.path.basename(PAM_HOST)}
    for k, v in want_a.items():
        check(a.get(k) == v, "approved entry %s=%r, want %r" % (k, a.get(k), v))
    check(a["MESSAGE"].startswith("pam_ciba(%s:auth): decision user=alice service=%s rhost=192.0.2.10 "
                                  "outcome=approved pam=Success" % (c.service, c.service)), a["MESSAGE"])
    check(re.fullmatch(r"\d+", a["PAM_CIBA_DURATION_MS"]) and int(a["PAM_CIBA_DURATION_MS"]) >= 900,
          "duration %r" % a["PAM_CIBA_DURATION_MS"])
    check("PAM_CIBA_APPROVER" not in a, "approver without two-person approval")
    want_b = {"PAM_CIBA_OUTCOME": "denied", "PAM_CIBA_PAM_RESULT": "PAM_AUTH_ERR", "PAM_CIBA_USER": "bob",
              "PAM_CIBA_RHOST": "evil\\x0aPAM_CIBA_OUTCOME=approved", "PAM_CIBA_TTY": "ssh",
              "PAM_CIBA_REQUEST": hashlib.sha256(reqs["bob"].encode()).hexdigest()[:16],
              "PRIORITY": "4", "SYSLOG_FACILITY": "10"}
    for k, v in want_b.items():
        check(b.get(k) == v, "denied entry %s=%r, want %r" % (k, b.get(k), v))
    check(len(denied) == 1 and denied[0].get("PAM_CIBA_USER") == "bob",
          "journalctl PAM_CIBA_OUTCOME=denied gave %r" % [d.get("MESSAGE") for d in denied])
    for rid in reqs.values():
        check(rid not in export, "auth_req_id in the journal")
    check(tp.CLIENT_SECRET not in export, "client secret in the journal")


@test
def journal_hidden_means_the_syslog_line(c):
    """What every other suite relies on, on a host where journald runs: with journald's
    sockets hidden (private_tmp.sh) the decision is the syslog line pam_wrapper shows, and
    no journal entry; with them visible, the entry and no line."""
    c.write_conf(metrics_file=None)
    c.write_service()
    entries, denied, export, outs = journal_run(c, [("alice", [], False), ("bob", [], True)])
    mine = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_ID]
    check([e.get("PAM_CIBA_USER") for e in mine] == ["bob"], "entries %r" % [e.get("MESSAGE") for e in mine])
    check(re.search(r"SYSLOG\(5\): decision user=alice service=%s rhost= outcome=approved pam=Success "
                    r"reason=\"id_token verified\" duration=\d+\.\d{3}s$" % c.service, outs[0][1], re.M),
          "no syslog decision line with journald hidden: out %r err %r" % (outs[0][0], outs[0][1][-1500:]))
    check("decision user=" not in outs[1][1], "syslog line with journald reachable")


@test
def journal_config_error_still_logged(c):
    """A decision without a provider request (a config error) still makes one entry, with no
    PAM_CIBA_REQUEST and the reason."""
    c.write_conf(text="issuer = 1;\n")
    c.write_service()
    entries, denied, export, outs = journal_run(c, [("alice", [])])
    mine = [e for e in entries if e.get("MESSAGE_ID") == MESSAGE_ID]
    check(len(mine) == 1, "entries %r" % [e.get("MESSAGE") for e in entries])
    e = mine[0]
    check(e.get("PAM_CIBA_OUTCOME") == "config_error" and e.get("PAM_CIBA_PAM_RESULT") == "PAM_SERVICE_ERR",
          "entry %r" % {k: v for k, v in e.items() if k.startswith("PAM_CIBA")})
    check("PAM_CIBA_REQUEST" not in e and "issuer" in e.get("PAM_CIBA_REASON", ""), "entry %r" % e)
    # The user was never asked for (the config failed first): left out, not "?".
    check("PAM_CIBA_USER" not in e and e.get("PAM_CIBA_SERVICE") == c.service, "entry %r" % e)
    check(not denied, "config error listed as denied")


def journal_preflight():
    problems = []
    if not PAM_HOST:
        problems.append("PAM_HOST is not set (tests/suites/55-observe.sh builds it)")
    if not any(os.path.exists(p) for p in ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")):
        problems.append("systemd-journald not installed (the systemd package)")
    if not shutil.which("journalctl"):
        problems.append("journalctl not installed")
    ldd = subprocess.run(["ldd", str(tp.PAM_SO)], capture_output=True, text=True)
    if "libsystemd.so" not in ldd.stdout:
        problems.append("%s was built without libsystemd: install libsystemd-dev and run configure again "
                        "(its summary says \"journal fields : yes\")" % tp.PAM_SO)
    return problems


def summary(env, selected):
    return ""


def main():
    return tp.run_suite(TESTS, tp.Env, OCase, extra_preflight=journal_preflight, on_failure=tp.provider_saw)


if __name__ == "__main__":
    sys.exit(main())
