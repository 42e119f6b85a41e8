"""Fetching the feed: HTTP (retries, Retry-After, conditional GET, paging) or a local file, and the fallback.

I/O. ``fetch`` reads one source into a ``FeedResult``; ``fetch_with_fallback`` tries the primary
(JSON API) then the fallback (RSS) and returns one scope error per source that failed: a source
that cannot be read, or whose body is not a feed, never stops the next from being tried.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scanner.core.model import ScopeError, ScopeKind
from scanner.errors import FeedError
from scanner.sources.feed.records import RETIREMENTS_TAG, Announcement, parse_feed
from scanner.sources.http import retry_after, safe_url

log = logging.getLogger("scanner.feed")


@dataclass(frozen=True)
class FeedResult:
    """What one fetch returned, plus what to keep for the next (incremental) fetch."""

    url: str
    items: tuple[Announcement, ...] = ()
    watermark: datetime | None = None  # newest `modified` seen (or the one passed in)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # the server answered 304: `items` are the previous ones
    pages: int = 0
    requests: int = 0


def build_api_url(base: str, *, tag: str | None = RETIREMENTS_TAG, watermark: datetime | None = None) -> str:
    """The JSON API URL with `$filter` on the tag and `modified ge <watermark>`.

    >>> build_api_url("https://x/api/v2/azure", watermark=datetime(2026, 1, 2, tzinfo=timezone.utc))
    "https://x/api/v2/azure?$filter=tags/any(t:%20t%20eq%20'Retirements')%20and%20modified%20ge%202026-01-02T00:00:00Z"
    """
    clauses = []
    if tag:
        clauses.append(f"tags/any(t: t eq '{tag.replace(chr(39), chr(39) * 2)}')")
    if watermark is not None:
        wm = watermark.astimezone(timezone.utc) if watermark.tzinfo else watermark
        clauses.append(f"modified ge {wm.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if not clauses:
        return base
    parts = urllib.parse.urlsplit(base)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k != "$filter"]
    existing = dict(urllib.parse.parse_qsl(parts.query)).get("$filter")
    if existing:
        clauses.insert(0, f"({existing})")
    query.append(("$filter", " and ".join(clauses)))
    q = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="$/():',")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, q, parts.fragment))


def _looks_like_api(url: str) -> bool:
    path = urllib.parse.urlsplit(url).path.lower().rstrip("/")
    return path.endswith("/api/v2/azure")



# --------------------------------------------------------------------------- fetching (I/O)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024 * 1024


def _is_remote(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _read_file(location: str) -> bytes:
    path = Path(urllib.parse.urlsplit(location).path if location.startswith("file://") else location)
    try:
        size = path.stat().st_size
        if size > MAX_BODY_BYTES:
            raise FeedError(f"{path}: {size} bytes is more than the {MAX_BODY_BYTES} byte limit")
        return path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file (give a feed URL or an existing JSON/RSS file)") from None
    except IsADirectoryError:
        raise FeedError(f"{path}: is a directory, not a feed file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot read ({exc.strerror})") from None


class _Http:
    """GET with timeouts, retries on 429/5xx and connection errors (honouring Retry-After)."""

    def __init__(self, session: Any, timeout: float | tuple[float, float], retries: int, backoff: float,
                 max_wait: float, sleep: Callable[[float], None]) -> None:
        import requests  # I/O dependency: imported where I/O happens

        from scanner import USER_AGENT

        self.requests = requests
        self.session = session or requests.Session()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.count = 0
        self.user_agent = USER_AGENT

    def get(self, url: str, headers: dict[str, str]) -> Any:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json, application/rss+xml, text/xml;q=0.9",
                   **headers}
        last = ""
        for attempt in range(self.retries + 1):
            self.count += 1
            try:
                resp = self.session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                        allow_redirects=True)
            except self.requests.RequestException as exc:
                last = f"{type(exc).__name__}"
                wait = self.backoff * (2 ** attempt)
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                last = f"HTTP {resp.status_code}"
                hinted = retry_after(resp.headers.get("Retry-After"))
                wait = hinted if hinted is not None else self.backoff * (2 ** attempt)
                resp.close()
            if attempt == self.retries:
                break
            wait = min(wait, self.max_wait)
            log.info("feed: %s from %s; retry %d/%d in %.1fs", last, safe_url(url), attempt + 1, self.retries, wait)
            self.sleep(wait)
        raise FeedError(f"{safe_url(url)}: {last} after {self.retries + 1} attempt{'s' if self.retries else ''}")

    def body(self, resp: Any, url: str) -> bytes:
        chunks, total = [], 0
        try:
            for chunk in resp.iter_content(65536):
                total += len(chunk)
                if total > MAX_BODY_BYTES:
                    raise FeedError(f"{safe_url(url)}: body exceeds the {MAX_BODY_BYTES} byte limit")
                chunks.append(chunk)
        except self.requests.RequestException as exc:
            raise FeedError(f"{safe_url(url)}: connection failed while reading the body ({type(exc).__name__})") from None
        finally:
            resp.close()
        return b"".join(chunks)


def _after(items: Iterable[Announcement], watermark: datetime | None) -> list[Announcement]:
    if watermark is None:
        return list(items)
    wm = watermark if watermark.tzinfo else watermark.replace(tzinfo=timezone.utc)
    return [a for a in items if (a.modified or a.created) is None or (a.modified or a.created) >= wm]


def fetch(
    location: str,
    *,
    watermark: datetime | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    previous: Sequence[Announcement] = (),
    tag: str | None = RETIREMENTS_TAG,
    session: Any = None,
    timeout: float | tuple[float, float] = (10.0, 60.0),
    retries: int = 4,
    backoff: float = 1.0,
    max_wait: float = 120.0,
    max_pages: int = 200,
    sleep: Callable[[float], None] = time.sleep,
) -> FeedResult:
    """Fetch announcements from one source: an http(s) URL or a local JSON/RSS file.

    For the JSON API (a URL ending in /api/v2/azure) the `$filter` asks for `tag` and, with a
    watermark, for `modified ge <watermark>`; every `@odata.nextLink` page is followed. RSS has
    no server-side filter: items older than the watermark are dropped here. The ETag and
    Last-Modified of the first page are sent back as If-None-Match / If-Modified-Since; a 304
    returns `previous` with `not_modified=True`. Raises FeedError naming the source.
    """
    if not _is_remote(location):
        body = _read_file(location)
        items, _ = parse_feed(body, location)
        items = _after(items, watermark)
        return FeedResult(url=location, items=tuple(items), watermark=_newest(items, watermark), pages=1)

    http = _Http(session, timeout, retries, backoff, max_wait, sleep)
    url = build_api_url(location, tag=tag, watermark=watermark) if _looks_like_api(location) else location
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    items: list[Announcement] = []
    seen_links: set[str] = set()
    pages = 0
    new_etag, new_lm = etag, last_modified
    while url:
        if pages >= max_pages:
            raise FeedError(f"{safe_url(location)}: more than {max_pages} pages; stopping (check @odata.nextLink)")
        if url in seen_links:
            raise FeedError(f"{safe_url(location)}: @odata.nextLink repeats page {safe_url(url)}; stopping")
        seen_links.add(url)
        resp = http.get(url, headers if pages == 0 else {})
        if resp.status_code == 304 and pages == 0:
            resp.close()
            log.info("feed: %s not modified (304); keeping %d previous items", safe_url(location), len(previous))
            return FeedResult(url=location, items=tuple(previous), watermark=watermark, etag=etag,
                              last_modified=last_modified, not_modified=True, pages=0, requests=http.count)
        if resp.status_code != 200:
            resp.close()
            raise FeedError(f"{safe_url(url)}: HTTP {resp.status_code} (expected 200)")
        if pages == 0:
            new_etag = resp.headers.get("ETag") or None
            new_lm = resp.headers.get("Last-Modified") or None
        body = http.body(resp, url)
        page_items, next_link = parse_feed(body, safe_url(url), resp.headers.get("Content-Type", ""))
        items += page_items
        pages += 1
        url = urllib.parse.urljoin(url, next_link) if next_link else ""
    items = _after(items, watermark)
    log.info("feed: %d items from %s, %d page(s), %d request(s)", len(items), safe_url(location), pages, http.count)
    return FeedResult(url=location, items=tuple(items), watermark=_newest(items, watermark), etag=new_etag,
                      last_modified=new_lm, pages=pages, requests=http.count)


def _newest(items: Iterable[Announcement], watermark: datetime | None) -> datetime | None:
    stamps = [a.modified or a.created for a in items if (a.modified or a.created) is not None]
    if watermark is not None:
        stamps.append(watermark if watermark.tzinfo else watermark.replace(tzinfo=timezone.utc))
    return max(stamps) if stamps else None


def fetch_with_fallback(locations: Sequence[str], **kwargs: Any) -> tuple[FeedResult | None, list[ScopeError]]:
    """Try each source in turn (primary JSON API, then RSS). Returns the first that worked (or
    None) and one ScopeError per source that failed. ETag/Last-Modified are only sent to the
    primary source (they belong to it)."""
    errors: list[ScopeError] = []
    for i, location in enumerate(loc for loc in locations if loc):
        args = dict(kwargs)
        if i > 0:
            args.pop("etag", None)
            args.pop("last_modified", None)
        try:
            result = fetch(location, **args)
        except FeedError as exc:
            log.warning("feed: %s", exc)
            errors.append(ScopeError(ScopeKind.FEED, name=safe_url(location), detail=str(exc)))
            continue
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError,
                UnicodeError) as exc:
            # A body this reader trips over is that source's failure, not the scan's: say so and
            # try the next source. (Names the exception type only: its text may quote the body.)
            log.warning("feed: %s could not be read", safe_url(location), exc_info=True)
            errors.append(ScopeError(ScopeKind.FEED, name=safe_url(location),
                                     detail=f"{safe_url(location)}: the body could not be read ({type(exc).__name__})"))
            continue
        return result, errors
    return None, errors


