"""fetch_prices against a fake Retail Prices API on loopback, through the real `requests` client:
paging by NextPageLink, 429 + Retry-After, a failing size, the day cache (0 requests the second time)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from scanner.config import Settings
from scanner.core.model import ScopeKind
from scanner.sources.prices import FilePriceCache, fetch_prices
from tests.conftest import ROOT
from tests.fakes.prices_server import FakePrices

pytestmark = pytest.mark.integration

PAGES = json.loads((ROOT / "samples" / "prices" / "retail-prices.json").read_text())
ITEMS = [i for p in PAGES for i in p["Items"]]
NEEDS = {("Standard_D4s_v3", "northeurope", "windows"), ("Standard_D4s_v5", "northeurope", "windows"),
         ("Standard_D4s_v3", "northeurope", "linux"), ("Standard_DS2_v2", "westeurope", "linux"),
         ("Standard_D2ds_v5", "westeurope", "linux")}


def settings(url, tmp_path):
    return Settings.from_env({"PRICES_URL": url, "PRICE_CACHE_DIR": str(tmp_path / "cache")})


def test_one_query_per_size_and_region_following_next_links(tmp_path):
    fake = FakePrices(ITEMS, page_size=2)  # 5 meters per size and region: 3 pages each
    with fake.running() as url:
        book, errors = fetch_prices(settings(url, tmp_path), NEEDS)
    assert errors == []
    firsts = [r for r in fake.log if "$skip" not in r["query"]]
    assert len(firsts) == 4  # (D4s_v3, D4s_v5) in northeurope, (DS2_v2, D2ds_v5) in westeurope
    assert book.requests == len(fake.log) == 4 * 3
    assert all(r["query"]["currencyCode"] == "'USD'" and "priceType eq 'Consumption'" in r["query"]["$filter"]
               for r in firsts)
    lin, _ = book.hourly("Standard_D4s_v3", "northeurope", "linux")
    win, _ = book.hourly("Standard_D4s_v3", "northeurope", "windows")
    assert lin == 0.192 and win == round(0.192 + 0.046 * 4, 4)  # Spot, Dev/Test and reservation rows skipped


def test_second_run_within_a_day_sends_nothing_and_a_day_later_asks_again(tmp_path):
    fake = FakePrices(ITEMS, page_size=100)
    with fake.running() as url:
        first, _ = fetch_prices(settings(url, tmp_path), NEEDS)
        second, _ = fetch_prices(settings(url, tmp_path), NEEDS)
        later = FilePriceCache(str(tmp_path / "cache"), now=lambda: datetime.now(timezone.utc) + timedelta(hours=25))
        third, _ = fetch_prices(settings(url, tmp_path), NEEDS, cache=later)
    assert (first.requests, second.requests, third.requests) == (4, 0, 4)
    assert second.cached == 4
    assert second.hourly("Standard_D2ds_v5", "westeurope", "linux") == first.hourly("Standard_D2ds_v5", "westeurope", "linux")


def test_throttled_then_answered(tmp_path):
    fake = FakePrices(ITEMS, page_size=100)
    fake.failures = [429]
    with fake.running() as url:
        book, errors = fetch_prices(settings(url, tmp_path), {("Standard_DS2_v2", "westeurope", "linux")})
    assert errors == [] and book.requests == 2 and book.hourly("Standard_DS2_v2", "westeurope", "linux")[0]


def test_a_size_the_api_fails_on_is_an_error_and_a_missing_price_nothing_else(tmp_path, monkeypatch):
    monkeypatch.setattr("scanner.sources.prices.BACKOFF", 0.0)
    fake = FakePrices(ITEMS, page_size=100)
    fake.broken = {"Standard_D2ds_v5"}
    with fake.running() as url:
        book, errors = fetch_prices(settings(url, tmp_path), NEEDS)
    (e,) = errors
    assert e.kind is ScopeKind.PRICES and "Standard_D2ds_v5" in e.detail and "HTTP 500" in e.detail
    price, why = book.hourly("Standard_D2ds_v5", "westeurope", "linux")
    assert price is None and "did not answer" in why
    assert book.hourly("Standard_DS2_v2", "westeurope", "linux")[0] is not None
    assert len(list((tmp_path / "cache").glob("*.json"))) == 3  # what failed is not cached


def test_offline_scan_with_saved_answers_puts_costs_on_findings(tmp_path, capsys):
    from scanner import cli

    out = tmp_path / "scan.json"
    rc = cli.main(["scan", "--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus"),
                   "--prices", str(ROOT / "samples" / "prices" / "retail-prices.json"), "--today", "2026-12-04",
                   "--format", "json", "--output", str(out), "--no-store", "--no-notify"])
    doc = json.loads(out.read_text())
    assert rc == 0
    win = next(f for f in doc["findings"] if f["resource"]["pool"] == "win19" and f["rule"] == "retiring-size")
    assert win["cost"]["os_type"] == "windows" and win["cost"]["nodes"] == 2
    assert win["cost"]["current_monthly"] == round(win["cost"]["current_hourly"] * 2 * 730, 2)
    assert "/month now" in win["message"]
    node_os = [f for f in doc["findings"] if f["rule"] == "retiring-node-os"]
    assert node_os and all("cost" not in f for f in node_os)  # no size change, no cost


def test_the_store_keeps_prices_a_day_for_every_instance(azurite_env, tmp_path):
    """With a store configured, the cache is its table (every Functions instance shares it): a second
    scan the same day, even from another process with an empty temp folder, asks nothing."""
    from scanner.bootstrap import price_loader

    fake = FakePrices(ITEMS, page_size=100)
    with fake.running() as url:
        env = {**azurite_env, "PRICES_URL": url, "PRICE_CACHE_DIR": str(tmp_path / "unused")}
        load = price_loader(Settings.from_env(env))
        first, e1 = load(NEEDS)
        second, e2 = price_loader(Settings.from_env({**env, "PRICE_CACHE_DIR": str(tmp_path / "other")}))(NEEDS)
    assert e1 == [] and e2 == []
    assert (first.requests, second.requests, second.cached) == (4, 0, 4)
    assert not (tmp_path / "unused").exists()  # the table, not the folder
    assert second.hourly("Standard_DS2_v2", "westeurope", "linux") == first.hourly("Standard_DS2_v2", "westeurope", "linux")
