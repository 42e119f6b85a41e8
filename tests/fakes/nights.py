"""Nights of the service over in-memory ports: the sample tenant (samples/inventory, samples/skus,
the built-in catalogue), a store and a notifier in memory. A test removes a cluster or adds a
scope error for one night and looks at what was stored and told."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import Inventory, ScopeError
from scanner.service import ScanDeps, ScanOptions, ScanReport, ScanStore, run_scan
from tests.fakes.ports import MemoryFindingRepo, MemoryNotifier, MemoryRunLog

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
SETTINGS = Settings.from_env({})
CATALOG, _ = bootstrap.catalog_loader(SETTINGS, feed="", catalogs=["builtin"])()
INVENTORY = bootstrap.inventory_loader(SETTINGS, None, [str(ROOT / "samples" / "inventory")])()
SKUS = bootstrap.sku_loader(SETTINGS, [str(ROOT / "samples" / "skus")])(INVENTORY)


def without_cluster(inventory: Inventory, name: str) -> Inventory:
    return replace(inventory, clusters=tuple(c for c in inventory.clusters if c.name != name))


@dataclass
class Tenant:
    repo: MemoryFindingRepo = field(default_factory=MemoryFindingRepo)
    runs: MemoryRunLog = field(default_factory=MemoryRunLog)
    notifier: MemoryNotifier = field(default_factory=MemoryNotifier)
    night_no: int = 0

    def night(self, *, inventory: Inventory = INVENTORY, catalog=CATALOG, catalog_errors: tuple[ScopeError, ...] = (),
              sku_errors: tuple[ScopeError, ...] = (), dry_run: bool = False, quotas: bool = False) -> ScanReport:
        now = T0 + timedelta(days=self.night_no)
        self.night_no += 1
        deps = ScanDeps(load_catalog=lambda: (catalog, list(catalog_errors)), load_inventory=lambda: inventory,
                        load_skus=lambda inv: (SKUS[0], list(sku_errors)),
                        store=ScanStore(self.repo, self.runs, source="test"), notifier=self.notifier,
                        load_quotas=bootstrap.quota_loader(SETTINGS, str(ROOT / "samples" / "quotas")) if quotas else None)
        return run_scan(deps, now, ScanOptions(today=now.date(), dry_run=dry_run))

    def told(self, stage: str) -> list[str]:
        return [fid for fid, s in self.notifier.stages() if s == stage]


def today(i: int) -> date:
    return (T0 + timedelta(days=i)).date()
