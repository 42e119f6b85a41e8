"""The feed fetcher against a real HTTP server on 127.0.0.1 (http.server in a thread).

Covers paging via @odata.nextLink, the $filter query, conditional GET (ETag and
If-Modified-Since; a 304 keeps the previous result), retries on 429 (Retry-After) and 5xx,
fallback JSON API -> RSS, and `python -m scanner catalog --feed URL`.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable
from datetime import datetime, timezone

import pytest

import scanner.sources.feed as au
from scanner import USER_AGENT
from scanner.errors import FeedError
from tests.conftest import FIXTURES
from tests.fakes.loopback import LoopbackServer, Reply

pytestmark = pytest.mark.integration

FEED = FIXTURES / "feed"
API = json.loads((FEED / "api-v2-retirements-2025-08-to-2026-08.json").read_text(encoding="utf-8"))
RSS = (FEED / "rss-v2-reconstructed-retirements.xml").read_bytes()


class FeedServer(LoopbackServer):
    """Routes by path; `handler(request) -> (status, headers, body)`; records every request."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Callable[[dict], Reply]] = {}

    def respond(self, req: dict) -> Reply:
        route = self.routes.get(req["path"])
        return route(req) if route else (404, {}, b"not found")


@pytest.fixture
def server():
    with FeedServer() as s:
        yield s


def json_reply(doc: dict, **headers: str) -> Reply:
    return 200, {"Content-Type": "application/json; charset=utf-8", **headers}, json.dumps(doc).encode()


def paged(records: list[dict], size: int, base: str, path: str = "/api/v2/azure") -> Callable[[dict], Reply]:
    def route(req: dict) -> Reply:
        skip = int(req["query"].get("$skip", 0))
        doc = {"value": records[skip: skip + size]}
        if skip + size < len(records):
            q = dict(req["query"], **{"$skip": str(skip + size)})
            doc["@odata.nextLink"] = f"{base}{path}?{urllib.parse.urlencode(q)}"
        return json_reply(doc)
    return route


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_paging_follows_next_link_and_sends_the_filter(server):
    records = API["value"]
    server.routes["/api/v2/azure"] = paged(records, 25, server.base)
    wm = datetime(2025, 8, 1, tzinfo=timezone.utc)
    result = au.fetch(f"{server.base}/api/v2/azure", watermark=wm)
    assert result.pages == 4 and result.requests == 4
    assert [a.id for a in result.items] == [r["id"] for r in records]
    assert server.requests[0]["query"]["$filter"] == (
        "tags/any(t: t eq 'Retirements') and modified ge 2025-08-01T00:00:00Z")
    assert all(r["headers"]["User-Agent"] == USER_AGENT for r in server.requests)
    assert result.watermark == max(a.modified for a in result.items)
    assert len(au.derive_retirements(result.items).retirements) == 6


def test_next_link_loop_is_stopped(server):
    loop = f"{server.base}/api/v2/azure?$skip=1"
    server.routes["/api/v2/azure"] = lambda req: json_reply({"value": [], "@odata.nextLink": loop})
    with pytest.raises(FeedError, match=r"@odata.nextLink repeats page .*/api/v2/azure; stopping"):
        au.fetch(f"{server.base}/api/v2/azure")


def test_etag_304_keeps_the_previous_result(server):
    def route(req: dict) -> Reply:
        if req["headers"].get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return json_reply({"value": API["value"][:5]}, ETag='"v1"')

    server.routes["/api/v2/azure"] = route
    first = au.fetch(f"{server.base}/api/v2/azure")
    assert first.etag == '"v1"' and len(first.items) == 5 and not first.not_modified
    second = au.fetch(f"{server.base}/api/v2/azure", etag=first.etag, watermark=first.watermark,
                      previous=first.items)
    assert second.not_modified and second.items == first.items and second.etag == '"v1"'
    assert second.watermark == first.watermark and second.requests == 1


