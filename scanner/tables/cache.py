"""SKU facts cached in Table Storage for a day, so a second scan on the same day lists no SKUs.

    SkuCache(table_client, max_age=timedelta(hours=24), now=...)
        .load(pairs, shared) -> {(subscription, region): [Sku]}   fresh entries only
        .save({(subscription, region): [Sku]})                     what was just read live
        .errors -> [ScopeError(kind=STORE)]   a cache that cannot be read or written is named, and
                                              the scan goes on live (it never decides a finding)
        .requests -> {kind: n}
    sku_cache(settings) -> SkuCache | None    table <TABLE_PREFIX>skucache when a store is configured
                                              and SKU_CACHE_HOURS > 0
    QuotaCache / quota_cache(settings)        vCPU usages per (subscription, region) in <TABLE_PREFIX>quotacache
                                              for QUOTA_CACHE_HOURS (load(pairs) / save({pair: rows}))
    PriceCache / price_cache(settings)        issue 13: Retail Prices answers a day in <TABLE_PREFIX>pricecache
                                              (load(key) / save(key, items), as sources.prices.FilePriceCache)

Layout (table `<prefix>skucache`), one partition per region so a region's pairs are read with a
few paged queries and written in transactions of 100:

    PartitionKey = region, RowKey = "~facts"          the region's sizes as facts shared by every
        subscription (name, vCPUs, memory, generations, architecture, GPUs, zones, family,
        capabilities), packed text (zlib+base64 when large); `fetched_at`
    PartitionKey = region, RowKey = subscription id   the sizes that subscription was offered
        there and its own restrictions (`sizes`, `restricted`), packed text; `fetched_at`

Freshness is the entity's `fetched_at` (UTC): older than max_age is not used. A pair whose sizes
name a size the region's facts lack is not used either (read live again). Writes are upserts
(last writer wins: two scans on the same day write the same facts).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.core import jsontext
from scanner.core.model import ScopeError, ScopeKind, Sku
from scanner.tables.kit import describe, pack_text, storage_configured, table_service, unpack_text

log = logging.getLogger("scanner.cache")

TABLE_SUFFIX = "skucache"
FACTS_ROW = "~facts"  # sorts after every subscription id
BATCH = 100  # operations per Table transaction (service limit)
WRITERS = 4  # transactions in flight at once (a cold 300k-resource scan writes about 190, each mostly waiting)


def _submit_all(cache: Any, batches: list[tuple[str, list]]) -> None:
    """Send every (region, operations) transaction, WRITERS at a time (each waits on the store far
    longer than it takes to build). A region whose transaction fails is named once in
    cache.errors (kind STORE); the rest are still written. Never raises: a cache write never
    fails the scan."""
    from concurrent.futures import ThreadPoolExecutor

    def send(batch: tuple[str, list]) -> tuple[str, BaseException | None]:
        loc, ops = batch
        try:
            cache.table.submit_transaction(ops)
            return loc, None
        except Exception as exc:  # noqa: BLE001 - AzureError, TableTransactionError: never fail the scan
            return loc, exc

    if not batches:
        return
    with ThreadPoolExecutor(max_workers=min(WRITERS, len(batches))) as pool:
        results = list(pool.map(send, batches))
    failed: dict[str, BaseException] = {}
    for loc, exc in results:
        if exc is None:
            cache._count("transaction")
        else:
            failed.setdefault(loc, exc)
    for loc, exc in sorted(failed.items()):
        cache._fail(f"writing region {loc}", exc)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _fact_row(s: Sku) -> list:
    return [s.name, s.vcpus, s.memory_gb, sorted(s.hyperv_generations), s.cpu_architecture, s.gpus,
            sorted(s.zones), s.family, s.capabilities]


def _sku_from_row(row: list, loc: str) -> Sku:
    name, vcpus, mem, gens, arch, gpus, zones, family, caps = row
    return Sku(name=str(name), location=loc, vcpus=int(vcpus), memory_gb=float(mem),
               hyperv_generations=frozenset(gens), cpu_architecture=str(arch), gpus=int(gpus),
               zones=frozenset(str(z) for z in zones), family=str(family),
               capabilities={str(k): str(v) for k, v in dict(caps).items()})


class SkuCache:
    def __init__(self, table: Any, *, max_age: timedelta = timedelta(hours=24),
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.table = table
        self.max_age = max_age
        self.now = now
        self.errors: list[ScopeError] = []
        self.requests: dict[str, int] = {}
        self._facts: dict[str, dict[str, Sku]] = {}  # region -> size name (lower) -> Sku facts read

    def _count(self, kind: str, n: int = 1) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + n

    def _fail(self, what: str, exc: BaseException) -> None:
        self.errors.append(ScopeError(ScopeKind.STORE, name="skucache",
                                      detail=f"SKU cache: {what} failed ({describe(exc)}); SKU facts read live"))
        log.warning("skucache: %s failed: %s", what, type(exc).__name__)

    # ------------------------------------------------------------------ read
    def load(self, pairs: Iterable[tuple[str, str]], shared: Any) -> dict[tuple[str, str], list[Sku]]:
        """Fresh cached SKU lists for these (subscription, region) pairs; missing ones are absent."""
        from azure.core.exceptions import AzureError

        wanted: dict[str, set[str]] = {}
        for sub, loc in pairs:
            wanted.setdefault(loc, set()).add(sub)
        oldest = self.now() - self.max_age
        out: dict[tuple[str, str], list[Sku]] = {}
        for loc, subs in sorted(wanted.items()):
            entities: dict[str, Mapping] = {}
            try:
                pages = self.table.query_entities(
                    "PartitionKey eq @loc and fetched_at ge @oldest",
                    parameters={"loc": loc, "oldest": oldest}, results_per_page=1000).by_page()
                for page in pages:
                    self._count("query")
                    for e in page:
                        if e["RowKey"] == FACTS_ROW or e["RowKey"] in subs:
                            entities[e["RowKey"]] = e
            except AzureError as exc:
                self._fail(f"reading region {loc}", exc)
                continue
            facts_entity = entities.pop(FACTS_ROW, None)
            if facts_entity is None:
                continue
            try:
                facts = {}
                for row in jsontext.loads(unpack_text(facts_entity, "facts", f"skucache {loc}")):
                    sku = shared.put(_sku_from_row(row, loc))
                    facts[sku.name.lower()] = sku
                self._facts[loc] = facts
                made: dict[tuple[str, str], list[Sku]] = {}  # most pairs of a region list the same sizes
                for sub, e in entities.items():
                    raw = (unpack_text(e, "sizes", f"skucache {loc}/{sub}"), str(e.get("restricted") or "{}"))
                    skus = made.get(raw)
                    if skus is None:
                        restricted = jsontext.loads(raw[1])
                        skus = []
                        for name in jsontext.loads(raw[0]):
                            base = facts.get(name.lower())
                            if base is None:
                                raise KeyError(name)
                            r = restricted.get(name)
                            skus.append(shared.variant(base, bool(r[0]), frozenset(str(z) for z in r[1])) if r else base)
                        made[raw] = skus
                    out[(sub, loc)] = skus
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # unreadable or stale layout: read live
                log.info("skucache: region %s not used (%s: %s)", loc, type(exc).__name__, exc)
                continue
        return out

    # ------------------------------------------------------------------ write
    def save(self, fetched: Mapping[tuple[str, str], list[Sku]]) -> None:
        """Upsert what was read live: each region's facts (merged with what was loaded) and each pair."""
        from azure.data.tables import UpdateMode

        now = self.now()
        by_loc: dict[str, dict[str, list[Sku]]] = {}
        for (sub, loc), skus in fetched.items():
            by_loc.setdefault(loc, {})[sub] = skus
        batches: list[tuple[str, list]] = []
        for loc, subs in sorted(by_loc.items()):
            facts = dict(self._facts.get(loc, {}))
            for skus in subs.values():
                for s in skus:
                    key = s.name.lower()
                    if key not in facts:  # most pairs list the same sizes: copy each once, not once a pair
                        facts[key] = replace(s, restricted=False, restricted_zones=frozenset())
            ops = [("upsert", {"PartitionKey": loc, "RowKey": FACTS_ROW, "fetched_at": now,
                               **pack_text("facts", json.dumps([_fact_row(s) for s in facts.values()],
                                                               separators=(",", ":")), f"skucache {loc}")},
                    {"mode": UpdateMode.REPLACE})]
            for sub, skus in sorted(subs.items()):
                restricted = {s.name: [s.restricted, sorted(s.restricted_zones)]
                              for s in skus if s.restricted or s.restricted_zones}
                ops.append(("upsert", {"PartitionKey": loc, "RowKey": sub, "fetched_at": now,
                                       "restricted": json.dumps(restricted, separators=(",", ":")),
                                       **pack_text("sizes", json.dumps([s.name for s in skus], separators=(",", ":")),
                                                   f"skucache {loc}/{sub}")},
                            {"mode": UpdateMode.REPLACE}))
            batches.extend((loc, ops[i:i + BATCH]) for i in range(0, len(ops), BATCH))
            self._facts[loc] = facts
        _submit_all(self, batches)


