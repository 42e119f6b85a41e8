"""Capacity growth restrictions and vCPU quota (issue 13): rule capacity-restricted, the
restriction on retiring-size, the replacement's quota for the move, headroom arithmetic."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from scanner.core import headroom
from scanner.core.catalog import Catalog, parse_catalog
from scanner.core.headroom import QuotaBook, growth_nodes, move_nodes, surge_nodes
from scanner.core.judge import evaluate
from scanner.core.model import (
    Cluster,
    Inventory,
    NodePool,
    QuotaUsage,
    Retirement,
    Rule,
    ScaleSet,
    Severity,
    Sku,
)
from scanner.errors import CatalogError
from scanner.sources.skus import SkuIndex

TODAY = date(2026, 9, 1)
SUB = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"
REGION = "westeurope"
PAGE = "https://learn.microsoft.com/azure/virtual-machines/sizes/lifecycle/retirements-and-capacity-restrictions"

DSV3 = Retirement(id="dv3-dsv3-2029-11-15", title="Dv3 and Dsv3-series VMs retire", retires_on=date(2029, 11, 15),
                  series=("Dv3", "Dsv3"), replacement_series=("Dsv5",),
                  capacity_restricted_from=date(2026, 7, 1), capacity_source=PAGE)


def sku(name, vcpus, mem, family):
    return Sku(name=name, location=REGION, vcpus=vcpus, memory_gb=mem, hyperv_generations=frozenset({"V1", "V2"}),
               zones=frozenset({"1", "2", "3"}), family=family, capabilities={"PremiumIO": "True"})


SKUS = SkuIndex.from_skus([
    sku("Standard_D4s_v3", 4, 16, "standardDSv3Family"),
    sku("Standard_D4s_v5", 4, 16, "standardDSv5Family"),
    sku("Standard_D4as_v5", 4, 16, "standardDASv5Family"),
    sku("Standard_D4ds_v5", 4, 16, "standardDDSv5Family"),
])


def book(dsv3=(0, 100), dsv5=(0, 100), dasv5=(0, 100), ddsv5=(0, 100), cores=(0, 1000)) -> QuotaBook:
    rows = [QuotaUsage("standardDSv3Family", *dsv3), QuotaUsage("standardDSv5Family", *dsv5),
            QuotaUsage("standardDASv5Family", *dasv5), QuotaUsage("standardDDSv5Family", *ddsv5),
            QuotaUsage("cores", *cores, label="Total Regional vCPUs")]
    return QuotaBook().add(SUB, REGION, rows)


def pool(count=3, autoscale=True, max_count=10, surge="", size="Standard_D4s_v3") -> NodePool:
    return NodePool(name="np1", vm_sizes=(size,), count=count, enable_autoscaling=autoscale,
                    min_count=1 if autoscale else None, max_count=max_count if autoscale else None,
                    max_surge=surge, orchestrator_version="1.30.5", os_sku="Ubuntu")


def inventory(*pools: NodePool) -> Inventory:
    c = Cluster(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
                name="c1", subscription_id=SUB, resource_group="rg", location=REGION, kubernetes_version="1.30.5",
                pools=pools)
    return Inventory(clusters=(c,))


def judged(inv, quotas, today=TODAY, retirement=DSV3):
    return evaluate(inv, Catalog((retirement,)), SKUS, today, quotas=quotas)


def by_rule(findings, rule):
    return [f for f in findings if f.rule is rule]


# --------------------------------------------------------------------------- the rule, table-driven

# 3 nodes of 4 vCPUs running (12 used), autoscaler maximum 10: 7 more nodes = 28 vCPUs wanted.
@pytest.mark.parametrize(("quota", "cores", "today", "expected"), [
    pytest.param((12, 12), (12, 1000), TODAY, Severity.HIGH, id="at-family-ceiling-high-though-retiring-2029"),
    pytest.param((12, 100), (200, 202), TODAY, Severity.HIGH, id="regional-total-at-ceiling-high"),
    pytest.param((12, 24), (12, 1000), TODAY, Severity.MEDIUM, id="room-for-3-of-7-nodes-medium"),
    pytest.param((12, 40), (12, 1000), TODAY, None, id="room-for-all-7-nodes-no-finding"),
    pytest.param((12, 12), (12, 1000), date(2026, 6, 30), None, id="before-restriction-starts-no-finding"),
])
def test_capacity_restricted_severity_from_headroom(quota, cores, today, expected):
    findings = judged(inventory(pool()), book(dsv3=quota, cores=cores), today=today)
    hits = by_rule(findings, Rule.CAPACITY_RESTRICTED)
    if expected is None:
        assert hits == []
        return
    (f,) = hits
    assert f.severity is expected
    assert f.capacity.restricted_from == date(2026, 7, 1) and f.capacity.source == PAGE
    assert f.capacity.headroom.needed == 28 and f.capacity.headroom.nodes == 7
    assert "standardDSv3Family 12/" in f.message
    assert f.replacement is not None and f.commands  # the way out comes with it


def test_capacity_restricted_never_below_the_retirement_severity():
    soon = replace(DSV3, retires_on=date(2026, 9, 10))  # 9 days left: critical
    (f,) = by_rule(judged(inventory(pool()), book(dsv3=(12, 24)), retirement=soon), Rule.CAPACITY_RESTRICTED)
    assert f.severity is Severity.CRITICAL


def test_without_quota_facts_the_retiring_size_finding_still_names_the_restriction():
    findings = judged(inventory(pool()), None)
    assert by_rule(findings, Rule.CAPACITY_RESTRICTED) == []
    (f,) = by_rule(findings, Rule.RETIRING_SIZE)
    assert "Capacity growth restricted since 2026-07-01" in f.message
    assert f.capacity is not None and f.capacity.headroom is None


def test_restriction_announced_for_later_is_said_on_retiring_size():
    (f,) = by_rule(judged(inventory(pool()), None, today=date(2026, 3, 1)), Rule.RETIRING_SIZE)
    assert "Capacity growth restrictions start on 2026-07-01" in f.message and f.capacity is None


def test_fixed_size_pool_needs_room_for_one_upgrade_surge():
    # 10 nodes, no autoscaler, maxSurge unset: 10% = 1 node = 4 vCPUs; 2 free -> at the ceiling.
    p = pool(count=10, autoscale=False)
    (f,) = by_rule(judged(inventory(p), book(dsv3=(40, 42))), Rule.CAPACITY_RESTRICTED)
    assert f.severity is Severity.HIGH and f.capacity.headroom.needed == 4


def test_scale_set_at_ceiling():
    vmss = ScaleSet(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/s1",
                    name="s1", subscription_id=SUB, resource_group="rg", location=REGION, vm_size="Standard_D4s_v3",
                    capacity=5)
    findings = evaluate(Inventory(scale_sets=(vmss,)), Catalog((DSV3,)), SKUS, TODAY, quotas=book(dsv3=(20, 20)))
    (f,) = by_rule(findings, Rule.CAPACITY_RESTRICTED)
    assert f.severity is Severity.HIGH and "scale set is at its quota ceiling" in f.message


# --------------------------------------------------------------------------- quota for the move


def test_replacement_with_room_carries_its_headroom():
    (f,) = by_rule(judged(inventory(pool()), book()), Rule.RETIRING_SIZE)
    q = f.replacement_quota
    # the new pool: maximum 10 + 10% surge (1) = 11 nodes x 4 vCPUs while the old pool still runs
    assert q.nodes == 11 and q.needed == 44 and q.fits
    assert q.family == SKUS.get(SUB, REGION, f.replacement.vm_size).family


def test_replacement_blocked_by_quota_prefers_an_alternative_that_fits():
    first = by_rule(judged(inventory(pool()), book()), Rule.RETIRING_SIZE)[0].replacement
    blocked = {"Standard_D4s_v5": "dsv5", "Standard_D4as_v5": "dasv5", "Standard_D4ds_v5": "ddsv5"}[first.vm_size]
    quotas = book(**{blocked: (0, 8)})
    (f,) = by_rule(judged(inventory(pool()), quotas), Rule.RETIRING_SIZE)
    assert f.replacement.vm_size != first.vm_size
    assert f.replacement.vm_size in first.alternatives
    assert f"instead of {first.vm_size}" in f.replacement.why
    assert f.replacement_quota.fits
    assert any(f.replacement.vm_size in c for c in f.commands)


def test_replacement_blocked_with_no_alternative_says_so_with_numbers_and_command():
    quotas = book(dsv5=(0, 8), dasv5=(0, 8), ddsv5=(0, 8))
    (f,) = by_rule(judged(inventory(pool()), quotas), Rule.RETIRING_SIZE)
    q = f.replacement_quota
    assert not q.fits and q.needed == 44 and q.free == 8
    assert "needs 44 vCPUs" in f.message and "8 are free" in f.message
    assert f"az quota create --resource-name {q.family}" in f.message and "value=44" in f.message and "limit of 44" in f.message


def test_regional_total_blocks_the_move_too():
    (f,) = by_rule(judged(inventory(pool()), book(cores=(990, 1000))), Rule.RETIRING_SIZE)
    assert not f.replacement_quota.fits and f.replacement_quota.free == 10


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(("surge", "nodes", "expected"), [
    ("", 3, 1), ("", 25, 3), ("5", 3, 5), ("33%", 10, 4), ("0", 10, 0), ("bogus", 20, 2),
])
def test_surge_nodes(surge, nodes, expected):
    assert surge_nodes(surge, nodes) == expected


def test_growth_and_move_nodes():
    assert growth_nodes(pool(count=3, max_count=10), "Standard_D4s_v3") == 7
    assert growth_nodes(pool(count=10, max_count=10, surge="2"), "Standard_D4s_v3") == 2
    assert move_nodes(pool(count=3, max_count=10, surge="50%"), "Standard_D4s_v3") == 15
    vm_pool = NodePool(name="vp", pool_type="VirtualMachines", vm_sizes=("Standard_D4s_v3", "Standard_D2s_v5"),
                       size_counts=(("Standard_D4s_v3", 2), ("Standard_D2s_v5", 1)), count=3)
    assert growth_nodes(vm_pool, "Standard_D4s_v3") == 1


def test_headroom_without_family_row_is_unknown_not_zero():
    assert book().headroom(SUB, REGION, "standardNCFamily", 6, 1) is None
    assert QuotaBook().headroom(SUB, REGION, "standardDSv3Family", 4, 1) is None
    assert headroom.QuotaBook().add("*", "West Europe", [QuotaUsage("x", 1, 2)]).has_region(SUB, REGION)


# --------------------------------------------------------------------------- catalogue data


def test_catalogue_parses_capacity_restriction_and_refuses_a_bad_one():
    (r,) = parse_catalog('[[retirement]]\nid = "x"\ntitle = "X"\nseries = ["Dv3"]\nretires_on = 2029-11-15\n'
                         f'capacity_restricted_from = 2026-07-01\ncapacity_source = "{PAGE}"\n')
    assert r.capacity_restricted_from == date(2026, 7, 1) and r.capacity_source == PAGE
    with pytest.raises(CatalogError, match="capacity_restricted_from"):
        parse_catalog('[[retirement]]\nid = "x"\ntitle = "X"\nseries = ["Dv3"]\nretires_on = 2029-11-15\n'
                      'capacity_restricted_from = "July"\n')
    with pytest.raises(CatalogError, match="capacity_source"):
        parse_catalog('[[retirement]]\nid = "x"\ntitle = "X"\nseries = ["Dv3"]\nretires_on = 2029-11-15\n'
                      'capacity_restricted_from = 2026-07-01\ncapacity_source = "not a url"\n')


@pytest.mark.parametrize(("size", "since"), [
    ("Standard_D4s_v3", date(2026, 7, 1)), ("Standard_E8s_v3", date(2026, 7, 1)), ("Standard_F8s_v2", date(2026, 7, 1)),
    ("Standard_DS2_v2", date(2026, 7, 1)), ("Standard_B2ms", date(2026, 7, 1)), ("Standard_A2_v2", date(2026, 7, 1)),
    ("Standard_L8s_v2", date(2026, 7, 1)), ("Standard_GS4", date(2026, 7, 1)), ("Standard_DC4s_v3", date(2026, 11, 1)),
    ("Standard_D4s_v5", None), ("Standard_B2s_v2", None), ("Standard_NC6s_v3", None),
])
def test_builtin_catalogue_capacity_restrictions(size, since):
    from scanner.core.catalog import load_catalog

    found = [r.capacity_restricted_from for r in load_catalog().retirements_for(size) if r.capacity_restricted_from]
    assert (found[0] if found else None) == since


def test_spot_pools_are_not_charged_to_the_family():
    spot = NodePool(name="spot", vm_sizes=("Standard_D4s_v3",), count=0, enable_autoscaling=True, min_count=0,
                    max_count=5, priority="Spot")
    quotas = book(dsv3=(12, 12), dsv5=(0, 0), dasv5=(0, 0), ddsv5=(0, 0)).add(
        SUB, REGION, [QuotaUsage("lowPriorityCores", 0, 100)])
    findings = judged(inventory(spot), quotas)
    assert by_rule(findings, Rule.CAPACITY_RESTRICTED) == []
    (f,) = by_rule(findings, Rule.RETIRING_SIZE)
    assert f.replacement_quota.family == "lowPriorityCores" and f.replacement_quota.fits
