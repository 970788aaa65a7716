#!/usr/bin/python3
"""Fault matrix: the built pam_ciba.so through real libpam against a broken network, a
hostile provider (tests/servers/fault_server.py), hostile input and odd PAM applications.

Every case asserts the PAM result, the time taken (at most max_wait + one request_timeout,
plus a margin for process start-up) and exactly one "decision" syslog line, and counts false
accepts. At the end the output of every login is searched for the client secret, every
auth_req_id and every token the providers handed out.

Usage: /usr/bin/python3 tests/faults/test_faults.py [-k SUBSTRING]... [-v] [--list]
Needs root, pamtester, pam_wrapper, nss_wrapper, and $PAM_HOST / $PAM_HOST_CURL (the
tests/faults/pam_host.c test application, built by tests/suites/30-faults.sh).
Reuses the environment of tests/integration/test_pam.py (CA, fake passwd, provider).
"""

import base64
import ctypes
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(REPO / "tests" / "servers"))
import ciba_provider  # noqa: E402
import test_pam as tp  # noqa: E402
from fault_server import FaultServer, gzip_bomb, reply  # noqa: E402

check, Failure, Outcome = tp.check, tp.Failure, tp.Outcome

CT, RT, MW = 2, 3, 6            # connect_timeout, request_timeout, max_wait of the fault configs
MARGIN = 3.0                    # process start-up, TLS, a loaded CI machine
REQUEST_BOUND = CT + RT + MARGIN  # a fault at the first request
WAIT_BOUND = MW + RT + MARGIN     # the bound: max_wait + one request_timeout

PAM_HOST = os.environ.get("PAM_HOST", "")
PAM_HOST_CURL = os.environ.get("PAM_HOST_CURL", "")

_lib = ctypes.CDLL("libpam.so.0")
_lib.pam_strerror.restype = ctypes.c_char_p
_lib.pam_strerror.argtypes = [ctypes.c_void_p, ctypes.c_int]
PAM_IGNORE_TEXT = _lib.pam_strerror(None, 25).decode()
PAM_TEXT = dict(tp.PAM_TEXT)
PAM_TEXT[PAM_IGNORE_TEXT] = "PAM_IGNORE"

# Users with shell, JSON and control characters; the passwd file is test_pam's plus these.
# (no ':' in them: it separates passwd fields).
INJECTION_USERS = ["$(id)", "a;b|c&d", "`id`", 'x","sub","root', '{"a",1}', "back\\u0022slash",
                   "<script>", "%u%c%%"]
LONG_OK = "l" * 256              # the longest name the module takes
LONG_BAD = "m" * 257
CONTROL_USERS = ["esc\x1bname", "tab\tname", "del\x7fname", "c1\u009bname", "nel\u0085name"]
for _i, _u in enumerate(INJECTION_USERS + [LONG_OK, LONG_BAD] + CONTROL_USERS):
    tp.USERS[_u] = 3000 + _i

# Every token value a provider hands out, so the final check can search the logs for it.
SENSITIVE = set()
_orig_poll = ciba_provider.Provider._poll


def _recording_poll(self, req, now):
    status, answer = _orig_poll(self, req, now)
    SENSITIVE.add(req.id)
    for k in ("access_token", "id_token"):
        if isinstance(answer, dict) and isinstance(answer.get(k), str):
            SENSITIVE.add(answer[k])
            req.issued_tokens = getattr(req, "issued_tokens", {})
            req.issued_tokens[k] = answer[k]
    return status, answer


ciba_provider.Provider._poll = _recording_poll

DECISION_RE = re.compile(r"SYSLOG\(\d\): decision user=(.*) service=\S* rhost=\S* outcome=(\S+) "
                         r"pam=(.*) reason=\"(.*)\" duration=([0-9.]+)s$")


class FaultEnv(tp.Env):
    def __init__(self):
        super().__init__()
        self.fault = FaultServer(str(self.ca / "server.pem"), str(self.ca / "server.key")).start()
        self.outputs = []          # (case, text) of every login, for the secret search
        self.false_accepts = 0
        self.logins = 0

    def close(self):
        self.fault.stop()
        super().close()


class FCase(tp.Case):
    def __init__(self, env, name):
        super().__init__(env, name)
        self.name = name
        self.f = env.fault
        self.f.set()
        self.prefix = []

    def settings(self, **over):
        base = {"connect_timeout": CT, "request_timeout": RT, "max_wait": MW}
        base.update(over)
        return super().settings(**base)

    def fault_conf(self, **over):
        # Endpoints on the fault server (so no discovery); keys from the real provider,
        # since they are loaded before bc-authorize is sent.
        base = self.f.base_url
        over.setdefault("issuer", base)
        over.setdefault("backchannel_authentication_endpoint", base + "bc-authorize")
        over.setdefault("token_endpoint", base + "oauth/token")
        over.setdefault("jwks_uri", self.p.issuer + ".well-known/jwks.json")
        return over

    def login(self, user="alice", timeout=60, conf=True, stdin=b"", **over):
        saved = tp.WRAPPER
        tp.WRAPPER = self.prefix + saved
        try:
            o = super().login(user=user, timeout=timeout, conf=conf, stdin=stdin, **over)
        finally:
            tp.WRAPPER = saved
        self.env.logins += 1
        self.env.outputs.append((self.name, o.stdout + o.stderr))
        return o

    def host(self, args, user="alice", binary=None, timeout=120):
        """Run the pam_host test application under pam_wrapper/nss_wrapper."""
        binary = binary or PAM_HOST
        start = time.monotonic()
        try:
            cmd, env = tp.isolated(tp.WRAPPER + [binary] + args + [self.service, user], self.env_vars())
            r = subprocess.run(cmd, capture_output=True, env=env, timeout=timeout)
            rc, out, err = r.returncode, r.stdout, r.stderr
        except subprocess.TimeoutExpired as exc:
            rc, out, err = None, exc.stdout or b"", exc.stderr or b""
        o = Outcome(rc, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                    time.monotonic() - start)
        m = re.findall(r"^result: (\S+)$", o.stdout, re.M)
        o.code = m[-1] if len(m) == 1 else ("TIMEOUT" if rc is None else "rc=%s results=%r" % (rc, m))
        self.last = o
        self.env.logins += 1
        self.env.outputs.append((self.name, o.stdout + o.stderr))
        return o

    # ---- the assertions every case makes --------------------------------------

    def decision(self, o):
        lines = [m for m in (DECISION_RE.search(l) for l in o.stderr.splitlines()) if m]
        check(len(lines) == 1, "expected one decision syslog line, got %d: %r" % (len(lines), o.stderr[-600:]))
        m = lines[0]
        check(m.group(4).strip(), "decision line without a reason")
        return {"user": m.group(1), "outcome": m.group(2), "pam": PAM_TEXT.get(m.group(3), m.group(3)),
                "reason": m.group(4)}

    def outcome(self, o, code, bound, module_code=None):
        """code: what the stack returned; module_code: what pam_ciba returned (default: the same)."""
        issued = any(r.redeemed for r in self.p.auth_requests.values())
        if o.code == "PAM_SUCCESS" and (code != "PAM_SUCCESS" or not issued):
            self.env.false_accepts += 1
        check(o.code == code, "expected %s, got %s" % (code, o.describe()))
        check(code != "PAM_SUCCESS" or issued, "success, but the provider never issued a token")
        check(o.elapsed <= bound, "took %.1fs, bound %.1fs" % (o.elapsed, bound))
        d = self.decision(o)
        check(d["pam"] == (module_code or code), "decision line says pam=%s, want %s" % (d["pam"], module_code or code))
        return d


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def rid():
    r = "FAULT-" + secrets.token_urlsafe(18)
    SENSITIVE.add(r)
    return r


