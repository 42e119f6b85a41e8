"""Rules and severities of scanner.core.judge, table-driven."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from scanner.core.catalog import Catalog
from scanner.core.judge import Thresholds, evaluate, severity_for
from scanner.core.model import (
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
from scanner.sources.skus import SkuIndex

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


# --------------------------------------------------------------------------- regional dates and exceptions


def builtin_catalog():
    from scanner.core.catalog import load_builtin, merge

    return merge(load_builtin(), [], [])


@pytest.mark.parametrize(
    ("location", "retires_on", "severity"),
    [("usgovvirginia", date(2026, 6, 30), Severity.MEDIUM),    # 121 days after TODAY
     ("usgovarizona", date(2026, 6, 30), Severity.MEDIUM),
     ("jioindiawest", date(2027, 6, 30), Severity.LOW),        # 486 days
     ("chinanorth3", date(2027, 6, 30), Severity.LOW),
     ("westeurope", date(2025, 9, 30), Severity.CRITICAL),     # retired 152 days ago
     ("usgovtexas", date(2025, 9, 30), Severity.CRITICAL)],    # no extension there
    ids=lambda v: v if isinstance(v, str) else str(getattr(v, "value", v)),
)
def test_ncv3_pool_is_judged_by_the_date_of_its_region(location, retires_on, severity):
    from scanner.core.schema import finding_to_json

    pool = NodePool("gpu", vm_sizes=("Standard_NC6s_v3",), node_image_version=GEN2_IMAGE)
    [f] = evaluate(Inventory(clusters=(cluster(pool, location=location),)), builtin_catalog(), index(), TODAY)
    assert f.rule is Rule.RETIRING_SIZE and f.retirement.id == "ncv3-2025-09-30"
    assert f.retirement.retires_on == retires_on
    assert f.days_left == (retires_on - TODAY).days
    assert f.severity is severity
    out = finding_to_json(f)["retirement"]
    assert out["retires_on"] == retires_on.isoformat() and out["days_left"] == f.days_left
    assert f.message.startswith(f"Standard_NC6s_v3 {'retires' if f.days_left >= 0 else 'retired'} on "
                                f"{retires_on.isoformat()} (")
    regional = f"the date for {location}, elsewhere 2025-09-30"
    assert (regional in f.message) is (retires_on != date(2025, 9, 30))


def test_nc24rs_v3_gets_the_regional_extension_too():
    inv = Inventory(vms=(vm("Standard_NC24rs_v3", location="usgovvirginia"), vm("Standard_NC24rs_v3")))
    findings = evaluate(inv, builtin_catalog(), index(), TODAY)
    assert sorted((f.resource.location, f.retirement.retires_on) for f in findings) == [
        ("usgovvirginia", date(2026, 6, 30)), ("westeurope", date(2025, 9, 30))]


def test_soonest_retirement_is_chosen_by_regional_dates():
    extended = Retirement(id="a-extended", title="A", retires_on=TODAY + timedelta(days=20), series=("DSv2",),
                          region_dates=(("usgovvirginia", TODAY + timedelta(days=700)),))
    plain = Retirement(id="b-plain", title="B", retires_on=TODAY + timedelta(days=200), series=("DSv2",))
    inv = Inventory(vms=(vm("Standard_DS2_v2", location="usgovvirginia"), vm("Standard_DS2_v2")))
    findings = evaluate(inv, Catalog(retirements=(extended, plain)), index(), TODAY)
    assert sorted((f.resource.location, f.retirement.id, f.days_left) for f in findings) == [
        ("usgovvirginia", "b-plain", 200), ("westeurope", "a-extended", 20)]


@pytest.mark.parametrize(
    ("location", "found"),
    [("usgovvirginia", False), ("usgovtexas", False), ("usdodeast", False), ("chinaeast2", False),
     ("chinanorth3", False), ("China East 2", False), ("westeurope", True), ("eastus2", True),
     ("southindia", True)],
    ids=lambda v: v if isinstance(v, str) else ("finding" if v else "none"),
)
def test_v3_wave_does_not_apply_in_government_or_china_clouds(location, found):
    pool = NodePool("np1", vm_sizes=("Standard_D4s_v3",), node_image_version=GEN2_IMAGE)
    inv = Inventory(clusters=(cluster(pool, location=location),), vms=(vm("Standard_E4s_v3", location=location),))
    findings = evaluate(inv, builtin_catalog(), index(), TODAY)
    assert sorted(f.retirement.id for f in findings) == (
        ["dv3-dsv3-2029-11-15", "ev3-esv3-2029-11-15"] if found else [])


@pytest.mark.parametrize(
    ("location", "cloud"),
    [("usgovvirginia", "usgov"), ("usgovarizona", "usgov"), ("usdodcentral", "usgov"), ("usseceast", "usgov"),
     ("usnatwest", "usgov"), ("chinanorth3", "china"), ("chinaeast2", "china"), ("China North", "china"),
     ("US Gov Virginia", "usgov"), ("westeurope", "public"), ("eastus", "public"), ("jioindiawest", "public"),
     ("", "public")],
)
def test_arm_regions_map_to_their_clouds(location, cloud):
    from scanner.core.model import cloud_of

    assert cloud_of(location) == cloud


@pytest.mark.parametrize(
    ("exceptions", "location", "applies"),
    [(("eastus",), "eastus", False), (("eastus",), "eastus2", True), (("EastUS",), "East US", False),
     (("usgov",), "usdodeast", False), (("usdod",), "usdodeast", False), (("usdod",), "usgovvirginia", True),
     (("usgovernment",), "usgovtexas", False), (("AzureChinaCloud",), "chinanorth2", False),
     (("china",), "westeurope", True), (("usgov",), "australiaeast", True)],
    ids=["region", "not-a-prefix", "case-and-spaces", "cloud-covers-dod", "dod-family", "dod-not-gov",
         "cloud-alias", "china-alias", "china-elsewhere", "usgov-elsewhere"],
)
def test_region_exceptions_name_regions_exactly_and_clouds_by_their_regions(exceptions, location, applies):
    from scanner.core.judge import applies_in

    assert applies_in(dsv2(region_exceptions=exceptions), location) is applies


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