def sku_cache(settings: Any, credential: Callable[[], Any] | None = None) -> SkuCache | None:
    """The SKU cache of the configured store, or None (no store, or SKU_CACHE_HOURS=0).
    `credential`: the token credential factory for STORAGE_TABLE_ENDPOINT (bootstrap passes it)."""
    hours = int(getattr(settings, "sku_cache_hours", 0) or 0)
    if hours <= 0 or not storage_configured(settings):
        return None
    cache, opened = _open(settings, credential, TABLE_SUFFIX, lambda t: SkuCache(t, max_age=timedelta(hours=hours)))
    return cache if opened else _Disabled(cache.errors)


def _open(settings: Any, credential: Callable[[], Any] | None, suffix: str, make: Callable[[Any], Any]):
    """(cache, opened): the cache `make(table_client)` builds over table <TABLE_PREFIX><suffix>,
    created when missing; opened=False when it could not be (the cache then holds the error)."""
    from azure.core.exceptions import AzureError

    service = table_service(settings, credential)
    name = f"{settings.table_prefix}{suffix}"
    cache = make(service.get_table_client(name))
    try:
        service.create_table_if_not_exists(name)
    except AzureError as exc:
        cache._fail(f"creating table {name}", exc)
        return cache, False
    return cache, True


class _Disabled(SkuCache):
    """A cache whose table could not be opened: answers nothing, writes nothing, keeps its error."""

    def __init__(self, errors: list[ScopeError]) -> None:
        super().__init__(None)
        self.errors = list(errors)

    def load(self, pairs, shared):  # noqa: D102
        return {}

    def save(self, fetched):  # noqa: D102
        return None