def accept(**over):
    body = {"auth_req_id": rid(), "expires_in": 60, "interval": 1}
    body.update(over)
    return reply(200, {k: v for k, v in body.items() if v is not None})


PENDING = reply(400, {"error": "authorization_pending"})
DENIED = reply(400, {"error": "access_denied"})


def fault_case(name, code, bound, module_code=None, check_fn=None, conf=None, **behaviour):
    def run(c):
        c.f.set(**behaviour)
        o = c.login(**c.fault_conf(**(conf or {})))
        c.outcome(o, code, bound, module_code)
        if check_fn:
            check_fn(c, o)
    run.__name__ = name
    TESTS.append(run)


def no_token_request(c, o):
    check("/oauth/token" not in c.f.paths(), "polled after a refused bc-authorize: %r" % c.f.paths())


def polled(n_min):
    def fn(c, o):
        n = c.f.paths().count("/oauth/token")
        check(n >= n_min, "expected at least %d polls, saw %d" % (n_min, n))
    return fn


def one_poll(c, o):
    n = c.f.paths().count("/oauth/token")
    check(n == 1, "expected exactly one poll, saw %d" % n)


def provider_untouched(c, o):
    posts = [r["path"] for r in c.p.requests if r["method"] == "POST"]  # its JWKS is used, see fault_conf
    check(not posts, "the redirect was followed: provider saw %r" % posts)


# ---------------------------------------------------------------- network

