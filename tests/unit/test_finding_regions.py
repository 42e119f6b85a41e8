"""judge.finding_regions: the (subscription, region) pairs the service reads vCPU quota for are
exactly those of evaluate(guide=False)'s findings, found without keeping (or repeating) findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner.core import judge
from scanner.core.catalog import Catalog, load_builtin
from scanner.sources.resource_graph import load_inventory_files
from scanner.sources.skus import load_sku_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("today", [date(2025, 1, 1), date(2026, 6, 1), date(2029, 1, 1)])
def test_pairs_equal_those_of_every_finding(today):
    inventory = load_inventory_files([str(ROOT / "samples" / "inventory")])
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    catalog = Catalog(retirements=tuple(load_builtin()))

    full = {(f.resource.subscription_id.lower(), f.resource.location.lower())
            for f in judge.evaluate(inventory, catalog, skus, today, guide=False)}

    assert full  # the samples have findings on each of these days
    assert judge.finding_regions(inventory, catalog, skus, today) == full


def test_no_catalog_no_pairs():
    inventory = load_inventory_files([str(ROOT / "samples" / "inventory")])
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    full = {(f.resource.subscription_id.lower(), f.resource.location.lower())
            for f in judge.evaluate(inventory, Catalog(retirements=()), skus, date(2026, 6, 1), guide=False)}
    assert judge.finding_regions(inventory, Catalog(retirements=()), skus, date(2026, 6, 1)) == full