# --------------------------------------------------------------------------- prices (issue 13)

PRICE_TABLE_SUFFIX = "pricecache"


class PriceCache:
    """Answers of the Retail Prices API kept in Table Storage for `max_age` (issue 13).

    One entity per (currency, region, size): PartitionKey = currency, RowKey = "region~size", the
    items as packed text, `fetched_at`. The same `load(key)` / `save(key, items)` as
    sources.prices.FilePriceCache; a table that cannot be read or written is named in `errors` and
    the prices are read live (it never decides a finding)."""

    def __init__(self, table: Any, *, max_age: timedelta = timedelta(hours=24),
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.table = table
        self.max_age = max_age
        self.now = now
        self.errors: list[ScopeError] = []

    @staticmethod
    def _keys(key: tuple[str, str, str]) -> tuple[str, str]:
        currency, region, size = key
        return currency.upper(), f"{region.lower()}~{size.lower()}"

    def _fail(self, what: str, exc: BaseException) -> None:
        if not self.errors:  # one error a run is enough to say it
            self.errors.append(ScopeError(ScopeKind.STORE, name=PRICE_TABLE_SUFFIX,
                                          detail=f"price cache: {what} failed ({describe(exc)}); prices read live"))
        log.warning("pricecache: %s failed: %s", what, type(exc).__name__)

    def load(self, key: tuple[str, str, str]) -> list[dict] | None:
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        pk, rk = self._keys(key)
        try:
            e = self.table.get_entity(pk, rk)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            self._fail("reading", exc)
            return None
        fetched = e.get("fetched_at")
        if not isinstance(fetched, datetime) or self.now() - fetched > self.max_age:
            return None
        try:
            items = jsontext.loads(unpack_text(e, "items", f"pricecache {rk}"))
        except (ValueError, TypeError):
            return None
        return items if isinstance(items, list) else None

    def save(self, key: tuple[str, str, str], items: list[dict]) -> None:
        from azure.core.exceptions import AzureError
        from azure.data.tables import UpdateMode

        pk, rk = self._keys(key)
        entity = {"PartitionKey": pk, "RowKey": rk, "fetched_at": self.now(),
                  **pack_text("items", json.dumps(items, separators=(",", ":")), f"pricecache {rk}")}
        try:
            self.table.upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            self._fail("writing", exc)


def price_cache(settings: Any, credential: Callable[[], Any] | None = None) -> PriceCache | None:
    """The price cache of the configured store (table <TABLE_PREFIX>pricecache), or None without one."""
    if not storage_configured(settings):
        return None
    cache, opened = _open(settings, credential, PRICE_TABLE_SUFFIX, PriceCache)
    return cache if opened else None


# --------------------------------------------------------------------------- quota usages (issue 14)

QUOTA_TABLE_SUFFIX = "quotacache"


class QuotaCache:
    """vCPU usages per (subscription, region) kept in Table Storage for `max_age`, so a second scan
    on the same day lists no usages (QUOTA_CACHE_HOURS).

    Table `<prefix>quotacache`: PartitionKey = region, RowKey = subscription id, `rows` = packed
    JSON [[name, current, limit, label], ...], `fetched_at` (UTC). A region's pairs are read with a
    few paged queries and written in transactions of 100. Older than max_age, or unreadable, is not
    used (read live again). A table that cannot be read or written is named in `errors`
    (ScopeError STORE, "store:quotacache") and the usages are read live: it never decides a finding.

        load(pairs) -> {(subscription, region): [QuotaUsage]}   fresh entries only
        save({(subscription, region): [QuotaUsage]})             what was just read live
    """

    def __init__(self, table: Any, *, max_age: timedelta = timedelta(hours=24),
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.table = table
        self.max_age = max_age
        self.now = now
        self.errors: list[ScopeError] = []
        self.requests: dict[str, int] = {}

    def _count(self, kind: str, n: int = 1) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + n

    def _fail(self, what: str, exc: BaseException) -> None:
        self.errors.append(ScopeError(kind=ScopeKind.STORE, name=QUOTA_TABLE_SUFFIX,
                                      detail=f"quota cache: {what} failed ({describe(exc)}); usages read live"))
        log.warning("quotacache: %s failed: %s", what, type(exc).__name__)

    def load(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list]:
        from azure.core.exceptions import AzureError

        from scanner.core.model import QuotaUsage

        wanted: dict[str, set[str]] = {}
        for sub, loc in pairs:
            wanted.setdefault(loc, set()).add(sub)
        oldest = self.now() - self.max_age
        out: dict[tuple[str, str], list] = {}
        for loc, subs in sorted(wanted.items()):
            try:
                pages = self.table.query_entities(
                    "PartitionKey eq @loc and fetched_at ge @oldest",
                    parameters={"loc": loc, "oldest": oldest}, results_per_page=1000).by_page()
                entities = []
                for page in pages:
                    self._count("query")
                    entities.extend(e for e in page if e["RowKey"] in subs)
            except AzureError as exc:
                self._fail(f"reading region {loc}", exc)
                continue
            for e in entities:
                try:
                    rows = [QuotaUsage(name=str(n), current=int(c), limit=int(lim), label=str(lab))
                            for n, c, lim, lab in jsontext.loads(unpack_text(e, "rows", f"quotacache {loc}/{e['RowKey']}"))]
                except (ValueError, KeyError, TypeError) as exc:  # unreadable or another layout: read live
                    log.info("quotacache: %s/%s not used (%s)", loc, e["RowKey"], type(exc).__name__)
                    continue
                out[(e["RowKey"], loc)] = rows
        return out

    def save(self, fetched: Mapping[tuple[str, str], list]) -> None:
        from azure.data.tables import UpdateMode

        now = self.now()
        by_loc: dict[str, list] = {}
        for (sub, loc), rows in sorted(fetched.items()):
            text = json.dumps([[r.name, r.current, r.limit, r.label] for r in rows], separators=(",", ":"))
            by_loc.setdefault(loc, []).append(
                ("upsert", {"PartitionKey": loc, "RowKey": sub, "fetched_at": now,
                            **pack_text("rows", text, f"quotacache {loc}/{sub}")}, {"mode": UpdateMode.REPLACE}))
        _submit_all(self, [(loc, ops[i:i + BATCH]) for loc, ops in by_loc.items() for i in range(0, len(ops), BATCH)])


class _QuotaDisabled(QuotaCache):
    """A quota cache whose table could not be opened: answers nothing, writes nothing, keeps its error."""

    def __init__(self, errors: list[ScopeError]) -> None:
        super().__init__(None)
        self.errors = list(errors)

    def load(self, pairs):  # noqa: D102
        return {}

    def save(self, fetched):  # noqa: D102
        return None


def quota_cache(settings: Any, credential: Callable[[], Any] | None = None) -> QuotaCache | None:
    """The quota cache of the configured store (table <TABLE_PREFIX>quotacache), or None (no store,
    or QUOTA_CACHE_HOURS=0)."""
    hours = int(getattr(settings, "quota_cache_hours", 0) or 0)
    if hours <= 0 or not storage_configured(settings):
        return None
    cache, opened = _open(settings, credential, QUOTA_TABLE_SUFFIX,
                          lambda t: QuotaCache(t, max_age=timedelta(hours=hours)))
    return cache if opened else _QuotaDisabled(cache.errors)
