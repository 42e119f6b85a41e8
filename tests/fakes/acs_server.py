"""A fake Azure Communication Services Email endpoint over HTTPS on loopback. Test-only.

Speaks the REST shape the real SDK (azure-communication-email) uses:
    POST /emails:send?api-version=...     HMAC-SHA256 signed (connection string access key);
                                          202 + Operation-Location, body {"id", "status": "Running"}
    GET  /emails/operations/<id>?...      {"id", "status": "Succeeded"} (signed too)
A request with a bad signature or content hash gets 401. The Operation-Id header makes a send
idempotent, as in the real service: a repeated id is accepted but not delivered again.

    with acs_server(tmpdir) as acs:
        acs.connection_string             endpoint=https://127.0.0.1:<port>/;accesskey=<base64>
        acs.cert_path                     trust this (connection_verify=...)
        acs.sent                          delivered email bodies (parsed JSON), in order
        acs.script([429])                 answer the next sends with these statuses (Retry-After: 0)
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit

from tests.fakes.loopback import StatusScript
from tests.fakes.tls import https_server


class AcsFake(StatusScript):
    def __init__(self) -> None:
        super().__init__()
        self.key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        self.sent: list[dict] = []
        self.operations: dict[str, dict] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.retry_after = "0"
        self.base_url = ""
        self.cert_path = ""

    @property
    def connection_string(self) -> str:
        return f"endpoint={self.base_url}/;accesskey={self.key}"

    def signature_ok(self, method: str, path: str, headers, body: bytes) -> bool:
        date = headers.get("x-ms-date", "")
        content_hash = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        if headers.get("x-ms-content-sha256") != content_hash:
            return False
        to_sign = f"{method}\n{path}\n{date};{headers.get('Host', '')};{content_hash}"
        expected = base64.b64encode(hmac.new(base64.b64decode(self.key), to_sign.encode("utf-8"),
                                             hashlib.sha256).digest()).decode("ascii")
        auth = headers.get("Authorization", "")
        return auth == f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={expected}"


@contextlib.contextmanager
def acs_server(tmpdir) -> Iterator[AcsFake]:
    fake = AcsFake()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: dict | None = None, headers: dict | None = None) -> None:
            data = json.dumps(body).encode("utf-8") if body is not None else b""
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            with fake.lock:
                fake.requests.append((self.command, urlsplit(self.path).path, status))

        def _auth(self, body: bytes) -> bool:
            if fake.signature_ok(self.command, self.path, self.headers, body):
                return True
            self._reply(401, {"error": {"code": "Denied", "message": "bad HMAC signature"}})
            return False

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if urlsplit(self.path).path != "/emails:send":
                return self._reply(404, {"error": {"code": "NotFound", "message": self.path}})
            if not self._auth(body):
                return None
            scripted = fake.next()
            if scripted is not None:
                headers = {"Retry-After": fake.retry_after} if scripted == 429 else {}
                return self._reply(scripted, {"error": {"code": "TooManyRequests" if scripted == 429
                                                        else "Scripted", "message": "scripted"}}, headers)
            try:
                email = json.loads(body)
                assert email["senderAddress"] and email["recipients"]["to"] and email["content"]["subject"]
            except (ValueError, KeyError, AssertionError, TypeError):
                return self._reply(400, {"error": {"code": "BadRequest", "message": "invalid email"}})
            op = self.headers.get("Operation-Id") or str(uuid.uuid4())
            with fake.lock:
                if op not in fake.operations:
                    fake.operations[op] = {"id": op, "status": "Succeeded"}
                    fake.sent.append(email)
            location = f"{fake.base_url}/emails/operations/{op}?api-version=2023-03-31"
            return self._reply(202, {"id": op, "status": "Running"},
                               {"Operation-Location": location, "Retry-After": "0"})

        def do_GET(self):  # noqa: N802
            path = urlsplit(self.path).path
            if not path.startswith("/emails/operations/"):
                return self._reply(404, {"error": {"code": "NotFound", "message": path}})
            if not self._auth(b""):
                return None
            op = fake.operations.get(path.rsplit("/", 1)[1])
            if op is None:
                return self._reply(404, {"error": {"code": "NotFound", "message": "no such operation"}})
            return self._reply(200, op)

        def log_message(self, *args):
            pass

    with https_server(Handler, tmpdir) as (server, base_url, cert_path):
        fake.base_url, fake.cert_path = base_url, cert_path
        yield fake
