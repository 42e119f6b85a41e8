"""judge.Handover: an inventory handed to evaluate for good is judged exactly as the Inventory
itself, and the judge lets go of every resource once judged (the peak memory of a 300k scan)."""

from __future__ import annotations

from datetime import date

from scanner.core import judge, node_os
from scanner.core.catalog import Catalog, load_builtin
from scanner.sources.resource_graph import load_inventory_files
from scanner.sources.skus import load_sku_files
from tests.conftest import ROOT


def test_a_handed_over_inventory_gives_the_same_findings_and_is_emptied():
    inventory = load_inventory_files([str(ROOT / "samples" / "inventory")])
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    catalog = Catalog(retirements=tuple(load_builtin()))
    today = date(2026, 9, 10)
    kept = judge.evaluate(inventory, catalog, skus, today, node_os=node_os.load_builtin())
    handover = judge.Handover(inventory)
    given = judge.evaluate(handover, catalog, skus, today, node_os=node_os.load_builtin())
    assert given == kept and len(given) > 10
    assert handover.clusters and all(x is None for x in handover.clusters)
    assert all(x is None for x in (*handover.vms, *handover.scale_sets))
    assert len(handover.vms) == len(inventory.vms)  # the Inventory itself is untouched
    assert all(c is not None for c in inventory.clusters)
