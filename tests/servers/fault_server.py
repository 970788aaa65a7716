#!/usr/bin/python3
"""A deliberately broken CIBA provider for fault tests: raw sockets, byte-exact answers.

Each connection is served according to the server's current `behaviour` (a dict):

    transport: "tls" (default) | "plain" (HTTP without TLS) | "silent" (accept, never
               read or write) | "close" (accept, then close at once) |
               "tls_silent" (finish the TLS handshake, then never answer)
    bc:        the answer to POST /bc-authorize (a Reply)
    token:     a list of Replies for POST /oauth/token, one per poll; the last repeats
    discovery: the answer to GET /.well-known/openid-configuration (a Reply)
    jwks:      a list of Replies for GET /jwks.json, one per fetch; the last repeats
               (a second fetch is the module's refetch for an unknown kid)

A Reply is a dict: status (int), headers (list of (name, value)), body (bytes, str or a
JSON-able object), ctype (Content-Type, default application/json; None: no header),
and delivery: "normal" | "trickle" (one byte per second) | "reset" (half the body,
then a TCP reset) | "hang" (never answer) | "endless" (a body that never ends) | "header_flood" (header
lines that never end) | "delay" (answer after `delay` seconds). Every request is recorded in `requests` (time, path, headers,
form). Listens on 127.0.0.1 only.
"""

import gzip
import json
import socket
import ssl
import struct
import threading
import time
import urllib.parse


def reply(status=200, body=b"", ctype="application/json", headers=(), delivery="normal", delay=0.0):
    return {"status": status, "body": body, "ctype": ctype, "headers": list(headers),
            "delivery": delivery, "delay": delay}


REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 302: "Found",
           307: "Temporary Redirect", 400: "Bad Request", 401: "Unauthorized",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


def gzip_bomb(size=10 * 1024 * 1024):
    """A small gzip body that inflates to `size` bytes of JSON-looking padding."""
    return gzip.compress(b"{\"auth_req_id\":\"" + b"A" * size + b"\",\"expires_in\":60}", 9)


class FaultServer:
    def __init__(self, certfile, keyfile, host="127.0.0.1"):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.base_url = "https://%s:%d/" % (host, self.port)
        self.lock = threading.Lock()
        self.behaviour = {}
        self.requests = []
        self.connections = 0
        self.errors = []
        self._stop = threading.Event()
        self._open = set()
        self._poll_index = 0
        self._jwks_index = 0
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="fault-server")

    # ----- control -------------------------------------------------------------

    def start(self):
        self._thread.start()
        return self

    def set(self, **behaviour):
        """Replace the behaviour and forget what was recorded."""
        with self.lock:
            self.behaviour = dict(behaviour)
            self.requests = []
            self.connections = 0
            self._poll_index = 0
            self._jwks_index = 0
        self._close_all()

    def stop(self):
        self._stop.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self._close_all()
        self._thread.join(5)

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def _close_all(self):
        with self.lock:
            conns = list(self._open)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # ----- serving -------------------------------------------------------------

    def _accept_loop(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self._open.add(conn)
                behaviour = dict(self.behaviour)
            threading.Thread(target=self._serve, args=(conn, behaviour), daemon=True).start()

    def _serve(self, conn, behaviour):
        transport = behaviour.get("transport", "tls")
        sock = conn
        try:
            if transport == "close":
                return
            if transport == "plain":
                # What a plain HTTP server does with a TLS ClientHello: complain in HTTP.
                conn.settimeout(10)
                hello = conn.recv(4096)
                with self.lock:
                    self.requests.append({"time": time.monotonic(), "method": None, "path": "(plain)",
                                          "headers": {}, "form": {}, "raw": hello})
                self._send(conn, reply(400, "<html>plain HTTP here</html>", ctype="text/html"))
                return
            if transport == "silent":
                self._stop.wait(120)
                return
            if transport in ("tls", "tls_silent"):
                conn.settimeout(10)
                try:
                    sock = self.ctx.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    return
                with self.lock:
                    self._open.add(sock)
                if transport == "tls_silent":
                    self._stop.wait(120)
                    return
            sock.settimeout(30)
            reader = sock.makefile("rb")
            while not self._stop.is_set():
                req = self._read_request(reader)
                if req is None:
                    return
                with self.lock:
                    self.requests.append(req)
                    if req["path"] == "/oauth/token":
                        polls = behaviour.get("token") or [reply(400, {"error": "invalid_grant"})]
                        r = polls[min(self._poll_index, len(polls) - 1)]
                        self._poll_index += 1
                    elif req["path"] == "/bc-authorize":
                        r = behaviour.get("bc") or reply(404, {"error": "not_found"})
                    elif req["path"] == "/.well-known/openid-configuration" and behaviour.get("discovery"):
                        r = behaviour["discovery"]
                    elif req["path"] == "/jwks.json" and behaviour.get("jwks"):
                        fetches = behaviour["jwks"]
                        r = fetches[min(self._jwks_index, len(fetches) - 1)]
                        self._jwks_index += 1
                    else:
                        r = reply(404, {"error": "not_found"})
                if not self._send(sock, r):
                    return
        except (OSError, ValueError) as exc:
            with self.lock:
                self.errors.append(repr(exc))
        finally:
            with self.lock:
                self._open.discard(conn)
                self._open.discard(sock)
            try:
                sock.close()
            except OSError:
                pass

    @staticmethod
    def _read_request(reader):
        line = reader.readline(8192)
        if not line:
            return None
        parts = line.decode("latin-1").split()
        if len(parts) != 3:
            return None
        headers = {}
        while True:
            h = reader.readline(8192)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        n = int(headers.get("content-length", "0") or 0)
        body = reader.read(n) if n > 0 else b""
        try:
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            form = {}
        return {"time": time.monotonic(), "method": parts[0], "path": parts[1].split("?")[0],
                "headers": headers, "form": form}

    def _send(self, sock, r):
        body = r["body"]
        if not isinstance(body, (bytes, bytearray)):
            body = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        delivery = r.get("delivery", "normal")
        head = ["HTTP/1.1 %d %s" % (r["status"], REASONS.get(r["status"], "Status"))]
        if r.get("ctype"):
            head.append("Content-Type: %s" % r["ctype"])
        for k, v in r.get("headers", []):
            head.append("%s: %s" % (k, v))
        if delivery == "endless":
            head.append("Content-Length: %d" % (1 << 40))
        else:
            head.append("Content-Length: %d" % len(body))
        if delivery == "header_flood":
            sock.sendall(("\r\n".join(head) + "\r\n").encode("latin-1"))
            line = b"X-Flood: " + b"x" * 1000 + b"\r\n"
            while not self._stop.is_set():
                sock.sendall(line * 64)
            return False
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        if delivery == "normal":
            sock.sendall(data)
            return True
        if delivery == "trickle":
            for i in range(len(data)):
                if self._stop.wait(1.0):
                    return False
                sock.sendall(data[i:i + 1])
            return True
        if delivery == "reset":
            sock.sendall(data[:len(data) - max(1, len(body) // 2)])
            time.sleep(0.2)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False  # closing with linger 0 sends RST
        if delivery == "hang":
            self._stop.wait(120)
            return False
        if delivery == "delay":
            if self._stop.wait(r.get("delay", 0)):
                return False
            sock.sendall(data)
            return True
        if delivery == "endless":
            sock.sendall(data)
            chunk = b" " * 16384
            while not self._stop.is_set():
                sock.sendall(chunk)
            return False
        raise ValueError("unknown delivery %r" % delivery)