@test
def dns_name_does_not_resolve(c):
    # A ".invalid" name (RFC 6761) in a fresh network namespace that has only a loopback
    # interface, so the resolver's query cannot leave the machine.
    if subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode != 0:
        raise Failure("unshare -n is not available here (needs root and CAP_SYS_ADMIN)")
    c.prefix = ["unshare", "-n"]
    o = c.login(issuer="https://pam-ciba-fault.invalid/")
    c.outcome(o, "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND)
    d = c.decision(o)
    check("resolve" in d["reason"].lower(), "reason %r" % d["reason"])


fault_case("accepts_and_never_answers", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, transport="silent")
fault_case("closes_on_accept", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, transport="close")
fault_case("tls_then_silence", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, transport="tls_silent")
fault_case("one_byte_per_second", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND,
           bc=dict(accept(), delivery="trickle"))
fault_case("reset_mid_body", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND,
           bc=dict(accept(padding="p" * 2000), delivery="reset"))
fault_case("plain_http_on_https_port", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, transport="plain",
           check_fn=lambda c, o: check(c.f.paths() in ([], ["(plain)"]), "paths %r" % c.f.paths()))
fault_case("token_endpoint_trickles", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=polled(1),
           bc=accept(), token=[dict(PENDING, delivery="trickle")])
fault_case("token_endpoint_hangs", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=polled(1),
           bc=accept(), token=[dict(PENDING, delivery="hang")])
fault_case("token_endpoint_resets", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=polled(2),
           bc=accept(), token=[dict(reply(400, {"error": "authorization_pending", "pad": "x" * 500}),
                                    delivery="reset")])


@test
def http_issuer_is_a_config_error(c):
    o = c.login(issuer="http://127.0.0.1:%d/" % c.f.port)
    c.outcome(o, "PAM_SERVICE_ERR", MARGIN)
    check(c.f.connections == 0, "the module connected to a plain-http issuer")


# ---------------------------------------------------------------- HTTP

fault_case("bc_authorize_502", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(502, "<html>bad gateway</html>", ctype="text/html"))
fault_case("bc_authorize_503", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(503, {"error": "temporarily_unavailable"}, headers=[("Retry-After", "30")]))
# A 429 on bc-authorize is the provider's per-user limit (issue 12 item 3): the attempt ends
# at once with PAM_MAXTRIES and the wait, never a retry, whatever the Retry-After holds.
fault_case("bc_authorize_429_retry_after", "PAM_MAXTRIES", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(429, {"error": "too_many_requests"}, headers=[("Retry-After", "3600")]))
def one_bc_no_poll(c, o):
    no_token_request(c, o)
    check(c.f.paths().count("/bc-authorize") == 1, "bc-authorize sent %d times" % c.f.paths().count("/bc-authorize"))
    check("the provider limits requests for this user: try again " in o.stdout, "no wait message: %r" % o.stdout)


for _name, _value in (("garbage", "soon"), ("negative", "-5"), ("huge", "9" * 40), ("empty", ""),
                      ("bad_date", "Sun, 06 Nov 1994 08:49:37 CET"), ("past_date", "Sun, 06 Nov 1994 08:49:37 GMT"),
                      ("long", "1" * 5000)):
    fault_case("bc_authorize_429_retry_after_" + _name, "PAM_MAXTRIES", REQUEST_BOUND,
               check_fn=one_bc_no_poll, bc=reply(429, {"error": "too_many_requests"}, headers=[("Retry-After", _value)]))
# On the token endpoint a Retry-After no poll can wait out within max_wait ends the attempt
# at once; garbage is ignored (the interval + 5 s rule still applies).
fault_case("token_429_huge_retry_after", "PAM_MAXTRIES", REQUEST_BOUND, check_fn=one_poll,
           bc=accept(), token=[reply(429, {"error": "slow_down"}, headers=[("Retry-After", "9" * 40)])])
fault_case("token_slow_down_huge_interval", "PAM_MAXTRIES", REQUEST_BOUND, check_fn=one_poll,
           bc=accept(), token=[reply(400, {"error": "slow_down", "interval": 10 ** 30})])
fault_case("token_too_many_requests_final", "PAM_MAXTRIES", REQUEST_BOUND, check_fn=one_poll,
           bc=accept(), token=[reply(400, {"error": "too_many_requests"}, headers=[("Retry-After", "5")])])
fault_case("token_429_garbage_retry_after", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=polled(1),
           bc=accept(), token=[reply(429, {"error": "slow_down"}, headers=[("Retry-After", "x" * 100)]),
                               PENDING])
fault_case("bc_authorize_wrong_content_type", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=dict(accept(), ctype="text/html"))
fault_case("bc_authorize_no_content_type", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=dict(accept(), ctype=None))
fault_case("bc_authorize_empty_body", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(200, b""))
fault_case("bc_authorize_body_over_cap", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=accept(padding="p" * 100000))
fault_case("bc_authorize_endless_body", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=dict(accept(), delivery="endless"))
fault_case("bc_authorize_header_flood", "PAM_AUTHINFO_UNAVAIL", REQUEST_BOUND, check_fn=no_token_request,
           bc=dict(accept(), delivery="header_flood"))


def no_accept_encoding(c, o):
    no_token_request(c, o)
    bc = [r for r in c.f.requests if r["path"] == "/bc-authorize"]
    check(bc and "accept-encoding" not in bc[0]["headers"], "the module asked for compression")


fault_case("bc_authorize_gzip_bomb", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_accept_encoding,
           bc=reply(200, gzip_bomb(), headers=[("Content-Encoding", "gzip")]))
fault_case("token_500_forever", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=polled(2),
           bc=accept(), token=[reply(500, {"error": "server_error"})])
fault_case("token_204_no_content", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=one_poll,
           bc=accept(), token=[reply(204, b"", ctype=None)])


def redirect_case(name, status, where):
    def run(c):
        target = c.p.issuer + ("bc-authorize" if where == "bc" else "oauth/token")
        r = reply(status, b"", ctype=None, headers=[("Location", target)])
        if where == "bc":
            c.f.set(bc=r)
        else:
            c.f.set(bc=accept(), token=[r])
        o = c.login(**c.fault_conf())
        c.outcome(o, "PAM_AUTH_ERR", REQUEST_BOUND + 1)
        provider_untouched(c, o)
    run.__name__ = name
    TESTS.append(run)


redirect_case("bc_authorize_302_not_followed", 302, "bc")
redirect_case("bc_authorize_307_not_followed", 307, "bc")
redirect_case("token_302_not_followed", 302, "token")


@test
def token_500_once_is_retried(c):
    c.p.scenario.update(token_error_once=500)
    o = c.login()
    c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
    req = c.only_auth_request()
    check(req.answers[0] == "server_error" and req.answers[-1] == "ok", "answers %r" % req.answers)
    gap = req.polls[1] - req.polls[0]
    check(gap >= 1 - ciba_provider.POLL_TOLERANCE, "retried after %.2fs, before the interval" % gap)
    c.no_violations()


@test
def token_429_honours_retry_after(c):
    c.p.scenario.update(token_error_once=429, retry_after=7)
    o = c.login(max_wait=20)
    c.outcome(o, "PAM_SUCCESS", 20 + RT + MARGIN)
    req = c.only_auth_request()
    check(req.answers[-1] == "ok", "answers %r" % req.answers)
    gap = req.polls[1] - req.polls[0]
    check(gap >= 7 - ciba_provider.POLL_TOLERANCE, "polled %.2fs after a 429 with Retry-After: 7" % gap)
    c.no_violations()


# ---------------------------------------------------------------- JSON

def bad_bc(name, body, ctype="application/json"):
    fault_case("bc_json_" + name, "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
               bc=reply(200, body, ctype=ctype))


bad_bc("malformed", b'{"auth_req_id": "x", "expires_in": 60')
bad_bc("top_level_array", b'[{"auth_req_id": "x", "expires_in": 60}]')
bad_bc("trailing_garbage", b'{"auth_req_id": "x", "expires_in": 60} {"more": 1}')
bad_bc("deep_nesting", b'{"a":' + b"[" * 5000 + b"]" * 5000 + b', "auth_req_id": "x", "expires_in": 60}')
bad_bc("nul_byte", b'{"auth_req_id": "x\x00y", "expires_in": 60}')
bad_bc("escaped_nul", b'{"auth_req_id": "x\\u0000y", "expires_in": 60}')
bad_bc("invalid_utf8", b'{"auth_req_id": "x\xff\xfe", "expires_in": 60}')
bad_bc("interval_string", {"auth_req_id": "x", "expires_in": 60, "interval": "5"})
bad_bc("expires_in_negative", {"auth_req_id": "x", "expires_in": -1})
bad_bc("expires_in_zero", {"auth_req_id": "x", "expires_in": 0})
bad_bc("expires_in_string", {"auth_req_id": "x", "expires_in": "60"})
bad_bc("expires_in_float", {"auth_req_id": "x", "expires_in": 60.5})
bad_bc("missing_auth_req_id", {"expires_in": 60, "interval": 1})
bad_bc("auth_req_id_number", {"auth_req_id": 12345, "expires_in": 60})
bad_bc("auth_req_id_null", {"auth_req_id": None, "expires_in": 60})
bad_bc("auth_req_id_10k", {"auth_req_id": "r" * 10240, "expires_in": 60})
bad_bc("auth_req_id_100k", {"auth_req_id": "r" * 102400, "expires_in": 60})
bad_bc("auth_req_id_control_chars", {"auth_req_id": "a\r\nX-Injected: 1", "expires_in": 60})
bad_bc("error_with_http_200", {"error": "access_denied", "auth_req_id": "x", "expires_in": 60})
fault_case("bc_unknown_error_code", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(400, {"error": "totally_new_error\u001b[31m", "error_description": "x" * 3000}))
fault_case("bc_unknown_error_type", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=reply(400, {"error": {"code": "nested"}}))


@test
def bc_interval_zero_never_polls_flat_out(c):
    c.f.set(bc=accept(interval=0), token=[DENIED])
    o = c.login(**c.fault_conf())
    c.outcome(o, "PAM_AUTH_ERR", WAIT_BOUND)
    reqs = c.f.requests
    check([r["path"] for r in reqs] == ["/bc-authorize", "/oauth/token"], "paths %r" % [r["path"] for r in reqs])
    gap = reqs[1]["time"] - reqs[0]["time"]
    check(gap >= 5 - 0.05, "first poll %.2fs after bc-authorize with interval 0 (default 5 s)" % gap)


@test
def bc_interval_huge(c):
    c.f.set(bc=accept(interval=100000), token=[DENIED])
    o = c.login(**c.fault_conf(max_wait=5))
    c.outcome(o, "PAM_AUTH_ERR", 5 + RT + MARGIN)
    check(c.f.paths() == ["/bc-authorize"], "paths %r" % c.f.paths())
    check(o.elapsed >= 4.5, "gave up after %.1fs, before max_wait" % o.elapsed)


fault_case("bc_expires_in_huge", "PAM_AUTH_ERR", WAIT_BOUND, check_fn=one_poll,
           bc=accept(expires_in=10 ** 15), token=[DENIED])
fault_case("bc_expires_before_first_poll", "PAM_AUTH_ERR", REQUEST_BOUND, check_fn=no_token_request,
           bc=accept(expires_in=1, interval=5))


def bad_token(name, r, check_fn=one_poll):
    fault_case("token_" + name, "PAM_AUTH_ERR", WAIT_BOUND, check_fn=check_fn, bc=accept(), token=[r])


bad_token("unknown_error_code", reply(400, {"error": "brand_new_error"}))
bad_token("error_with_http_200", reply(200, {"error": "authorization_pending"}))
bad_token("without_id_token", reply(200, {"access_token": "at-" + rid(), "token_type": "Bearer"}))
bad_token("id_token_not_string", reply(200, {"access_token": "at", "id_token": {"alg": "none"}}))
bad_token("id_token_empty", reply(200, {"access_token": "at", "id_token": ""}))
bad_token("id_token_oversize", reply(200, {"id_token": "e30." + "A" * 50000 + ".sig"}))
bad_token("id_token_garbage", reply(200, {"id_token": "..."}))
bad_token("not_json", reply(200, b"<html>ok</html>", ctype="text/html"))
bad_token("malformed_json", reply(400, b'{"error": "authorization_pending"'))
bad_token("slow_down_forever", reply(400, {"error": "slow_down"}), check_fn=polled(1))


@test
def token_id_token_sub_with_embedded_nul(c):
    # Claims that are right for alice except that sub is "alice\u0000root": a C string
    # comparison would stop at the NUL (found by this matrix; fixed in idtoken.c).
    now = int(time.time())
    # Signed with the provider's real key, so only the claim check can refuse it.
    claims = {"iss": c.f.base_url, "aud": tp.CLIENT_ID, "sub": "alice\u0000root", "iat": now, "exp": now + 300}
    signing_input = ciba_provider.json_b64url({"alg": "RS256", "typ": "JWT", "kid": c.p.key.kid}) + "." + \
        ciba_provider.json_b64url(claims)
    token = signing_input + "." + ciba_provider.b64url(c.p.key.sign_rs256(signing_input.encode("ascii")))
    c.f.set(bc=accept(), token=[reply(200, {"access_token": "at", "token_type": "Bearer", "id_token": token})])
    o = c.login(**c.fault_conf())
    d = c.outcome(o, "PAM_AUTH_ERR", WAIT_BOUND)
    check("sub" in d["reason"], "reason %r" % d["reason"])


# ---------------------------------------------------------------- failmode

def safe_conf(c, **over):
    over.setdefault("failmode", "safe")
    c.write_conf(**over)
    # PAM_IGNORE leaves the decision to the next module: pam_deny here, so no test can
    # pass by accident; what pam_ciba itself returned is read from its decision line.
    line = "auth [ignore=ignore default=die] %s conf=%s debug\n" % (tp.PAM_SO, c.conf_path)
    (c.svcdir / c.service).write_text(line + "auth required %s\n" % tp.PAM_DENY)
    (c.svcdir / "other").write_text("auth required %s\n" % tp.PAM_DENY)


@test
def failmode_safe_provider_down(c):
    port = tp.closed_port()
    safe_conf(c, issuer="https://127.0.0.1:%d/" % port)
    o = c.login(conf=False)
    d = c.outcome(o, "PAM_AUTH_ERR", REQUEST_BOUND, module_code="PAM_IGNORE")
    check("failmode=safe" in d["reason"], "reason %r" % d["reason"])


@test
def failmode_safe_bc_503(c):
    c.f.set(bc=reply(503, {"error": "temporarily_unavailable"}))
    safe_conf(c, **c.fault_conf())
    o = c.login(conf=False)
    c.outcome(o, "PAM_AUTH_ERR", REQUEST_BOUND, module_code="PAM_IGNORE")


@test
def failmode_safe_does_not_soften_429(c):
    c.f.set(bc=reply(429, {"error": "too_many_requests"}))
    safe_conf(c, **c.fault_conf())
    o = c.login(conf=False)
    c.outcome(o, "PAM_MAXTRIES", REQUEST_BOUND)


@test
def failmode_safe_does_not_soften_unreachable_after_accept(c):
    c.f.set(bc=accept(), token=[dict(PENDING, delivery="hang")])
    safe_conf(c, **c.fault_conf())
    o = c.login(conf=False)
    c.outcome(o, "PAM_AUTH_ERR", WAIT_BOUND)


def safe_refusal(name, module_code, **scenario_or_conf):
    def run(c):
        conf = scenario_or_conf.pop("conf", {}) if "conf" in scenario_or_conf else {}
        c.p.scenario.update(scenario_or_conf)
        safe_conf(c, **conf)
        o = c.login(conf=False)
        c.outcome(o, "PAM_AUTH_ERR" if module_code != "PAM_SERVICE_ERR" else "PAM_SERVICE_ERR",
                  WAIT_BOUND, module_code=module_code)
    run.__name__ = "failmode_safe_" + name
    TESTS.append(run)


safe_refusal("denied", "PAM_AUTH_ERR", phone="deny")
safe_refusal("expired", "PAM_AUTH_ERR", phone="none", expires_in=2)
safe_refusal("invalid_token", "PAM_AUTH_ERR", id_token="wrong_sub")


@test
def failmode_safe_config_permissions(c):
    safe_conf(c)
    os.chmod(c.conf_path, 0o644)
    o = c.login(conf=False)
    c.outcome(o, "PAM_SERVICE_ERR", MARGIN)
    c.no_traffic()


@test
def failmode_safe_config_syntax(c):
    c.write_conf(text=c.render(c.settings(failmode="safe")) + "client_id = \n")
    line = "auth [ignore=ignore default=die] %s conf=%s debug\n" % (tp.PAM_SO, c.conf_path)
    (c.svcdir / c.service).write_text(line + "auth required %s\n" % tp.PAM_DENY)
    (c.svcdir / "other").write_text("auth required %s\n" % tp.PAM_DENY)
    o = c.login(conf=False)
    c.outcome(o, "PAM_SERVICE_ERR", MARGIN)
    c.no_traffic()


# ---------------------------------------------------------------- input

@test
def user_names_with_shell_and_json_characters(c):
    for user in INJECTION_USERS + [LONG_OK]:
        c.p.reset()
        o = c.login(user=user)
        c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
        sub = json.loads(c.bc_requests()[0]["form"]["login_hint"]).get("sub")
        check(sub == user, "user %r arrived as sub %r" % (user, sub))
        bm = c.bc_requests()[0]["form"]["binding_message"]
        check(ciba_provider.BINDING_MESSAGE_RE.fullmatch(bm), "binding message %r" % bm)


@test
def user_names_with_control_characters(c):
    for user in CONTROL_USERS:
        c.p.reset()
        o = c.login(user=user)
        c.outcome(o, "PAM_USER_UNKNOWN", MARGIN)
        c.no_traffic()
        d = c.decision(o)
        check(not re.search(r"[\x00-\x1f\x7f]", d["user"]), "raw control character logged: %r" % d["user"])


@test
def user_names_too_long_or_unknown(c):
    for user in [LONG_BAD, "n" * 100000, 'root","sub":"alice', "nosuchuser$(id)"]:
        c.p.reset()
        o = c.login(user=user)
        c.outcome(o, "PAM_USER_UNKNOWN", MARGIN)
        c.no_traffic()


def host_case(name, conv, code, prompt="none", tokens_expected=None):
    def run(c):
        if not PAM_HOST:
            raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
        c.write_conf(prompt=prompt)
        c.write_service()
        o = c.host(["--conv", conv])
        c.outcome(o, code, WAIT_BOUND)
        if tokens_expected is not None:
            check(bool(c.token_requests()) == tokens_expected, "token requests: %d" % len(c.token_requests()))
    run.__name__ = name
    TESTS.append(run)


host_case("conversation_fails", "fail", "PAM_CONV_ERR", tokens_expected=False)
host_case("conversation_fails_prompt_enter", "fail", "PAM_CONV_ERR", prompt="enter", tokens_expected=False)
host_case("conversation_returns_null_prompt_enter", "null", "PAM_CONV_ERR", prompt="enter",
          tokens_expected=False)
# Nothing to show the message to is not an error: the phone's approval is a valid one.
host_case("conversation_returns_null_info", "null", "PAM_SUCCESS", tokens_expected=True)
host_case("no_conversation_function", "none", "PAM_SUCCESS", tokens_expected=True)


# ---------------------------------------------------------------- only the network is an outage

@test
def failmode_safe_descriptor_limit_is_local(c):
    # A caller's RLIMIT_NOFILE (prlimit --nofile=6 su ...) makes every socket fail with
    # EMFILE; against a closed port that would look like "provider down" (PAM_IGNORE under
    # failmode = "safe", see failmode_safe_provider_down). It is a local failure.
    if not PAM_HOST:
        raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
    safe_conf(c, issuer="https://127.0.0.1:%d/" % tp.closed_port())
    for spare in (2, 6):
        o = c.host(["--spare-fds", str(spare)])
        d = c.outcome(o, "PAM_SYSTEM_ERR", REQUEST_BOUND)
        check("local resource limit" in d["reason"], "reason %r" % d["reason"])
        check("failmode=safe" not in d["reason"], "softened: %r" % d["reason"])


@test
def failmode_safe_prlimit_nofile(c):
    # The reproduction: the caller runs the PAM application under a tiny
    # descriptor limit. pamtester (under pam_wrapper) gets as far as the module, which
    # must say "local", not soften it as an outage; with room to spare (64) the closed
    # port is the outage it is.
    safe_conf(c, issuer="https://127.0.0.1:%d/" % tp.closed_port())
    for n in (6, 8, 12, 64):
        c.prefix = ["prlimit", "--nofile=%d:%d" % (n, n)]
        o = c.login(conf=False)
        if n < 64:
            d = c.outcome(o, "PAM_SYSTEM_ERR", REQUEST_BOUND)
            check("local resource limit" in d["reason"], "nofile %d: reason %r" % (n, d["reason"]))
        else:
            d = c.outcome(o, "PAM_AUTH_ERR", REQUEST_BOUND, module_code="PAM_IGNORE")
            check("failmode=safe" in d["reason"], "nofile %d: reason %r" % (n, d["reason"]))


@test
def failmode_safe_untrusted_certificate_not_softened(c):
    # The fault server's certificate is signed by the test CA; with the CA of another
    # provider as the only trust anchor it is a certificate nobody vouches for.
    other = c.env.other_provider("untrusted")
    safe_conf(c, issuer=other.issuer)
    o = c.login(conf=False)
    d = c.outcome(o, "PAM_AUTH_ERR", REQUEST_BOUND)
    check("trust" in d["reason"].lower(), "reason %r" % d["reason"])
    check(not other.requests, "HTTP sent over an untrusted connection")


# ---------------------------------------------------------------- one deadline
# max_wait + one request_timeout from pam_sm_authenticate to its return, whichever step
# hangs: discovery, JWKS, bc-authorize, polling, the JWKS refetch for an unknown kid.

DL_CT, DL_RT, DL_MW = 2, 3, 5
DL_MODULE_BOUND = DL_MW + DL_RT + 0.5   # the module's own duration (decision line): timer slack
DL_WALL_BOUND = DL_MW + DL_RT + 1.5     # plus process start under pam_wrapper
UNKNOWN_KID = "rotated-away-kid"


def dl_conf(c, **over):
    base = c.f.base_url
    conf = {"issuer": base, "discovery": True, "backchannel_authentication_endpoint": None,
            "token_endpoint": None, "jwks_uri": None, "cache_ttl": 0,
            "connect_timeout": DL_CT, "request_timeout": DL_RT, "max_wait": DL_MW}
    conf.update(over)
    return conf


def dl_discovery(c):
    base = c.f.base_url
    return reply(200, {"issuer": base, "backchannel_authentication_endpoint": base + "bc-authorize",
                       "token_endpoint": base + "oauth/token", "jwks_uri": base + "jwks.json",
                       "backchannel_token_delivery_modes_supported": ["poll"]})


def dl_token(c, kid=None, **claims_over):
    """A token response for alice from the fault server's issuer, signed with the real key."""
    now = int(time.time())
    claims = {"iss": c.f.base_url, "aud": tp.CLIENT_ID, "sub": "alice", "iat": now, "exp": now + 300}
    claims.update(claims_over)
    header = {"alg": "RS256", "typ": "JWT", "kid": kid or c.p.key.kid}
    signing_input = ciba_provider.json_b64url(header) + "." + ciba_provider.json_b64url(claims)
    token = signing_input + "." + ciba_provider.b64url(c.p.key.sign_rs256(signing_input.encode("ascii")))
    SENSITIVE.add(token)
    return reply(200, {"access_token": "at-" + rid(), "token_type": "Bearer", "id_token": token})


def deadline_case(name, code, paths_want, behaviour, exact=True):
    """behaviour(c) -> fault server settings; paths_want: the requests the server must see."""
    def run(c):
        c.f.set(**behaviour(c))
        o = c.login(**dl_conf(c))
        d = c.outcome(o, code, DL_WALL_BOUND)
        m = re.search(r"duration=([0-9.]+)s", [l for l in o.stderr.splitlines() if "decision" in l][0])
        took = float(m.group(1))
        DEADLINE_TIMES[name] = (took, o.elapsed)
        check(took <= DL_MODULE_BOUND, "the module took %.2fs, bound %.1fs" % (took, DL_MODULE_BOUND))
        paths = c.f.paths()
        check(paths == paths_want if exact else paths[:len(paths_want)] == paths_want,
              "requests %r, want %r%s" % (paths, paths_want, "" if exact else " first"))
        return d
    run.__name__ = "deadline_" + name
    TESTS.append(run)


DEADLINE_TIMES = {}
HANG = reply(200, {}, delivery="hang")
DISC = "/.well-known/openid-configuration"
JWKS = "/jwks.json"
deadline_case("discovery_hangs", "PAM_AUTHINFO_UNAVAIL", [DISC],
              lambda c: dict(discovery=HANG))
deadline_case("jwks_hangs", "PAM_AUTHINFO_UNAVAIL", [DISC, JWKS],
              lambda c: dict(discovery=dl_discovery(c), jwks=[HANG]))
deadline_case("bc_authorize_hangs", "PAM_AUTHINFO_UNAVAIL", [DISC, JWKS, "/bc-authorize"],
              lambda c: dict(discovery=dl_discovery(c), jwks=[reply(200, c.p.jwks())], bc=HANG))
# interval 4: the first poll starts just before max_wait and hangs past it.
deadline_case("token_hangs", "PAM_AUTH_ERR", [DISC, JWKS, "/bc-authorize", "/oauth/token"],
              lambda c: dict(discovery=dl_discovery(c), jwks=[reply(200, c.p.jwks())], bc=accept(interval=4),
                             token=[dict(PENDING, delivery="hang")]), exact=False)
# The token (unknown kid) arrives at about 3.6 s: the refetch it causes hangs.
deadline_case("jwks_refetch_hangs", "PAM_AUTH_ERR", [DISC, JWKS, "/bc-authorize"] + ["/oauth/token"] * 3 + [JWKS],
              lambda c: dict(discovery=dl_discovery(c), jwks=[reply(200, c.p.jwks()), HANG], bc=accept(),
                             token=[PENDING] * 2 + [dict(dl_token(c, kid=UNKNOWN_KID), delivery="delay",
                                                         delay=0.5)]))
# The token arrives after max_wait (third poll at about 3.1 s, answered 2.8 s later): no
# refetch may start then.
deadline_case("no_refetch_after_max_wait", "PAM_AUTH_ERR", [DISC, JWKS, "/bc-authorize"] + ["/oauth/token"] * 3,
              lambda c: dict(discovery=dl_discovery(c), jwks=[reply(200, c.p.jwks()), HANG], bc=accept(),
                             token=[PENDING] * 2 + [dict(dl_token(c, kid=UNKNOWN_KID), delivery="delay",
                                                         delay=2.8)]))
# Every step slow but each within request_timeout: the sum is what the deadline bounds.
deadline_case("every_step_slow", "PAM_AUTH_ERR", [DISC, JWKS],
              lambda c: dict(discovery=dict(dl_discovery(c), delivery="delay", delay=2.8),
                             jwks=[dict(reply(200, c.p.jwks()), delivery="delay", delay=2.8)],
                             bc=dict(accept(), delivery="delay", delay=2.8),
                             token=[dict(PENDING, delivery="delay", delay=2.8)]))


@test
def deadline_unknown_kid_refetches_once(c):
    # The refetch cases above with a JWKS that answers: the refetch really happens (and
    # an unknown kid stays unknown, so the token is refused).
    c.f.set(discovery=dl_discovery(c), jwks=[reply(200, c.p.jwks())], bc=accept(),
            token=[dl_token(c, kid=UNKNOWN_KID)])
    o = c.login(**dl_conf(c))
    d = c.outcome(o, "PAM_AUTH_ERR", DL_WALL_BOUND)
    check(c.f.paths().count(JWKS) == 2, "JWKS fetched %d times, want 2" % c.f.paths().count(JWKS))
    check("kid" in d["reason"], "reason %r" % d["reason"])


# ---------------------------------------------------------------- text from login facts

HOSTILE = b"evil\x1b[2J\x1b]0;pwned\x07\xc2\x9b" + b"31m\x9b" + b"1m\x7f\xc0\xafhost"
CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffd]")


