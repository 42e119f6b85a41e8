"""A plain-HTTP server on 127.0.0.1 (free port) for fakes, and a queue of scripted statuses. Test-only.

    class MyFake(LoopbackServer):
        def respond(self, req) -> (status, headers, body_bytes): ...

    with MyFake() as srv:
        srv.base                      http://127.0.0.1:<port>
        srv.requests                  every request, in order: {"method", "path", "query" (last value
                                      of each name), "raw_query", "headers", "body" (bytes)}

    StatusScript: script([500, 429]) queues statuses; next(default) pops one or returns default.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.tls import serve_in_thread

Reply = tuple[int, dict[str, str], bytes]


class LoopbackServer:
    """Serves GET and POST by calling `respond(req)`; records every request in `requests`."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _do(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = {"method": self.command, "path": parts.path, "raw_query": parts.query,
                       "query": dict(urllib.parse.parse_qsl(parts.query)), "headers": dict(self.headers.items()),
                       "body": self.rfile.read(length) if length else b""}
                outer.requests.append(req)
                status, headers, body = outer.respond(req)
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _do

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._serving = None

    def respond(self, req: dict) -> Reply:
        return 404, {}, b"not found"

    def __enter__(self):
        self._serving = serve_in_thread(self.httpd)
        self._serving.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._serving.__exit__(*exc)


class StatusScript:
    """Statuses to answer the next requests with (thread-safe), then the caller's default."""

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self.lock = threading.Lock()

    def script(self, statuses) -> None:
        with self.lock:
            self._queue.extend(statuses)

    def next(self, default: int | None = None) -> int | None:
        with self.lock:
            return self._queue.popleft() if self._queue else default
