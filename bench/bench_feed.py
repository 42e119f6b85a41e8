"""Benchmark: reading a large Azure Updates feed (parse, read, merge) and fetching it over loopback.

Runnable as a plain script: `python bench/bench_feed.py [N]` (default 10,000 items). Builds N
records from the real fixture (ids renumbered, every 7th a retirement), then prints time and peak
memory for parse_json, parse_rss and derive_retirements, and for fetch() over 127.0.0.1 with
100-item pages. No internet; bounded in count and time.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import tracemalloc
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import scanner.sources.feed as au  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "feed" / "api-v2-retirements-2025-08-to-2026-08.json"


def records(n: int) -> list[dict]:
    base = json.loads(FIXTURE.read_text(encoding="utf-8"))["value"]
    out = []
    for i in range(n):
        r = dict(base[i % len(base)])
        r["id"] = str(1_000_000 + i)
        out.append(r)
    return out


def rss(recs: list[dict]) -> bytes:
    items = "".join(
        f"<item><guid isPermaLink=\"false\">{r['id']}</guid><link>https://azure.microsoft.com/updates?id={r['id']}</link>"
        + "".join(f"<category>{escape(t)}</category>" for t in r["tags"])
        + f"<title>{escape(r['title'])}</title><description>{escape(r['description'])}</description>"
        f"<pubDate>Mon, 03 Aug 2026 17:00:56 Z</pubDate><a10:updated>{r['modified'][:19]}Z</a10:updated></item>"
        for r in recs)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss xmlns:a10="http://www.w3.org/2005/Atom" version="2.0">'
            f"<channel><title>Azure service updates</title>{items}</channel></rss>").encode()


def measure(label: str, fn):
    """Time one plain run, then peak Python memory in a second run (tracemalloc slows code ~4x)."""
    t0 = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<44} {elapsed * 1000:9.1f} ms   peak {peak / 2**20:7.1f} MiB")
    return result


def serve(recs: list[dict], page: int):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
            skip = int(q.get("$skip", 0))
            doc = {"value": recs[skip: skip + page]}
            if skip + page < len(recs):
                doc["@odata.nextLink"] = f"http://127.0.0.1:{self.server.server_address[1]}/api/v2/azure?$skip={skip + page}"
            body = json.dumps(doc).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return httpd


def main() -> int:
    n = min(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000, 50_000)
    recs = records(n)
    body = json.dumps({"value": recs}).encode()
    xml = rss(recs)
    print(f"feed of {n} items: JSON {len(body) / 2**20:.1f} MiB, RSS {len(xml) / 2**20:.1f} MiB")
    items, _ = measure("parse_json", lambda: au.parse_json(body, "bench.json"))
    measure("parse_rss", lambda: au.parse_rss(xml, "bench.xml"))
    d = measure("derive_retirements (read + merge)", lambda: au.derive_retirements(items))
    print(f"  -> {len(d.retirements)} retirements, {len(d.needs_review)} to review, "
          f"{sum(1 for r in d.readings.values() if r.kind == 'ignore')} ignored")
    httpd = serve(recs, 100)
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/api/v2/azure"
        res = measure("fetch over loopback (100-item pages)", lambda: au.fetch(url, tag=None))
        print(f"  -> {len(res.items)} items in {res.pages} pages, {res.requests} requests")
    finally:
        httpd.shutdown()
        httpd.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
