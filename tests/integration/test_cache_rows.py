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
