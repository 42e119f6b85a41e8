"""A fake Azure Retail Prices API on 127.0.0.1 (plain HTTP, as the tests need no TLS here). Test-only.

GET /api/retail/prices?currencyCode='USD'&$filter=... answers the stored items matching the filter's
`armRegionName eq '...'` and `armSkuName eq '...'` (case-sensitive, as the API is from
2023-01-01-preview on), `page_size` items a page with an absolute `NextPageLink` ($skip), the
envelope the API uses (BillingCurrency, CustomerEntityId, Items, NextPageLink, Count). `failures`
queues statuses to answer first (429 with Retry-After), `broken` names sizes that always get 500.
Every request is logged.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.tls import serve_in_thread


class FakePrices:
    def __init__(self, items: list[dict], page_size: int = 2) -> None:
        self.items = items
        self.page_size = page_size
        self.failures: list[int] = []
        self.broken: set[str] = set()
        self.html = False  # answer every request with an HTML page (a proxy's error page)
        self.log: list[dict] = []
        self.url = ""
        self._lock = threading.Lock()

    def handle(self, path: str, query: dict) -> tuple[int, dict, dict]:
        with self._lock:
            self.log.append({"path": path, "query": dict(query)})
            if self.failures:
                status = self.failures.pop(0)
                return status, {"Retry-After": "0"}, {"Error": {"Code": "TooManyRequests"}}
        flt = query.get("$filter", "")
        region = re.search(r"armRegionName eq '([^']*)'", flt)
        size = re.search(r"armSkuName eq '([^']*)'", flt)
        if size and size.group(1) in self.broken:
            return 500, {}, {"Error": {"Code": "InternalServerError"}}
        rows = [i for i in self.items
                if (not region or i["armRegionName"] == region.group(1)) and (not size or i["armSkuName"] == size.group(1))]
        skip = int(query.get("$skip", "0") or 0)
        page = rows[skip:skip + self.page_size]
        nxt = None
        if skip + self.page_size < len(rows):
            nxt = f"{self.url}?" + urlencode({"currencyCode": query.get("currencyCode", "'USD'"), "$filter": flt,
                                              "$skip": skip + self.page_size})
        return 200, {}, {"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail",
                         "Items": page, "NextPageLink": nxt, "Count": len(page)}

    @contextlib.contextmanager
    def running(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                status, headers, doc = fake.handle(parts.path, query)
                data = b"<html><body>Gateway says hello</body></html>" if fake.html else json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        with serve_in_thread(server):
            self.url = f"http://127.0.0.1:{server.server_address[1]}/api/retail/prices"
            yield self.url
