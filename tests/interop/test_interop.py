#!/usr/bin/python3
"""Interoperability tests: the built pam_ciba.so through real libpam against node-oidc-provider.

The peer is node-oidc-provider (npm oidc-provider, pinned in package-lock.json; run `npm ci`
in this directory first: tests/suites/35-interop.sh does), started by provider.mjs on
127.0.0.1 with TLS, CIBA poll mode and one client per client authentication method. A
simulated phone approves or denies through the provider's own API. pamtester runs under
pam_wrapper and nss_wrapper as in tests/integration/test_pam.py, whose helpers this reuses.

Usage: /usr/bin/python3 tests/interop/test_interop.py [-k SUBSTRING]... [-v] [--list]
Module: $PAM_CIBA_SO, default <repo>/pam_ciba/.libs/pam_ciba.so. Must run as root.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import test_pam as pt  # noqa: E402  (its Outcome, Case, render and preflight are reused)

check = pt.check
Failure = pt.Failure
NODE = shutil.which("node") or "/usr/bin/node"
CIBA_GRANT = "urn:openid:params:grant-type:ciba"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DISCOVERY = "/.well-known/openid-configuration"
JWKS = "/jwks"
BC = "/backchannel"
TOKEN = "/token"
# node-oidc-provider sends no interval, so the client must poll every 5 s (CIBA 7.3).
DEFAULT_INTERVAL = 5

SECRET = "interop-secret-0123456789abcdef"
# Characters that change meaning in Basic credentials (RFC 6749 2.3.1 form-encodes them).
BASIC_ID = "pam:ciba+basic"
BASIC_SECRET = "p@ss:w0rd+&=%/ 42"
ACR = "urn:pam-ciba:acr:push"
USER_CODE = "4242-ok"
MTLS_DN = "CN=pam-ciba mtls client"

# user -> uid. carol's provider account is her email address (sub = the email), alice's,
# bob's and the long name's are their user names.
LONG_USER = "firstname.lastname01"  # 20 characters: more than node-oidc's whole binding message
USERS = {"alice": 3001, "bob": 3002, "carol": 3003, LONG_USER: 3004}
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "user_code": USER_CODE},
    "bob": {"email": "bob@example.com", "user_code": USER_CODE},
    "carol@example.com": {"email": "carol@example.com", "user_code": USER_CODE},
    LONG_USER: {"email": "long@example.com", "user_code": USER_CODE},
}
# node-oidc-provider's default validateBindingMessage, which provider.mjs keeps.
NODE_BINDING_RE = re.compile(r"^[a-zA-Z0-9\-._+/!?#]{1,20}$")

def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, timeout=60, **kw)


def openssl_key(path, kind):
    """A private key PEM (root-owned 0600) and its public PEM."""
    opts = {"rsa": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            "ec": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]}[kind]
    old = os.umask(0o077)
    try:
        run(["openssl", "genpkey", *opts, "-out", str(path)])
    finally:
        os.umask(old)
    return run(["openssl", "pkey", "-in", str(path), "-pubout"]).stdout.decode()


def client_cert(ca_dir, name, cn, ca="ca"):
    """A TLS client certificate (clientAuth) for CN, signed by the test CA."""
    key, csr, ext, pem = (ca_dir / (name + s) for s in (".key", ".csr", ".ext", ".pem"))
    old = os.umask(0o077)
    try:
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", str(key)])
    finally:
        os.umask(old)
    run(["openssl", "req", "-new", "-key", str(key), "-subj", "/" + cn, "-out", str(csr)])
    ext.write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                   "extendedKeyUsage=clientAuth\n")
    run(["openssl", "x509", "-req", "-in", str(csr), "-sha256", "-days", "2",
         "-CA", str(ca_dir / (ca + ".pem")), "-CAkey", str(ca_dir / (ca + ".key")),
         "-set_serial", "0x" + os.urandom(8).hex(), "-extfile", str(ext), "-out", str(pem)])
    os.chmod(pem, 0o644)
    return pem, key


class NodeProvider:
    """provider.mjs as a child process, and its control channel."""

    def __init__(self, tmp, ca, clients):
        self.dir = tmp / "provider"
        self.dir.mkdir()
        self.ready = self.dir / "ready.json"
        conf = {"cert": str(ca / "server.pem"), "key": str(ca / "server.key"),
                "client_ca": str(ca / "ca.pem"), "ready_file": str(self.ready),
                "clients": clients, "accounts": ACCOUNTS, "acr_values": [ACR, "urn:pam-ciba:acr:other"]}
        (self.dir / "config.json").write_text(json.dumps(conf))
        self.logfile = open(self.dir / "provider.log", "wb")
        self.proc = subprocess.Popen([NODE, str(HERE / "provider.mjs"), str(self.dir / "config.json")],
                                     stdin=subprocess.PIPE, stdout=self.logfile, stderr=subprocess.STDOUT,
                                     cwd=str(HERE), env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                                                         "NODE_ENV": "test"})
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("provider.mjs did not start: %s" % self.output()[-2000:])
            time.sleep(0.05)
        info = json.loads(self.ready.read_text())
        self.issuer, self.port, self.control_port = info["issuer"], info["port"], info["control_port"]
        # The control channel is loopback HTTP: never through a proxy from the environment.
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def output(self):
        return (self.dir / "provider.log").read_text(errors="replace")

    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.control_port, path), data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        with self.opener.open(req, timeout=10) as r:
            return json.loads(r.read())

    def reset(self, scenario=True):
        self.ctl("POST", "/reset")

    def phone(self, mode, delay=0.5, **kw):
        self.ctl("POST", "/phone", dict(mode=mode, delay=delay, **kw))

    def log(self):
        return self.ctl("GET", "/log")

    def backchannel(self):
        return self.ctl("GET", "/backchannel")

    def rotate(self, keep_old=False):
        return self.ctl("POST", "/rotate", {"keep_old": keep_old})

    def keys(self):
        return self.ctl("GET", "/keys")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # provider.mjs exits when its stdin closes
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logfile.close()


class Env:
    """Temp dir, CA, client keys and certificates, fake passwd, and the provider."""

    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="pam_ciba_interop."))
        self.ca = self.tmp / "ca"
        subprocess.run(["sh", str(pt.MAKE_CA), str(self.ca)], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        self.passwd, self.group = self.tmp / "passwd", self.tmp / "group"
        self.passwd.write_text("root:x:0:0:root:/root:/bin/sh\n" + "".join(
            "%s:x:%d:%d:interop user:/nonexistent:/bin/sh\n" % (u, i, i) for u, i in USERS.items()))
        self.group.write_text("root:x:0:\n" + "".join("g%d:x:%d:\n" % (i, i) for i in USERS.values()))
        keys = self.tmp / "keys"
        keys.mkdir(mode=0o700)
        self.keys = keys
        rsa_pub = openssl_key(keys / "client-rsa.pem", "rsa")
        ec_pub = openssl_key(keys / "client-ec.pem", "ec")
        openssl_key(keys / "rogue-rsa.pem", "rsa")  # registered nowhere
        self.mtls_cert, self.mtls_key = client_cert(self.ca, "mtls-client", MTLS_DN)
        self.other_cert, self.other_key = client_cert(self.ca, "mtls-other", "CN=somebody else")
        self.untrusted_cert, self.untrusted_key = client_cert(self.ca, "mtls-untrusted", MTLS_DN,
                                                              ca="other-ca")
        ciba = {"grant_types": [CIBA_GRANT], "response_types": [], "redirect_uris": []}
        post = dict(ciba, client_secret=SECRET, token_endpoint_auth_method="client_secret_post")
        self.clients = {
            "post": dict(post, client_id="pam-ciba-post"),
            "basic": dict(ciba, client_id=BASIC_ID, client_secret=BASIC_SECRET,
                          token_endpoint_auth_method="client_secret_basic"),
            "pkjwt_rsa": dict(ciba, client_id="pam-ciba-pkjwt-rsa", token_endpoint_auth_method="private_key_jwt",
                              public_key_pem=rsa_pub, key_id="kid-rsa-1"),
            "pkjwt_ec": dict(ciba, client_id="pam-ciba-pkjwt-ec", token_endpoint_auth_method="private_key_jwt",
                             public_key_pem=ec_pub, key_id="kid-ec-1"),
            "mtls": dict(ciba, client_id="pam-ciba-mtls", token_endpoint_auth_method="tls_client_auth",
                         tls_client_auth_subject_dn=MTLS_DN),
            "es256": dict(post, client_id="pam-ciba-es256", id_token_signed_response_alg="ES256"),
            "ps256": dict(post, client_id="pam-ciba-ps256", id_token_signed_response_alg="PS256"),
            "eddsa": dict(post, client_id="pam-ciba-eddsa", id_token_signed_response_alg="EdDSA"),
            # RFC 9864's fully specified name for the same signature
            "ed25519": dict(post, client_id="pam-ciba-ed25519", id_token_signed_response_alg="Ed25519"),
            "ucode": dict(post, client_id="pam-ciba-ucode", backchannel_user_code_parameter=True),
        }
        self.provider = None
        self.provider = NodeProvider(self.tmp, self.ca, list(self.clients.values()))
        self.counter = 0
        self.false_accepts = 0
        self.primed_at = None  # key rotation: when the shared cache was filled
        self.rotation_cache = self.rotation_cache_copy = None
        self.rotation_refreshed = False

    def client_settings(self, name):
        """The module's config keys that select client `name`."""
        meta = self.clients[name]
        s = {"client_id": meta["client_id"], "client_auth": meta["token_endpoint_auth_method"],
             "client_secret": meta.get("client_secret")}
        if name == "pkjwt_rsa":
            s.update(private_key_file=str(self.keys / "client-rsa.pem"), key_id=meta["key_id"])
        elif name == "pkjwt_ec":
            s.update(private_key_file=str(self.keys / "client-ec.pem"), key_id=meta["key_id"])
        elif name == "mtls":
            s.update(tls_client_cert=str(self.mtls_cert), tls_client_key=str(self.mtls_key))
        return s

    def close(self):
        if self.provider:
            self.provider.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Case(pt.Case):
    """One test's directory, config, PAM service and provider view."""

    def __init__(self, env, name):
        super().__init__(env, name)  # also resets the provider's log and phone
        self.cache = self.dir / "cache"

    def settings(self, client="post", **over):
        s = super().settings()
        # The default binding_message template, fitted to node-oidc-provider's default check.
        s.update(issuer=self.p.issuer, discovery=True, cache_dir=str(self.cache), cache_ttl=3600,
                 clock_skew=60, binding_message_profile="node-oidc")
        s.update(self.env.client_settings(client))
        for k, v in over.items():
            if v is None:
                s.pop(k, None)
            else:
                s[k] = v
        return {k: v for k, v in s.items() if v is not None}

    @staticmethod
    def render(settings):
        lists = {k: v for k, v in settings.items() if isinstance(v, list)}
        text = pt.Case.render({k: v for k, v in settings.items() if k not in lists})
        for k, v in lists.items():
            text += "%s = [%s];\n" % (k, ", ".join(pt.lc_str(x) for x in v))
        return text

    # ---- what the provider saw -------------------------------------------------

    def log(self):
        return self.p.log()

    def requests(self, path, log=None):
        return [e for e in (self.log() if log is None else log) if e["path"] == path]

    def issued(self, log=None):
        return [e for e in self.requests(TOKEN, log) if e["status"] == 200 and e.get("id_token")]

    def expect(self, o, code):
        issued = self.issued()
        if o.code == "PAM_SUCCESS" and (code != "PAM_SUCCESS" or not issued):
            self.env.false_accepts += 1
        check(o.code == code, "expected %s, got %s" % (code, o.describe()))
        check(code != "PAM_SUCCESS" or issued, "success, but the provider never issued an ID token")

    def expect_refused(self, o):
        """Any non-success outcome that is not a crash or a hang."""
        if o.code == "PAM_SUCCESS":
            self.env.false_accepts += 1
        check(o.code in ("PAM_AUTH_ERR", "PAM_AUTHINFO_UNAVAIL", "PAM_SERVICE_ERR", "PAM_CRED_INSUFFICIENT"),
              "expected a refusal, got %s" % o.describe())

    def polls_spaced(self, log=None):
        """Every poll waited for the 5 s default interval after the previous request."""
        reqs = self.requests(BC, log) + self.requests(TOKEN, log)
        reqs.sort(key=lambda e: e["time"])
        for a, b in zip(reqs, reqs[1:]):
            if b["path"] == TOKEN:
                check(b["time"] - a["time"] >= DEFAULT_INTERVAL - 0.1,
                      "polled %.2fs after the previous request; the provider sent no interval, so 5 s"
                      % (b["time"] - a["time"]))

    def client_auth_as(self, name, log=None):
        """Every bc-authorize and token request authenticated as client `name` the right way."""
        meta = self.env.clients[name]
        reqs = self.requests(BC, log) + self.requests(TOKEN, log)
        check(reqs, "no CIBA request reached the provider")
        for r in reqs:
            check(r.get("client_id") == meta["client_id"] and r["status"] != 401,
                  "%s authenticated as %r, status %s (%s)" % (r["path"], r.get("client_id"), r["status"],
                                                              r.get("error_description")))
            method = meta["token_endpoint_auth_method"]
            check(r.get("auth_method") == method, "auth method %r" % r.get("auth_method"))
            check(r["basic"] == (method == "client_secret_basic"), "Authorization header use %r" % r["basic"])
            if method == "tls_client_auth":
                check(r["peer_cert"], "no client certificate on %s" % r["path"])
        return reqs


TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


def approve(c, client="post", user="alice", sub=None, **over):
    """One approved login; checks what every approval must show."""
    o = c.login(user=user, client=client, **over)
    log = c.log()
    c.expect(o, "PAM_SUCCESS")
    bcs = c.requests(BC, log)
    check(len(bcs) == 1 and bcs[0]["status"] == 200, "bc-authorize: %r" % bcs)
    seen = c.p.backchannel()
    check(len(seen) == 1 and seen[0]["outcome"] == "approve", "phone saw %r" % seen)
    tokens = c.requests(TOKEN, log)
    check(all(t.get("grant_type") == CIBA_GRANT for t in tokens), "grant_type %r" % tokens)
    check(tokens[-1]["status"] == 200 and tokens[-1]["id_token"]["sub"] == (sub or user),
          "last token answer %r" % tokens[-1])
    check(seen[0]["binding_message"] and seen[0]["binding_message"] in o.stdout,
          "binding message %r not on the terminal %r" % (seen[0]["binding_message"], o.stdout))
    check(over.get("binding_message_profile") not in (None, "node-oidc") or
          NODE_BINDING_RE.match(seen[0]["binding_message"]),
          "binding message %r fails node-oidc-provider's check" % seen[0]["binding_message"])
    c.polls_spaced(log)
    c.client_auth_as(client, log)
    for secret in (SECRET, BASIC_SECRET):
        c.no_secret_in_output(o, secret)
    return o, log, seen[0]


