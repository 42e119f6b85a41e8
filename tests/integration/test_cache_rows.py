"""The SKU and quota caches keep a region's subscriptions in 64 rows (tables/cache.py): few rows
for a big tenant, freshness per subscription, and a partial scan never loses what another scan
cached. Against Azurite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner.config import Settings
from scanner.core.model import QuotaUsage, Sku
from scanner.sources.skus import SharedFacts
from scanner.tables.cache import BUCKETS, QuotaCache, SkuCache, quota_cache, sku_cache
from scanner.tables.kit import table_service

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 5, 1, 0, tzinfo=timezone.utc)
SUBS = [f"{i:08x}-1234-4321-8888-{i:012x}" for i in range(300)]
ROWS = [QuotaUsage("standardDSv3Family", 8, 10, "Standard DSv3 Family vCPUs"), QuotaUsage("cores", 20, 100)]


def quotas(env, now):
    settings = Settings.from_env(env)
    assert quota_cache(settings) is not None  # creates the table
    table = table_service(settings).get_table_client(settings.table_prefix + "quotacache")
    return QuotaCache(table, max_age=timedelta(hours=6), now=lambda: now), table


def usage(i: int) -> list[QuotaUsage]:
    return [QuotaUsage("standardDSv3Family", i % 11, 10 + i, "Standard DSv3 Family vCPUs"), ROWS[1]]


def test_three_hundred_subscriptions_take_at_most_64_rows_and_read_back_alike(azurite_env):
    cache, table = quotas(azurite_env, T0)
    cache.save({(s, "westeurope"): usage(i) for i, s in enumerate(SUBS)})
    assert cache.errors == []
    rows = list(table.query_entities("PartitionKey eq 'westeurope'"))
    assert 1 < len(rows) <= BUCKETS
    assert cache.requests["transaction"] <= 2  # one region: one or two transactions, not three

    back, _ = quotas(azurite_env, T0 + timedelta(hours=1))
    got = back.load([(s, "westeurope") for s in SUBS])
    assert got == {(s, "westeurope"): usage(i) for i, s in enumerate(SUBS)}


def test_a_scan_of_one_subscription_keeps_what_the_others_cached(azurite_env):
    cache, _ = quotas(azurite_env, T0)
    cache.save({(s, "westeurope"): usage(i) for i, s in enumerate(SUBS)})

    one, _ = quotas(azurite_env, T0 + timedelta(hours=1))
    assert one.load([(SUBS[7], "westeurope")]) == {(SUBS[7], "westeurope"): usage(7)}
    one.save({(SUBS[7], "westeurope"): ROWS})  # read live again by an ad-hoc scan

    later, _ = quotas(azurite_env, T0 + timedelta(hours=2))
    got = later.load([(s, "westeurope") for s in SUBS])
    assert len(got) == len(SUBS) and got[(SUBS[7], "westeurope")] == ROWS
    assert got[(SUBS[8], "westeurope")] == usage(8)


def test_freshness_is_per_subscription(azurite_env):
    first, _ = quotas(azurite_env, T0)
    first.save({(s, "eastus"): ROWS for s in SUBS[:50]})
    second, _ = quotas(azurite_env, T0 + timedelta(hours=5))
    second.load([(s, "eastus") for s in SUBS[50:100]])
    second.save({(s, "eastus"): ROWS for s in SUBS[50:100]})

    third, _ = quotas(azurite_env, T0 + timedelta(hours=7))  # the first 50 are 7 h old: past 6 h
    got = third.load([(s, "eastus") for s in SUBS[:100]])
    assert set(got) == {(s, "eastus") for s in SUBS[50:100]}


def test_rows_of_the_earlier_layout_are_not_read(azurite_env):
    cache, table = quotas(azurite_env, T0)
    table.upsert_entity({"PartitionKey": "uksouth", "RowKey": SUBS[0], "fetched_at": T0,
                         "rows": '[["cores", 1, 2, "x"]]', "rowsEncoding": "plain", "rowsParts": 1})
    assert cache.load([(SUBS[0], "uksouth")]) == {} and cache.errors == []


def test_sku_lists_are_held_once_per_row_and_restrictions_stay_per_subscription(azurite_env):
    settings = Settings.from_env({**azurite_env, "SKU_CACHE_HOURS": "24"})
    assert sku_cache(settings) is not None
    table = table_service(settings).get_table_client(settings.table_prefix + "skucache")
    d2 = Sku("Standard_D2s_v5", "westeurope", vcpus=2, hyperv_generations=frozenset({"V1", "V2"}),
             zones=frozenset({"1", "2", "3"}), family="standardDSv5Family", capabilities={"vCPUs": "2"})
    d4 = Sku("Standard_D4s_v5", "westeurope", vcpus=4, hyperv_generations=frozenset({"V1", "V2"}),
             zones=frozenset({"1", "2", "3"}), family="standardDSv5Family", capabilities={"vCPUs": "4"})
    fenced = Sku("Standard_D4s_v5", "westeurope", vcpus=4, hyperv_generations=frozenset({"V1", "V2"}),
                 zones=frozenset({"1", "2", "3"}), family="standardDSv5Family", capabilities={"vCPUs": "4"},
                 restricted_zones=frozenset({"2"}))
    fetched = {(s, "westeurope"): [d2, fenced if i == 3 else d4] for i, s in enumerate(SUBS)}
    SkuCache(table, now=lambda: T0).save(fetched)
    rows = list(table.query_entities("PartitionKey eq 'westeurope'"))
    assert len(rows) <= BUCKETS + 1  # the facts row and the bucket rows

    got = SkuCache(table, now=lambda: T0 + timedelta(hours=3)).load(list(fetched), SharedFacts())
    assert set(got) == set(fetched)
    assert [s.restricted_zones for s in got[(SUBS[3], "westeurope")]] == [frozenset(), frozenset({"2"})]
    assert [s.restricted_zones for s in got[(SUBS[4], "westeurope")]] == [frozenset(), frozenset()]
    assert got[(SUBS[4], "westeurope")] is got[(SUBS[5], "westeurope")]  # one list for the alike


class _ReadFails:
    """A table client whose reads fail (a store blip while loading); writes go through."""

    def __init__(self, table):
        self.table = table

    def query_entities(self, *args, **kwargs):
        from azure.core.exceptions import ServiceRequestError

        raise ServiceRequestError("connection reset while reading")

    def __getattr__(self, name):
        return getattr(self.table, name)


def test_a_region_whose_read_failed_is_not_rewritten_over_what_others_cached(azurite_env):
    cache, table = quotas(azurite_env, T0)
    cache.save({(s, "westeurope"): usage(i) for i, s in enumerate(SUBS)})

    blip, _ = quotas(azurite_env, T0 + timedelta(hours=1))
    blip.table = _ReadFails(table)
    assert blip.load([(SUBS[7], "westeurope")]) == {}
    assert [e.detail for e in blip.errors] == [
        "quota cache: reading region westeurope failed (ServiceRequestError: connection reset while "
        "reading); usages read live"]
    blip.save({(SUBS[7], "westeurope"): ROWS})  # SUBS[7] read live: its row must not lose the others

    later, _ = quotas(azurite_env, T0 + timedelta(hours=2))
    got = later.load([(s, "westeurope") for s in SUBS])
    # the region was not rewritten: every entry cached at T0 is still there (and still fresh)
    assert got == {(s, "westeurope"): usage(i) for i, s in enumerate(SUBS)}


def test_a_sku_region_whose_read_failed_is_not_rewritten_over_what_others_cached(azurite_env):
    settings = Settings.from_env({**azurite_env, "SKU_CACHE_HOURS": "24"})
    assert sku_cache(settings) is not None
    table = table_service(settings).get_table_client(settings.table_prefix + "skucache")
    d2 = Sku("Standard_D2s_v5", "westeurope", vcpus=2, zones=frozenset({"1"}), family="f")
    SkuCache(table, now=lambda: T0).save({(s, "westeurope"): [d2] for s in SUBS})

    blip = SkuCache(_ReadFails(table), now=lambda: T0 + timedelta(hours=1))
    assert blip.load([(SUBS[7], "westeurope")], SharedFacts()) == {} and len(blip.errors) == 1
    blip.save({(SUBS[7], "westeurope"): [d2]})

    got = SkuCache(table, now=lambda: T0 + timedelta(hours=2)).load(
        [(s, "westeurope") for s in SUBS], SharedFacts())
    assert {k for k in got if k[0] != SUBS[7]} == {(s, "westeurope") for s in SUBS if s != SUBS[7]}


def test_a_bucket_row_too_big_for_an_entity_is_named_and_the_scan_goes_on(azurite_env):
    """Many subscriptions in a region, each with many usage rows, can make one of the 64 rows larger
    than a table entity holds: that row is named (not stored), the others are written, nothing raises."""
    import random
    import string

    from scanner.tables.cache import bucket_of

    rng = random.Random(14)
    crowded = [s for s in (f"{i:08x}-aaaa-4bbb-8ccc-{i:012x}" for i in range(20000)) if bucket_of(s) == "b-00"][:60]
    other = next(s for s in SUBS if bucket_of(s) != "b-00")

    def label() -> str:
        return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(64))

    fetched = {(s, "eastus"): [QuotaUsage(f"family{j}", j, 100, label()) for j in range(150)] for s in crowded}
    fetched[(other, "eastus")] = ROWS
    cache, _ = quotas(azurite_env, T0)
    cache.save(fetched)  # must not raise
    assert len(cache.errors) == 1
    detail = cache.errors[0].detail
    assert "eastus/b-00" in detail and "over the" in detail and "usages read live" in detail, detail

    back, _ = quotas(azurite_env, T0 + timedelta(hours=1))
    assert back.load([(other, "eastus"), (crowded[0], "eastus")]) == {(other, "eastus"): ROWS}


def test_live_sku_facts_replace_the_cached_facts_of_a_size(azurite_env):
    """A size whose facts changed (a zone added) is read live for a new subscription: the facts row
    takes what was read, so the next scan's cached pairs do not keep yesterday's facts for ever."""
    settings = Settings.from_env({**azurite_env, "SKU_CACHE_HOURS": "24"})
    assert sku_cache(settings) is not None
    table = table_service(settings).get_table_client(settings.table_prefix + "skucache")
    old = Sku("Standard_D2s_v5", "westeurope", vcpus=2, zones=frozenset({"1", "2"}), family="f")
    new = Sku("Standard_D2s_v5", "westeurope", vcpus=2, zones=frozenset({"1", "2", "3"}), family="f")
    SkuCache(table, now=lambda: T0).save({(SUBS[0], "westeurope"): [old]})

    second = SkuCache(table, now=lambda: T0 + timedelta(hours=20))
    assert set(second.load([(SUBS[0], "westeurope"), (SUBS[1], "westeurope")], SharedFacts())) == {
        (SUBS[0], "westeurope")}
    second.save({(SUBS[1], "westeurope"): [new]})  # SUBS[1] read live today

    got = SkuCache(table, now=lambda: T0 + timedelta(hours=21)).load(
        [(SUBS[0], "westeurope"), (SUBS[1], "westeurope")], SharedFacts())
    assert got[(SUBS[1], "westeurope")][0].zones == frozenset({"1", "2", "3"})
    assert got[(SUBS[0], "westeurope")][0].zones == frozenset({"1", "2", "3"})
