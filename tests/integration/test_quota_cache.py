"""The quota cache (tables/cache.py QuotaCache) against Azurite, with usages listed live from the fake ARM."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import ScopeKind
from scanner.sources.quotas import fetch_quotas
from scanner.tables.cache import QuotaCache, quota_cache
from scanner.tables.kit import table_service
from tests.integration.test_quotas_live import SUB_A, SUB_B, SUB_DENIED, _fake

pytestmark = pytest.mark.integration

PAIRS = [(SUB_A, "westeurope"), (SUB_A, "eastus"), (SUB_B, "westeurope")]


def usage_calls(fake) -> int:
    return len(fake.requests_to("/usages"))


def run(fake, tmp_path, env, cache_for, pairs=PAIRS):
    bootstrap.reset()
    with fake.running(tmp_path) as arm_env:
        settings = Settings.from_env({**arm_env, **env})
        try:
            return fetch_quotas(settings, pairs, cache=cache_for(settings))
        finally:
            bootstrap.reset()


def figures(book):
    return {p: sorted((r.name, r.current, r.limit, r.label) for r in book.rows(*p).values()) for p in PAIRS}


def test_a_second_scan_the_same_day_reads_no_usages(tmp_path, azurite_env):
    fake = _fake()
    cold, errors = run(fake, tmp_path, azurite_env, quota_cache)
    cold_calls = usage_calls(fake)
    assert errors == [] and cold_calls >= len(PAIRS) and cold.requests == cold_calls and cold.cached_pairs == 0

    fake.usages[(SUB_A, "westeurope")] = []  # a live read would now see nothing
    warm, errors = run(fake, tmp_path, azurite_env, quota_cache)

    assert errors == [] and usage_calls(fake) == cold_calls  # not one more usages request
    assert warm.requests == 0 and warm.cached_pairs == len(PAIRS)
    assert figures(warm) == figures(cold)
    h = warm.headroom(SUB_A, "westeurope", "standardDSv3Family", 4, 2)
    assert (h.family_used, h.family_limit, h.regional_used, h.regional_limit) == (8, 8, 29, 100)


def test_only_the_pairs_not_cached_are_read_and_failures_are_not_cached(tmp_path, azurite_env):
    fake = _fake()
    run(fake, tmp_path, azurite_env, quota_cache, PAIRS[:1])
    first = usage_calls(fake)

    book, errors = run(fake, tmp_path, azurite_env, quota_cache, [*PAIRS, (SUB_DENIED, "westeurope")])

    read = {(c.path.split("/")[2], c.path.split("/")[6]) for c in fake.requests_to("/usages")[first:]}
    assert read == {(SUB_A, "eastus"), (SUB_B, "westeurope"), (SUB_DENIED, "westeurope")}
    assert book.cached_pairs == 1 and [e.kind for e in errors] == [ScopeKind.QUOTA]
    again, errors = run(fake, tmp_path, azurite_env, quota_cache, [(SUB_DENIED, "westeurope")])
    assert again.cached_pairs == 0 and [e.kind for e in errors] == [ScopeKind.QUOTA]  # asked again, not cached


def test_usages_older_than_the_setting_are_read_again(tmp_path, azurite_env):
    fake = _fake()
    run(fake, tmp_path, azurite_env, quota_cache)
    first = usage_calls(fake)

    def tomorrow(settings):
        table = table_service(settings).get_table_client(settings.table_prefix + "quotacache")
        return QuotaCache(table, max_age=timedelta(hours=settings.quota_cache_hours),
                          now=lambda: datetime.now(timezone.utc) + timedelta(hours=25))

    book, errors = run(fake, tmp_path, {**azurite_env, "QUOTA_CACHE_HOURS": "24"}, tomorrow)

    assert errors == [] and usage_calls(fake) == 2 * first and book.cached_pairs == 0


def test_no_cache_when_turned_off(azurite_env):
    assert quota_cache(Settings.from_env({**azurite_env, "QUOTA_CACHE_HOURS": "0"})) is None
    assert quota_cache(Settings.from_env({})) is None  # no store configured


def test_a_cache_that_cannot_be_reached_is_named_and_the_usages_are_read_live(tmp_path):
    fake = _fake()
    env = {"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
           "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
           "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;", "TABLE_PREFIX": "gone"}

    book, errors = run(fake, tmp_path, env, quota_cache)

    assert len(book) == len(PAIRS) and book.requests == usage_calls(fake) >= len(PAIRS)
    assert figures(book)[(SUB_A, "westeurope")]
    assert errors and all(e.kind is ScopeKind.STORE and e.scope == "store:quotacache" for e in errors)
    assert all("AccountKey" not in e.detail and "Eby8vdM0" not in e.detail for e in errors)
