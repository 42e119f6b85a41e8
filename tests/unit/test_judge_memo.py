"""The judge answers repeated questions from memos (one replacement choice, quota fit, node OS verdict,
size facts per key, shared between resources). A memo whose key forgets something the answer reads
would hand one resource another's answer: these tests judge a varied tenant in one run and each
resource with a judge of its own (nothing remembered between resources) and expect the same findings,
and check that every pair of resources below, alike but for one field, gets different answers (so a
key without that field would fail the first test)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from scanner.core import judge, node_os
from scanner.core.catalog import load_catalog
from scanner.core.headroom import QuotaBook
from scanner.core.model import (
    Cluster,
    Inventory,
    NodePool,
    QuotaUsage,
    ResourceKind,
    ResourceRef,
    ScaleSet,
    VirtualMachine,
    finding_id,
)
from scanner.sources.resource_graph import load_inventory_files
from scanner.sources.skus import ANY_SUBSCRIPTION, load_sku_files
from tests.conftest import FIXTURES, ROOT

TODAY = date(2026, 6, 1)
SUB_A, SUB_B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
SUB_C = "cccccccc-0000-4000-8000-000000000003"  # no quota facts
SUB_D = "dddddddd-0000-4000-8000-000000000004"  # its own eastus list: Standard_DS2_v2 offers NVMe there
BASE = NodePool("apps", vm_sizes=("Standard_DS2_v2",), count=3, zones=("1", "2", "3"),
                node_image_version="AKSUbuntu-2204gen2containerd-202409.23.0", orchestrator_version="1.30.5")


def _skus():
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    west = skus.sizes(ANY_SUBSCRIPTION, "westeurope")
    # Trusted Launch off for the size an unconstrained pool gets in westeurope: a Trusted Launch pool must not.
    skus.add(ANY_SUBSCRIPTION, [replace(s, capabilities={**s.capabilities, "TrustedLaunchDisabled": "True"})
                                for s in west if s.name == "Standard_D2ds_v5"])
    # SUB_B has its own list in westeurope, where that size and Standard_DS2_v2 are restricted.
    skus.add(SUB_B, [replace(s, restricted=True) if s.name in ("Standard_D2ds_v5", "Standard_DS2_v2") else s
                     for s in skus.sizes(ANY_SUBSCRIPTION, "westeurope")])
    # In eastus the size an ephemeral OS pool gets offers NVMe too: no in-place resize onto it.
    east = skus.sizes(ANY_SUBSCRIPTION, "eastus")
    skus.add(ANY_SUBSCRIPTION, [replace(s, capabilities={**s.capabilities, "DiskControllerTypes": "SCSI, NVMe"})
                                for s in east if s.name == "Standard_D2ds_v5"])
    skus.add(SUB_D, [replace(s, capabilities={**s.capabilities, "DiskControllerTypes": "SCSI, NVMe"})
                     if s.name == "Standard_DS2_v2" else s for s in skus.sizes(ANY_SUBSCRIPTION, "eastus")])
    # In northeurope the size a VM gets is Gen2 only: a VM that may run a Gen1 image prefers another.
    skus.add(ANY_SUBSCRIPTION, [replace(s, hyperv_generations=frozenset({"V2"}))
                                for s in skus.sizes(ANY_SUBSCRIPTION, "northeurope") if s.name == "Standard_D2s_v5"])
    return skus


def _quotas():
    def rows(ddsv5_free: int, spot_free: int):
        return [QuotaUsage("standardDDSv5Family", 100 - ddsv5_free, 100), QuotaUsage("standardDSv5Family", 0, 100),
                QuotaUsage("standardEDSv5Family", 0, 100), QuotaUsage("lowPriorityCores", 100 - spot_free, 100),
                QuotaUsage("cores", 0, 1000)]
    book = QuotaBook().add(SUB_A, "eastus", rows(ddsv5_free=20, spot_free=100))
    return book.add(SUB_A, "westeurope", rows(ddsv5_free=20, spot_free=4))


# (name, pool, cluster fields): each variant differs from the one it is paired with in one field.
def _cluster(name: str, pool: NodePool, sub=SUB_A, location="westeurope", version="1.30.5", **kw) -> Cluster:
    return Cluster(id=f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/"
                      f"{name}", name=name, subscription_id=sub, resource_group="rg", location=location,
                   kubernetes_version=version, pools=(pool,), **kw)


PAIRS = {
    # field: (cluster a, cluster b) alike but for that field
    "location": (_cluster("loc-a", BASE), _cluster("loc-b", BASE, location="northeurope")),
    "subscription": (_cluster("sub-a", BASE), _cluster("sub-b", BASE, sub=SUB_B)),
    "quota subscription": (_cluster("qsub-a", BASE, location="eastus"),
                           _cluster("qsub-b", BASE, sub=SUB_C, location="eastus")),
    "size": (_cluster("size-a", BASE), _cluster("size-b", replace(BASE, vm_sizes=("Standard_F8s_v2",)))),
    "zones": (_cluster("zones-a", BASE), _cluster("zones-b", replace(BASE, zones=("1",)))),
    "mode": (_cluster("mode-a", replace(BASE, vm_sizes=("Standard_B4ms",))),
             _cluster("mode-b", replace(BASE, vm_sizes=("Standard_B4ms",), mode="System"))),
    "ephemeral OS": (_cluster("eph-a", BASE, location="eastus"),
                     _cluster("eph-b", replace(BASE, os_disk_type="Ephemeral"), location="eastus")),
    "ephemeral OS size": (_cluster("ephgb-a", replace(BASE, os_disk_type="Ephemeral"), location="eastus"),
                          _cluster("ephgb-b", replace(BASE, os_disk_type="Ephemeral", os_disk_size_gb=200),
                                   location="eastus")),
    "trusted launch": (_cluster("tl-a", BASE),
                       _cluster("tl-b", replace(BASE, properties={"securityProfile.enableSecureBoot": True}))),
    "pool family": (_cluster("fam-a", replace(BASE, pool_type="VirtualMachines")),
                    _cluster("fam-b", replace(BASE, pool_type="VirtualMachines",
                                              vm_sizes=("Standard_DS2_v2", "Standard_E4s_v5")))),
    "quota nodes": (_cluster("nodes-a", replace(BASE, count=1), location="eastus"),
                    _cluster("nodes-b", replace(BASE, count=9), location="eastus")),
    "spot": (_cluster("spot-a", replace(BASE, count=1, zones=("1",))),
             _cluster("spot-b", replace(BASE, count=1, zones=("1",), priority="Spot"))),
    "node image": (_cluster("img-a", BASE),
                   _cluster("img-b", replace(BASE, node_image_version="AKSUbuntu-2404gen2containerd-202409.23.0"))),
    "OS SKU": (_cluster("sku-a", replace(BASE, node_image_version="")),
               _cluster("sku-b", replace(BASE, node_image_version="", os_sku="AzureLinux"))),
    "pool version": (_cluster("ver-a", replace(BASE, node_image_version="", orchestrator_version="1.30.5")),
                     _cluster("ver-b", replace(BASE, node_image_version="", orchestrator_version="1.35.0"))),
    "cluster version": (_cluster("kver-a", replace(BASE, node_image_version="", orchestrator_version="")),
                        _cluster("kver-b", replace(BASE, node_image_version="", orchestrator_version=""),
                                 version="1.35.0")),
    "OS type": (_cluster("win-a", replace(BASE, node_image_version="", os_sku="")),
                _cluster("win-b", replace(BASE, node_image_version="", os_sku="", os_type="Windows"))),
    "OS type, Kubernetes 1.24": (
        _cluster("win24-a", replace(BASE, node_image_version="", os_sku="", orchestrator_version=""), version="1.24.9"),
        _cluster("win24-b", replace(BASE, node_image_version="", os_sku="", orchestrator_version="", os_type="Windows"),
                 version="1.24.9")),
    "Windows pool version": (
        _cluster("wver-a", replace(BASE, os_type="Windows", os_sku="", node_image_version="")),
        _cluster("wver-b", replace(BASE, os_type="Windows", os_sku="", node_image_version="",
                                   orchestrator_version="1.24.9"))),
    "size, one replacement": (_cluster("one-a", BASE, location="eastus"),
                              _cluster("one-b", replace(BASE, vm_sizes=("Standard_D2_v2",)), location="eastus")),
    "subscription's own facts": (_cluster("own-a", BASE, location="eastus"),
                                 _cluster("own-b", BASE, sub=SUB_D, location="eastus")),
    "Windows node image": (
        _cluster("wimg-a", replace(BASE, os_type="Windows", os_sku="", node_image_version="")),
        _cluster("wimg-b", replace(BASE, os_type="Windows", os_sku="",
                                   node_image_version="AKSWindows-2019-containerd-17763.6293.240905"))),
    # the in-place resize (aks-preview) needs a surge above 0, the same OS SKU after the rebuild
    "max surge": (_cluster("surge-a", BASE), _cluster("surge-b", replace(BASE, max_surge="0"))),
    "max surge property": (_cluster("psurge-a", replace(BASE, properties={"upgradeSettings.maxSurge": "1"})),
                           _cluster("psurge-b", replace(BASE, properties={"upgradeSettings.maxSurge": "0"}))),
    "OS after the rebuild": (_cluster("azl-a", replace(BASE, node_image_version="", os_sku="AzureLinux"),
                                      version="1.32.0"),
                             _cluster("azl-b", replace(BASE, node_image_version="", os_sku="AzureLinux"),
                                      version="1.31.0")),
}

# A Gen2-capable size that does not retire, on a Gen1 node image: what moves the pool off the image.
GEN1 = replace(BASE, vm_sizes=("Standard_D4s_v5",), node_image_version="AKSUbuntu-2204containerd-202401.09.0")
WIN19, WIN22 = "AKSWindows-2019-containerd-17763.6293.240905", "AKSWindows-2022-containerd-20348.2700.240911"
PAIRS |= {
    "Gen1 image, OS type": (_cluster("g1os-a", GEN1), _cluster("g1os-b", replace(GEN1, os_type="Windows"))),
    "Gen1 image, image": (_cluster("g1img-a", replace(GEN1, os_type="Windows", node_image_version=WIN19)),
                          _cluster("g1img-b", replace(GEN1, os_type="Windows", node_image_version=WIN22))),
    "Gen1 image, OS SKU": (
        _cluster("g1sku-a", replace(GEN1, os_type="Windows", node_image_version=WIN22, os_sku="Windows2022")),
        _cluster("g1sku-b", replace(GEN1, os_type="Windows", node_image_version=WIN22, os_sku="Windows2019"))),
    "Gen1 image, cluster version": (
        _cluster("g1ver-a", replace(GEN1, os_type="Windows", node_image_version=WIN19)),
        _cluster("g1ver-b", replace(GEN1, os_type="Windows", node_image_version=WIN19), version="1.36.0")),
}

VM = VirtualMachine(id="", name="", subscription_id=SUB_A, resource_group="rg", location="westeurope",
                    vm_size="Standard_DS2_v2", os_type="Linux")


def _vm(name: str, **kw) -> VirtualMachine:
    return replace(VM, id=f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/"
                          f"{name}", name=name, **kw)


VM_PAIRS = {
    "VM location": (_vm("vl-a"), _vm("vl-b", location="eastus")),
    "VM size": (_vm("vs-a"), _vm("vs-b", vm_size="Standard_F8s_v2")),
    "VM subscription": (_vm("vsub-a"), _vm("vsub-b", subscription_id=SUB_B)),
    "windows VM": (_vm("os-a"), _vm("os-b", os_type="Windows")),
    "VM security type": (_vm("sec-a", zones=("1",)), _vm("sec-b", zones=("1",), security_type="TrustedLaunch")),
    "VM zones": (_vm("vz-a"), _vm("vz-b", zones=("1",))),
    "VM may run Gen1": (_vm("g1-a", location="northeurope"),
                        _vm("g1-b", location="northeurope", security_type="ConfidentialVM")),
}


def _decision(findings):
    """What the judge says, the resource's own name and id left out: differs between the two
    resources of a pair."""
    def anonymous(f, text):
        return text.replace(f.resource.id, "<id>").replace(f.resource.name, "<name>")

    return sorted((f.rule.value, f.severity.value, f.vm_size, f.retirement, f.replacement, f.replacement_quota,
                   f.restricted, f.days_left, anonymous(f, f.message), tuple(anonymous(f, c) for c in f.commands))
                  for f in findings)


def _fresh(inventory, catalog, skus, quotas, nos):
    """Each resource judged by a judge of its own, in evaluate's order, with evaluate's skips."""
    def one():
        return judge._Judge(catalog, skus, TODAY, judge.Thresholds(), True, quotas, nos, True)

    out = []
    cluster_ids = {c.id.lower() for c in inventory.clusters}
    for c in inventory.clusters:
        out.extend(one().cluster(c))
    scale_sets = {s.id.lower(): s for s in inventory.scale_sets}
    for s in inventory.scale_sets:
        if not (s.aks_cluster_id and s.aks_cluster_id.lower() in cluster_ids):
            out.extend(one().scale_set(s))
    for v in inventory.vms:
        owner = scale_sets.get(v.scale_set_id.lower()) if v.scale_set_id else None
        if not (owner is not None and owner.vm_size.lower() == v.vm_size.lower()):
            out.extend(one().vm(v))
    return judge.sort_findings(out)


@pytest.fixture(scope="module")
def world():
    return load_catalog(), _skus(), _quotas(), node_os.load_builtin()


@pytest.mark.parametrize("field", [*PAIRS, *VM_PAIRS])
def test_each_pair_differs_in_what_is_decided(world, field):
    catalog, skus, quotas, nos = world
    a, b = (PAIRS.get(field) or VM_PAIRS[field])
    judged = []
    for one in (a, b):
        inv = Inventory(clusters=(one,)) if isinstance(one, Cluster) else Inventory(vms=(one,))
        judged.append(_decision(judge.evaluate(inv, catalog, skus, TODAY, quotas=quotas, node_os=nos)))
    assert judged[0] and judged[1]
    assert judged[0] != judged[1], f"{field}: both resources get the same answers; the pair tests nothing"


def test_one_run_gives_what_a_judge_per_resource_gives(world):
    catalog, skus, quotas, nos = world
    clusters = [c for pair in PAIRS.values() for c in pair]
    vms = [v for pair in VM_PAIRS.values() for v in pair]
    sets = [ScaleSet(id=f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Compute/"
                        f"virtualMachineScaleSets/ss{i}", name=f"ss{i}", subscription_id=SUB_A, resource_group="rg",
                     location=loc, vm_size="Standard_DS2_v2", capacity=3, zones=zones, security_type=sec)
            for i, (loc, zones, sec) in enumerate([("westeurope", (), ""), ("westeurope", ("1",), ""),
                                                   ("westeurope", (), "TrustedLaunch"), ("eastus", (), "")])]
    # The same resources once more under other names, judged after the first ones: every answer for
    # them comes from a memo in the one run.
    again = [replace(c, id=c.id + "-2", name=c.name + "-2") for c in clusters]
    inventory = Inventory(clusters=(*clusters, *again), vms=tuple(vms), scale_sets=tuple(sets))

    once = judge.evaluate(inventory, catalog, skus, TODAY, quotas=quotas, node_os=nos, costed=True)

    assert once == _fresh(inventory, catalog, skus, quotas, nos)
    assert len(once) > 2 * len(clusters)


def test_unseen_tenant_in_one_run_and_per_resource(world):
    catalog, _skus_, _q, nos = world
    inventory = load_inventory_files([str(FIXTURES / "tenants" / "inventory")])
    skus = load_sku_files([str(FIXTURES / "tenants" / "skus")])
    once = judge.evaluate(inventory, catalog, skus, TODAY, node_os=nos, costed=True)
    assert len(once) > 100
    assert once == _fresh(inventory, catalog, skus, None, nos)


@pytest.mark.parametrize("resource_id, pool, rule, retirement_id, size", [
    ("/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/Aks", "Pool1",
     "retiring-size", "DSv2-2028", "Standard_DS2_v2"),
    ("/subscriptions/s/resourcegroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "", "gen1-only-size", "", ""),
    ("/x/ÄÖ/ünïcode", "Ü", "retiring-node-os", "aks-ubuntu-2204", ""),
])
def test_finding_ids_are_model_finding_ids(resource_id, pool, rule, retirement_id, size):
    ref = ResourceRef(kind=ResourceKind.AKS_NODEPOOL, id=resource_id, name="n", subscription_id="s",
                      resource_group="rg", location="westeurope", pool=pool)
    assert (judge._finding_id(judge._id_prefix(ref), rule, retirement_id, size.lower())
            == finding_id(resource_id, pool, rule, retirement_id, size))