def deny(c, client="post", **over):
    c.p.phone("deny", delay=0.5)
    o = c.login(client=client, **over)
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    tokens = c.requests(TOKEN, log)
    check(tokens and tokens[-1].get("error") == "access_denied", "last token answer %r" % tokens[-1:])
    check(len(tokens) == 1, "kept polling after access_denied: %d polls" % len(tokens))
    c.polls_spaced(log)
    c.client_auth_as(client, log)


def refused_at_bc(c, client="post", **over):
    """The provider refuses the bc-authorize request: no success, no polling."""
    o = c.login(client=client, **over)
    c.expect_refused(o)
    log = c.log()
    check(not c.requests(TOKEN, log), "polled without an auth_req_id")
    return o, log


# ---------------------------------------------------------------- discovery and cache

@test
def discovery_from_scratch_post(c):
    check(not c.cache.exists(), "cache dir exists before the first login")
    o, log, seen = approve(c)
    paths = [(e["method"], e["path"]) for e in log]
    check(paths[:2] == [("GET", DISCOVERY), ("GET", JWKS)] or
          (paths[0] == ("GET", DISCOVERY) and ("GET", JWKS) in paths),
          "expected discovery, then the JWKS: %r" % paths)
    check(paths.count(("GET", DISCOVERY)) == 1 and paths.count(("GET", JWKS)) == 1,
          "discovery/JWKS fetched more than once: %r" % paths)
    hint = json.loads(seen["login_hint"])
    check(hint == {"format": "iss_sub", "iss": c.p.issuer, "sub": "alice"}, "login_hint %r" % hint)
    st = c.cache.stat()
    check(st.st_uid == 0 and (st.st_mode & 0o077) == 0, "cache dir mode %o uid %d" % (st.st_mode, st.st_uid))
    for f in c.cache.iterdir():
        fs = f.stat()
        check(fs.st_uid == 0 and (fs.st_mode & 0o022) == 0, "cache file %s mode %o" % (f.name, fs.st_mode))


