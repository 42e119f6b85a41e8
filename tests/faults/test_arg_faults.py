"""Faults on the live Resource Graph and subscription listing paths (issue 12's ARG rows).

Each row runs collect_inventory through the real azure-core pipeline and DefaultAzureCredential
against the fake ARM over HTTPS, with one fault injected by the fake's hooks. It then judges the
inventory and replays the lifecycle against the findings of a clean read of the same tenant, and
records what a user would notice: findings lost (gone and not kept open), false resolutions,
unexpected exits (an exception out of collect_inventory), and it asserts that the number of
requests stays bounded.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timezone

import pytest

from scanner import bootstrap
from scanner.config import Settings, parse_scope
from scanner.core import judge, lifecycle
from scanner.core.catalog import Catalog, load_builtin
from scanner.core.model import ScopeKind
from scanner.sources.skus import load_sku_files
from tests.fakes.arm_server import FakeArm, sub_id, synthetic_tenant

ROOT_SKUS = "samples/skus"
TODAY = date(2026, 6, 1)
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
SUBS, CLUSTERS, VMS = 3, 1100, 1100  # several pages per query (scale sets: 3)


def tenant() -> FakeArm:
    fake = FakeArm()
    fake.subscriptions_page_size = 2  # two pages of subscriptions
    synthetic_tenant(fake, subscriptions=SUBS, clusters=CLUSTERS, vms=VMS)
    return fake


def collect(fake: FakeArm, tmp_path):
    bootstrap.reset()
    from scanner.sources.resource_graph import collect_inventory

    with fake.running(tmp_path) as env:
        try:
            return collect_inventory(Settings.from_env(env), parse_scope("tenant"), sleep=lambda s: None)
        finally:
            bootstrap.reset()


@pytest.fixture(scope="module")
def judged():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    skus = load_sku_files([str(root / ROOT_SKUS)])
    catalog = Catalog(retirements=tuple(load_builtin()))
    return lambda inv: judge.evaluate(inv, catalog, skus, TODAY, guide=False)


@pytest.fixture(scope="module")
def clean(tmp_path_factory, judged):
    inv = collect(tenant(), tmp_path_factory.mktemp("clean"))
    assert inv.errors == () and len(inv.clusters) == CLUSTERS
    findings = judged(inv)
    assert len(findings) > 100
    return inv, findings


def replay(clean_findings, inv, judged) -> tuple[int, int, int]:
    """(findings lost, false resolutions, findings kept open) of a faulted read after a clean one."""
    records = [lifecycle.Record(f, lifecycle.OPEN, NOW, NOW) for f in clean_findings]
    tonight = judged(inv)
    d = lifecycle.diff(records, tonight, now=NOW, scopes_seen=inv.subscriptions_seen, scopes_failed=inv.errors)
    present = {f.id for f in tonight} | {r.id for r in d.open_after}
    lost = sum(1 for f in clean_findings if f.id not in present)
    kept_open = sum(1 for r in d.open_after if r.id not in {f.id for f in tonight})
    return lost, len(d.resolved), kept_open


ARG_PAGES_CLEAN = 1 + 2 + 3 + 2  # visibility + clusters 1100 + scale sets 2200 + VMs 1100


@pytest.mark.parametrize("row, setup, max_requests, reported", [
    ("arg: resultTruncated without $skipToken",
     lambda f: setattr(f, "arg_truncated", True), ARG_PAGES_CLEAN + 2, "truncated the result"),
    ("arg: a $skipToken that repeats",
     lambda f: setattr(f, "arg_repeat_token", True), ARG_PAGES_CLEAN + 2, "came back a second time"),
    ("arg: an HTML page with status 200 (every time)",
     lambda f: f.wire_faults.extend([("arg", "html")] * 50), 10, "not a JSON object (text/html"),
], ids=["truncated", "repeated-token", "html-200"])
def test_an_incomplete_read_resolves_nothing(tmp_path, clean, judged, fault_ledger, row, setup, max_requests,
                                             reported):
    clean_inv, clean_findings = clean
    fake = tenant()
    setup(fake)

    started = time.monotonic()
    exits = 0
    try:
        inv = collect(fake, tmp_path)
    except Exception:  # noqa: BLE001 - an exception out of the collector is what this row counts
        exits = 1
        raise
    finally:
        lost, false_res, kept = (0, 0, 0) if exits else replay(clean_findings, inv, judged)
        fault_ledger.record(row, findings_lost=lost, false_resolutions=false_res, unexpected_exits=exits)

    assert (lost, false_res, exits) == (0, 0, 0)
    assert len(fake.arg_requests) <= max_requests and time.monotonic() - started < 30
    failed = {e.subscription for e in inv.errors if e.kind is ScopeKind.SUBSCRIPTION}
    assert failed == {sub_id(i) for i in range(SUBS)}  # the batch, each subscription named
    assert all(reported in e.detail for e in inv.errors), inv.errors
    assert kept > 0  # what was not read stays open, not resolved
    assert not inv.subscriptions_seen


@pytest.mark.parametrize("row, fault", [
    ("arg: connection reset on one page", ("arg", "reset")),
    ("arg: a body cut short on one page", ("arg", "cut")),
    ("arg: an HTML page with status 200 once", ("arg", "html")),
    ("subscriptions: connection reset on one page", ("subscriptions", "reset")),
    ("subscriptions: a body cut short on one page", ("subscriptions", "cut")),
    ("subscriptions: an HTML page with status 200 once", ("subscriptions", "html")),
], ids=["arg-reset", "arg-cut", "arg-html-once", "subs-reset", "subs-cut", "subs-html-once"])
def test_a_transient_fault_is_retried_and_the_read_is_whole(tmp_path, clean, judged, fault_ledger, row, fault):
    clean_inv, clean_findings = clean
    fake = tenant()
    # Let the first requests of that kind through (an empty fault), fault a follow-up page.
    fake.wire_faults.extend([(fault[0], "")] * (2 if fault[0] == "arg" else 1) + [fault])

    exits = 0
    try:
        inv = collect(fake, tmp_path)
    except Exception:  # noqa: BLE001
        exits = 1
        raise
    finally:
        lost, false_res, _ = (0, 0, 0) if exits else replay(clean_findings, inv, judged)
        fault_ledger.record(row, findings_lost=lost, false_resolutions=false_res, unexpected_exits=exits)

    assert (lost, false_res, exits) == (0, 0, 0)
    assert inv.errors == () and inv.subscriptions_seen == clean_inv.subscriptions_seen
    assert len(inv.clusters) == CLUSTERS and len(inv.vms) == len(clean_inv.vms)
    assert len(fake.arg_requests) <= ARG_PAGES_CLEAN + 1
    assert [r for r in fake.log if r.headers.get("fault")], "the fault was injected"


def test_a_subscriptions_next_link_that_repeats_stops_and_resolves_nothing(tmp_path, clean, judged, fault_ledger):
    clean_inv, clean_findings = clean
    fake = tenant()
    fake.subscriptions_repeat_link = True
    fake.subscriptions_page_size = 1  # page 2 points at itself

    inv = collect(fake, tmp_path)
    lost, false_res, _ = replay(clean_findings, inv, judged)
    fault_ledger.record("subscriptions: a nextLink that repeats", findings_lost=lost, false_resolutions=false_res)

    assert (lost, false_res) == (0, 0)
    assert len(fake.requests_to("/subscriptions", "GET")) == 2  # page 1, page 2, then the repeat is refused
    [tenant_error] = [e for e in inv.errors if e.kind is ScopeKind.TENANT]
    assert "repeated a nextLink" in tenant_error.detail and "2 subscriptions" in tenant_error.detail
    assert inv.subscriptions_seen == {sub_id(0), sub_id(1)}  # what was listed is still read


def test_a_next_link_to_another_host_is_not_followed(tmp_path, fault_ledger):
    """The bearer token goes to the ARM endpoint only: a nextLink elsewhere ends that listing."""
    from scanner.sources.arm import ArmPagingError, arm_json

    fake = FakeArm()
    sub = sub_id(7)
    fake.add_subscription(sub)
    fake.usages[(sub, "westeurope")] = [
        {"name": {"value": f"family{i}", "localizedValue": f"Family {i}"}, "currentValue": i, "limit": 100,
         "unit": "Count"} for i in range(5)]
    fake.usages_next_host = "attacker.invalid:443"
    bootstrap.reset()
    with fake.running(tmp_path) as env:
        arm = arm_json(Settings.from_env(env), sleep=lambda s: None)
        pages = []
        try:
            with pytest.raises(ArmPagingError, match="another host"):
                for page in arm.pages(f"/subscriptions/{sub}/providers/Microsoft.Compute/locations/westeurope/usages"
                                      "?api-version=2024-11-01", "usages", scope=f"usages {sub}/westeurope"):
                    pages.append(page)
        finally:
            bootstrap.reset()
    leaked = arm.requests - len(pages)  # a request after the first page would have gone to the other host
    fault_ledger.record("arm: a nextLink to another host", secrets_leaked=leaked)
    assert leaked == 0 and len(pages) == 1
