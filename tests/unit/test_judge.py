"""Rules and severities of scanner.judge, table-driven."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scanner.catalog import Catalog
from scanner.collectors.skus import SkuIndex
from scanner.judge import Thresholds, evaluate, severity_for
from scanner.model import (
    Cluster,
    Inventory,
    NodePool,
    ResourceKind,
    Retirement,
    Rule,
    ScaleSet,
    Severity,
    Sku,
    VirtualMachine,
)

TODAY = date(2026, 3, 1)
SUB = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"
REGION = "westeurope"


def sku(name, vcpus=2, mem=8.0, gens="V1,V2", arch="x64", gpus=0, zones=("1", "2", "3"), restricted=False,
        restricted_zones=(), location=REGION):
    return Sku(name=name, location=location, vcpus=vcpus, memory_gb=mem,
               hyperv_generations=frozenset(gens.split(",")), cpu_architecture=arch, gpus=gpus,
               zones=frozenset(zones), restricted=restricted, restricted_zones=frozenset(restricted_zones),
               capabilities={"PremiumIO": "True"})


BASE_SKUS = [
    sku("Standard_DS2_v2", 2, 7),
    sku("Standard_DS3_v2", 4, 14),
    sku("Standard_D2_v2", 2, 7, gens="V1"),
    sku("Standard_D2s_v5", 2, 8),
    sku("Standard_D4s_v5", 4, 16),
    sku("Standard_A2_v2", 2, 4, gens="V1"),
]


def index(*extra: Sku) -> SkuIndex:
    return SkuIndex.from_skus([*BASE_SKUS, *extra])


def dsv2(days: int = 200, **kw) -> Retirement:
    return Retirement(id="dsv2", title="DSv2 and Dv2 retire", retires_on=TODAY + timedelta(days=days),
                      series=("DSv2", "Dv2"), urls=("https://example.invalid/dsv2",), **kw)


def cluster(*pools: NodePool, location=REGION) -> Cluster:
    return Cluster(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
                   name="c1", subscription_id=SUB, resource_group="rg", location=location, pools=pools)


def vm(size: str, location=REGION, **kw) -> VirtualMachine:
    return VirtualMachine(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
                          name="vm1", subscription_id=SUB, resource_group="rg", location=location, vm_size=size, **kw)


GEN2_IMAGE = "AKSUbuntu-2204gen2containerd-202409.23.0"
GEN1_IMAGE = "AKSUbuntu-2204containerd-202409.23.0"


def rules(findings):
    return sorted((f.rule.value, f.severity.value, f.resource.pool, f.vm_size) for f in findings)


# --------------------------------------------------------------------------- severity boundaries


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-400, Severity.CRITICAL), (-1, Severity.CRITICAL), (0, Severity.CRITICAL), (30, Severity.CRITICAL),
     (31, Severity.HIGH), (90, Severity.HIGH), (91, Severity.MEDIUM), (365, Severity.MEDIUM),
     (366, Severity.LOW), (2000, Severity.LOW)],
    ids=lambda v: str(v.value if isinstance(v, Severity) else v),
)
def test_retiring_size_severity_by_days_left(days, expected):
    inv = Inventory(vms=(vm("Standard_DS2_v2"),))
    [finding] = evaluate(inv, Catalog(retirements=(dsv2(days),)), index(), TODAY)
    assert finding.rule is Rule.RETIRING_SIZE
    assert finding.severity is expected
    assert finding.days_left == days


@pytest.mark.parametrize(
    ("days", "thresholds", "expected"),
    [(10, Thresholds(7, 14, 60), Severity.HIGH), (7, Thresholds(7, 14, 60), Severity.CRITICAL),
     (61, Thresholds(7, 14, 60), Severity.LOW), (45, Thresholds(7, 14, 60), Severity.MEDIUM)],
    ids=["10d-high", "7d-critical", "61d-low", "45d-medium"],
)
def test_thresholds_are_settings(days, thresholds, expected):
    assert severity_for(days, thresholds) is expected


def test_thresholds_from_settings():
    from scanner.config import Settings

    s = Settings.from_env({"SEVERITY_CRITICAL_DAYS": "14", "SEVERITY_HIGH_DAYS": "60", "SEVERITY_MEDIUM_DAYS": "200"})
    assert Thresholds.from_settings(s) == Thresholds(14, 60, 200)


# --------------------------------------------------------------------------- rules

CASES = {
    "scale-set pool on a retiring size": (
        NodePool("np1", vm_sizes=("Standard_DS2_v2",), node_image_version=GEN2_IMAGE),
        [("retiring-size", "medium", "np1", "Standard_DS2_v2")],
    ),
    "VirtualMachines pool: one finding per retiring size": (
        NodePool("vmp", pool_type="VirtualMachines",
                 vm_sizes=("Standard_DS2_v2", "Standard_DS3_v2", "Standard_D4s_v5"),
                 size_counts=(("Standard_DS2_v2", 1), ("Standard_DS3_v2", 2), ("Standard_D4s_v5", 1)),
                 node_image_version=GEN2_IMAGE),
        [("retiring-size", "medium", "vmp", "Standard_DS2_v2"), ("retiring-size", "medium", "vmp", "Standard_DS3_v2")],
    ),
    "Gen1-only retiring size: both rules at the retirement's severity": (
        NodePool("sys", mode="System", vm_sizes=("Standard_D2_v2",), node_image_version=GEN1_IMAGE),
        [("gen1-only-size", "medium", "sys", "Standard_D2_v2"), ("retiring-size", "medium", "sys", "Standard_D2_v2")],
    ),
    "Gen1-only size not retiring is info": (
        NodePool("av2", vm_sizes=("Standard_A2_v2",), node_image_version=GEN1_IMAGE),
        [("gen1-only-size", "info", "av2", "Standard_A2_v2")],
    ),
    "Linux Gen1 image on a Gen2-capable size": (
        NodePool("old", vm_sizes=("Standard_D4s_v5",), node_image_version=GEN1_IMAGE),
        [("gen1-node-image", "info", "old", "Standard_D4s_v5")],
    ),
    "Gen2 image on a Gen2-capable size: nothing": (
        NodePool("ok", vm_sizes=("Standard_D4s_v5",), node_image_version=GEN2_IMAGE),
        [],
    ),
    "Windows Server 2019 pool": (
        NodePool("win19", vm_sizes=("Standard_D4s_v5",), os_type="Windows", os_sku="Windows2019",
                 node_image_version="AKSWindows-2019-containerd-17763.6293.240905"),
        [("gen1-node-image", "info", "win19", "Standard_D4s_v5")],
    ),
    "Windows2022 pool made without the Gen2 header": (
        NodePool("win22", vm_sizes=("Standard_D4s_v5",), os_type="Windows", os_sku="Windows2022",
                 node_image_version="AKSWindows-2022-containerd-20348.2700.240911"),
        [("gen1-node-image", "info", "win22", "Standard_D4s_v5")],
    ),
    "Windows2022 Gen2 pool: nothing": (
        NodePool("win22g2", vm_sizes=("Standard_D4s_v5",), os_type="Windows", os_sku="Windows2022",
                 node_image_version="AKSWindows-2022-containerd-gen2-20348.2700.240911"),
        [],
    ),
    "retiring size with a Gen1 image: the retirement, and the image on the Gen2-capable size": (
        NodePool("both", vm_sizes=("Standard_DS2_v2",), node_image_version=GEN1_IMAGE),
        [("gen1-node-image", "medium", "both", "Standard_DS2_v2"), ("retiring-size", "medium", "both", "Standard_DS2_v2")],
    ),
}


@pytest.mark.parametrize(("pool", "expected"), CASES.values(), ids=CASES.keys())
def test_rules_per_pool(pool, expected):
    findings = evaluate(Inventory(clusters=(cluster(pool),)), Catalog(retirements=(dsv2(),)), index(), TODAY)
    assert rules(findings) == sorted(expected)
    for f in findings:
        assert f.resource.kind is ResourceKind.AKS_NODEPOOL
        assert f.resource.id == cluster().id and f.resource.pool == pool.name


def test_finding_ids_are_distinct_and_stable():
    pool = CASES["VirtualMachines pool: one finding per retiring size"][0]
    inv = Inventory(clusters=(cluster(pool),))
    first = evaluate(inv, Catalog(retirements=(dsv2(),)), index(), TODAY)
    again = evaluate(inv, Catalog(retirements=(dsv2(),)), index(), TODAY + timedelta(days=3))
    assert len({f.id for f in first}) == len(first) == 2
    assert [f.id for f in first] == [f.id for f in again]


def test_no_sku_facts_for_region_still_finds_retirement_but_no_gen1_rules():
    pool = NodePool("sys", vm_sizes=("Standard_D2_v2",), node_image_version=GEN1_IMAGE)
    findings = evaluate(Inventory(clusters=(cluster(pool, location="brazilsouth"),)),
                        Catalog(retirements=(dsv2(),)), index(), TODAY)
    assert rules(findings) == [("retiring-size", "medium", "sys", "Standard_D2_v2")]
    assert findings[0].replacement is None
    assert "no SKU facts for brazilsouth" in findings[0].message


@pytest.mark.parametrize(
    ("restriction", "pool_zones", "expected"),
    [({"restricted": True}, ("1", "2", "3"), True),
     ({"restricted_zones": ("3",)}, ("1", "2", "3"), True),
     ({"restricted_zones": ("3",)}, ("1", "2"), False),
     ({}, ("1", "2", "3"), False)],
    ids=["restricted-in-region", "restricted-in-pool-zone", "restricted-in-other-zone", "unrestricted"],
)
def test_restricted_size_is_flagged(restriction, pool_zones, expected):
    skus = SkuIndex.from_skus([s for s in BASE_SKUS if s.name != "Standard_DS2_v2"]
                              + [sku("Standard_DS2_v2", 2, 7, **restriction)])
    pool = NodePool("np1", vm_sizes=("Standard_DS2_v2",), zones=pool_zones, node_image_version=GEN2_IMAGE)
    [f] = evaluate(Inventory(clusters=(cluster(pool),)), Catalog(retirements=(dsv2(),)), skus, TODAY)
    assert f.restricted is expected
    assert ("cannot scale out" in f.message) is expected


def test_region_exception_is_honoured():
    ret = dsv2(region_exceptions=("usgov",))
    inv = Inventory(vms=(vm("Standard_DS2_v2", location="usgovvirginia"), vm("Standard_DS2_v2")))
    findings = evaluate(inv, Catalog(retirements=(ret,)), index(), TODAY)
    assert [f.resource.location for f in findings] == [REGION]


def test_soonest_retirement_wins_for_a_size():
    later = Retirement(id="later", title="later", retires_on=TODAY + timedelta(days=900), series=("DSv2",))
    sooner = Retirement(id="sooner", title="sooner", retires_on=TODAY + timedelta(days=20), sizes=("Standard_DS2_v2",))
    [f] = evaluate(Inventory(vms=(vm("Standard_DS2_v2"),)), Catalog(retirements=(later, sooner)), index(), TODAY)
    assert f.retirement.id == "sooner" and f.severity is Severity.CRITICAL


def test_vm_and_scale_set_kinds_and_aks_plumbing_skipped():
    c = cluster(NodePool("np1", vm_sizes=("Standard_DS2_v2",), node_image_version=GEN2_IMAGE))
    aks_vmss = ScaleSet(id="/subscriptions/x/resourceGroups/mc/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np1",
                        name="aks-np1", subscription_id=SUB, resource_group="mc", location=REGION,
                        vm_size="Standard_DS2_v2", aks_cluster_id=c.id, aks_pool="np1")
    own = ScaleSet(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
                   name="web", subscription_id=SUB, resource_group="rg", location=REGION, vm_size="Standard_DS2_v2")
    member = vm("Standard_DS2_v2", scale_set_id=own.id)
    standalone = VirtualMachine(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/solo",
                                name="solo", subscription_id=SUB, resource_group="rg", location=REGION,
                                vm_size="Standard_DS2_v2")
    inv = Inventory(clusters=(c,), scale_sets=(aks_vmss, own), vms=(member, standalone))
    findings = evaluate(inv, Catalog(retirements=(dsv2(),)), index(), TODAY)
    assert sorted((f.resource.kind.value, f.resource.name) for f in findings) == [
        ("aks-nodepool", "c1"), ("vm", "solo"), ("vmss", "web")]


def test_most_urgent_first():
    soon = Retirement(id="soon", title="A retires", retires_on=TODAY + timedelta(days=10), sizes=("Standard_A2_v2",))
    inv = Inventory(vms=(vm("Standard_DS2_v2"), vm("Standard_A2_v2")))
    findings = evaluate(inv, Catalog(retirements=(dsv2(), soon)), index(), TODAY)
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), key=lambda s: -s.rank)
    assert findings[0].vm_size == "Standard_A2_v2" and findings[0].severity is Severity.CRITICAL


def test_judge_exposes_lifecycle_diff():
    import scanner.judge as judge
    import scanner.lifecycle as lifecycle

    assert judge.diff is lifecycle.diff