@test
def hostile_rhost_and_tty_never_reach_terminal_or_provider(c):
    if not PAM_HOST:
        raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
    c.write_conf(message="Approve %u from %r on %t\n%b", binding_message="%r %t #%c",
                 authorization_details='[{"type": "login", "from": "%r", "tty": "%t"}]')
    c.write_service()
    o = c.host(["--rhost", HOSTILE, "--tty", b"pts/\x1b[H\xc2\x85" + b"9"])
    c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
    conv = "\n".join(l for l in o.stdout.splitlines() if l.startswith("conv:"))
    check("evil" in conv, "the message was not shown: %r" % o.stdout[-300:])
    check(not CONTROL_RE.search(conv), "control characters on the terminal: %r" % conv)
    HOSTILE_SHOWN.append(conv)
    form = c.bc_requests()[0]["form"]
    for k in ("binding_message", "login_hint", "authorization_details"):
        check(not CONTROL_RE.search(form.get(k, "")), "control characters in %s: %r" % (k, form.get(k)))
    details = json.loads(form["authorization_details"])
    check(details[0]["from"].startswith("evil?"), "authorization_details %r" % details)
    check(not re.search(r"\\u00[0-9a-f]{2}", form["authorization_details"], re.I), "escaped controls sent")
    HOSTILE_SHOWN.append("binding_message=%r authorization_details=%s" % (form["binding_message"],
                                                                          form["authorization_details"]))


