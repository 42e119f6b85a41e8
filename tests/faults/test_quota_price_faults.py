"""Faults at the quota (Compute usages) and price (Retail Prices API) boundaries (issue 13).

Each row scans the sample tenant through service.run_scan with live quotas from the fake ARM over
HTTPS (managed identity token, the shared ARM JSON client) and live prices from the fake Retail
Prices API, injects one fault, and compares with a clean run of the same tenant: findings lost
(in the clean run, neither found nor kept open), false resolutions (resolved by the lifecycle
although only quota or prices failed), secrets leaked (the ARM token in anything the run shows),
unexpected exits (an exception out of the scan).
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.core import lifecycle
from scanner.core.model import Status
from scanner.core.schema import report_to_json
from scanner.service import ScanDeps, ScanOptions, run_scan
from tests.fakes.arm_server import FakeArm
from tests.fakes.prices_server import FakePrices

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 12, 4)
NOW = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)
E01 = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"
E02 = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e02"
ITEMS = [i for p in json.loads((ROOT / "samples" / "prices" / "retail-prices.json").read_text()) for i in p["Items"]]


def _usages(path: Path) -> list[dict]:
    return [{"limit": int(r["limit"]), "unit": "Count", "currentValue": int(r["currentValue"]), "name": r["name"]}
            for r in json.loads(path.read_text())]


def arm() -> FakeArm:
    fake = FakeArm()
    q = ROOT / "samples" / "quotas"
    for sub in (E01, E02):
        fake.add_subscription(sub)
        for region in ("westeurope", "northeurope", "eastus"):
            own = q / sub / f"{region}.json"
            fake.usages[(sub, region)] = _usages(own if own.exists() else q / f"{region}.json"
                                                 if (q / f"{region}.json").exists() else q / "westeurope.json")
    return fake


def scan(fake: FakeArm, prices: FakePrices, tmp_path):
    from scanner.bootstrap import catalog_loader, inventory_loader, quota_loader, sku_loader
    from scanner.sources.prices import fetch_prices

    bootstrap.reset()
    with fake.running(tmp_path) as env, prices.running() as url:
        settings = Settings.from_env({**env, "PRICES_URL": url, "PRICE_CACHE_DIR": str(tmp_path / "cache")})
        deps = ScanDeps(
            load_catalog=catalog_loader(settings, feed="", catalogs=["builtin"], extra_file=""),
            load_inventory=inventory_loader(settings, None, [str(ROOT / "samples" / "inventory")]),
            load_skus=sku_loader(settings, [str(ROOT / "samples" / "skus")], offline=True),
            load_quotas=quota_loader(settings),  # live: the fake ARM
            load_prices=lambda needs: fetch_prices(settings, needs),
        )
        try:
            return run_scan(deps, NOW, ScanOptions(today=TODAY, no_store=True, no_notify=True)), fake.token
        finally:
            bootstrap.reset()


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    report, _ = scan(arm(), FakePrices(ITEMS, page_size=100), tmp_path_factory.mktemp("clean"))
    assert report.errors == () and any(f.rule.value == "capacity-restricted" for f in report.findings)
    assert any(f.cost is not None and f.cost.delta_monthly is not None for f in report.findings)
    return report


def measure(clean, report, token) -> dict[str, int]:
    previous = [lifecycle.Record(replace(f, status=Status.OPEN), lifecycle.OPEN, NOW, NOW) for f in clean.findings]
    d = lifecycle.diff(previous, report.findings, now=NOW, scopes_failed=report.errors)
    resolved = {c.finding.id for c in d.changes if c.kind == "resolved"}
    kept = {r.id for r in d.open_after}
    found = {f.id for f in report.findings}
    lost = {f.id for f in clean.findings} - found - kept - resolved
    shown = json.dumps(report_to_json(report))
    return {"findings_lost": len(lost), "false_resolutions": len(resolved), "secrets_leaked": int(token in shown)}


ROWS = [
    ("quota: usages 403 for one subscription", lambda a, p: a.usages_forbidden.add(E01)),
    ("quota: usages 500 past the retries", lambda a, p: a.usages_status.update({E01: 500, E02: 500})),
    ("quota: nextLink to another host", lambda a, p: (setattr(a, "usages_page_size", 2),
                                                      setattr(a, "usages_next_host", "attacker.invalid"))),
    ("prices: API 500 for every size", lambda a, p: p.broken.update({i["armSkuName"] for i in ITEMS})),
    ("prices: API answers an HTML page", lambda a, p: setattr(p, "html", True)),
]


@pytest.mark.parametrize(("row", "inject"), ROWS, ids=[r for r, _ in ROWS])
def test_quota_and_price_faults(row, inject, clean, tmp_path, fault_ledger, monkeypatch):
    monkeypatch.setattr("scanner.sources.prices.BACKOFF", 0.0)
    monkeypatch.setattr("scanner.sources.arm.retry_wait", lambda headers, attempt, base=1.0: 0.0)
    fake, prices = arm(), FakePrices(ITEMS, page_size=100)
    inject(fake, prices)
    try:
        report, token = scan(fake, prices, tmp_path)
    except Exception:  # noqa: BLE001 - counted, then failed below
        fault_ledger.record(row, unexpected_exits=1)
        raise
    counts = measure(clean, report, token)
    fault_ledger.record(row, **counts)
    assert counts == {"findings_lost": 0, "false_resolutions": 0, "secrets_leaked": 0}
    kinds = {e.kind.value for e in report.errors}
    assert kinds == ({"quota"} if row.startswith("quota") else {"prices"}), report.errors
    # what does not depend on the failed facts is unchanged
    base = {f.id for f in clean.findings if f.rule.value != "capacity-restricted"}
    assert base <= {f.id for f in report.findings}