@test
def cache_second_login_sends_only_ciba(c):
    approve(c)
    c.p.reset()
    o, log, _ = approve(c)
    paths = sorted({e["path"] for e in log})
    check(paths == sorted({BC, TOKEN}), "second login within the TTL asked for %r" % paths)


@test
def cache_ttl_expired_refetches(c):
    approve(c, cache_ttl=1)  # the login itself outlasts the 1 s TTL
    c.p.reset()
    o, log, _ = approve(c, cache_ttl=1)
    check(c.requests(DISCOVERY, log), "no discovery after the cache TTL passed: %r"
          % [e["path"] for e in log])


@test
def corrupt_cache_is_refetched(c):
    approve(c)
    files = [f for f in c.cache.rglob("*") if f.is_file()]
    check(files, "the first login left no cache files")
    for f in files:
        f.write_text('{"issuer": "https://evil.example", "keys": [' + "x" * 100)
    c.p.reset()
    o, log, _ = approve(c)
    check(c.requests(DISCOVERY, log) and c.requests(JWKS, log),
          "a corrupt cache was trusted: %r" % [e["path"] for e in log])


@test
def explicit_endpoints_skip_discovery(c):
    o, log, _ = approve(c, discovery=False, backchannel_authentication_endpoint=c.p.issuer + BC,
                        token_endpoint=c.p.issuer + TOKEN, jwks_uri=c.p.issuer + JWKS)
    check(not c.requests(DISCOVERY, log), "discovery fetched although endpoints were given")
    check(c.requests(JWKS, log), "JWKS never fetched: the signature cannot have been checked")