HOSTILE_SHOWN = []

# An Ed25519 key and what ssh-keygen -lf prints for it (tests/test_ssh_auth_info.c).
SSH_KEY_LINE = b"publickey ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDgvPmsUNd3a1spuy7P2gYJ266iTTGmolQcbysImo2hI\n"
SSH_KEY_FP = "SHA256:ysBf1IM1+AQbWfxqWAEL+t15bzc0kf/+9jgI0KxOlZQ"


@test
def ssh_auth_info_only_under_sshd(c):
    """SSH_AUTH_INFO_0 in the PAM environment shows its key (%k, %K, %T) only when PAM_TTY
    says sshd ("ssh"), whatever the service name; under another terminal (su, sudo) the
    same variable is ignored; a line the parser does not understand shows no key. Only
    the display changes: each login is approved as usual."""
    if not PAM_HOST:
        raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
    c.write_conf(binding_message="%u %k #%c",
                 authorization_details='[{"type": "login", "key": "%K", "key_type": "%T"}]')
    c.write_service()
    cases = [
        (b"ssh", SSH_KEY_LINE, "alice SHA256:ysBf1IM1 #", (SSH_KEY_FP, "ED25519")),
        (b"/dev/pts/3", SSH_KEY_LINE, "alice #", ("", "")),
        (b"ssh", SSH_KEY_LINE.replace(b"ssh-ed25519 ", b"ssh-rsa "), "alice #", ("", "")),
        (b"ssh", b"keyboard-interactive/pam\n", "alice #", ("", "")),
    ]
    for tty, info, want, (key, ktype) in cases:
        c.p.reset()
        o = c.host(["--tty", tty, "--pam-env", b"SSH_AUTH_INFO_0=" + info])
        c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
        form = c.bc_requests()[0]["form"]
        check(form["binding_message"].startswith(want) and len(form["binding_message"]) == len(want) + 4,
              "tty %r, %r: binding message %r, want %r..." % (tty, info[:30], form["binding_message"], want))
        details = json.loads(form["authorization_details"])
        check(details[0]["key"] == key and details[0]["key_type"] == ktype,
              "tty %r: authorization_details %r" % (tty, details))


