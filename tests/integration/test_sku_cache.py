"""The SKU cache (tables/cache.py) against Azurite, with SKU facts listed live from the fake ARM."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import ScopeKind
from scanner.sources.skus import fetch_skus
from scanner.tables.cache import SkuCache, sku_cache
from scanner.tables.kit import table_service
from tests.integration.test_skus_live import SUB_A, SUB_B, _fake

pytestmark = pytest.mark.integration

PAIRS = [(SUB_A, "westus"), (SUB_A, "eastus"), (SUB_B, "westus")]


def sku_calls(fake) -> int:
    return len(fake.requests_to("/providers/Microsoft.Compute/skus"))


def run(fake, tmp_path, env, cache_for):
    bootstrap.reset()
    with fake.running(tmp_path) as arm_env:
        settings = Settings.from_env({**arm_env, **env})
        try:
            return fetch_skus(settings, PAIRS, cache=cache_for(settings))
        finally:
            bootstrap.reset()


def facts(index):
    return {(s, loc): [(k.name, k.restricted, sorted(k.restricted_zones), k.vcpus, sorted(k.hyperv_generations),
                        k.capabilities) for k in index.sizes(s, loc)] for s, loc in PAIRS}


def test_a_second_scan_the_same_day_lists_no_skus(tmp_path, azurite_env):
    fake = _fake()
    cold, errors = run(fake, tmp_path, azurite_env, sku_cache)
    cold_calls = sku_calls(fake)
    assert errors == [] and cold_calls > 0 and cold.requests == cold_calls and cold.cached_pairs == 0

    warm, errors = run(fake, tmp_path, azurite_env, sku_cache)

    assert errors == [] and sku_calls(fake) == cold_calls  # not one more SKU request
    assert warm.requests == 0 and warm.cached_pairs == len(PAIRS)
    assert facts(warm) == facts(cold)
    assert warm.is_restricted(SUB_B, "westus", "Standard_A0") is True  # the subscription's own restriction
    assert warm.is_restricted(SUB_A, "westus", "Standard_A0") is False
    a, b = warm.get(SUB_A, "westus", "Standard_A0"), warm.get(SUB_B, "westus", "Standard_A0")
    assert a.capabilities is b.capabilities  # shared from the cache too


def test_facts_older_than_the_setting_are_read_again(tmp_path, azurite_env):
    fake = _fake()
    run(fake, tmp_path, azurite_env, sku_cache)
    first = sku_calls(fake)

    def tomorrow(settings):
        table = table_service(settings).get_table_client(settings.table_prefix + "skucache")
        return SkuCache(table, max_age=timedelta(hours=settings.sku_cache_hours),
                        now=lambda: datetime.now(timezone.utc) + timedelta(hours=25))

    index, errors = run(fake, tmp_path, {**azurite_env, "SKU_CACHE_HOURS": "24"}, tomorrow)

    assert errors == [] and sku_calls(fake) == 2 * first and index.cached_pairs == 0


def test_no_cache_when_turned_off(azurite_env):
    assert sku_cache(Settings.from_env({**azurite_env, "SKU_CACHE_HOURS": "0"})) is None
    assert sku_cache(Settings.from_env({})) is None  # no store configured


def test_a_cache_that_cannot_be_reached_is_named_and_the_facts_are_read_live(tmp_path):
    fake = _fake()
    env = {"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
           "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
           "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;", "TABLE_PREFIX": "gone"}

    index, errors = run(fake, tmp_path, env, sku_cache)

    assert len(index.scopes()) == len(PAIRS) and index.requests == sku_calls(fake)
    assert errors and all(e.kind is ScopeKind.STORE and e.scope == "store:skucache" for e in errors)
    assert all("AccountKey" not in e.detail and "Eby8vdM0" not in e.detail for e in errors)