def test_if_modified_since_for_the_rss_feed(server):
    stamp = "Wed, 12 Aug 2026 19:41:20 GMT"

    def route(req: dict) -> Reply:
        if req["headers"].get("If-Modified-Since") == stamp:
            return 304, {}, b""
        return 200, {"Content-Type": "application/rss+xml", "Last-Modified": stamp}, RSS

    server.routes["/api/v2/azure/rss"] = route
    first = au.fetch(f"{server.base}/api/v2/azure/rss")
    assert first.last_modified == stamp and len(first.items) == 81
    assert "$filter" not in server.requests[0]["query"]  # RSS takes no OData filter
    again = au.fetch(f"{server.base}/api/v2/azure/rss", last_modified=first.last_modified, previous=first.items)
    assert again.not_modified and len(again.items) == 81


def test_rss_watermark_filters_client_side(server):
    server.routes["/rss"] = lambda req: (200, {}, RSS)
    wm = datetime(2026, 6, 1, tzinfo=timezone.utc)
    result = au.fetch(f"{server.base}/rss", watermark=wm)
    assert result.items and all(a.modified >= wm for a in result.items)
    assert len(result.items) < 81


def test_429_retry_after_is_honoured(server):
    calls = []

    def route(req: dict) -> Reply:
        calls.append(1)
        if len(calls) < 3:
            return 429, {"Retry-After": "7"}, b"slow down"
        return json_reply({"value": API["value"][:2]})

    server.routes["/api/v2/azure"] = route
    sleeps = Sleeps()
    result = au.fetch(f"{server.base}/api/v2/azure", sleep=sleeps, backoff=0.01)
    assert sleeps == [7.0, 7.0] and len(result.items) == 2 and result.requests == 3


def test_retry_after_is_capped(server):
    calls = []

    def route(req: dict) -> Reply:
        calls.append(1)
        return (503, {"Retry-After": "86400"}, b"") if len(calls) == 1 else json_reply({"value": []})

    server.routes["/api/v2/azure"] = route
    sleeps = Sleeps()
    au.fetch(f"{server.base}/api/v2/azure", sleep=sleeps, max_wait=30)
    assert sleeps == [30]


def test_5xx_backs_off_then_gives_up_naming_the_url_without_query(server):
    server.routes["/api/v2/azure"] = lambda req: (502, {}, b"bad gateway")
    sleeps = Sleeps()
    with pytest.raises(FeedError) as exc:
        au.fetch(f"{server.base}/api/v2/azure?sig=secret", sleep=sleeps, retries=3, backoff=0.5)
    assert str(exc.value) == f"{server.base}/api/v2/azure: HTTP 502 after 4 attempts"
    assert sleeps == [0.5, 1.0, 2.0] and len(server.requests) == 4


def test_real_backoff_sleep_is_short_and_bounded(server):
    calls = []

    def route(req: dict) -> Reply:
        calls.append(1)
        return (500, {}, b"") if len(calls) == 1 else json_reply({"value": API["value"][:1]})

    server.routes["/api/v2/azure"] = route
    assert len(au.fetch(f"{server.base}/api/v2/azure", backoff=0.05).items) == 1


def test_fallback_from_json_api_to_rss(server):
    server.routes["/api/v2/azure"] = lambda req: (500, {}, b"down")
    server.routes["/api/v2/azure/rss"] = lambda req: (200, {"Content-Type": "application/rss+xml"}, RSS)
    result, errors = au.fetch_with_fallback(
        [f"{server.base}/api/v2/azure", f"{server.base}/api/v2/azure/rss"], retries=1, sleep=Sleeps(),
        etag='"stale"')
    assert result is not None and result.url.endswith("/rss") and len(result.items) == 81
    assert [e.scope for e in errors] == [f"feed:{server.base}/api/v2/azure"]
    assert errors[0].error.endswith("HTTP 500 after 2 attempts")
    assert "If-None-Match" not in server.requests[-1]["headers"]  # the ETag belongs to the primary