@test
def id_token_issued_before_the_request(c):
    c.p.scenario.update(id_token="old_iat")
    o = c.login()
    d = c.outcome(o, "PAM_AUTH_ERR", WAIT_BOUND)
    check("before the request" in d["reason"], "reason %r" % d["reason"])


# ---------------------------------------------------------------- host safety and secrets

@test
def host_safety_multithreaded_curl_host(c):
    if not PAM_HOST_CURL:
        raise Failure("PAM_HOST_CURL is not set (tests/suites/30-faults.sh builds it)")
    secret_file = c.dir / "secret-to-find"
    secret_file.write_text(tp.CLIENT_SECRET + "\n")
    # One user logging in from several threads at once: without max_requests = 0 the
    # one-pending-request rule (issue 12) would refuse all but one; this is about threads.
    c.write_conf(max_requests=0)
    c.write_service()
    url = c.p.issuer + ".well-known/openid-configuration"
    o = c.host(["--hostcheck", "--threads", "4", "--repeat", "8", "--secret-file", str(secret_file),
                "--curl-url", url, "--cafile", str(c.env.ca / "ca.pem")], binary=PAM_HOST_CURL)
    check(o.rc == 0, "host checks failed: %s" % o.describe())
    odd = [l for l in o.stderr.splitlines() if "decision" in l and "outcome=approved" not in l]
    check("counts: PAM_SUCCESS=8" in o.stdout, "not every login succeeded: %r %r"
          % (o.stdout[-400:], [l for l in o.stderr.splitlines() if "NWRAP" in l][:5] + odd))
    issued = sum(1 for r in c.p.auth_requests.values() if r.redeemed)
    check(issued == 8, "provider issued %d tokens for 8 logins" % issued)
    c.no_violations()


