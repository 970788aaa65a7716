#!/usr/bin/python3
"""Local HTTPS OpenID Connect CIBA (poll mode) provider laid out like Auth0, for tests and the demo.

Endpoints: POST /bc-authorize, POST /oauth/token, GET /.well-known/openid-configuration,
GET /.well-known/jwks.json, plus /_test/* control endpoints (scenario, approve, deny,
requests, events, auth_requests, connections, reset).

Python use:
    p = Provider(certfile="server.pem", keyfile="server.key", clients={"id": "secret"})
    p.start(); p.scenario.update(interval=1, phone="none"); ...; p.approve(); p.stop()

Script use: see --help. Needs only the standard library and python3-cryptography.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import http.server
import itertools
import json
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

CIBA_GRANT = "urn:openid:params:grant-type:ciba"
DEFAULT_CLIENTS = {"pam-ciba-demo": "demo-secret-change-me"}

ID_TOKEN_MODES = (
    "valid", "wrong_sub", "wrong_aud", "wrong_iss", "expired", "alg_none",
    "other_key", "hs256_pubkey", "missing", "multi_aud_no_azp", "garbage", "old_iat",
)

# A poll that arrives this much earlier than the interval still counts as on
# time: a client may measure the interval from when it sent the previous
# request, and network jitter then shortens the gap the server sees.
POLL_TOLERANCE = 0.05

# Connections idle longer than this are closed; it must exceed any interval a
# test uses (slow_down adds 5 s each time) so a login keeps one connection.
IDLE_TIMEOUT = 60.0
HANDSHAKE_TIMEOUT = 10.0

# Auth0's binding_message rule: letters, digits, white space and + - _ . , : #
BINDING_MESSAGE_RE = re.compile(r"[A-Za-z0-9 \t+\-_.,:#]{1,64}")


def default_scenario():
    """The knobs a test may change; see the module docstring of tests/integration/README.md."""
    return {
        "interval": 5,            # int, or None to leave it out of the answer
        "expires_in": None,       # None: requested_expiry if given, else 300
        "pending_polls": 0,       # answer authorization_pending this often first
        "slow_down_polls": 0,     # answer slow_down this often first
        "phone": "approve",       # "approve" | "deny" | "none"
        "phone_delay": 0.0,       # seconds after bc-authorize until the phone acts
        "id_token": "valid",      # one of ID_TOKEN_MODES
        "bc_status": None,        # force /bc-authorize to answer this HTTP status
        "bc_error": None,         # ... with this error code (400 if bc_status is None)
        "token_error_once": None,  # int status (e.g. 500) or error string, once per auth_req_id
        "users": None,            # None: every sub exists; else a list of known subs
        "retry_after": None,      # Retry-After with every 429 answer: int seconds, or "date:N" (HTTP-date N s ahead)
        # Provider limits (issue 12 item 3), Auth0's behaviour:
        "slow_down_interval": None,     # int: slow_down answers carry this new "interval" (and it is enforced)
        "slow_down_retry_after": None,  # Retry-After on slow_down answers: int, or "date:N"
        "token_429_polls": 0,     # answer HTTP 429 this often first (Retry-After from retry_after; enforced)
        "token_429_error": "slow_down",  # the error code of those 429 answers
        "user_limit": None,       # int: at most this many bc-authorize per sub per user_limit_window,
        "user_limit_window": 60,  # ... then 429 too_many_requests with Retry-After until one frees up
        # ID token authentication strength (issue 14 item 4): None leaves the claim out.
        "acr": None,              # string
        "amr": None,              # list of strings (or anything, to test malformed values)
        "doc_max_age": 300,       # Cache-Control max-age of discovery and JWKS (None: no-store)
        "discovery_override": None,  # dict merged into the discovery document
        # One phone per subject (two-person approval): {sub: {"phone": ..., "phone_delay": ...,
        # "id_token": ..., "token_sub": SUB}} overrides the knobs above for that subject's
        # requests; "token_sub" makes its ID token carry another subject's sub.
        "phones": None,
    }


def retry_after_value(v, now=None):
    """A Retry-After header value: int seconds as is, "date:N" as an HTTP-date N s ahead."""
    if isinstance(v, str) and v.startswith("date:"):
        import email.utils
        base = int(now if now is not None else time.time())
        return email.utils.formatdate(base + int(v[5:]), usegmt=True)
    return str(v)


def retry_after_seconds(v):
    """How long a client must wait for retry_after_value(v) (a date loses up to 1 s to rounding)."""
    if isinstance(v, str) and v.startswith("date:"):
        return int(v[5:]) - 1
    return int(v)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def json_b64url(obj):
    return b64url(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def int_b64url(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


class SigningKey:
    """An RSA key with its JWK and RFC 7638 thumbprint as kid."""

    def __init__(self):
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.private.public_key().public_numbers()
        self.n = int_b64url(numbers.n)
        self.e = int_b64url(numbers.e)
        canonical = json.dumps({"e": self.e, "kty": "RSA", "n": self.n},
                               separators=(",", ":"), sort_keys=True)
        self.kid = b64url(hashlib.sha256(canonical.encode("ascii")).digest())
        self.public_pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self):
        return {"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
                "n": self.n, "e": self.e}

    def sign_rs256(self, data):
        return self.private.sign(data, padding.PKCS1v15(), hashes.SHA256())


class AuthRequest:
    """One back-channel authentication request and everything seen about it."""

    def __init__(self, rid, client_id, sub, form, interval, expires_in, scenario):
        self.id = rid
        self.client_id = client_id
        self.sub = sub
        self.form = form
        self.binding_message = form.get("binding_message", "")
        self.created = time.monotonic()
        self.expires_at = self.created + expires_in
        self.expires_in = expires_in
        self.answered_interval = interval
        self.interval = interval if interval is not None else 5
        self.pending_left = scenario["pending_polls"]
        self.slow_down_left = scenario["slow_down_polls"]
        self.error_once = scenario["token_error_once"]
        self.id_token_mode = scenario["id_token"]
        self.token_sub = scenario.get("token_sub")
        self.decision = None      # None, "approved", "denied"
        self.redeemed = False
        self.polls = []           # monotonic arrival times of token requests
        self.answers = []         # what each poll got ("slow_down", "ok", ...)
        self.violations = []      # (gap, interval) for each too-early poll
        self.timer = None
        self.not_before = None    # monotonic time a Retry-After asked the client to wait for
        self.limit_429_left = scenario["token_429_polls"]

    def as_dict(self):
        return {
            "auth_req_id": self.id, "client_id": self.client_id, "sub": self.sub,
            "binding_message": self.binding_message, "created": self.created,
            "expires_in": self.expires_in, "answered_interval": self.answered_interval,
            "interval": self.interval, "decision": self.decision,
            "redeemed": self.redeemed, "polls": list(self.polls),
            "answers": list(self.answers), "violations": list(self.violations),
        }


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops connections when hundreds of
    # logins start at once (the benchmark's scale run).
    request_queue_size = 1024

    def __init__(self, provider, address, family):
        self.address_family = family
        self.provider = provider
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, so a
        # slow or broken client cannot stall the accept loop.
        provider = self.provider
        conn_id = provider._new_connection(request)
        try:
            request.settimeout(HANDSHAKE_TIMEOUT)
            try:
                tls = provider.ssl_context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                provider._record_tls_error(conn_id, exc)
                return
            provider._swap_connection(conn_id, request, tls)
            provider._record_handshake(conn_id)
            tls.settimeout(IDLE_TIMEOUT)
            try:
                self.RequestHandlerClass(tls, client_address, self, conn_id)
            finally:
                try:
                    tls.close()
                except OSError:
                    pass
        finally:
            provider._end_connection(conn_id)

    def handle_error(self, request, client_address):
        if self.provider.verbose:
            super().handle_error(request, client_address)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ciba-test-provider/1"
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms on Linux), which would add to every answer the module gets.
    disable_nagle_algorithm = True
    sys_version = ""

    def __init__(self, request, client_address, server, conn_id):
        self.conn_id = conn_id
        self.provider = server.provider
        super().__init__(request, client_address, server)

    def log_message(self, fmt, *args):
        if self.provider.verbose:
            sys.stderr.write("provider: conn %d: %s\n" % (self.conn_id, fmt % args))

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._send(400, {"error": "invalid_request", "error_description": str(exc)})
            return
        path = urllib.parse.urlsplit(self.path).path
        self.provider._count_request(self.conn_id, path)
        entry = None
        if not path.startswith("/_test/"):
            entry = {
                "time": time.monotonic(), "method": method, "path": path,
                "headers": {k: v for k, v in self.headers.items()},
                "form": {}, "conn_id": self.conn_id, "status": None,
                "error": None, "client_auth": None,
            }
            self.provider._log_request(entry)
        try:
            status, payload = self.provider._route(method, path, self.headers, body, entry)
        except Exception as exc:  # the test wants to see it, not a hung client
            self.provider.errors.append(repr(exc))
            if self.provider.verbose:
                import traceback
                traceback.print_exc()
            status, payload = 500, {"error": "server_error", "error_description": repr(exc)}
        if entry is not None:
            entry["status"] = status
            if isinstance(payload, dict) and "error" in payload:
                entry["error"] = payload["error"]
        extra = {}
        if isinstance(payload, dict) and "_headers" in payload:
            extra.update(payload.pop("_headers"))
        retry_after = self.provider.scenario.get("retry_after")
        if status == 429 and retry_after is not None and "Retry-After" not in extra:
            extra["Retry-After"] = retry_after_value(retry_after)
        if status == 401 and self.headers.get("Authorization", "").lower().startswith("basic "):
            extra["WWW-Authenticate"] = 'Basic realm="ciba-test-provider"'
        cache = "no-store"
        if path.startswith("/.well-known/") and status == 200:
            age = self.provider.scenario.get("doc_max_age")
            if age is not None:
                cache = "public, max-age=%d" % age
        self._send(status, payload, extra, cache)
        if entry is not None:
            entry["done"] = time.monotonic()

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            n = int(length)
        except ValueError:
            raise ValueError("bad Content-Length") from None
        if n < 0 or n > 1 << 20:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    def _send(self, status, payload, extra=None, cache="no-store"):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", cache)
        if cache == "no-store":
            self.send_header("Pragma", "no-cache")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


def _error(status, code, description):
    return status, {"error": code, "error_description": description}


class Provider:
    """The test provider. All public attributes may be read from tests."""

    def __init__(self, port=0, host="127.0.0.1", certfile=None, keyfile=None,
                 issuer=None, clients=None, verbose=False, log=None, scenario=None):
        if not certfile or not keyfile:
            raise ValueError("certfile and keyfile are required")
        self.host = host
        self.requested_port = port
        self.certfile = certfile
        self.keyfile = keyfile
        self._issuer = issuer
        self.clients = dict(clients if clients is not None else DEFAULT_CLIENTS)
        self.verbose = verbose
        self.log = log or (lambda line: None)
        self.base_scenario = default_scenario()
        if scenario:
            self.base_scenario.update(scenario)
        self.scenario = dict(self.base_scenario)
        self.lock = threading.RLock()
        self.requests = []
        self.events = []
        self.errors = []
        self.tls_errors = []
        self.auth_requests = {}
        self.latest = None
        self.key = SigningKey()
        self.retired_keys = []
        self._other_key = None
        self.port = None
        self.base_url = None
        self._server = None
        self._thread = None
        self._conn_ids = itertools.count(1)
        self._conns = {}
        # conn_id -> {"accepted", "handshake", "closed", "peer", "requests", "control"}
        # (monotonic times): every TCP connection and TLS handshake, for the benchmark.
        self.connections = {}
        self.ssl_context = None

    # ----- lifecycle -----------------------------------------------------

    @property
    def other_key(self):
        """A key the JWKS never publishes, made on first use (for "other_key")."""
        with self.lock:
            if self._other_key is None:
                self._other_key = SigningKey()
            return self._other_key

    @property
    def issuer(self):
        return self._issuer or self.base_url

    def start(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.certfile, self.keyfile)
        self.ssl_context = ctx
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = _Server(self, (self.host, self.requested_port), family)
        self.port = self._server.server_address[1]
        hostpart = "[%s]" % self.host if ":" in self.host else self.host
        self.base_url = "https://%s:%d/" % (hostpart, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="ciba-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self.lock:
            for req in self.auth_requests.values():
                if req.timer:
                    req.timer.cancel()
            conns = list(self._conns.values())
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def reset(self, scenario=False):
        """Forget logged requests, events and pending requests; with scenario=True
        also put every scenario knob back to what the provider started with."""
        with self.lock:
            for req in self.auth_requests.values():
                if req.timer:
                    req.timer.cancel()
            self.auth_requests.clear()
            self.latest = None
            del self.requests[:]
            del self.events[:]
            del self.errors[:]
            del self.tls_errors[:]
            self.connections.clear()
            if scenario:
                self.scenario.clear()
                self.scenario.update(self.base_scenario)

    def rotate_key(self, keep_old=True):
        """Sign with a new key from now on; keep_old leaves the old one in the JWKS."""
        with self.lock:
            if keep_old:
                self.retired_keys.append(self.key)
            self.key = SigningKey()

    # ----- phone ---------------------------------------------------------

    def approve(self, auth_req_id=None, sub=None):
        return self._decide(auth_req_id, "approved", sub)

    def deny(self, auth_req_id=None, sub=None):
        return self._decide(auth_req_id, "denied", sub)

    def _decide(self, auth_req_id, decision, sub=None):
        """sub: the newest undecided request for that subject (that subject's phone)."""
        with self.lock:
            rid = auth_req_id or self.latest
            if sub is not None and auth_req_id is None:
                mine = [r for r in self.auth_requests.values() if r.sub == sub and r.decision is None]
                rid = max(mine, key=lambda r: r.created).id if mine else None
            req = self.auth_requests.get(rid) if rid else None
            if req is None or req.decision is not None:
                return None
            req.decision = decision
            if req.timer:
                req.timer.cancel()
                req.timer = None
            self.events.append((decision, rid, time.monotonic()))
            message = req.binding_message
        self.log("phone: %s request %r" % (decision, message))
        return rid

    # ----- views for tests -------------------------------------------------

    def violations(self):
        with self.lock:
            return [(r.id, v) for r in self.auth_requests.values() for v in r.violations]

    def requests_to(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def discovery(self):
        base = self.base_url
        return {
            "issuer": self.issuer,
            "authorization_endpoint": base + "authorize",
            "token_endpoint": base + "oauth/token",
            "backchannel_authentication_endpoint": base + "bc-authorize",
            "jwks_uri": base + ".well-known/jwks.json",
            "backchannel_token_delivery_modes_supported": ["poll"],
            "backchannel_user_code_parameter_supported": False,
            "grant_types_supported": [CIBA_GRANT],
            "token_endpoint_auth_methods_supported":
                ["client_secret_basic", "client_secret_post"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "scopes_supported": ["openid", "profile", "email"],
        }

    def jwks(self):
        with self.lock:
            keys = [self.key] + list(reversed(self.retired_keys))
        return {"keys": [k.jwk() for k in keys]}

    # ----- internals -----------------------------------------------------

    def _new_connection(self, sock):
        with self.lock:
            conn_id = next(self._conn_ids)
            self._conns[conn_id] = sock
            try:
                peer = list(sock.getpeername()[:2])
            except OSError:
                peer = None
            self.connections[conn_id] = {"conn_id": conn_id, "accepted": time.monotonic(),
                                         "handshake": None, "closed": None, "peer": peer,
                                         "requests": 0, "control": False}
        return conn_id

    def _record_handshake(self, conn_id):
        with self.lock:
            if conn_id in self.connections:
                self.connections[conn_id]["handshake"] = time.monotonic()

    def _count_request(self, conn_id, path):
        with self.lock:
            rec = self.connections.get(conn_id)
            if rec is not None:
                rec["requests"] += 1
                rec["control"] = rec["control"] or path.startswith("/_test/")

    def _swap_connection(self, conn_id, old, new):
        with self.lock:
            self._conns[conn_id] = new

    def _end_connection(self, conn_id):
        with self.lock:
            self._conns.pop(conn_id, None)
            if conn_id in self.connections:
                self.connections[conn_id]["closed"] = time.monotonic()

    def _record_tls_error(self, conn_id, exc):
        with self.lock:
            self.tls_errors.append({"time": time.monotonic(), "conn_id": conn_id,
                                    "error": str(exc)})
        if self.verbose:
            sys.stderr.write("provider: conn %d: TLS handshake failed: %s\n" % (conn_id, exc))

    def _log_request(self, entry):
        with self.lock:
            self.requests.append(entry)

    def _route(self, method, path, headers, body, entry):
        routes = {
            "/bc-authorize": ("POST", self._bc_authorize),
            "/oauth/token": ("POST", self._token),
            "/.well-known/openid-configuration": ("GET", self._discovery),
            "/.well-known/jwks.json": ("GET", self._jwks),
            "/_test/scenario": (None, self._test_scenario),
            "/_test/approve": ("POST", self._test_approve),
            "/_test/deny": ("POST", self._test_deny),
            "/_test/requests": ("GET", self._test_requests),
            "/_test/events": ("GET", self._test_events),
            "/_test/auth_requests": ("GET", self._test_auth_requests),
            "/_test/connections": ("GET", self._test_connections),
            "/_test/reset": ("POST", self._test_reset),
        }
        if path not in routes:
            return _error(404, "not_found", "no such endpoint")
        want, fn = routes[path]
        if want is not None and method != want:
            return _error(405, "invalid_request", "use %s" % want)
        return fn(method, headers, body, entry)

    @staticmethod
    def _parse_form(headers, body):
        ctype = headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise ValueError("Content-Type must be application/x-www-form-urlencoded")
        try:
            text = body.decode("utf-8")
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True,
                                           strict_parsing=bool(text),
                                           errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise ValueError("body is not valid form-urlencoded UTF-8") from None
        form = {}
        for k, v in pairs:
            if k in form:
                raise ValueError("parameter %s given more than once" % k)
            form[k] = v
        return form

    def _client_auth(self, headers, form, entry):
        """Returns (client_id, None) or (None, (status, payload))."""
        auth = headers.get("Authorization")
        basic = None
        if auth is not None:
            scheme, _, value = auth.partition(" ")
            if scheme.lower() != "basic":
                return None, _error(401, "invalid_client", "unsupported Authorization scheme")
            try:
                raw = base64.b64decode(value.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None, _error(401, "invalid_client", "bad Basic credentials")
            user, sep, password = raw.partition(":")
            if not sep:
                return None, _error(401, "invalid_client", "bad Basic credentials")
            # RFC 6749 2.3.1: both halves are form-urlencoded before base64.
            basic = (urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password))
        post = "client_secret" in form
        if basic and post:
            return None, _error(400, "invalid_request", "more than one client authentication method")
        if basic:
            client_id, secret = basic
            if "client_id" in form and form["client_id"] != client_id:
                return None, _error(400, "invalid_request", "client_id does not match Basic credentials")
            method = "client_secret_basic"
        elif post:
            client_id, secret = form.get("client_id", ""), form["client_secret"]
            method = "client_secret_post"
        else:
            return None, _error(401, "invalid_client", "no client authentication")
        entry["client_auth"] = method
        expected = self.clients.get(client_id)
        if expected is None or not hmac.compare_digest(expected.encode("utf-8"),
                                                       secret.encode("utf-8")):
            return None, _error(401, "invalid_client", "unknown client or wrong secret")
        return client_id, None

    def _parse_login_hint(self, hint):
        """Returns (sub, None) or (None, error)."""
        if hint.lstrip().startswith("{"):
            try:
                obj = json.loads(hint)
            except ValueError:
                return None, _error(400, "invalid_request", "login_hint is not valid JSON")
            if not isinstance(obj, dict) or obj.get("format") != "iss_sub":
                return None, _error(400, "invalid_request", "login_hint format must be iss_sub")
            if obj.get("iss") != self.issuer:
                return None, _error(400, "invalid_request", "login_hint iss must be %s" % self.issuer)
            sub = obj.get("sub")
            if not isinstance(sub, str) or not sub:
                return None, _error(400, "invalid_request", "login_hint sub missing")
            return sub, None
        if not hint:
            return None, _error(400, "invalid_request", "login_hint is empty")
        return hint, None

    def _bc_authorize(self, method, headers, body, entry):
        try:
            form = self._parse_form(headers, body)
        except ValueError as exc:
            return _error(400, "invalid_request", str(exc))
        entry["form"] = form
        client_id, err = self._client_auth(headers, form, entry)
        if err:
            return err
        with self.lock:
            sc = dict(self.scenario)
        if sc["bc_status"] is not None or sc["bc_error"] is not None:
            status = sc["bc_status"] or 400
            code = sc["bc_error"] or ("server_error" if status >= 500 else "invalid_request")
            return _error(status, code, "forced by scenario")
        if "openid" not in form.get("scope", "").split():
            return _error(400, "invalid_scope", "scope must contain openid")
        hints = [k for k in ("login_hint", "login_hint_token", "id_token_hint") if k in form]
        if hints != ["login_hint"]:
            return _error(400, "invalid_request", "exactly one hint, and it must be login_hint")
        sub, err = self._parse_login_hint(form["login_hint"])
        if err:
            return err
        if "binding_message" not in form:
            return _error(400, "invalid_request", "binding_message is required")
        if not BINDING_MESSAGE_RE.fullmatch(form["binding_message"]):
            return _error(400, "invalid_binding_message",
                          "at most 64 letters, digits, white space and +-_.,:#")
        expiry = None
        if "requested_expiry" in form:
            if not re.fullmatch(r"[0-9]{1,4}", form["requested_expiry"]) or \
                    not 1 <= int(form["requested_expiry"]) <= 300:
                return _error(400, "invalid_request", "requested_expiry must be 1..300")
            expiry = int(form["requested_expiry"])
        if "authorization_details" in form:
            try:
                details = json.loads(form["authorization_details"])
            except ValueError:
                return _error(400, "invalid_request", "authorization_details is not JSON")
            if not isinstance(details, list) or \
                    not all(isinstance(d, dict) and isinstance(d.get("type"), str) for d in details):
                return _error(400, "invalid_request",
                              "authorization_details must be an array of objects with a type")
        if sc["users"] is not None and sub not in sc["users"]:
            return _error(400, "unknown_user_id", "no such user")
        if sc["user_limit"] is not None:
            # Auth0-like per-user limit: requests that got through in the window count.
            now = time.monotonic()
            with self.lock:
                recent = [r.created for r in self.auth_requests.values()
                          if r.sub == sub and now - r.created < sc["user_limit_window"]]
                limited = len(recent) >= sc["user_limit"]
                if limited:
                    self.events.append(("user_limited", sub, now))
            if limited:
                wait = int(min(recent) + sc["user_limit_window"] - now) + 1
                status, payload = _error(429, "too_many_requests",
                                         "too many requests for this user, try again in %d s" % wait)
                payload["_headers"] = {"Retry-After": str(wait)}
                return status, payload
        expires_in = sc["expires_in"] if sc["expires_in"] is not None else (expiry or 300)
        sc.update((sc["phones"] or {}).get(sub, {}))
        rid = secrets.token_urlsafe(24)
        req = AuthRequest(rid, client_id, sub, form, sc["interval"], expires_in, sc)
        with self.lock:
            self.auth_requests[rid] = req
            self.latest = rid
        entry["auth_req_id"] = rid
        if sc["phone"] in ("approve", "deny"):
            act = self.approve if sc["phone"] == "approve" else self.deny
            if sc["phone_delay"] and sc["phone_delay"] > 0:
                req.timer = threading.Timer(sc["phone_delay"], act, args=(rid,))
                req.timer.daemon = True
                req.timer.start()
            else:
                act(rid)
        answer = {"auth_req_id": rid, "expires_in": expires_in}
        if sc["interval"] is not None:
            answer["interval"] = sc["interval"]
        return 200, answer

    def _token(self, method, headers, body, entry):
        now = time.monotonic()
        try:
            form = self._parse_form(headers, body)
        except ValueError as exc:
            return _error(400, "invalid_request", str(exc))
        entry["form"] = form
        client_id, err = self._client_auth(headers, form, entry)
        if err:
            return err
        if form.get("grant_type") != CIBA_GRANT:
            return _error(400, "unsupported_grant_type", "only the CIBA grant is supported here")
        with self.lock:
            req = self.auth_requests.get(form.get("auth_req_id", ""))
            if req is None or req.client_id != client_id:
                return _error(400, "invalid_grant", "unknown auth_req_id")
            result = self._poll(req, now)
            req.answers.append(result[1].get("error", "ok"))
            return result

    def _poll(self, req, now):
        """Decides the answer to one token request; called with the lock held."""
        if req.polls:
            gap = now - req.polls[-1]
            early = req.not_before is not None and now + POLL_TOLERANCE < req.not_before
            if gap + POLL_TOLERANCE < req.interval or early:
                req.polls.append(now)
                req.violations.append((round(gap, 3), req.interval if not early else
                                       "Retry-After %.3f" % (req.not_before - req.polls[-2])))
                req.interval += 5
                return _error(400, "slow_down", "polled after %.3f s, interval is %d s"
                              % (gap, req.interval - 5))
        req.polls.append(now)
        req.not_before = None
        if req.redeemed:
            return _error(400, "invalid_grant", "auth_req_id already used")
        if now >= req.expires_at:
            return _error(400, "expired_token", "the request expired")
        if req.error_once is not None:
            err, req.error_once = req.error_once, None
            if isinstance(err, int):
                return _error(err, "server_error" if err >= 500 else "invalid_request",
                              "forced once by scenario")
            return _error(400, str(err), "forced once by scenario")
        sc = self.scenario
        if req.limit_429_left > 0:
            req.limit_429_left -= 1
            req.interval += 5
            status, payload = _error(429, sc["token_429_error"], "forced by scenario")
            if sc["retry_after"] is not None:
                payload["_headers"] = {"Retry-After": retry_after_value(sc["retry_after"])}
                req.not_before = now + retry_after_seconds(sc["retry_after"])
            return status, payload
        if req.slow_down_left > 0:
            req.slow_down_left -= 1
            req.interval += 5
            status, payload = _error(400, "slow_down", "forced by scenario")
            if sc["slow_down_interval"] is not None:
                payload["interval"] = sc["slow_down_interval"]
                req.interval = max(req.interval - 5, sc["slow_down_interval"])
            if sc["slow_down_retry_after"] is not None:
                payload["_headers"] = {"Retry-After": retry_after_value(sc["slow_down_retry_after"])}
                req.not_before = now + retry_after_seconds(sc["slow_down_retry_after"])
            return status, payload
        if req.pending_left > 0:
            req.pending_left -= 1
            return _error(400, "authorization_pending", "waiting for the user")
        if req.decision == "denied":
            return _error(400, "access_denied", "the user denied the request")
        if req.decision != "approved":
            return _error(400, "authorization_pending", "waiting for the user")
        req.redeemed = True
        self.events.append(("token_issued", req.id, now))
        answer = {
            "access_token": secrets.token_urlsafe(32),
            "token_type": "Bearer",
            "expires_in": 86400,
            "scope": req.form.get("scope", "openid"),
        }
        token = self._id_token(req, req.id_token_mode)
        if token is not None:
            answer["id_token"] = token
        return 200, answer

    def _id_token(self, req, mode):
        now = int(time.time())
        claims = {
            "iss": self.issuer, "sub": req.sub, "aud": req.client_id,
            "azp": req.client_id, "iat": now, "exp": now + 300, "auth_time": now,
        }
        header = {"alg": "RS256", "typ": "JWT", "kid": self.key.kid}
        key = self.key
        for claim in ("acr", "amr"):
            if self.scenario.get(claim) is not None:
                claims[claim] = self.scenario[claim]
        if req.token_sub is not None:
            claims["sub"] = req.token_sub
        if mode == "missing":
            return None
        if mode == "garbage":
            return "this-is-not-a-jwt"
        if mode == "wrong_sub":
            claims["sub"] = req.sub + "-impostor"
        elif mode == "wrong_aud":
            claims["aud"] = "some-other-client"
        elif mode == "wrong_iss":
            claims["iss"] = "https://attacker.invalid/"
        elif mode == "expired":
            claims.update(iat=now - 900, auth_time=now - 900, exp=now - 600)
        elif mode == "old_iat":
            # Still valid by exp, but issued ten minutes before this login's request.
            claims.update(iat=now - 600, auth_time=now - 600)
        elif mode == "multi_aud_no_azp":
            claims["aud"] = [req.client_id, "other"]
            del claims["azp"]
        elif mode == "other_key":
            key = self.other_key
        elif mode == "alg_none":
            header = {"alg": "none", "typ": "JWT", "kid": self.key.kid}
            return json_b64url(header) + "." + json_b64url(claims) + "."
        elif mode == "hs256_pubkey":
            header = {"alg": "HS256", "typ": "JWT", "kid": self.key.kid}
            signing_input = (json_b64url(header) + "." + json_b64url(claims)).encode("ascii")
            mac = hmac.new(self.key.public_pem, signing_input, hashlib.sha256).digest()
            return signing_input.decode("ascii") + "." + b64url(mac)
        elif mode != "valid":
            raise ValueError("unknown id_token mode %r" % mode)
        signing_input = (json_b64url(header) + "." + json_b64url(claims)).encode("ascii")
        return signing_input.decode("ascii") + "." + b64url(key.sign_rs256(signing_input))

    def _discovery(self, method, headers, body, entry):
        doc = self.discovery()
        doc.update(self.scenario.get("discovery_override") or {})
        return 200, doc

    def _jwks(self, method, headers, body, entry):
        return 200, self.jwks()

    @staticmethod
    def _json_body(body):
        if not body.strip():
            return {}
        obj = json.loads(body.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("expected a JSON object")
        return obj

    def _test_scenario(self, method, headers, body, entry):
        if method == "POST":
            try:
                update = self._json_body(body)
            except ValueError as exc:
                return _error(400, "invalid_request", str(exc))
            unknown = set(update) - set(self.base_scenario)
            if unknown:
                return _error(400, "invalid_request", "unknown knobs: %s" % sorted(unknown))
            if "id_token" in update and update["id_token"] not in ID_TOKEN_MODES:
                return _error(400, "invalid_request", "unknown id_token mode")
            with self.lock:
                self.scenario.update(update)
        elif method != "GET":
            return _error(405, "invalid_request", "use GET or POST")
        with self.lock:
            return 200, dict(self.scenario)

    def _test_phone(self, body, fn):
        try:
            obj = self._json_body(body)
        except ValueError as exc:
            return _error(400, "invalid_request", str(exc))
        done = fn(obj.get("auth_req_id"), obj.get("sub"))
        if done is None:
            return _error(404, "not_found", "no undecided request")
        return 200, {"auth_req_id": done}

    def _test_approve(self, method, headers, body, entry):
        return self._test_phone(body, self.approve)

    def _test_deny(self, method, headers, body, entry):
        return self._test_phone(body, self.deny)

    def _test_requests(self, method, headers, body, entry):
        with self.lock:
            return 200, list(self.requests)

    def _test_events(self, method, headers, body, entry):
        with self.lock:
            return 200, [list(e) for e in self.events]

    def _test_auth_requests(self, method, headers, body, entry):
        with self.lock:
            return 200, [r.as_dict() for r in self.auth_requests.values()]

    def _test_connections(self, method, headers, body, entry):
        with self.lock:
            return 200, [dict(c) for c in self.connections.values()]

    def _test_reset(self, method, headers, body, entry):
        try:
            scenario = bool(self._json_body(body).get("scenario", False))
        except ValueError as exc:
            return _error(400, "invalid_request", str(exc))
        self.reset(scenario=scenario)
        return 200, {"reset": True}


def _load_clients(arg):
    text = arg if arg.lstrip().startswith("{") else open(arg, encoding="utf-8").read()
    clients = json.loads(text)
    if not isinstance(clients, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in clients.items()):
        raise ValueError("--clients-json must map client_id strings to secret strings")
    return clients


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local HTTPS CIBA poll-mode test provider (Auth0 layout).")
    ap.add_argument("--cert", required=True, help="server certificate (PEM)")
    ap.add_argument("--key", required=True, help="server private key (PEM)")
    ap.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free port)")
    ap.add_argument("--port-file", help="write the port number to this file once listening")
    ap.add_argument("--phone", choices=("approve", "deny", "none"), default="approve",
                    help="what the simulated phone does with each request")
    ap.add_argument("--phone-delay", type=float, default=3.0,
                    help="seconds after bc-authorize until the phone acts")
    ap.add_argument("--interval", type=int, default=5,
                    help="polling interval to announce (0: leave it out)")
    ap.add_argument("--expires-in", type=int, default=None,
                    help="expires_in to announce (default: requested_expiry or 300)")
    ap.add_argument("--client-id", default=None)
    ap.add_argument("--client-secret", default=None)
    ap.add_argument("--clients-json", help="JSON object client_id -> secret, inline or a file name")
    ap.add_argument("--verbose", action="store_true", help="log every request on stderr")
    args = ap.parse_args(argv)

    # The well-known demo client exists only when no client is given.
    clients = {}
    if args.client_id or args.client_secret:
        if not (args.client_id and args.client_secret):
            ap.error("--client-id and --client-secret go together")
        clients[args.client_id] = args.client_secret
    if args.clients_json:
        clients.update(_load_clients(args.clients_json))
    if not clients:
        clients = dict(DEFAULT_CLIENTS)

    def say(line):
        print(line, flush=True)

    provider = Provider(port=args.port, certfile=args.cert, keyfile=args.key,
                        clients=clients, verbose=args.verbose, log=say,
                        scenario={"phone": args.phone, "phone_delay": args.phone_delay,
                                  "interval": args.interval or None,
                                  "expires_in": args.expires_in})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    provider.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % provider.port)
        os.replace(tmp, args.port_file)
    say("listening on %s" % provider.issuer)
    while not stop.wait(0.5):
        pass
    provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