@test
def issuer_trailing_slash_mismatch(c):
    # Discovery says "https://127.0.0.1:PORT" (no slash): the issuer must match exactly.
    o, log = refused_at_bc(c, issuer=c.p.issuer + "/")
    check(not c.requests(BC, log), "bc-authorize sent after an issuer mismatch")


# ---------------------------------------------------------------- client authentication

@test
def post_deny(c):
    deny(c)


@test
def basic_approve(c):
    approve(c, client="basic")


@test
def basic_deny(c):
    deny(c, client="basic")


@test
def wrong_secret_refused(c):
    o, log = refused_at_bc(c, client_secret="not-the-secret")
    check([e["status"] for e in c.requests(BC, log)] == [401], "bc-authorize %r" % c.requests(BC, log))


def assertion_checks(c, log, name):
    meta = c.env.clients[name]
    jtis = set()
    for r in c.requests(BC, log) + c.requests(TOKEN, log):
        a = r.get("client_assertion")
        check(a, "%s without a client assertion" % r["path"])
        check(r.get("client_assertion_type") == ASSERTION_TYPE, "client_assertion_type %r"
              % r.get("client_assertion_type"))
        h, cl = a["header"], a["claims"]
        check(h.get("kid") == meta["key_id"], "assertion kid %r" % h.get("kid"))
        check(h.get("alg") in ("RS256", "PS256", "ES256"), "assertion alg %r" % h.get("alg"))
        check(cl.get("iss") == cl.get("sub") == meta["client_id"], "assertion iss/sub %r" % cl)
        aud = cl.get("aud")
        check(aud == c.p.issuer or (isinstance(aud, list) and c.p.issuer in aud),
              "assertion aud %r (issue 3: the issuer)" % aud)
        check(0 < cl["exp"] - r["time"] <= 61, "assertion exp %.0fs ahead" % (cl["exp"] - r["time"]))
        check(cl.get("jti") and cl["jti"] not in jtis, "jti reused or missing")
        jtis.add(cl["jti"])


