"""fetch_skus against the fake ARM over HTTPS, through the real azure-core ARM pipeline (raw JSON)."""

from __future__ import annotations

import json
import logging

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import Inventory, VirtualMachine
from scanner.sources.skus import fetch_skus, load_sku_files, needed_pairs
from tests.conftest import FIXTURES
from tests.fakes.arm_server import FakeArm

pytestmark = pytest.mark.integration

ARM = FIXTURES / "arm"
SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
SUB_DENIED = "33333333-3333-4333-8333-333333333333"
SUB_GONE = "44444444-4444-4444-8444-444444444444"


def _items() -> list[dict]:
    westus = json.loads((ARM / "skus_response_westus.json").read_text())["value"]
    eastus = json.loads((ARM / "skus_capability_examples.json").read_text())["value"]
    return westus, eastus


def _fake() -> FakeArm:
    fake = FakeArm()
    westus, eastus = _items()
    fake.add_skus("westus", westus)
    fake.add_skus("eastus", eastus)
    fake.add_skus("eastus", [{"resourceType": "disks", "name": "Premium_LRS", "locations": ["eastus"],
                              "capabilities": []}])
    fake.sku_page_size = 1  # every SKU on its own page: nextLink must be followed
    for sub in (SUB_A, SUB_B):
        fake.add_subscription(sub)
    fake.add_subscription(SUB_DENIED, skus_access="forbidden")
    # SUB_B may not use Standard_A0 in westus at all
    fake.sub_restrictions[(SUB_B, "westus", "standard_a0")] = [{
        "type": "Location", "values": ["westus"], "reasonCode": "NotAvailableForSubscription",
        "restrictionInfo": {"locations": ["westus"]}}]
    return fake


def fetch(fake, tmp_path, pairs, extra_env=None, **kwargs):
    bootstrap.reset()
    with fake.running(tmp_path) as env:
        try:
            return fetch_skus(Settings.from_env({**env, **(extra_env or {})}), pairs, **kwargs)
        finally:
            bootstrap.reset()


def test_each_pair_is_listed_once_following_next_links(tmp_path, caplog):
    fake = _fake()
    caplog.set_level(logging.INFO, logger="scanner.skus")
    pairs = [(SUB_A, "westus"), (SUB_A.upper(), "West US"), (SUB_A, "eastus"), (SUB_B, "westus")]

    index, errors = fetch(fake, tmp_path, pairs)

    assert errors == []
    calls = fake.requests_to("/providers/Microsoft.Compute/skus")
    first_pages = [r for r in calls if "$skiptoken" not in r.query]
    assert sorted((r.path.split("/")[2], r.query["$filter"]) for r in first_pages) == [
        (SUB_A, "location eq 'eastus'"), (SUB_A, "location eq 'westus'"), (SUB_B, "location eq 'westus'")]
    assert len(calls) == 2 + 3 + 2  # westus 2 SKUs, eastus 2 VM SKUs + 1 disk, one per page
    assert index.requests == len(calls)
    assert index.get(SUB_A, "westus", "Standard_A0").gen1_only
    assert index.get(SUB_A, "eastus", "Standard_F2s").gen1_only
    assert index.get(SUB_A, "eastus", "Premium_LRS") is None  # not a VM size
    assert any("3 subscription/region pairs" in m for m in caplog.messages)


def test_restrictions_are_per_subscription(tmp_path):
    index, _ = fetch(_fake(), tmp_path, [(SUB_A, "westus"), (SUB_B, "westus")])
    assert index.is_restricted(SUB_A, "westus", "Standard_A0") is False
    assert index.is_restricted(SUB_B, "westus", "Standard_A0") is True
    assert index.is_restricted(SUB_A, "westus", "Standard_D2s_v5", zones=("3",)) is True
    assert index.is_restricted(SUB_A, "westus", "Standard_D2s_v5", zones=("1",)) is False


def test_unreadable_subscriptions_are_reported_and_the_rest_fetched(tmp_path):
    pairs = [(SUB_A, "westus"), (SUB_DENIED, "westus"), (SUB_GONE, "eastus")]
    index, errors = fetch(_fake(), tmp_path, pairs)

    by_scope = {e.scope: e.error for e in errors}
    assert set(by_scope) == {f"skus {SUB_DENIED}/westus", f"skus {SUB_GONE}/eastus"}
    assert "403" in by_scope[f"skus {SUB_DENIED}/westus"] and "AuthorizationFailed" in by_scope[
        f"skus {SUB_DENIED}/westus"]
    assert "404" in by_scope[f"skus {SUB_GONE}/eastus"] and "SubscriptionNotFound" in by_scope[
        f"skus {SUB_GONE}/eastus"]
    assert index.has_region(SUB_A, "westus") and not index.has_region(SUB_DENIED, "westus")


def test_live_listing_and_files_give_the_same_facts(tmp_path):
    index, _ = fetch(_fake(), tmp_path, [(SUB_A, "westus")])
    folder = tmp_path / "skus"
    folder.mkdir()
    (folder / "westus.json").write_text((ARM / "skus_response_westus.json").read_text())
    from_files = load_sku_files([str(folder)])
    assert index.sizes(SUB_A, "westus") == from_files.sizes(SUB_A, "westus")