@pytest.mark.parametrize(
    "reply, message",
    [
        ((200, {}, b'{"value": [{"id": "1"'), "not valid JSON"),
        ((200, {"Content-Type": "application/json"}, '{"value": ["caf\u00e9"]}'.encode("cp1252")),
         "body is not valid UTF-8"),
        ((200, {}, b""), "empty body"),
        ((404, {}, b"nope"), "HTTP 404 (expected 200)"),
    ],
    ids=["truncated-json", "cp1252-body", "empty-body", "not-found"],
)
def test_bad_responses_raise_feed_error_naming_the_url(server, reply, message):
    server.routes["/api/v2/azure"] = lambda req: reply
    with pytest.raises(FeedError) as exc:
        au.fetch(f"{server.base}/api/v2/azure")
    assert str(exc.value).startswith(f"{server.base}/api/v2/azure") and message in str(exc.value)


def test_connection_refused_is_a_feed_error():
    with FeedServer() as s:
        dead = s.base
    with pytest.raises(FeedError, match=r"ConnectionError after 2 attempts"):
        au.fetch(f"{dead}/api/v2/azure", retries=1, sleep=Sleeps())


def test_catalog_command_reads_the_feed(server, capsys):
    from scanner.cli import main

    server.routes["/api/v2/azure"] = paged(API["value"], 40, server.base)
    code = main(["catalog", "--feed", f"{server.base}/api/v2/azure", "--catalog", "none", "--format", "json",
                 "--today", "2026-01-01"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["schema"] == "retirement-catalog/v1"
    nv3 = next(r for r in out["retirements"] if r["id"] == "azure-updates-500573")
    assert nv3["retires_on"] == "2026-09-30" and nv3["days_left"] == 272 and nv3["source"] == "feed"
    assert nv3["urls"] == ["https://azure.microsoft.com/updates?id=500573",
                           "https://azure.microsoft.com/updates?id=516070"]
    assert set(nv3) >= {"id", "title", "series", "retires_on", "announced_on", "source", "urls",
                        "replacement_series"}
    assert out["needs_review"] == [] and out["errors"] == []


def test_catalog_command_feed_down_with_catalog_none_fails_clearly(server, capsys):
    from scanner.cli import main

    server.routes["/api/v2/azure"] = lambda req: (404, {}, b"")
    code = main(["catalog", "--feed", f"{server.base}/api/v2/azure", "--catalog", "none"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"warning: {server.base}/api/v2/azure: HTTP 404 (expected 200)" in err
    assert "no feed source could be read" in err


def test_incremental_fetch_then_derive_from_kept_and_new_items(server):
    """What the timer does: keep items, fetch newer ones by watermark, read them all together."""
    records = API["value"]
    cut = datetime(2026, 1, 1, tzinfo=timezone.utc)

    def route(req: dict) -> Reply:
        flt = req["query"].get("$filter", "")
        if "modified ge" in flt:
            since = datetime.fromisoformat(flt.rsplit(" ", 1)[1].replace("Z", "+00:00"))
            return json_reply({"value": [r for r in records if au._parse_dt(r["modified"]) >= since]})
        return json_reply({"value": [r for r in records if au._parse_dt(r["modified"]) < cut]})

    server.routes["/api/v2/azure"] = route
    first = au.fetch(f"{server.base}/api/v2/azure")
    kept = [au.announcement_to_dict(a) for a in first.items]
    kept = json.loads(json.dumps(kept))  # as a store would keep them
    second = au.fetch(f"{server.base}/api/v2/azure", watermark=first.watermark)
    assert server.requests[-1]["query"]["$filter"].endswith(
        f"modified ge {first.watermark.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    assert second.items and all(a.modified >= first.watermark for a in second.items)
    restored = [au.announcement_from_dict(d) for d in kept]
    assert restored == list(first.items)
    whole = au.derive_retirements([*restored, *second.items])
    assert len(whole.retirements) == 6  # the same catalogue as one full read
    assert second.watermark > first.watermark


def test_stored_item_missing_a_field_is_named():
    with pytest.raises(FeedError, match=r"^stored item: missing field 'text'$"):
        au.announcement_from_dict({"id": "1", "title": "t"})