@test
def secret_not_in_argv_or_environment_of_a_live_login(c):
    c.p.scenario.update(phone="none")
    c.write_conf(max_wait=5)
    c.write_service()
    proc = c.spawn()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not c.p.auth_requests:
            time.sleep(0.05)
        check(c.p.auth_requests, "the login never reached the provider")
        pids = [proc.pid] + [int(p) for p in (Path("/proc/%d/task/%d/children" % (proc.pid, proc.pid))
                                              .read_text().split())]
        for pid in pids:
            for what in ("cmdline", "environ"):
                data = Path("/proc/%d/%s" % (pid, what)).read_bytes().decode("latin-1")
                check(tp.CLIENT_SECRET not in data, "the secret is in /proc/%d/%s" % (pid, what))
                for r in list(c.p.auth_requests):
                    check(r not in data, "auth_req_id in /proc/%d/%s" % (pid, what))
    finally:
        proc.kill()
        out, err = proc.communicate()
        c.env.outputs.append((c.name, (out + err).decode("utf-8", "replace")))


def basic_value(client_id, secret):
    """The Authorization header value client_secret_basic sends (RFC 6749 2.3.1)."""
    pair = urllib.parse.quote(client_id, safe="") + ":" + urllib.parse.quote(secret, safe="")
    return "Basic " + base64.b64encode(pair.encode()).decode()


