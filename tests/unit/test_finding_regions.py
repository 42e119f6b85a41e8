"""judge.finding_regions: the (subscription, region) pairs the service reads vCPU quota for are
exactly those of evaluate(guide=False)'s findings, found without keeping (or repeating) findings."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from scanner.core import judge
from scanner.core.catalog import Catalog, load_builtin
from scanner.core.model import Cluster, Inventory, NodePool, Rule
from scanner.sources.resource_graph import load_inventory_files
from scanner.sources.skus import load_sku_files

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("today", [date(2025, 1, 1), date(2026, 6, 1), date(2029, 1, 1)])
@pytest.mark.parametrize("tenant", [ROOT / "samples", ROOT / "tests" / "fixtures" / "tenants"])
def test_pairs_equal_those_of_every_finding(today, tenant):
    inventory = load_inventory_files([str(tenant / "inventory")])
    skus = load_sku_files([str(tenant / "skus")])
    catalog = Catalog(retirements=tuple(load_builtin()))

    full = {(f.resource.subscription_id.lower(), f.resource.location.lower())
            for f in judge.evaluate(inventory, catalog, skus, today, guide=False)}

    assert full  # the samples have findings on each of these days
    assert judge.finding_regions(inventory, catalog, skus, today) == full


def test_a_gen1_node_image_alone_is_a_pair():
    """A pool whose sizes retire nowhere but whose node image is Gen1 on a Gen2-capable size."""
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    pool = NodePool("apps", vm_sizes=("Standard_D4s_v5",), count=3,
                    node_image_version="AKSUbuntu-2204containerd-202401.09.0")
    cluster = Cluster(id="/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/a",
                      name="a", subscription_id="S1", resource_group="rg", location="WestEurope", pools=(pool,))
    inventory = Inventory(clusters=(cluster,))
    catalog = Catalog(retirements=tuple(load_builtin()))
    findings = judge.evaluate(inventory, catalog, skus, date(2026, 6, 1), guide=False)

    assert [f.rule for f in findings] == [Rule.GEN1_NODE_IMAGE]
    assert judge.finding_regions(inventory, catalog, skus, date(2026, 6, 1)) == {("s1", "westeurope")}


def test_no_catalog_no_pairs():
    inventory = load_inventory_files([str(ROOT / "samples" / "inventory")])
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    full = {(f.resource.subscription_id.lower(), f.resource.location.lower())
            for f in judge.evaluate(inventory, Catalog(retirements=()), skus, date(2026, 6, 1), guide=False)}
    assert judge.finding_regions(inventory, Catalog(retirements=()), skus, date(2026, 6, 1)) == full
