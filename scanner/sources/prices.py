"""Pay-as-you-go VM prices from the public Azure Retail Prices API (no sign-in), or saved responses.

    fetch_prices(settings, needs, *, session=None, cache=None, workers=4) -> (PriceBook, [ScopeError])
        Live. One query per distinct (size, region) a finding needs (its Linux and Windows meters come
        back together), following NextPageLink on the same host; 429/5xx retried (Retry-After) a few
        times. Each answer is kept in `cache` (bootstrap: the store's table, tables.cache.PriceCache; else
        FilePriceCache(PRICE_CACHE_DIR)) for a day, so a
        second scan the same day sends no request. A query that fails is one ScopeError(PRICES)
        naming the size and region; its findings say the price is missing, nothing else changes.
    load_price_files(paths) -> list[dict]
        `--prices FILE`: saved API answers: one JSON document with `Items`, a list of such pages,
        or a folder of them. Errors name the file.
    book_from_items(items, needs, currency="") -> PriceBook     pure: core.costs.pick_price per need
    FilePriceCache(folder, max_age=timedelta(hours=24))         .load(key) / .save(key, items)

Facts: /work/shared/reference/prices/notes.md (endpoint, `$filter` fields, `priceType` vs the
item's `type`, `currencyCode='EUR'` as a quoted query parameter, paging by NextPageLink, no
authentication, hosts per cloud).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from scanner.core.costs import PriceBook, pick_price
from scanner.core.model import ScopeError, ScopeKind, region_key
from scanner.errors import InputError
from scanner.sources.http import retry_after, safe_url

log = logging.getLogger("scanner.prices")

MAX_PAGES = 20  # one size in one region is a few dozen meters
RETRIES = 3
BACKOFF = 1.0  # seconds, doubled per attempt, when the answer names no Retry-After
TIMEOUT = 30


def _items_of(doc: Any, where: str) -> list[dict]:
    if isinstance(doc, dict):
        items = doc.get("Items")
        if not isinstance(items, list):
            raise InputError(f"{where}: expected a Retail Prices answer with an 'Items' array")
        return [i for i in items if isinstance(i, dict)]
    if isinstance(doc, list):
        out: list[dict] = []
        for n, page in enumerate(doc):
            out += _items_of(page, f"{where} page {n}")
        return out
    raise InputError(f"{where}: expected a JSON object with 'Items' or a list of them, got {type(doc).__name__}")


def load_price_files(paths: Iterable[str]) -> list[dict]:
    files: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            files += sorted(path.glob("*.json"))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"--prices {p!r}: no such file or folder")
    items: list[dict] = []
    for f in files:
        try:
            doc = json.loads(f.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            raise InputError(f"--prices {str(f)!r}: cannot read it ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise InputError(f"--prices {str(f)!r}: not JSON ({exc})") from None
        items += _items_of(doc, f"--prices {str(f)!r}")
    return items


def book_from_items(items: list[dict], needs: Iterable[tuple[str, str, str]], currency: str = "") -> PriceBook:
    cur = currency or next((str(i.get("currencyCode")) for i in items if i.get("currencyCode")), "USD")
    book = PriceBook(cur)
    for size, region, os in needs:
        price, why = pick_price(items, size, region, os)
        book.add(size, region, os, price, why)
    return book


class FilePriceCache:
    """Answers of the prices API kept as files for `max_age` (one file per currency, region, size)."""

    def __init__(self, folder: str, max_age: timedelta = timedelta(hours=24), now=None) -> None:
        self.folder = Path(folder)
        self.max_age = max_age
        self.now = now or (lambda: datetime.now(timezone.utc))

    def _path(self, key: tuple[str, str, str]) -> Path:
        digest = hashlib.sha256("|".join(key).lower().encode()).hexdigest()[:24]
        return self.folder / f"{digest}.json"

    def load(self, key: tuple[str, str, str]) -> list[dict] | None:
        try:
            doc = json.loads(self._path(key).read_text(encoding="utf-8"))
            fetched = datetime.fromisoformat(doc["fetched_at"])
            if self.now() - fetched > self.max_age or doc.get("key") != list(key):
                return None
            return list(doc["items"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # absent, stale or unreadable: read live

    def save(self, key: tuple[str, str, str], items: list[dict]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self._path(key).with_suffix(".tmp")
            tmp.write_text(json.dumps({"key": list(key), "fetched_at": self.now().isoformat(), "items": items}),
                           encoding="utf-8")
            tmp.replace(self._path(key))
        except OSError as exc:  # a cache that cannot be written never fails the scan
            log.warning("prices: cache not written (%s)", exc.strerror or type(exc).__name__)


def _query(base: str, size: str, region: str, currency: str) -> str:
    flt = (f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and armSkuName eq '{size}' "
           "and priceType eq 'Consumption'")
    query = urlencode({"currencyCode": "'" + currency + "'", "$filter": flt})
    return f"{base}?{query}"


def _get(session: Any, url: str, counter: list[int]) -> dict:
    for attempt in range(RETRIES + 1):
        counter[0] += 1
        resp = session.get(url, timeout=TIMEOUT)
        if resp.status_code == 200:
            try:
                doc = resp.json()
            except ValueError:
                raise InputError(f"{safe_url(url)}: HTTP 200 but not JSON") from None
            if not isinstance(doc, dict):
                raise InputError(f"{safe_url(url)}: HTTP 200 but not a JSON object")
            return doc
        if resp.status_code in (429, 500, 502, 503, 504) and attempt < RETRIES:
            wait = retry_after(resp.headers.get("Retry-After"))
            if wait is None:
                wait = retry_after(resp.headers.get("x-ms-ratelimit-retailPrices-retry-after"))
            time.sleep(min(BACKOFF * 2.0 ** attempt if wait is None else wait, 30.0))
            continue
        raise InputError(f"{safe_url(url)}: HTTP {resp.status_code}")
    raise InputError(f"{safe_url(url)}: gave up")  # pragma: no cover - the loop returns or raises


def _fetch_one(session: Any, base: str, size: str, region: str, currency: str, counter: list[int]) -> list[dict]:
    url = _query(base, size, region, currency)
    host = urlsplit(url).netloc.lower()
    items: list[dict] = []
    seen: set[str] = set()
    while url:
        if url in seen or len(seen) >= MAX_PAGES:
            raise InputError(f"{safe_url(url)}: NextPageLink repeats or runs past {MAX_PAGES} pages")
        seen.add(url)
        doc = _get(session, url, counter)
        items += _items_of(doc, safe_url(url))
        nxt = doc.get("NextPageLink")
        if nxt and urlsplit(str(nxt)).netloc.lower() != host:
            raise InputError(f"{safe_url(url)}: NextPageLink points to another host ({urlsplit(str(nxt)).netloc})")
        url = str(nxt) if nxt else ""
    return items


def fetch_prices(settings: Any, needs: Iterable[tuple[str, str, str]], *, session: Any = None,
                 cache: Any = None, workers: int = 4) -> tuple[PriceBook, list[ScopeError]]:
    """Live prices for what the findings need (see the module docstring)."""
    import requests

    base, currency = settings.prices_url, settings.prices_currency
    needs = sorted(set(needs))
    if cache is None:
        cache = FilePriceCache(settings.price_cache_dir or default_cache_dir())
    session = session or requests.Session()
    pairs: dict[tuple[str, str], str] = {}
    for size, region, _os in needs:
        pairs.setdefault((size.lower(), region_key(region)), size)
    counter = [0]
    errors: list[ScopeError] = []
    items: list[dict] = []
    cached = 0
    todo: list[tuple[str, str]] = []
    for (low, region), size in sorted(pairs.items()):
        hit = cache.load((currency, region, low)) if cache is not None else None
        if hit is not None:
            items += hit
            cached += 1
        else:
            todo.append((size, region))

    def job(pair: tuple[str, str]):
        size, region = pair
        try:
            return pair, _fetch_one(session, base, size, region, currency, counter), ""
        except InputError as exc:
            return pair, None, str(exc)
        except requests.RequestException as exc:
            return pair, None, f"{safe_url(base)}: {type(exc).__name__}"

    if todo:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(todo)))) as pool:
            results = list(pool.map(job, todo))
    else:
        results = []
    book_items = list(items)
    failed: set[tuple[str, str]] = set()
    for (size, region), got, err in results:
        if got is None:
            failed.add((size.lower(), region))
            errors.append(ScopeError(ScopeKind.PRICES, region=region, name=f"{size}@{region}",
                                     detail=f"price of {size} in {region} not read ({err}): its costs are left out"))
            continue
        book_items += got
        if cache is not None:
            cache.save((currency, region, size.lower()), got)
    book = book_from_items(book_items, needs, currency)
    for size, region, os in needs:
        if (size.lower(), region_key(region)) in failed:
            book.missing(size, region, os, f"the prices API did not answer for {size} in {region_key(region)}")
    book.requests = counter[0]
    book.cached = cached
    log.info("prices: %d size/region lists, %d from the cache, %d requests, %d errors",
             len(pairs), cached, counter[0], len(errors))
    return book, errors


def default_cache_dir() -> str:
    """PRICE_CACHE_DIR when unset: a folder in the system's temporary directory."""
    import tempfile

    return str(Path(tempfile.gettempdir()) / "retirement-scanner-prices")
