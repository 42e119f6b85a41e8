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

Layout (table `<prefix>skucache`), one partition per region, so a region is read with one query
and written in one or two transactions however many subscriptions it has:

    PartitionKey = region, RowKey = "~facts"          the region's sizes as facts shared by every
        subscription (name, vCPUs, memory, generations, architecture, GPUs, zones, family,
        capabilities), packed text (zlib+base64 when large); `fetched_at`
    PartitionKey = region, RowKey = "b-00" .. "b-63"  the region's subscriptions, spread over 64
        rows by a CRC-32 of the id: `entries`, packed JSON {"lists": [[size, ...], ...], "subs":
        {subscription id: [fetched (epoch s), list index, restrictions JSON]}}; a size list is
        held once per row however many subscriptions were offered it

Freshness is per subscription (`fetched`): older than max_age is not used. A pair whose sizes name
a size the region's facts lack is not used either (read live again). A row is rewritten whole
with what the run read and what was still fresh in it (a 300k-resource tenant: 9,000 pairs in
about 320 rows, not 9,000): the last writer wins, and an entry a concurrent scan lost is read
live again next time. A region whose rows could not be read this run is not rewritten (that
would drop what other scans cached in them); a row whose text is more than a table entity holds is
named in `errors` and not written (its pairs are read live). Sizes read live replace the facts
cached for them (the facts row never keeps a size's facts older than the entries that list it).
The quota cache has the same rows (`<prefix>quotacache`, no facts row;
`entries` = {"subs": {subscription id: [fetched, [[name, current, limit, label], ...]]}}).
Rows of the earlier layout (one per subscription) are never read and never cost a request.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.core import jsontext
from scanner.core.model import ScopeError, ScopeKind, Sku
from scanner.errors import StoreError
from scanner.tables.kit import describe, pack_text, storage_configured, table_service, unpack_text

log = logging.getLogger("scanner.cache")

TABLE_SUFFIX = "skucache"
FACTS_ROW = "~facts"  # sorts after every subscription id
BATCH = 100  # operations per Table transaction (service limit)
BATCH_CHARS = 2_000_000  # packed text per transaction: the service takes 4 MiB of payload
WRITERS = 4  # transactions in flight at once (each mostly waits on the store)
BUCKETS = 64  # rows per region holding its subscriptions' entries
BUCKET_PREFIX = "b-"
# Only the bucket rows (and the facts row): rows of the per-subscription layout are never read.
_ROWS = "PartitionKey eq @loc and RowKey ge 'b-' and RowKey lt 'b.'"


def bucket_of(subscription_id: str) -> str:
    """The row holding a subscription's entry in its region's partition (stable across runs)."""
    return f"{BUCKET_PREFIX}{zlib.crc32(subscription_id.lower().encode()) % BUCKETS:02d}"


def _epoch(when: datetime) -> float:
    return when.timestamp()


def _batches(loc: str, ops: list) -> list[tuple[str, list]]:
    """A region's operations in transactions of at most BATCH operations and BATCH_CHARS of text."""
    out: list[tuple[str, list]] = []
    current: list = []
    size = 0
    for op in ops:
        chars = sum(len(v) for v in op[1].values() if isinstance(v, str))
        if current and (len(current) >= BATCH or size + chars > BATCH_CHARS):
            out.append((loc, current))
            current, size = [], 0
        current.append(op)
        size += chars
    if current:
        out.append((loc, current))
    return out


def _read_buckets(cache: Any, loc: str, extra: str = "") -> list[Mapping] | None:
    """Every bucket row of a region (and the facts row with extra=" or RowKey eq '~facts'"), or
    None when the table cannot be read (named in cache.errors; the region is then not written by
    this run, since a rewrite of its rows would drop what other scans cached in them)."""
    from azure.core.exceptions import AzureError

    query = f"({_ROWS}){extra}" if extra else _ROWS
    try:
        rows = []
        for page in cache.table.query_entities(query, parameters={"loc": loc}, results_per_page=1000).by_page():
            cache._count("query")
            rows.extend(page)
        return rows
    except AzureError as exc:
        cache._fail(f"reading region {loc}", exc)
        cache._unread.add(loc)  # its rows are not rewritten by this run: what they hold is unknown
        return None


def _held_entries(cache: Any, loc: str, row: Mapping, oldest: float, what: str) -> dict[str, list]:
    """The fresh entries of one bucket row ({subscription: entry}), kept by the cache so a rewrite
    of the row keeps them; an unreadable row holds nothing (its pairs are read live)."""
    try:
        doc = jsontext.loads(unpack_text(row, "entries", f"{what} {loc}/{row['RowKey']}"))
        subs = doc["subs"]
        fresh = {str(s): e for s, e in subs.items() if float(e[0]) >= oldest}
    except (ValueError, KeyError, TypeError, IndexError) as exc:  # another layout, cut short: read live
        log.info("%s: row %s/%s not used (%s)", what, loc, row.get("RowKey"), type(exc).__name__)
        return {}
    cache._held[(loc, row["RowKey"])] = (doc, fresh)
    return fresh


def _packed(cache: Any, loc: str, row_key: str, name: str, text: str, what: str) -> dict[str, Any] | None:
    """pack_text for one row, or None (named in cache.errors) when the text is more than a table
    entity holds: that row is not rewritten (its pairs are read live), the others are written."""
    try:
        return pack_text(name, text, f"{what} {loc}/{row_key}")
    except StoreError as exc:
        cache._fail(f"writing {loc}/{row_key}", exc)
        return None


def _skipped(cache: Any, loc: str, what: str) -> bool:
    """True for a region this run could not read: not rewritten (its rows may hold others' entries)."""
    if loc in cache._unread:
        log.info("%s: region %s not written (it could not be read this run)", what, loc)
        return True
    return False


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


class _RegionRows:
    """What the SKU and quota caches share: the table, freshness, the bucket rows held from the
    last read (so a rewrite keeps what is still fresh), request counts and STORE errors."""

    NAME = ""  # the STORE scope ("store:<NAME>") and log prefix
    LABEL = ""  # the error reads "<LABEL>: <what> failed (<cause>); <INSTEAD>"
    INSTEAD = ""

    def __init__(self, table: Any, *, max_age: timedelta = timedelta(hours=24),
                 now: Callable[[], datetime] = _utcnow) -> None:
        self.table = table
        self.max_age = max_age
        self.now = now
        self.errors: list[ScopeError] = []
        self.requests: dict[str, int] = {}
        self._held: dict[tuple[str, str], tuple[dict, dict[str, list]]] = {}  # (region, row) -> (doc, fresh)
        self._unread: set[str] = set()  # regions whose rows could not be read: never rewritten

    def _count(self, kind: str, n: int = 1) -> None:
        self.requests[kind] = self.requests.get(kind, 0) + n

    def _fail(self, what: str, exc: BaseException) -> None:
        self.errors.append(ScopeError(ScopeKind.STORE, name=self.NAME,
                                      detail=f"{self.LABEL}: {what} failed ({describe(exc)}); {self.INSTEAD}"))
        log.warning("%s: %s failed: %s", self.NAME, what, type(exc).__name__)


class SkuCache(_RegionRows):
    NAME = TABLE_SUFFIX
    LABEL, INSTEAD = "SKU cache", "SKU facts read live"

    def __init__(self, table: Any, *, max_age: timedelta = timedelta(hours=24),
                 now: Callable[[], datetime] = _utcnow) -> None:
        super().__init__(table, max_age=max_age, now=now)
        self._facts: dict[str, dict[str, Sku]] = {}  # region -> size name (lower) -> Sku facts read

    # ------------------------------------------------------------------ read
    def load(self, pairs: Iterable[tuple[str, str]], shared: Any) -> dict[tuple[str, str], list[Sku]]:
        """Fresh cached SKU lists for these (subscription, region) pairs; missing ones are absent."""
        wanted: dict[str, set[str]] = {}
        for sub, loc in pairs:
            wanted.setdefault(loc, set()).add(sub)
        now = self.now()
        oldest = _epoch(now - self.max_age)
        out: dict[tuple[str, str], list[Sku]] = {}
        for loc, subs in sorted(wanted.items()):
            rows = _read_buckets(self, loc, f" or (PartitionKey eq @loc and RowKey eq '{FACTS_ROW}')")
            if rows is None:
                continue
            facts_entity = next((r for r in rows if r["RowKey"] == FACTS_ROW), None)
            fetched_at = facts_entity.get("fetched_at") if facts_entity is not None else None
            if facts_entity is None or not isinstance(fetched_at, datetime) or _epoch(fetched_at) < oldest:
                continue
            try:
                facts = {}
                for row in jsontext.loads(unpack_text(facts_entity, "facts", f"skucache {loc}")):
                    sku = shared.put(_sku_from_row(row, loc))
                    facts[sku.name.lower()] = sku
            except (ValueError, KeyError, TypeError, IndexError) as exc:  # unreadable or another layout
                log.info("skucache: region %s not used (%s: %s)", loc, type(exc).__name__, exc)
                continue
            self._facts[loc] = facts
            made: dict[tuple, list[Sku]] = {}  # most pairs of a region list the same sizes
            for row in rows:
                if row["RowKey"] == FACTS_ROW:
                    continue
                fresh = _held_entries(self, loc, row, oldest, "skucache")
                if not fresh:
                    continue
                lists = self._held[(loc, row["RowKey"])][0].get("lists") or []
                for sub in subs & fresh.keys():
                    try:
                        _t, index, restricted_text = fresh[sub]
                        key = (tuple(lists[index]), restricted_text)
                        skus = made.get(key)
                        if skus is None:
                            restricted = jsontext.loads(restricted_text)
                            skus = []
                            for name in key[0]:
                                base = facts.get(str(name).lower())
                                if base is None:
                                    raise KeyError(name)
                                r = restricted.get(name)
                                skus.append(shared.variant(base, bool(r[0]), frozenset(str(z) for z in r[1]))
                                            if r else base)
                            made[key] = skus
                    except (ValueError, KeyError, TypeError, IndexError) as exc:  # that pair is read live
                        log.info("skucache: %s/%s not used (%s: %s)", loc, sub, type(exc).__name__, exc)
                        continue
                    out[(sub, loc)] = skus
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
            if _skipped(self, loc, "skucache"):
                continue
            facts = dict(self._facts.get(loc, {}))
            read: set[str] = set()
            for skus in subs.values():
                for s in skus:
                    key = s.name.lower()
                    if key not in read:  # what was read live replaces the cached facts of the size
                        read.add(key)  # (most pairs list the same sizes: copy each once, not once a pair)
                        facts[key] = (replace(s, restricted=False, restricted_zones=frozenset())
                                      if s.restricted or s.restricted_zones else s)
            packed = _packed(self, loc, FACTS_ROW, "facts", json.dumps([_fact_row(s) for s in facts.values()],
                                                                      separators=(",", ":")), "skucache")
            if packed is None:  # without its facts no entry of the region can be used: write none
                continue
            ops = [("upsert", {"PartitionKey": loc, "RowKey": FACTS_ROW, "fetched_at": now, **packed},
                    {"mode": UpdateMode.REPLACE})]
            by_row: dict[str, dict[str, list[Sku]]] = {}
            for sub, skus in subs.items():
                by_row.setdefault(bucket_of(sub), {})[sub] = skus
            for row_key, row_subs in sorted(by_row.items()):
                text = _sku_row_text(*self._held.get((loc, row_key), ({}, {})), row_subs, _epoch(now))
                packed = _packed(self, loc, row_key, "entries", text, "skucache")
                if packed is not None:
                    ops.append(("upsert", {"PartitionKey": loc, "RowKey": row_key, "fetched_at": now, **packed},
                                {"mode": UpdateMode.REPLACE}))
            batches.extend(_batches(loc, ops))
            self._facts[loc] = facts
        _submit_all(self, batches)


def _sku_row_text(doc: Mapping, fresh: Mapping[str, list], read: Mapping[str, list[Sku]], now: float) -> str:
    """One bucket row's `entries`: what this run read (`read`) and what was still fresh in the row
    and not read again, each size list held once."""
    old_lists = doc.get("lists") or []
    lists: list[list[str]] = []
    index_of: dict[tuple, int] = {}
    entries: dict[str, list] = {}

    def put(names: tuple, sub: str, t: float, restricted_text: str) -> None:
        i = index_of.get(names)
        if i is None:
            i = index_of[names] = len(lists)
            lists.append(list(names))
        entries[sub] = [t, i, restricted_text]

    for sub, entry in fresh.items():
        if sub not in read and isinstance(entry[1], int) and 0 <= entry[1] < len(old_lists):
            put(tuple(old_lists[entry[1]]), sub, entry[0], entry[2])
    for sub, skus in sorted(read.items()):
        restricted = {s.name: [s.restricted, sorted(s.restricted_zones)]
                      for s in skus if s.restricted or s.restricted_zones}
        put(tuple(s.name for s in skus), sub, now, json.dumps(restricted, separators=(",", ":")))
    return jsontext.dumps({"lists": lists, "subs": entries})


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


class QuotaCache(_RegionRows):
    """vCPU usages per (subscription, region) kept in Table Storage for `max_age`, so a second scan
    on the same day lists no usages (QUOTA_CACHE_HOURS).

    Table `<prefix>quotacache`: PartitionKey = region, RowKey = "b-00" .. "b-63" (the bucket rows of
    the module docstring), `entries` = packed JSON {"subs": {subscription id: [fetched (epoch s),
    [[name, current, limit, label], ...]]}}. A region is read with one query and written in one or
    two transactions. Older than max_age, or unreadable, is not used (read live again). A table
    that cannot be read or written is named in `errors` (ScopeError STORE, "store:quotacache") and
    the usages are read live: it never decides a finding.

        load(pairs) -> {(subscription, region): [QuotaUsage]}   fresh entries only
        save({(subscription, region): [QuotaUsage]})             what was just read live
    """

    NAME = QUOTA_TABLE_SUFFIX
    LABEL, INSTEAD = "quota cache", "usages read live"

    def load(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list]:
        from scanner.core.model import QuotaUsage

        wanted: dict[str, set[str]] = {}
        for sub, loc in pairs:
            wanted.setdefault(loc, set()).add(sub)
        oldest = _epoch(self.now() - self.max_age)
        out: dict[tuple[str, str], list] = {}
        for loc, subs in sorted(wanted.items()):
            rows = _read_buckets(self, loc)
            for row in rows or ():
                fresh = _held_entries(self, loc, row, oldest, "quotacache")
                for sub in subs & fresh.keys():
                    try:
                        out[(sub, loc)] = [QuotaUsage(name=str(n), current=int(c), limit=int(lim), label=str(lab))
                                           for n, c, lim, lab in fresh[sub][1]]
                    except (ValueError, KeyError, TypeError, IndexError) as exc:  # another layout: read live
                        log.info("quotacache: %s/%s not used (%s)", loc, sub, type(exc).__name__)
        return out

    def save(self, fetched: Mapping[tuple[str, str], list]) -> None:
        from azure.data.tables import UpdateMode

        now = self.now()
        by_row: dict[tuple[str, str], dict[str, list]] = {}
        for (sub, loc), rows in fetched.items():
            by_row.setdefault((loc, bucket_of(sub)), {})[sub] = [
                _epoch(now), [[r.name, r.current, r.limit, r.label] for r in rows]]
        ops_by_loc: dict[str, list] = {}
        for (loc, row_key), read in sorted(by_row.items()):
            if _skipped(self, loc, "quotacache"):
                continue
            _doc, fresh = self._held.get((loc, row_key), ({}, {}))
            entries = {**{s: e for s, e in fresh.items() if s not in read}, **read}
            packed = _packed(self, loc, row_key, "entries", jsontext.dumps({"subs": entries}), "quotacache")
            if packed is not None:
                ops_by_loc.setdefault(loc, []).append(
                    ("upsert", {"PartitionKey": loc, "RowKey": row_key, "fetched_at": now, **packed},
                     {"mode": UpdateMode.REPLACE}))
        _submit_all(self, [b for loc, ops in ops_by_loc.items() for b in _batches(loc, ops)])


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