def memory_scan_case(client_auth, secret_source):
    """After one login and pam_end, no secret, Authorization value, token or auth_req_id is
    anywhere in the host's writable memory (freed heap included)."""
    def run(c):
        if not PAM_HOST:
            raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
        over = {"client_auth": client_auth}
        if secret_source == "file":
            sf = c.dir / "client_secret"
            sf.write_text(tp.CLIENT_SECRET + "\n")
            os.chmod(sf, 0o600)
            over.update(client_secret=None, client_secret_file=str(sf))
        c.write_conf(**over)
        c.write_service()
        needles = c.dir / "needles"
        proc = subprocess.Popen(tp.WRAPPER + [PAM_HOST, "--scan-file", str(needles), c.service, "alice"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=c.env_vars())
        out = []
        try:
            # The host says when its login is over; only then are the issued values known.
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace")
                out.append(line)
                if line.startswith("scan-ready"):
                    break
            req = c.only_auth_request()
            tokens = getattr(req, "issued_tokens", {})
            check(set(tokens) == {"access_token", "id_token"}, "provider issued %r" % sorted(tokens))
            lines = ["client_secret " + tp.CLIENT_SECRET, "auth_req_id " + req.id,
                     "access_token " + tokens["access_token"], "id_token " + tokens["id_token"]]
            if client_auth == "client_secret_basic":
                lines.append("basic_authorization " + basic_value(tp.CLIENT_ID, tp.CLIENT_SECRET))
            needles.write_text("\n".join(lines) + "\n")
            rest, err = proc.communicate(b"\n", timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        stdout = "".join(out) + rest.decode("utf-8", "replace")
        c.env.logins += 1
        c.env.outputs.append((c.name, stdout + err.decode("utf-8", "replace")))
        counts = dict(re.findall(r"^scan: (\S+) (\d+)$", stdout, re.M))
        print("    memory scan %s/%s: %s" % (client_auth, secret_source, counts))
        check("result: PAM_SUCCESS" in stdout, "login failed: %r" % stdout[-600:])
        check(len(counts) == len(lines), "scan incomplete: %r" % stdout[-800:])
        check(proc.returncode == 0, "copies left in memory: %s" % " ".join(
            l for l in stdout.splitlines() if l.startswith("scan")))
    run.__name__ = "memory_clean_after_pam_end_%s_%s" % (client_auth, secret_source)
    TESTS.append(run)


memory_scan_case("client_secret_post", "file")
memory_scan_case("client_secret_basic", "file")
memory_scan_case("client_secret_post", "inline")


@test
def descriptors_close_on_exec_and_closed(c):
    if not PAM_HOST:
        raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
    c.write_conf()
    c.write_service()
    o = c.host(["--fdcheck", "--hostcheck"])
    c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
    check(o.rc == 0, "descriptor checks failed: %s" % o.describe())
    # The check must have seen the module's connection, or it proved nothing.
    check(re.search(r"^fd: \d+ \(socket:", o.stdout, re.M), "no socket seen during the conversation: %r"
          % o.stdout[-600:])


@test
def host_safety_multithreaded_module_inits_curl(c):
    # The host does not use libcurl, so the module initialises it, inside a threaded host;
    # the sampler thread checks SIGINT and dumpable while the logins wait.
    if not PAM_HOST:
        raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
    c.p.scenario.update(phone_delay=1)
    c.write_conf(max_requests=0)  # concurrent logins of one user: see above
    c.write_service()
    o = c.host(["--hostcheck", "--threads", "3", "--repeat", "3"])
    check(o.rc == 0, "host checks failed: %s" % o.describe())
    check("counts: PAM_SUCCESS=3" in o.stdout, "not every login succeeded: %r" % o.stdout[-400:])


def sslkeylogfile_case(threads):
    def run(c):
        if not PAM_HOST:
            raise Failure("PAM_HOST is not set (tests/suites/30-faults.sh builds it)")
        keylog = c.dir / "keys" / "sslkeylog.txt"
        keylog.parent.mkdir()
        c.write_conf(max_requests=0)  # concurrent logins of one user: see above
        c.write_service()
        saved = c.env_vars
        c.env_vars = lambda: dict(saved(), SSLKEYLOGFILE=str(keylog))
        try:
            args = ["--hostcheck"] + (["--threads", "2", "--repeat", "2"] if threads else [])
            o = c.host(args)
        finally:
            c.env_vars = saved
        check(not keylog.exists(), "SSLKEYLOGFILE was created: %s" % keylog)
        check(o.rc == 0, "host checks failed: %s" % o.describe())
        if threads:
            # Another thread may read environ: the module refuses rather than let libcurl
            # see the variable, and says why.
            check("counts: PAM_SYSTEM_ERR=2" in o.stdout, "want a clean refusal: %r" % o.stdout[-400:])
            check("SSLKEYLOGFILE" in o.stderr, "reason does not name the variable: %r" % o.stderr[-600:])
            check(not c.p.requests, "the provider was contacted: %r" % c.p.requests[:2])
        else:
            c.outcome(o, "PAM_SUCCESS", WAIT_BOUND)
    run.__name__ = "sslkeylogfile_ignored_" + ("threaded_host" if threads else "single_thread")
    TESTS.append(run)


sslkeylogfile_case(False)
sslkeylogfile_case(True)


def secrets_never_logged(env):
    """Run last: nothing any login printed or logged holds a secret or a token."""
    needles = {tp.CLIENT_SECRET: "client secret", tp.SPECIAL_SECRET: "client secret"}
    for s in SENSITIVE:
        needles[s] = "token or auth_req_id"
    for r in env.provider.auth_requests.values():
        needles[r.id] = "auth_req_id"
    hits = []
    for name, text in env.outputs:
        for needle, what in needles.items():
            if len(needle) >= 8 and needle in text:
                hits.append("%s: %s" % (name, what))
    check(env.outputs and len(needles) > 10, "nothing to search: %d outputs, %d needles"
          % (len(env.outputs), len(needles)))
    check(not hits, "secrets in output: %r" % sorted(set(hits))[:10])
    return len(env.outputs), len(needles)


# ---------------------------------------------------------------- runner

def secrets_check(env):
    n_out, n_needles = secrets_never_logged(env)
    for name, (took, wall) in sorted(DEADLINE_TIMES.items()):
        print("deadline %-28s module %.2fs, wall %.2fs" % (name, took, wall))
    for text in HOSTILE_SHOWN:
        print("hostile rhost shown as: %r" % text)
    return "%d login outputs searched for %d secret values" % (n_out, n_needles)


def main():
    return tp.run_suite(TESTS, FaultEnv, FCase, final_checks=[("secrets_never_logged", secrets_check)],
                        summary=lambda env, sel: "fault scenarios: %d; logins: %d; " % (len(sel), env.logins))


if __name__ == "__main__":
    sys.exit(main())
