#!/usr/bin/python3
"""The cost of a login: drives the real pam_ciba.so through libpam (bench/pam_bench.c) and a
naive curl client (bench/naive_client.sh) against the local HTTPS test provider, then prints a
table and writes bench/results.md. Run it through `./dev.sh bench` (needs root: the module only
trusts root-owned configuration files).

Usage: run_bench.py --so PATH --driver PATH [--quick] [--out FILE] [--scale N] [--long N]
"""

import argparse
import http.client
import json
import os
import platform
import random
import resource
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = "/usr/bin/python3"
CLIENT_ID = "pam-ciba-bench"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
NSS_WRAPPER = "libnss_wrapper.so"
TICK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


# ----- statistics --------------------------------------------------------------------------------

def pct(values, p):
    """Nearest-rank percentile; None for no data."""
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = max(0, min(len(v) - 1, int(-(-p * len(v) // 100)) - 1))
    return v[k]


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


# ----- the provider -------------------------------------------------------------------------------

class Provider:
    """ciba_provider.py in its own process (so its CPU is its own), driven over /_test/."""

    def __init__(self, tmp, ca):
        self.tmp = tmp
        clients = tmp / "clients.json"
        clients.write_text(json.dumps({CLIENT_ID: (tmp / "secret").read_text().strip()}))
        port_file = tmp / "port"
        self.proc = subprocess.Popen(
            [PY, str(REPO / "tests/servers/ciba_provider.py"), "--cert", str(ca / "server.pem"),
             "--key", str(ca / "server.key"), "--port-file", str(port_file), "--phone", "approve",
             "--phone-delay", "0", "--interval", "1", "--clients-json", str(clients)],
            stdout=subprocess.DEVNULL, stderr=open(tmp / "provider.err", "w"))
        for _ in range(100):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("provider did not start: " + (tmp / "provider.err").read_text())
        self.port = int(port_file.read_text())
        self.issuer = "https://127.0.0.1:%d/" % self.port
        self.ctx = ssl.create_default_context(cafile=str(ca / "ca.pem"))
        self.conn = None

    def call(self, method, path, obj=None):
        for attempt in range(3):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx,
                                                            timeout=60)
                body = json.dumps(obj).encode() if obj is not None else None
                self.conn.request(method, path, body=body,
                                  headers={"Content-Type": "application/json"} if body else {})
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    raise RuntimeError("%s %s: %d %s" % (method, path, resp.status, data[:200]))
                return json.loads(data)
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 2:
                    raise

    def scenario(self, **knobs):
        # Discovery and JWKS are cacheable for an hour: the module's disk cache stays warm.
        knobs.setdefault("doc_max_age", 3600)
        return self.call("POST", "/_test/scenario", knobs)

    def reset(self):
        self.call("POST", "/_test/reset", {"scenario": True})

    def records(self):
        return {"requests": self.call("GET", "/_test/requests"),
                "events": self.call("GET", "/_test/events"),
                "connections": self.call("GET", "/_test/connections"),
                "auth_requests": self.call("GET", "/_test/auth_requests")}

    def cpu(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----- the two clients ---------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="pam_ciba_bench."))
        self.ca = self.tmp / "ca"
        subprocess.run(["sh", str(REPO / "tests/servers/make_ca.sh"), str(self.ca)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        old = os.umask(0o077)
        secret = os.urandom(18).hex()
        (self.tmp / "secret").write_text(secret + "\n")
        # The naive client's credentials, for curl -d @file (off its command line).
        (self.tmp / "auth_form").write_text("client_id=%s&client_secret=%s" % (CLIENT_ID, secret))
        os.umask(old)
        self.provider = Provider(self.tmp, self.ca)
        users = ["alice"] + ["b%04d" % i for i in range(max(args.scale, args.long_threads, 1))]
        with open(self.tmp / "passwd", "w") as f:
            for n, u in enumerate(users):
                f.write("%s:x:%d:%d:bench:/nonexistent:/bin/sh\n" % (u, 3000 + n, 3000 + n))
        (self.tmp / "group").write_text("bench:x:3000:\n")
        conf = self.tmp / "pam_ciba.conf"
        conf.write_text("\n".join([
            'issuer = "%s";' % self.provider.issuer,
            'client_id = "%s";' % CLIENT_ID,
            'client_secret_file = "%s";' % (self.tmp / "secret"),
            'ca_file = "%s";' % (self.ca / "ca.pem"),
            'cache_dir = "%s";' % (self.tmp / "cache"),
            'reuse_dir = "%s";' % (self.tmp / "run"),
            'prompt = "none";',
            'connect_timeout = 10;',
            'request_timeout = 30;',
            'max_wait = 120;',
            # Many logins of one user at once: the request limits (one pending request
            # per user) would refuse them; the bench measures cost, not limits.
            'max_requests = 0;', ""]))
        os.chmod(conf, 0o600)
        self.confdir = self.tmp / "pam.d"
        self.confdir.mkdir()
        (self.confdir / "bench").write_text("auth required %s conf=%s\n" % (args.so, conf))
        self.env = dict(os.environ, LD_PRELOAD=NSS_WRAPPER,
                        NSS_WRAPPER_PASSWD=str(self.tmp / "passwd"),
                        NSS_WRAPPER_GROUP=str(self.tmp / "group"))
        self.results = {}

    def close(self):
        self.provider.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def driver_cmd(self, *extra):
        return [self.args.driver, "--confdir", str(self.confdir), "--service", "bench"] + \
            [str(x) for x in extra]

    @staticmethod
    def parse_driver(out):
        logins, summary = [], None
        for line in out.splitlines():
            if line.startswith("{"):
                obj = json.loads(line)
                if obj.get("summary"):
                    summary = obj
                else:
                    logins.append(obj)
        return logins, summary

    def module_login(self, *extra, timeout=300, exact_heap=False):
        env = self.env
        if exact_heap:
            # Without the per-thread cache, malloc's "in use" count is exact: chunks parked
            # in the tcache would otherwise count as in use and look like slow growth.
            env = dict(env, GLIBC_TUNABLES="glibc.malloc.tcache_count=0")
        p = subprocess.run(self.driver_cmd(*extra), env=env, capture_output=True, text=True,
                           timeout=timeout)
        logins, summary = self.parse_driver(p.stdout)
        if p.returncode != 0 or summary is None:
            raise RuntimeError("pam_bench failed (%d): %s" % (p.returncode, p.stderr[-2000:]))
        for login in logins:
            login["maxrss_kb"] = summary["maxrss_kb"]
            login["cpu_process"] = summary["cpu_process"]
            login["rss_start_kb"] = summary["rss_start_kb"]
        return logins, summary

    def naive_login(self, user="alice"):
        env = dict(os.environ, BASE=self.provider.issuer, CA=str(self.ca / "ca.pem"),
                   AUTH_FORM=str(self.tmp / "auth_form"),
                   HINT=json.dumps({"format": "iss_sub", "iss": self.provider.issuer, "sub": user}),
                   MSG="bench login %s #NAIV" % user)
        t0 = time.monotonic()
        p = subprocess.Popen(["sh", str(REPO / "bench/naive_client.sh")], env=env,
                             stdout=subprocess.PIPE, text=True)
        # ru_maxrss is useless here (Linux carries the parent's over fork+exec): sample the
        # RSS of the client's process tree instead, every 5 ms, and keep the largest.
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], sum(smaps(q).get("Rss", 0)
                                           for q in [p.pid] + children_of(p.pid)))
                done.wait(0.005)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        line = p.stdout.readline()
        t_msg = time.monotonic() if line else 0.0
        _, status, ru = os.wait4(p.pid, 0)
        t1 = time.monotonic()
        done.set()
        sampler.join()
        p.stdout.close()
        p.returncode = os.waitstatus_to_exitcode(status)
        return {"user": user, "rc": p.returncode, "t_start": t0, "t_msg": t_msg, "t_end": t1,
                "cpu": ru.ru_utime + ru.ru_stime, "cpu_user": ru.ru_utime, "cpu_sys": ru.ru_stime,
                "cpu_to_msg": None, "maxrss_kb": peak[0], "rss_msg_kb": None}


# ----- matching logins with what the provider saw ---------------------------------------------------

def sub_of(entry):
    hint = entry.get("form", {}).get("login_hint", "")
    try:
        return json.loads(hint).get("sub")
    except ValueError:
        return hint


def attach(logins, rec, interval):
    """Adds to every login what the provider saw of it: requests, connections, approval time."""
    reqs = rec["requests"]
    conns = {c["conn_id"]: c for c in rec["connections"]}
    approved = {e[1]: e[2] for e in rec["events"] if e[0] == "approved"}
    issued = {e[1]: e[2] for e in rec["events"] if e[0] == "token_issued"}
    ars = {a["auth_req_id"]: a for a in rec["auth_requests"]}
    by_rid = {}
    for r in reqs:
        if r["path"] == "/oauth/token":
            by_rid.setdefault(r["form"].get("auth_req_id"), []).append(r)
    bcs = [r for r in reqs if r["path"] == "/bc-authorize"]
    used = set()
    for lg in logins:
        cands = [r for r in bcs if id(r) not in used and sub_of(r) == lg["user"] and
                 lg["t_start"] - 0.01 <= r["time"] <= lg["t_end"]]
        if len(cands) != 1:
            lg["matched"] = False
            continue
        bc = cands[0]
        used.add(id(bc))
        rid = bc.get("auth_req_id")
        polls = by_rid.get(rid, [])
        mine = [bc] + polls
        ids = sorted({r["conn_id"] for r in mine})
        ar = ars.get(rid, {})
        lg.update(matched=True, rid=rid, requests=len(mine), polls=len(polls),
                  other_paths=sorted({r["path"] for r in mine} - {"/bc-authorize", "/oauth/token"}),
                  conns=len(ids), handshakes=sum(1 for i in ids if conns.get(i, {}).get("handshake")),
                  violations=len(ar.get("violations", [])),
                  answers=ar.get("answers", []))
        t_app = approved.get(rid)
        lg["t_approved"] = t_app
        lg["t_issued"] = issued.get(rid)
        if t_app is not None:
            # The earliest a client that never polls faster than `interval` could learn of the
            # approval: the first slot k*interval (k >= 1) after it got the bc-authorize answer.
            base = bc.get("done", bc["time"])
            k = max(1, -(-(t_app - base) // interval))
            slot = base + k * interval
            lg["min_polls"] = int(k)
            served = [r for r in polls if r["status"] == 200]
            srv = (served[0]["done"] - served[0]["time"]) if served and served[0].get("done") else 0
            lg["min_latency"] = max(0.0, slot - t_app) + srv
            lg["latency"] = lg["t_end"] - t_app
            lg["late"] = lg["latency"] - lg["min_latency"]
            lg["pending_after_approval"] = sum(
                1 for r in polls if r["time"] > t_app and r["error"] == "authorization_pending")
        # Time to first message, split into the provider's part (TCP accept to the answer
        # leaving it) and the client's own part (config, NSS, libcurl set-up, parsing).
        c = conns.get(bc["conn_id"])
        if lg.get("t_msg") and c and bc.get("done"):
            lg["ttfm"] = lg["t_msg"] - lg["t_start"]
            lg["ttfm_provider"] = bc["done"] - c["accepted"]
            lg["ttfm_client"] = lg["ttfm"] - lg["ttfm_provider"]
        if lg.get("t_msg"):
            lg["wait"] = lg["t_end"] - lg["t_msg"]
            if lg.get("cpu_to_msg") is not None:
                lg["cpu_after_msg"] = lg["cpu"] - lg["cpu_to_msg"]
    return logins


def window_counts(logins, rec):
    """Sequential runs only: every connection/handshake/request in each login's time window,
    whatever it was for (catches discovery, JWKS or retries that carry no auth_req_id)."""
    conns = [c for c in rec["connections"] if not c["control"]]
    reqs = rec["requests"]
    for lg in logins:
        lo, hi = lg["t_start"] - 0.005, lg["t_end"] + 0.005
        lg["win_conns"] = sum(1 for c in conns if lo <= c["accepted"] <= hi)
        lg["win_handshakes"] = sum(1 for c in conns if c["handshake"] and lo <= c["handshake"] <= hi)
        lg["win_requests"] = sum(1 for r in reqs if lo <= r["time"] <= hi)
        lg["win_paths"] = [r["path"] for r in reqs if lo <= r["time"] <= hi]


# ----- phases ---------------------------------------------------------------------------------------

def phase_sequential(b, kind, n, rng_seed, interval=1, pending=0, delays=True):
    """n logins one after the other, each in a fresh process (as sshd forks), approval at a
    random moment (delays=True) or at once with `pending` authorization_pending answers first."""
    p = b.provider
    p.reset()
    rng = random.Random(rng_seed)
    logins = []
    for i in range(n):
        delay = round(rng.uniform(0.05, 2.0 * interval), 3) if delays else 0
        p.scenario(interval=interval, phone="approve", phone_delay=delay, pending_polls=pending)
        if kind == "module":
            lg, _ = b.module_login("--user", "alice")
            logins += lg
        else:
            logins.append(b.naive_login("alice"))
        time.sleep(0.02)
    rec = p.records()
    attach(logins, rec, interval)
    window_counts(logins, rec)
    return logins


def phase_long_lived(b, total, threads):
    """One process, `threads` threads each running total/threads logins back to back
    (pam_start, pam_authenticate, pam_end each time): does the process grow?"""
    p = b.provider
    p.reset()
    p.scenario(interval=1, phone="approve", phone_delay=0, pending_polls=0)
    per = max(1, total // threads)
    # The same threads with one login each: the heap that a process keeps anyway.
    _, short = b.module_login("--threads", threads, "--count", 1, "--user-prefix", "b", timeout=300,
                              exact_heap=True)
    p.reset()
    p.scenario(interval=1, phone="approve", phone_delay=0, pending_polls=0)
    t0 = time.monotonic()
    logins, summary = b.module_login("--threads", threads, "--count", per, "--user-prefix", "b",
                                     timeout=per * 10 + 120, exact_heap=True)
    wall = time.monotonic() - t0
    rec = p.records()
    attach(logins, rec, 1)
    logins.sort(key=lambda x: x["t_end"])
    return {"logins": logins, "summary": summary, "wall": wall, "threads": threads, "per": per,
            "short": short}


def phase_single_long(b, n):
    """One single-threaded process, n logins in a row: module reload cost and growth."""
    p = b.provider
    p.reset()
    p.scenario(interval=1, phone="approve", phone_delay=0, pending_polls=0)
    logins, summary = b.module_login("--count", n, "--user", "alice", timeout=n * 10 + 60,
                                     exact_heap=True)
    return {"logins": logins, "summary": summary}


def phase_system_trust(b, n):
    """The TLS set-up cost with the system trust store (no ca_file). The test CA is no system
    root, so each attempt ends at certificate verification (PAM_AUTHINFO_UNAVAIL): what is
    measured is loading the trust store plus the handshake up to that point, which every
    production login pays. The naive client: curl with its default trust store."""
    conf = b.tmp / "system_trust.conf"
    conf.write_text("\n".join(line for line in (b.tmp / "pam_ciba.conf").read_text().splitlines()
                              if not line.startswith("ca_file")) + "\n")
    os.chmod(conf, 0o600)
    (b.confdir / "bench_system_trust").write_text("auth required %s conf=%s\n" % (b.args.so, conf))
    mod, naive = [], []
    for _ in range(n):
        p = subprocess.run([b.args.driver, "--confdir", str(b.confdir), "--service", "bench_system_trust",
                            "--user", "alice"], env=b.env, capture_output=True, text=True, timeout=60)
        lg, _ = Bench.parse_driver(p.stdout)
        mod += lg
        t0 = time.monotonic()
        c = subprocess.Popen(["curl", "-sS", "-o", "/dev/null", b.provider.issuer + "bc-authorize"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(c.pid, 0)
        naive.append({"rc": os.waitstatus_to_exitcode(status), "cpu": ru.ru_utime + ru.ru_stime,
                      "wall": time.monotonic() - t0})
    return {"module": mod, "naive": naive}


def smaps(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] in ("Rss:", "Pss:", "Private_Dirty:"):
                    out[parts[0][:-1]] = int(parts[1])
    except OSError:
        pass
    return out


def proc_stat_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return (sum(v[:8]) - idle) / TICK, sum(v[:8]) / TICK


def phase_scale(b, n, kind="module", interval=2, phone_delay=5.0):
    """n logins waiting at once, each in its own process; the provider approves each one
    phone_delay seconds after its bc-authorize."""
    p = b.provider
    p.reset()
    p.scenario(interval=interval, phone="approve", phone_delay=phone_delay, pending_polls=0)
    procs = []
    go_r, go_w = os.pipe()
    ready_r, ready_w = os.pipe()
    for i in range(n):
        user = "b%04d" % i
        if kind == "module":
            cmd = b.driver_cmd("--user", user, "--go-fd", go_r, "--ready-fd", ready_w)
            env = b.env
        else:
            # The naive client has nothing to pre-load: it waits for the go signal itself.
            cmd = ["sh", "-c", 'read _ <&%d; exec sh "$0"' % go_r, str(REPO / "bench/naive_client.sh")]
            env = dict(os.environ, BASE=p.issuer, CA=str(b.ca / "ca.pem"),
                       AUTH_FORM=str(b.tmp / "auth_form"),
                       HINT=json.dumps({"format": "iss_sub", "iss": p.issuer, "sub": user}),
                       MSG="bench login %s #NAIV" % user)
        procs.append((user, subprocess.Popen(cmd, env=env, pass_fds=(go_r, ready_w),
                                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                             text=True)))
    os.close(ready_w)
    if kind == "module":
        got = 0
        while got < n:
            chunk = os.read(ready_r, 4096)
            if not chunk:
                break
            got += len(chunk)
    else:
        time.sleep(1.0)
        got = n
    os.close(ready_r)
    time.sleep(0.5)
    # Output is collected by one thread per process so no pipe fills up.
    outs = {}

    def collect(user, proc):
        o, e = proc.stdout.read(), proc.stderr.read()
        _, status, ru = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        proc.stdout.close()
        proc.stderr.close()
        outs[user] = (proc.returncode, o, e, time.monotonic(), ru.ru_utime + ru.ru_stime)

    threads = [threading.Thread(target=collect, args=u_p, daemon=True) for u_p in procs]
    for t in threads:
        t.start()
    prov_cpu0, prov_rss0 = p.cpu(), p.rss_kb()
    busy0, total0 = proc_stat_busy()
    t_go = time.monotonic()
    os.close(go_w)
    os.close(go_r)
    # While they wait (after bc-authorize, before the approvals): memory of every process tree.
    time.sleep(min(phone_delay * 0.7, 3.5))
    t_sample = time.monotonic()
    pss = rss = 0
    for user, proc in procs:
        pids = [proc.pid]
        if kind != "module":
            pids += children_of(proc.pid)
        for pid in pids:
            s = smaps(pid)
            pss += s.get("Pss", 0)
            rss += s.get("Rss", 0)
    prov_rss_wait = p.rss_kb()
    for t in threads:
        t.join(300)
    t_done = time.monotonic()
    prov_cpu1 = p.cpu()
    busy1, total1 = proc_stat_busy()
    logins = []
    for user, proc in procs:
        rc, o, e, t_exit, cpu_tree = outs.get(user, (None, "", "", t_done, None))
        if kind == "module":
            lg, summary = Bench.parse_driver(o)
            if lg:
                lg[0]["cpu_process"] = summary["cpu_process"] if summary else None
                lg[0]["maxrss_kb"] = summary["maxrss_kb"] if summary else None
                lg[0]["cpu_tree"] = cpu_tree
                logins.append(lg[0])
            else:
                logins.append({"user": user, "rc": -1, "t_start": t_go, "t_end": t_exit,
                               "err": e[-300:]})
        else:
            logins.append({"user": user, "rc": rc, "t_start": t_go, "t_end": t_exit,
                           "t_msg": None, "cpu": None, "cpu_tree": cpu_tree})
    rec = p.records()
    attach(logins, rec, interval)
    reqs = [r for r in rec["requests"] if t_go <= r["time"] <= t_done]
    per_sec = {}
    for r in reqs:
        per_sec[int(r["time"] - t_go)] = per_sec.get(int(r["time"] - t_go), 0) + 1
    waiting = sum(1 for lg in logins if lg.get("t_msg") and lg["t_msg"] <= t_sample <= lg["t_end"])
    if kind != "module":
        waiting = sum(1 for lg in logins if lg.get("t_approved") and lg["t_approved"] > t_sample)
    return {
        "n": n, "kind": kind, "logins": logins, "ready": got, "waiting_at_sample": waiting,
        "pss_kb": pss, "rss_kb": rss, "provider_cpu": prov_cpu1 - prov_cpu0,
        "provider_rss_kb": prov_rss_wait, "provider_rss0_kb": prov_rss0,
        "wall": t_done - t_go, "requests": len(reqs),
        "peak_rate": max(per_sec.values()) if per_sec else 0,
        "machine_busy": busy1 - busy0, "machine_total": total1 - total0,
        "ok": sum(1 for lg in logins if lg.get("rc") == 0 and lg.get("t_issued")),
        "cpu_tree": sum(lg.get("cpu_tree") or 0 for lg in logins),
        "violations": sum(lg.get("violations", 0) for lg in logins),
        "interval": interval, "phone_delay": phone_delay,
    }


def children_of(pid):
    out = []
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            for c in f.read().split():
                out.append(int(c))
                out += children_of(int(c))
    except OSError:
        pass
    return out


def phase_callgrind(b, pending):
    """Instructions executed inside pam_authenticate (valgrind callgrind, collection toggled by
    the driver around the call): a CPU figure that other load on the machine cannot disturb."""
    vg = shutil.which("valgrind")
    if not vg:
        return None
    p = b.provider
    p.reset()
    p.scenario(interval=1, phone="approve", phone_delay=0, pending_polls=pending)
    out = b.tmp / ("callgrind.%d.out" % pending)
    proc = subprocess.run([vg, "--tool=callgrind", "--collect-atstart=no",
                           "--callgrind-out-file=%s" % out] + b.driver_cmd("--user", "alice"),
                          env=b.env, capture_output=True, text=True, timeout=600)
    logins, _ = Bench.parse_driver(proc.stdout)
    if proc.returncode != 0 or not logins or logins[0]["rc"] != 0:
        log("callgrind run failed: " + proc.stderr[-500:])
        return None
    # The driver dumps once at the first message: part 1 is pam_authenticate up to the
    # message, the final dump the rest.
    parts = []
    for f in sorted(b.tmp.glob(out.name + "*")):
        for line in f.read_text().splitlines():
            if line.startswith("totals:"):
                parts.append((f.name, int(line.split()[1])))
                break
    if not parts:
        return None
    parts.sort(key=lambda x: (len(x[0]), x[0]))
    return {"total": sum(v for _, v in parts), "to_msg": parts[1][1] if len(parts) > 1 else None}


def phase_memcheck(b, n):
    vg = shutil.which("valgrind")
    if not vg:
        return None
    p = b.provider
    p.reset()
    p.scenario(interval=1, phone="approve", phone_delay=0, pending_polls=0)
    proc = subprocess.run([vg, "--leak-check=full", "--errors-for-leak-kinds=definite"] +
                          b.driver_cmd("--user", "alice", "--count", n),
                          env=b.env, capture_output=True, text=True, timeout=900)
    res = {"definitely": None, "indirectly": None, "errors": None}
    for line in proc.stderr.splitlines():
        for key in ("definitely", "indirectly"):
            if key + " lost:" in line:
                res[key] = int(line.split(key + " lost:")[1].split("bytes")[0].strip().replace(",", ""))
        if "ERROR SUMMARY:" in line:
            res["errors"] = int(line.split("ERROR SUMMARY:")[1].split()[0].replace(",", ""))
    if "All heap blocks were freed" in proc.stderr:
        res["definitely"] = res["indirectly"] = 0
    res["ok"] = sum(1 for lg in Bench.parse_driver(proc.stdout)[0] if lg["rc"] == 0)
    return res


# ----- the report -------------------------------------------------------------------------------------

def fmt(v, unit="", digits=None):
    if v is None:
        return "–"
    if isinstance(v, float) and digits is None:
        digits = 0 if abs(v) >= 100 else (1 if abs(v) >= 10 else (2 if abs(v) >= 1 else 3))
    if isinstance(v, float):
        return ("%." + str(digits) + "f%s") % (v, unit)
    return "%s%s" % (v, unit)


def mp(values, scale=1.0, unit="", digits=None):
    """'median / p95' of values times scale."""
    v = [x * scale for x in values if x is not None]
    if not v:
        return "–"
    return "%s / %s" % (fmt(float(med(v)), unit, digits), fmt(float(pct(v, 95)), unit, digits))


def ratio(a, b):
    a = [x for x in a if x is not None]
    b = [x for x in b if x is not None]
    if not a or not b or med(b) == 0:
        return "–"
    return "%.2f×" % (med(a) / med(b))


def machine():
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    try:
        deb = Path("/etc/debian_version").read_text().strip()
    except OSError:
        deb = "?"
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return "%d cores (%s), %.0f GiB RAM, Debian %s, Linux %s" % (
        os.cpu_count(), cpu, mem, deb, platform.release())


def loadavg():
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def report(R, args):
    A, B, NA, NB = R["mod_seq"], R["mod_wait"], R["naive_seq"], R["naive_wait"]
    L, S1, SC, NSC = R["long"], R["single"], R["scale"], R.get("naive_scale")
    rows = []
    verdicts = []

    def row(name, mod, naive, rat, minimum, target, holds=None):
        rows.append((name, mod, naive, rat, minimum, target,
                     "" if holds is None else ("yes" if holds else "**no**")))
        if holds is not None:
            verdicts.append((name, holds))

    ok = [x for x in A + B if x.get("matched")]
    nok = [x for x in NA + NB if x.get("matched")]
    # 1. requests
    extra = [x["requests"] - (1 + x["min_polls"]) for x in A if x.get("min_polls")]
    other = sum(len(x.get("other_paths", [])) for x in ok)
    win_extra = sum(max(0, x["win_requests"] - x["requests"]) for x in ok)
    early = sum(x["violations"] for x in ok)
    pend_after = sum(x.get("pending_after_approval", 0) for x in A if x.get("matched"))
    row("1. requests per login (approval at a random moment, interval 1 s)",
        mp([x["requests"] for x in A]), mp([x["requests"] for x in NA]),
        ratio([x["requests"] for x in A], [x["requests"] for x in NA]),
        mp([1 + x["min_polls"] for x in A if x.get("min_polls")]), "= minimum",
        max(extra, default=1) <= 0 and other == 0 and win_extra == 0 and early == 0 and pend_after == 0)
    row("   requests above the minimum (max) / too-early polls / polls after approval / other requests",
        "%s / %d / %d / %d" % (max(extra, default=0), early, pend_after, other + win_extra),
        "%s / %d / %d / –" % (max((x["requests"] - 1 - x["min_polls"] for x in NA if x.get("min_polls")),
                                  default=0),
                              sum(x["violations"] for x in nok),
                              sum(x.get("pending_after_approval", 0) for x in NA if x.get("matched"))),
        "", "0 / 0 / 0 / 0", "0")
    C = R.get("cold") or []
    if C:
        c = C[0]
        paths = {}
        for r in c.get("win_paths", []):
            paths[r] = paths.get(r, 0) + 1
        row("   first login with an empty discovery/JWKS cache: requests (what) on connections",
            "%d (%s) on %d" % (c["win_requests"], ", ".join("%s×%d" % (k, v) for k, v in sorted(paths.items())),
                               c["win_conns"]), "", "", "2 + discovery + JWKS on 1", "1 connection",
            c["win_conns"] == 1)
    # 2. connections
    row("2. TCP connections per login", mp([x["win_conns"] for x in ok]),
        mp([x["win_conns"] for x in nok]), ratio([x["win_conns"] for x in ok], [x["win_conns"] for x in nok]),
        "1", "1", max(x["win_conns"] for x in ok) == 1)
    row("   TLS handshakes per login", mp([x["win_handshakes"] for x in ok]),
        mp([x["win_handshakes"] for x in nok]),
        ratio([x["win_handshakes"] for x in ok], [x["win_handshakes"] for x in nok]),
        "1", "1", max(x["win_handshakes"] for x in ok) == 1)
    # 3. latency
    lat = [x.get("latency") for x in A]
    nlat = [x.get("latency") for x in NA]
    row("3. approval → pam_authenticate returns", mp(lat, 1000, " ms"), mp(nlat, 1000, " ms"),
        ratio(lat, nlat), mp([x.get("min_latency") for x in A], 1000, " ms"),
        "p95 ≤ interval + 50 ms = 1050 ms", (pct(lat, 95) or 9) <= 1.050)
    late = [x.get("late") for x in A]
    row("   … later than the first allowed poll slot after approval", mp(late, 1000, " ms"),
        mp([x.get("late") for x in NA], 1000, " ms"), ratio(late, [x.get("late") for x in NA]),
        "0 ms + server time", "≤ 50 ms", (pct(late, 95) or 9) <= 0.050)
    # 4. CPU
    cpu = [x["cpu"] for x in A]
    ncpu = [x["cpu"] for x in NA]
    row("4. CPU per login: pam_authenticate, user+sys (fresh process, 1–2 polls)", mp(cpu, 1000, " ms"),
        mp(ncpu, 1000, " ms") + " (whole client)", ratio(cpu, ncpu), "–", "–")
    row("   … whole process incl. exec, pam_start (module load), pam_end",
        mp([x["cpu_process"] for x in A], 1000, " ms"), mp(ncpu, 1000, " ms"),
        ratio([x["cpu_process"] for x in A], ncpu), "–", "–")
    if R.get("callgrind"):
        c0, c2 = R["callgrind"]
        row("   … instructions in pam_authenticate (callgrind; fresh process, 1 poll): total; "
            "up to the message; after it",
            "%.1f M; %.1f M; %.2f M" % (c0["total"] / 1e6, (c0["to_msg"] or 0) / 1e6,
                                         (c0["total"] - (c0["to_msg"] or 0)) / 1e6), "", "", "", "")
        if c2:
            row("   … instructions per extra poll (callgrind)",
                "%.0f k" % ((c2["total"] - c0["total"]) / 2 / 1e3), "", "", "", "")
    wcpu = [x.get("cpu_after_msg", 0) / x["wait"] for x in B if x.get("wait")]
    nw = [x["cpu"] / (x["t_end"] - x["t_start"]) for x in NB]
    row("   CPU per second of waiting (6 polls, 6 s; includes the polls)", mp(wcpu, 1000, " ms/s"),
        mp(nw, 1000, " ms/s"), ratio(wcpu, nw), "0 (sleeping)", "< 1 ms/s",
        (pct(wcpu, 95) or 9) < 0.001)
    T = R.get("trust")
    if T:
        tm = [x["cpu"] for x in T["module"]]
        tn = [x["cpu"] for x in T["naive"]]
        fails_closed = all(x["rc"] == 9 for x in T["module"]) and all(x["rc"] != 0 for x in T["naive"])
        row("   TLS set-up with the system trust store (no ca_file): CPU per attempt¹",
            mp(tm, 1000, " ms"), mp(tn, 1000, " ms") + " (curl, default store)", ratio(tm, tn),
            "–", "fails closed: %s" % ("yes" if fails_closed else "NO"), fails_closed)
    # 5. memory
    rss_msg = [x.get("rss_msg_kb") for x in A]
    row("5. RSS of the authenticating process while waiting", mp(rss_msg, 1 / 1024, " MiB"),
        mp([x["maxrss_kb"] for x in NA], 1 / 1024, " MiB") + " (peak, tree)",
        ratio(rss_msg, [x["maxrss_kb"] for x in NA]), "–", "–")
    row("   … peak RSS of that process (VmHWM at exit)", mp([x.get("maxrss_kb") for x in A], 1 / 1024, " MiB"),
        "", "", "", "")
    row("   … of which the module and its libraries (RSS at message − RSS before pam_start)",
        mp([x["rss_msg_kb"] - x["rss_start_kb"] for x in A], 1 / 1024, " MiB"), "", "", "", "")
    lg = L["logins"]
    tenth = len(lg) // 10
    if tenth >= 2:
        # RSS after each login, in completion order: the median of the second tenth (once
        # every thread's malloc arena is warm) against the median of the last tenth.
        early = med([x["rss_kb"] for x in lg[tenth:2 * tenth]])
        late_ = med([x["rss_kb"] for x in lg[-tenth:]])
        per = (late_ - early) / (len(lg) - 2 * tenth)
        row("   growth of one process over %d logins (%d threads × %d): RSS median of logins "
            "%d–%d → of the last %d" % (len(lg), L["threads"], L["per"], tenth + 1, 2 * tenth, tenth),
            "%+.0f KiB (%+.2f KiB/login; %.0f → %.0f KiB)" % (late_ - early, per, early, late_),
            "", "", "0", "(see heap)")
        hs, hl = L["short"]["heap"], L["summary"]["heap"]
        row("   heap in use (malloc, all arenas) once every login has ended: after %d logins → "
            "after %d" % (L["threads"], len(lg)),
            "%+d bytes (%d → %d)" % (hl - hs, hs, hl), "", "", "0", "none", hl - hs <= 1024)
        nok = sum(1 for x in lg if x["rc"] == 0)
        row("   … correct outcomes; connections per login", "%d / %d; %s" % (
            nok, len(lg), mp([x.get("conns") for x in lg])), "", "", "all; 1", "all; 1",
            nok == len(lg) and max(x.get("conns") or 9 for x in lg) == 1)
    sl = S1["logins"]
    if len(sl) > 4:
        half = len(sl) // 2
        row("   growth of a single-threaded process over %d logins (pam_start … pam_end each): "
            "after login 1 → %d → %d" % (len(sl), half, len(sl)),
            "%+d KiB (%d → %d → %d KiB)" % (sl[-1]["rss_kb"] - sl[half - 1]["rss_kb"], sl[0]["rss_kb"],
                                            sl[half - 1]["rss_kb"], sl[-1]["rss_kb"]),
            "", "", "0", "(see heap)")
        row("   heap in use after pam_end: login 2 → login %d" % len(sl),
            "%+d bytes (%d → %d)" % (sl[-1]["heap"] - sl[1]["heap"], sl[1]["heap"], sl[-1]["heap"]),
            "", "", "0", "none", sl[-1]["heap"] - sl[1]["heap"] <= 0)
        row("   … CPU of pam_start + pam_end (loads and unloads the module and libcurl each time)",
            mp([x["cpu_pam_start_end"] for x in sl[1:]], 1000, " ms"), "", "", "", "")
    if R.get("memcheck"):
        m = R["memcheck"]
        row("   valgrind memcheck, %d logins in one process: definitely / indirectly lost" % m["ok"],
            "%s / %s bytes" % (m["definitely"], m["indirectly"]), "", "", "0", "0",
            m["definitely"] == 0 and m["indirectly"] == 0)
    # 6. scale
    n = SC["n"]
    row("6. %d logins waiting at once (separate processes): correct outcomes" % n,
        "%d / %d" % (SC["ok"], n),
        ("%d / %d (of %d)" % (NSC["ok"], NSC["n"], NSC["n"])) if NSC else "", "", "all", "all",
        SC["ok"] == n and SC["violations"] == 0)
    row("   memory while waiting: total PSS (per login); RSS sum",
        "%.0f MiB (%.2f MiB); %.0f MiB" % (SC["pss_kb"] / 1024, SC["pss_kb"] / 1024 / n, SC["rss_kb"] / 1024),
        ("%.0f MiB (%.2f MiB)" % (NSC["pss_kb"] / 1024, NSC["pss_kb"] / 1024 / NSC["n"])) if NSC else "",
        ("%.2f×" % ((SC["pss_kb"] / n) / (NSC["pss_kb"] / NSC["n"]))) if NSC and NSC["pss_kb"] else "",
        "–", "–")
    row("   client CPU, all processes (per login)",
        "%.1f s (%.1f ms)" % (SC["cpu_tree"], SC["cpu_tree"] / n * 1000),
        ("%.1f s (%.1f ms)" % (NSC["cpu_tree"], NSC["cpu_tree"] / NSC["n"] * 1000)) if NSC else "",
        ("%.2f×" % ((SC["cpu_tree"] / n) / (NSC["cpu_tree"] / NSC["n"]))) if NSC and NSC["cpu_tree"] else "",
        "–", "–")
    row("   provider CPU (per login); provider RSS",
        "%.1f s (%.1f ms); %.0f MiB" % (SC["provider_cpu"], SC["provider_cpu"] / n * 1000,
                                        SC["provider_rss_kb"] / 1024),
        ("%.1f s (%.1f ms)" % (NSC["provider_cpu"], NSC["provider_cpu"] / NSC["n"] * 1000)) if NSC else "",
        ("%.2f×" % ((SC["provider_cpu"] / n) / (NSC["provider_cpu"] / NSC["n"])))
        if NSC and NSC["provider_cpu"] else "", "–", "–")
    row("   provider request rate: mean / peak second",
        "%.0f / %d req/s (%d requests in %.1f s)" % (SC["requests"] / SC["wall"], SC["peak_rate"],
                                                     SC["requests"], SC["wall"]),
        ("%.0f / %d req/s" % (NSC["requests"] / NSC["wall"], NSC["peak_rate"])) if NSC else "",
        "", "%d requests" % (n * (1 + SC["logins"][0].get("min_polls", 0))), "–")
    row("   time to first message under this load", mp([x.get("ttfm") for x in SC["logins"]], 1000, " ms"),
        "", "", "", "")
    row("   approval → success under this load", mp([x.get("latency") for x in SC["logins"]], 1000, " ms"),
        "", "", mp([x.get("min_latency") for x in SC["logins"]], 1000, " ms"),
        "p95 ≤ %d ms" % (SC["interval"] * 1000 + 50),
        (pct([x.get("latency") for x in SC["logins"]], 95) or 99) <= SC["interval"] + 0.05)
    # 7. first message
    ttfm = [x.get("ttfm") for x in A]
    row("7. time to first message (pam_authenticate → conversation)", mp(ttfm, 1000, " ms"),
        mp([x.get("ttfm") for x in NA], 1000, " ms") + " (from exec)", ratio(ttfm, [x.get("ttfm") for x in NA]),
        "1 round trip", "≤ 10 ms + 1 round trip")
    cl = [x.get("ttfm_client") for x in A]
    row("   … provider's part (TCP accept → bc-authorize answer sent)",
        mp([x.get("ttfm_provider") for x in A], 1000, " ms"),
        mp([x.get("ttfm_provider") for x in NA], 1000, " ms"), "", "", "")
    row("   … the client's own part (the rest)", mp(cl, 1000, " ms"),
        mp([x.get("ttfm_client") for x in NA], 1000, " ms"), ratio(cl, [x.get("ttfm_client") for x in NA]),
        "0", "≤ 10 ms", (pct(cl, 95) or 9) <= 0.010)
    cm = [x.get("cpu_to_msg") for x in A]
    row("   … CPU (user+sys) from pam_authenticate to the message, fresh process; includes "
        "the client's half of the TLS handshake", mp(cm, 1000, " ms"), "", "", "–", "≤ 10 ms",
        (pct(cm, 95) or 9) <= 0.010)
    fails = []
    for name, group in (("random", A), ("wait", B), ("1000", L["logins"]), ("single", S1["logins"]),
                        ("scale", SC["logins"])):
        for x in group:
            if x.get("rc") != 0:
                fails.append("%s: rc=%s after %.2f s, provider answers %s%s" % (
                    name, x.get("rc"), x["t_end"] - x["t_start"], x.get("answers"),
                    "" if x.get("matched") else " (no bc-authorize of its own seen)"))
    if fails:
        row("   failed logins (first 5 of %d)" % len(fails), "; ".join(fails[:5]), "", "", "none", "none",
            False)
    return rows, verdicts


def render(rows, R, args, started, load0, load1, wall):
    head = ("figure", "pam_ciba: median / p95", "naive curl client", "pam_ciba ÷ naive",
            "theoretical minimum", "target", "holds")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in r) + " |")
    A = R["mod_seq"]
    md = ["# pam_ciba benchmark results", "",
          "Produced by `./dev.sh bench` (bench/run_bench.py) on %s." % time.strftime("%Y-%m-%d %H:%M UTC",
                                                                                 time.gmtime(started)),
          "", "Machine: %s. Load average before / after the run: %s / %s; the run took %.0f s%s." % (
              machine(), load0, load1, wall, " (quick mode)" if args.quick else ""),
          "", "Samples: %d module and %d naive logins with the approval at a random moment "
          "(interval 1 s), %d + %d with a 6 s wait (5 × authorization_pending), one process with "
          "%d logins, one single-threaded process with %d, %d logins at once (naive: %s). "
          "Percentiles are nearest-rank; with 10–20 samples the p95 is close to the maximum." % (
              len(A), len(R["naive_seq"]), len(R["mod_wait"]), len(R["naive_wait"]),
              len(R["long"]["logins"]), len(R["single"]["logins"]), R["scale"]["n"],
              R["naive_scale"]["n"] if R.get("naive_scale") else 0),
          "", "\n".join(lines), ""]
    return md


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--so", required=True, help="the pam_ciba.so to measure")
    ap.add_argument("--driver", required=True, help="the built bench/pam_bench")
    ap.add_argument("--quick", action="store_true", help="fewer samples (about a minute)")
    ap.add_argument("--out", default=str(REPO / "bench/results.md"))
    ap.add_argument("--notes", default=str(REPO / "bench/notes.md"),
                    help="hand-written notes appended to the results")
    ap.add_argument("--scale", type=int, default=None, help="logins waiting at once (default 500)")
    ap.add_argument("--naive-scale", type=int, default=None, help="naive clients at once (default 100)")
    ap.add_argument("--long", type=int, default=None, help="logins in one process (default 1000)")
    ap.add_argument("--long-threads", type=int, default=None, help="its threads (default 25)")
    ap.add_argument("--no-valgrind", action="store_true")
    args = ap.parse_args()
    q = args.quick
    args.scale = args.scale or (100 if q else 500)
    args.naive_scale = args.naive_scale if args.naive_scale is not None else (20 if q else 100)
    args.long = args.long or (200 if q else 1000)
    args.long_threads = args.long_threads or (20 if q else 25)
    if os.geteuid() != 0:
        sys.exit("run as root (./dev.sh bench): the module only trusts root-owned configuration")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8 * args.scale + 1024)), hard))
    started, t0, load0 = time.time(), time.monotonic(), loadavg()
    b = Bench(args)
    R = {}
    try:
        log("0/8 module: one login with an empty discovery/JWKS cache")
        R["cold"] = phase_sequential(b, "module", 1, 1, delays=False)
        log("1/8 module: %d logins, approval at a random moment" % (8 if q else 20))
        R["mod_seq"] = phase_sequential(b, "module", 8 if q else 20, 7)
        log("2/8 module: %d logins with a 6 s wait" % (1 if q else 3))
        R["mod_wait"] = phase_sequential(b, "module", 1 if q else 3, 8, pending=5, delays=False)
        log("3/8 naive curl client: the same")
        R["naive_seq"] = phase_sequential(b, "naive", 4 if q else 10, 7)
        R["naive_wait"] = phase_sequential(b, "naive", 1 if q else 2, 8, pending=5, delays=False)
        log("4/8 one process, %d logins in %d threads" % (args.long, args.long_threads))
        R["long"] = phase_long_lived(b, args.long, args.long_threads)
        n1 = 8 if q else 20
        log("5/8 one single-threaded process, %d logins" % n1)
        R["single"] = phase_single_long(b, n1)
        log("6/8 %d module logins waiting at once" % args.scale)
        R["scale"] = phase_scale(b, args.scale)
        if args.naive_scale:
            log("7/8 %d naive clients waiting at once" % args.naive_scale)
            R["naive_scale"] = phase_scale(b, args.naive_scale, kind="naive")
        log("8/8 system trust store; valgrind: callgrind instruction counts, memcheck leak check")
        R["trust"] = phase_system_trust(b, 3 if q else 5)
        if not args.no_valgrind and shutil.which("valgrind"):
            R["callgrind"] = (phase_callgrind(b, 0), phase_callgrind(b, 2))
            if R["callgrind"][0] is None:
                R["callgrind"] = None
            R["memcheck"] = phase_memcheck(b, 3)
    finally:
        b.close()
    wall = time.monotonic() - t0
    rows, verdicts = report(R, args)
    md = render(rows, R, args, started, load0, loadavg(), wall)
    md.append("Targets: %s." % "; ".join("%s: %s" % (n.strip().split(" (")[0], "holds" if h else "DOES NOT HOLD")
                                         for n, h in verdicts))
    md.append("")
    if os.path.exists(args.notes):
        md.append(Path(args.notes).read_text())
    Path(args.out).write_text("\n".join(md))
    print("\n".join(md[:-1] if os.path.exists(args.notes) else md))
    log("wrote %s" % args.out)
    bad = [x for x in R["mod_seq"] + R["mod_wait"] if x.get("rc") != 0]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