def test_pairs_come_from_the_inventory(tmp_path):
    inv = Inventory(vms=(VirtualMachine("v1", "v1", SUB_A, "rg", "westus", "Standard_A0"),
                         VirtualMachine("v2", "v2", SUB_A, "rg", "westus", "Standard_D2s_v5")))
    fake = _fake()
    index, errors = fetch(fake, tmp_path, needed_pairs(inv))
    assert errors == [] and index.scopes() == [(SUB_A, "westus")]
    assert len([r for r in fake.requests_to("/skus") if "$skiptoken" not in r.query]) == 1


def many_subscriptions(n: int) -> tuple[FakeArm, list[str]]:
    fake = _fake()
    fake.sku_page_size = 50
    subs = [f"{i:08x}-5555-4555-8555-{i:012x}" for i in range(n)]
    for sub in subs:
        fake.add_subscription(sub)
    return fake, subs


def test_every_subscription_shares_one_connection_pool(tmp_path):
    fake, subs = many_subscriptions(40)

    index, errors = fetch(fake, tmp_path, [(s, loc) for s in subs for loc in ("westus", "eastus")])

    assert errors == [] and len(index.scopes()) == 80
    calls = fake.requests_to("/providers/Microsoft.Compute/skus")
    assert len(calls) == 80  # one page per pair
    # 8 workers over one pipeline: at most one TLS connection per worker, not one per subscription
    assert len({r.peer for r in calls}) <= 8


def test_capabilities_are_held_once_per_region_and_size(tmp_path):
    fake, subs = many_subscriptions(5)
    fake.sub_restrictions[(subs[1], "westus", "standard_a0")] = [{
        "type": "Location", "values": ["westus"], "reasonCode": "NotAvailableForSubscription",
        "restrictionInfo": {"locations": ["westus"]}}]

    index, _ = fetch(fake, tmp_path, [(s, "westus") for s in subs])

    a0 = [index.get(s, "westus", "Standard_A0") for s in subs]
    assert [x.restricted for x in a0] == [False, True, False, False, False]
    assert all(x.capabilities is a0[0].capabilities for x in a0)  # shared, even by the restricted copy
    assert a0[0] is a0[2] is a0[4]  # unrestricted: the very same value
    assert a0[0].gen1_only and a0[1].gen1_only


def test_region_scope_reads_each_region_once(tmp_path, caplog):
    fake, subs = many_subscriptions(6)
    caplog.set_level(logging.INFO, logger="scanner.skus")
    pairs = [(s, loc) for s in subs for loc in ("westus", "eastus")]

    index, errors = fetch(fake, tmp_path, pairs, extra_env={"SKU_SCOPE": "region"})

    assert errors == []
    calls = [r for r in fake.requests_to("/providers/Microsoft.Compute/skus") if "$skiptoken" not in r.query]
    assert sorted(r.query["$filter"] for r in calls) == ["location eq 'eastus'", "location eq 'westus'"]
    for sub, loc in pairs:  # every subscription answers from the region's one listing
        assert index.has_region(sub, loc)
        assert index.get(sub, loc, "Standard_A0") is not None or loc == "eastus"
    assert any("region scope" in m for m in caplog.messages)


def test_sku_scope_setting_is_validated():
    from scanner.errors import ConfigError

    assert Settings.from_env({}).sku_scope == "subscription"
    assert Settings.from_env({"SKU_SCOPE": "Region"}).sku_scope == "region"
    with pytest.raises(ConfigError, match="SKU_SCOPE: 'tenant' is not 'subscription' or 'region'"):
        Settings.from_env({"SKU_SCOPE": "tenant"})


def test_a_list_repeated_byte_for_byte_is_parsed_once_and_restrictions_still_count(tmp_path, monkeypatch):
    """Subscriptions without restrictions of their own get the same bytes for a region: the run
    parses them once (issue 14: each body parsed once); a subscription whose list differs (its own
    restriction) is parsed on its own and keeps its restriction."""
    from scanner.sources import skus as skus_mod

    fake, subs = many_subscriptions(6)
    fake.sku_page_size = 1000  # one page a region, as Azure answers: identical bytes for identical lists
    fake.sub_restrictions[(subs[3], "westus", "standard_a0")] = [{
        "type": "Location", "values": ["westus"], "reasonCode": "NotAvailableForSubscription",
        "restrictionInfo": {"locations": ["westus"]}}]
    parsed: list[str] = []
    real = skus_mod.parse_skus

    def counting(items, subscription_id="*", shared=None, only_location=""):
        parsed.append(f"{subscription_id}/{only_location}")
        return real(items, subscription_id, shared=shared, only_location=only_location)

    monkeypatch.setattr(skus_mod, "parse_skus", counting)
    index, errors = fetch(fake, tmp_path, [(s, loc) for s in subs for loc in ("westus", "eastus")])

    assert errors == []
    assert len(fake.requests_to("/providers/Microsoft.Compute/skus")) == 12  # still one request a pair
    # westus: one list shared by five subscriptions + subs[3]'s own; eastus: one list for all six
    assert sorted(p.split("/")[1] for p in parsed) == ["eastus", "westus", "westus"]
    assert [index.is_restricted(s, "westus", "Standard_A0") for s in subs] == [False, False, False, True, False, False]
    assert all(index.sizes(s, "eastus") == index.sizes(subs[0], "eastus") for s in subs)
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "westus.json").write_text((ARM / "skus_response_westus.json").read_text())
    assert index.sizes(subs[5], "westus") == load_sku_files([str(folder)]).sizes(subs[5], "westus")
