"""A local HTTP receiver standing in for a Teams Workflows webhook. Test-only.

    with webhook_receiver() as hook:
        hook.url                      http://127.0.0.1:<port>/workflows/<id>/triggers/manual/...?sig=<secret>
        hook.posts                    parsed JSON bodies received with a success answer, in order
        hook.requests                 every request: (status answered, raw body bytes)
        hook.script([500, 500])       answer these statuses to the next requests, then `default`
        hook.default = 500            answer this to everything (a webhook that is down)
        hook.retry_after = "0"        Retry-After header sent with 429/503 answers
        hook.answer_delay = 2.0       take the post, then wait this long before answering

Only a request to the exact path with the exact `sig` query is accepted (others get 404), as a
real Workflows trigger does with a wrong signature.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.fakes.loopback import StatusScript
from tests.fakes.tls import serve_in_thread


class WebhookReceiver(StatusScript):
    def __init__(self) -> None:
        super().__init__()
        self.sig = secrets.token_urlsafe(24)
        self.path = f"/workflows/{secrets.token_hex(8)}/triggers/manual/paths/invoke"
        self.posts: list[dict] = []
        self.requests: list[tuple[int, bytes]] = []
        self.default = 202
        self.retry_after: str | None = "0"
        self.answer_delay = 0.0
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sig={self.sig}"

    def _answer(self, path: str, body: bytes) -> int:
        parts = urlsplit(path)
        if parts.path != self.path or parse_qs(parts.query).get("sig") != [self.sig]:
            status = 404
        else:
            status = self.next(self.default)
        with self.lock:
            self.requests.append((status, body))
            if status in (200, 202):
                self.posts.append(json.loads(body.decode("utf-8")))
        return status


@contextlib.contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = hook._answer(self.path, body)
            if hook.answer_delay:
                time.sleep(hook.answer_delay)
            self.send_response(status)
            if status in (429, 503) and hook.retry_after is not None:
                self.send_header("Retry-After", hook.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hook.port = server.server_address[1]
    with serve_in_thread(server):
        yield hook