@test
def private_key_jwt_rsa_approve(c):
    o, log, _ = approve(c, client="pkjwt_rsa")
    assertion_checks(c, log, "pkjwt_rsa")


@test
def private_key_jwt_ec_approve(c):
    o, log, _ = approve(c, client="pkjwt_ec")
    assertion_checks(c, log, "pkjwt_ec")


@test
def private_key_jwt_deny(c):
    deny(c, client="pkjwt_rsa")


@test
def private_key_jwt_unregistered_key(c):
    o, log = refused_at_bc(c, client="pkjwt_rsa", private_key_file=str(c.env.keys / "rogue-rsa.pem"))
    check([e["status"] for e in c.requests(BC, log)] == [401], "bc-authorize %r" % c.requests(BC, log))


@test
def tls_client_auth_approve(c):
    approve(c, client="mtls")


@test
def tls_client_auth_deny(c):
    deny(c, client="mtls")


@test
def tls_client_auth_wrong_subject(c):
    o, log = refused_at_bc(c, client="mtls", tls_client_cert=str(c.env.other_cert),
                           tls_client_key=str(c.env.other_key))
    check([e["status"] for e in c.requests(BC, log)] == [401], "bc-authorize %r" % c.requests(BC, log))


@test
def tls_client_auth_untrusted_issuer(c):
    o, log = refused_at_bc(c, client="mtls", tls_client_cert=str(c.env.untrusted_cert),
                           tls_client_key=str(c.env.untrusted_key))
    check([e["status"] for e in c.requests(BC, log)] == [401], "bc-authorize %r" % c.requests(BC, log))


# ---------------------------------------------------------------- ID token signatures

# ---------------------------------------------------------------- key rotation
# The module refetches the JWKS on an unknown kid at most once a minute, so the caches the
# rotation tests use are filled by the first test and used by the last ones, a minute or
# more later: the suite does not sleep for it (a test run alone waits).

JWKS_REFETCH_LIMIT = 60


def key_rotation_prime_caches(c):
    o, log, _ = approve(c)
    check(len(c.requests(JWKS, log)) == 1, "JWKS not fetched")
    c.env.rotation_cache = c.cache
    c.env.rotation_cache_copy = c.dir / "cache-copy"
    shutil.copytree(c.cache, c.env.rotation_cache_copy, symlinks=True)
    c.env.primed_at = time.monotonic()


def rotation_cache(c, copy=False):
    if c.env.primed_at is None:
        key_rotation_prime_caches(c)
        c.p.reset()
    wait = c.env.primed_at + JWKS_REFETCH_LIMIT + 2 - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    return str(c.env.rotation_cache_copy if copy else c.env.rotation_cache)


def rotated_login(c, cache, keep_old):
    old = {k["kid"] for k in c.p.keys()["keys"]}
    new = {k["kid"] for k in c.p.rotate(keep_old=keep_old)["keys"]} - old
    c.p.reset()
    o, log, _ = approve(c, cache_dir=cache)
    kid = c.issued(log)[-1]["id_token"]["kid"]
    check(kid in new, "the ID token was not signed by a new key (%s)" % kid)
    check(len(c.requests(JWKS, log)) == 1, "JWKS fetched %d times after the rotation"
          % len(c.requests(JWKS, log)))
    check(not c.requests(DISCOVERY, log), "discovery refetched: the rotation needs only the JWKS")


def key_rotation_refetches_jwks_once(c):
    # Old keys withdrawn at once: the cached JWKS knows none of the provider's keys.
    rotated_login(c, rotation_cache(c), keep_old=False)


def key_rotation_keep_old_keys(c):
    # The usual rollover: the new key signs, the old one stays published for a while.
    rotated_login(c, rotation_cache(c, copy=True), keep_old=True)


def key_rotation_refetch_rate_limited(c):
    # The JWKS in this cache was fetched seconds ago (by key_rotation_refetches_jwks_once,
    # or here): another unknown kid within the minute is refused without a fetch.
    cache = rotation_cache(c)
    if not c.env.rotation_refreshed:
        rotated_login(c, cache, keep_old=False)
    c.p.rotate(keep_old=False)
    c.p.reset()
    o = c.login(cache_dir=cache)
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    check(c.issued(log), "the provider never issued the token signed by the unknown key")
    check(not c.requests(JWKS, log), "JWKS refetched within a minute of the last fetch")


def alg_test(client, alg):
    def run_(c):
        o, log, _ = approve(c, client=client)
        check(c.issued(log)[-1]["id_token"]["alg"] == alg, "signed with %r" % c.issued(log)[-1]["id_token"])
    run_.__name__ = "id_token_" + client
    return run_


for _client, _alg in (("es256", "ES256"), ("ps256", "PS256"), ("eddsa", "EdDSA"), ("ed25519", "Ed25519")):
    test(alg_test(_client, _alg))


@test
def id_token_alg_not_allowed(c):
    # The provider signs RS256 by default; a module that accepts only ES256 must refuse.
    o = c.login(id_token_algs=["ES256"])
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    check(c.issued(log) and c.issued(log)[-1]["id_token"]["alg"] == "RS256",
          "the provider never issued the RS256 token: %r" % c.requests(TOKEN, log))


# ---------------------------------------------------------------- binding message limits

def code_in(message):
    """The 4-character code after the last '#' (the default template ends with #%c)."""
    m = re.search(r"#([A-Z2-9]{4})$", message)
    return m.group(1) if m else None


@test
def binding_message_default_template_node_oidc(c):
    o, log, seen = approve(c)
    msg = seen["binding_message"]
    check(NODE_BINDING_RE.match(msg) and code_in(msg), "binding message %r" % msg)
    check("alice" in msg, "the user name was dropped from %r" % msg)


@test
def binding_message_long_user_node_oidc(c):
    # 20 characters of user name under a 20-character limit: shortened, marked, code whole.
    o, log, seen = approve(c, user=LONG_USER)
    msg = seen["binding_message"]
    check(NODE_BINDING_RE.match(msg) and code_in(msg), "binding message %r" % msg)
    check(re.search(r"(^|-)firstna\+", msg), "the user name is not shown cut and marked: %r" % msg)
    check(msg in o.stdout, "the terminal shows another message than the phone: %r" % o.stdout)


@test
def binding_message_user_hash_code_long_user(c):
    # README's "%u#%c", refused by this provider for 16+ character names before the profiles.
    o, log, seen = approve(c, user=LONG_USER, binding_message="%u#%c")
    msg = seen["binding_message"]
    check(NODE_BINDING_RE.match(msg) and msg.startswith("firstname.last+#") and code_in(msg),
          "binding message %r" % msg)


@test
def binding_message_auth0_profile_refused(c):
    # Auth0's limits (spaces, 64 characters) against node-oidc-provider's default check:
    # the provider refuses the request; never a login, never a poll.
    o, log = refused_at_bc(c, binding_message_profile="auth0")
    check([e.get("error") for e in c.requests(BC, log)] == ["invalid_binding_message"],
          "bc-authorize %r" % c.requests(BC, log))


# ---------------------------------------------------------------- hints and request options

@test
def plain_login_hint(c):
    o, log, seen = approve(c, login_hint_format="plain", user="bob")
    check(seen["login_hint"] == "bob", "login_hint %r" % seen["login_hint"])


@test
def email_login_hint(c):
    o, log, seen = approve(c, login_hint_format="email", subject="%u@example.com", user="carol",
                           sub="carol@example.com")
    check(seen["login_hint"] == "carol@example.com", "login_hint %r" % seen["login_hint"])


@test
def email_hint_other_sub_refused(c):
    # alice@example.com is account "alice" at the provider, so the ID token's sub is "alice",
    # not the subject the module expects ("alice@example.com"), and node-oidc-provider puts
    # no email claim in the ID token: never a login.
    o = c.login(login_hint_format="email", subject="%u@example.com")
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    check(c.issued(log) and c.issued(log)[-1]["id_token"]["sub"] == "alice",
          "the provider never issued alice's token: %r" % c.requests(TOKEN, log))


@test
def iss_sub_hint_unknown_user(c):
    # processLoginHint finds no account: unknown_user_id, never a login.
    o, log = refused_at_bc(c, subject="%u-not-enrolled")
    check([e.get("error") for e in c.requests(BC, log)] == ["unknown_user_id"],
          "bc-authorize %r" % c.requests(BC, log))


@test
def acr_values_forwarded(c):
    o, log, seen = approve(c, acr_values=ACR)
    check(seen["acr_values"] == ACR, "acr_values %r" % seen["acr_values"])
    check(c.issued(log)[-1]["id_token"].get("acr") == ACR, "ID token acr %r" % c.issued(log)[-1]["id_token"])


@test
def require_acr_met_and_not_met(c):
    # node-oidc-provider puts the requested acr into the ID token: require_acr accepts it,
    # and refuses an approval whose acr is not the required one (auth_strength).
    o, log, seen = approve(c, acr_values=ACR, require_acr=[ACR])
    o = c.login(acr_values=ACR, require_acr=["urn:pam-ciba:acr:other"])
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    check(c.issued(log) and c.issued(log)[-1]["id_token"].get("acr") == ACR, "no token with acr %s issued" % ACR)
    check("outcome=auth_strength" in o.stderr, "decision lacks auth_strength: %r" % o.stderr[-400:])


@test
def user_code_from_prompt(c):
    o, log, seen = approve(c, client="ucode", user_code=True, stdin=(USER_CODE + "\n").encode())
    check(seen["user_code_present"], "user_code not sent")
    check(USER_CODE not in o.stdout + o.stderr, "the user code was echoed or logged")


@test
def user_code_wrong(c):
    o, log = refused_at_bc(c, client="ucode", user_code=True, stdin=b"0000-bad\n")
    check([e.get("error") for e in c.requests(BC, log)] == ["invalid_user_code"],
          "bc-authorize %r" % c.requests(BC, log))


@test
def approve_after_pending(c):
    # The phone answers after the first poll: authorization_pending, then the tokens.
    c.p.phone("approve", delay=DEFAULT_INTERVAL + 1.5)
    o, log, _ = approve(c)
    answers = [t.get("error", t["status"]) for t in c.requests(TOKEN, log)]
    check(answers == ["authorization_pending", 200], "token answers %r" % answers)


@test
def requested_expiry_passes(c):
    # Pending at the first poll (5 s), expired at 7 s: the login ends by 7 s plus one interval.
    c.p.phone("none")
    o = c.login(requested_expiry=7)
    log = c.log()
    c.expect(o, "PAM_AUTH_ERR")
    seen = c.p.backchannel()
    check(seen and seen[0]["expires_in"] == 7 and seen[0]["requested_expiry"] == "7",
          "provider's expiry %r" % seen)
    answers = [t.get("error", t["status"]) for t in c.requests(TOKEN, log)]
    check(answers[:1] == ["authorization_pending"] and set(answers[1:]) <= {"expired_token"},
          "token answers %r" % answers)
    check(answers.count("expired_token") <= 1, "kept polling after expired_token: %r" % answers)
    check(o.elapsed < 7 + DEFAULT_INTERVAL + 2, "took %.1fs for expires_in 7" % o.elapsed)
    c.polls_spaced(log)


def _rotation_refreshed(fn):
    def run_(c):
        fn(c)
        c.env.rotation_refreshed = True
    run_.__name__ = fn.__name__
    return run_


# First and last, so that the caches filled by key_rotation_prime_caches are a minute old.
TESTS.insert(0, key_rotation_prime_caches)
test(_rotation_refreshed(key_rotation_refetches_jwks_once))
test(key_rotation_keep_old_keys)
test(key_rotation_refetch_rate_limited)


# ---------------------------------------------------------------- runner

def npm_installed():
    return (HERE / "node_modules" / "oidc-provider" / "package.json").is_file()


def node_preflight():
    problems = []
    if not os.path.exists(NODE):
        problems.append("node not installed")
    if not npm_installed():
        problems.append("oidc-provider not installed: run npm ci in %s" % HERE)
    return problems


def provider_errors(env, failed):
    if failed and env.provider:
        errs = [line for line in env.provider.output().splitlines()
                if "error" in line.lower() and "WARNING" not in line]
        for line in errs[-10:]:
            print("  provider: " + line)


def main():
    return pt.run_suite(TESTS, Env, Case, extra_preflight=node_preflight, on_close=provider_errors)


if __name__ == "__main__":
    sys.exit(main())
