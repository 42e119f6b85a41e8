"""Node OS retirements (issue 13): the catalogue, recognising a pool's OS version, rule retiring-node-os."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from scanner.core.catalog import Catalog
from scanner.core.judge import evaluate
from scanner.core.model import Cluster, Inventory, NodePool, Rule, Severity
from scanner.core.node_os import load_builtin, move_commands, parse_node_os
from scanner.errors import CatalogError
from scanner.sources.skus import SkuIndex

CATALOG = load_builtin()
SUB = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"


def pool(os_type="Linux", os_sku="", image="", version="1.30.5", name="np1", size="Standard_D4s_v5") -> NodePool:
    return NodePool(name=name, vm_sizes=(size,), count=3, os_type=os_type, os_sku=os_sku, node_image_version=image,
                    orchestrator_version=version)


def cluster(*pools, version="1.30.5") -> Cluster:
    return Cluster(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c1",
                   name="c1", subscription_id=SUB, resource_group="rg", location="westeurope",
                   kubernetes_version=version, pools=pools)


@pytest.mark.parametrize(("p", "expected", "how"), [
    pytest.param(pool(image="AKSUbuntu-2204gen2containerd-202409.23.0", os_sku="Ubuntu"), "aks-ubuntu-2204",
                 "nodeImageVersion", id="ubuntu-2204-by-image"),
    pytest.param(pool(os_sku="Ubuntu", version="1.30.5"), "aks-ubuntu-2204", "osSKU Ubuntu on Kubernetes 1.30.5",
                 id="ubuntu-default-on-1.30-is-2204"),
    pytest.param(pool(os_sku="", version="1.34.1"), "aks-ubuntu-2204", "on Kubernetes 1.34.1", id="empty-linux-sku-on-1.34"),
    pytest.param(pool(os_sku="Ubuntu", version="1.35.0"), None, "", id="ubuntu-default-on-1.35-is-2404"),
    pytest.param(pool(os_sku="Ubuntu2204", version="1.35.0"), "aks-ubuntu-2204", "osSKU Ubuntu2204", id="versioned-2204-stays"),
    pytest.param(pool(os_sku="Ubuntu2404", version="1.32.0"), None, "", id="ubuntu2404"),
    pytest.param(pool(image="AKSUbuntu-2404gen2containerd-202505.27.0", os_sku="Ubuntu", version="1.30.5"), None, "",
                 id="image-2404-beats-the-version-default"),
    pytest.param(pool(image="AKSUbuntu-2004gen2fipscontainerd-202505.27.0"), "aks-ubuntu-2004", "nodeImageVersion",
                 id="ubuntu-2004-fips-by-image"),
    pytest.param(pool(os_sku="AzureLinux", version="1.31.1"), "aks-azurelinux-2", "osSKU AzureLinux", id="azurelinux-on-1.31-is-2.0"),
    pytest.param(pool(os_sku="AzureLinux", version="1.32.0"), None, "", id="azurelinux-on-1.32-is-3.0"),
    pytest.param(pool(image="AKSCBLMariner-V2gen2-202406.25.0", os_sku="AzureLinux", version="1.32.0"), "aks-azurelinux-2",
                 "nodeImageVersion", id="mariner-v2-image"),
    pytest.param(pool(os_sku="CBLMariner"), "aks-azurelinux-2", "osSKU CBLMariner", id="cblmariner"),
    pytest.param(pool(os_sku="AzureLinux3"), None, "", id="azurelinux3"),
    pytest.param(pool("Windows", "Windows2019"), "aks-windows-2019", "osSKU Windows2019", id="windows2019"),
    pytest.param(pool("Windows", "", image="AKSWindows-2019-containerd-17763.6293.240905"), "aks-windows-2019",
                 "nodeImageVersion", id="windows-2019-by-image"),
    pytest.param(pool("Windows", "", version="1.24.9"), "aks-windows-2019", "by default", id="windows-empty-sku-old-k8s"),
    pytest.param(pool("Windows", "Windows2022"), "aks-windows-2022", "osSKU Windows2022", id="windows2022"),
    pytest.param(pool("Windows", "WindowsAnnual", image="AKSWindows-23H2-gen2-25398.1611.250518"), "aks-windows-annual",
                 "nodeImageVersion", id="annual-channel"),
    pytest.param(pool("Windows", "Windows2025"), None, "", id="windows2025"),
    pytest.param(pool(os_sku="Ubuntu", version=""), None, "", id="unknown-version-is-not-guessed"),
])
def test_match(p, expected, how):
    hit = CATALOG.match(p, "")
    assert (hit[0].id if hit else None) == expected
    if hit:
        assert how in hit[1]


@pytest.mark.parametrize(("p", "today", "severity"), [
    pytest.param(pool("Windows", "Windows2019", name="win19"), date(2026, 12, 4), Severity.CRITICAL, id="windows2019-past-end"),
    pytest.param(pool(os_sku="Ubuntu"), date(2026, 12, 4), Severity.MEDIUM, id="ubuntu2204-208-days"),
    pytest.param(pool(os_sku="Ubuntu"), date(2026, 3, 1), Severity.LOW, id="ubuntu2204-486-days"),
    pytest.param(pool(os_sku="AzureLinux", version="1.31.1"), date(2026, 4, 1), Severity.CRITICAL, id="azurelinux2-images-gone"),
])
def test_rule_severity_message_and_identity(p, today, severity):
    inv = Inventory(clusters=(cluster(p, version=p.orchestrator_version),))
    findings = [f for f in evaluate(inv, Catalog(()), SkuIndex(), today, node_os=CATALOG)
                if f.rule is Rule.RETIRING_NODE_OS]
    (f,) = findings
    assert f.severity is severity
    assert f.retirement.retires_on == CATALOG.match(p, "")[0].end_of_support
    assert f.resource.pool == p.name and "AKS support" in f.message
    again = [g for g in evaluate(inv, Catalog(()), SkuIndex(), today, node_os=CATALOG) if g.rule is Rule.RETIRING_NODE_OS]
    assert again[0].id == f.id


def test_without_the_node_os_catalogue_the_rule_is_off():
    inv = Inventory(clusters=(cluster(pool(os_sku="Ubuntu")),))
    assert evaluate(inv, Catalog(()), SkuIndex(), date(2026, 12, 4)) == []


def test_linux_move_is_an_in_place_os_sku_update():
    update = (f"az aks nodepool update --resource-group rg --cluster-name c1 --subscription {SUB} --name np1 "
              "--os-sku Ubuntu2404")
    p = pool(os_sku="Ubuntu", version="1.32.4")
    cmds, note = move_commands(cluster(p), p, CATALOG.get("aks-ubuntu-2204"))
    assert cmds == (update,)
    # red team: below 1.32 AKS refuses Ubuntu2404 (the fake ARM too), so the update is said, to run after
    # the upgrade, not printed as a command that fails when pasted
    p = pool(os_sku="Ubuntu", version="1.30.5")
    cmds, note = move_commands(cluster(p), p, CATALOG.get("aks-ubuntu-2204"))
    assert cmds == ()
    assert "Kubernetes 1.32 or later" in note and "upgrade the cluster and the pool to 1.32" in note
    assert "az aks get-upgrades --resource-group rg --name c1" in note and f"then: {update}" in note


def test_azure_linux_2_move_without_upgrade_when_the_version_allows():
    p = pool(os_sku="AzureLinux", version="1.30.0")
    cmds, _ = move_commands(cluster(p, version="1.30.0"), p, CATALOG.get("aks-azurelinux-2"))
    assert len(cmds) == 1 and cmds[0].endswith("--name np1 --os-sku AzureLinux3")


def test_windows_2019_move_is_a_new_pool_on_the_same_size():
    p = pool("Windows", "Windows2019", name="win19", version="1.29.8")
    cmds, note = move_commands(cluster(p, version="1.29.8"), p, CATALOG.get("aks-windows-2019"))
    assert cmds[0].startswith("az aks nodepool add") and "--node-vm-size Standard_D4s_v5" in cmds[0]
    assert "--os-sku Windows2022" in cmds[0] and cmds[-1].startswith("az aks nodepool delete")
    assert "new Windows pool" in note


def test_windows_2022_move_is_said_not_guessed():
    p = pool("Windows", "Windows2022", version="1.30.5")
    cmds, note = move_commands(cluster(p), p, CATALOG.get("aks-windows-2022"))
    assert cmds == () and "--os-sku Windows2025 --enable-fips-image" in note and "to 1.32 or later first" in note


@pytest.mark.parametrize(("text", "message"), [
    ('[[node_os]]\nid = "x"\n', "missing"),
    ('[[node_os]]\nid = "x"\ntitle = "t"\nos_type = "BeOS"\nos_version = "v"\nend_of_support = 2027-01-01\n'
     'images_removed = 2027-01-01\nmove_os_sku = "y"\nos_skus = ["a"]\n', "os_type 'BeOS'"),
    ('[[node_os]]\nid = "x"\ntitle = "t"\nos_type = "Linux"\nos_version = "v"\nend_of_support = 2027-01-01\n'
     'images_removed = 2026-01-01\nmove_os_sku = "y"\nos_skus = ["a"]\n', "images_removed 2026-01-01 is before"),
    ('[[node_os]]\nid = "x"\ntitle = "t"\nos_type = "Linux"\nos_version = "v"\nend_of_support = 2027-01-01\n'
     'images_removed = 2027-01-01\nmove_os_sku = "y"\n', "no pool could match it"),
    ('[[node_os]]\nid = "x"\ntitle = "t"\nos_type = "Linux"\nos_version = "v"\nend_of_support = 2027-01-01\n'
     'images_removed = 2027-01-01\nmove_os_sku = "y"\nos_skus = ["a"]\ncolour = "blue"\n', "unknown key"),
])
def test_bad_catalogue_entries_are_refused_naming_the_entry(text, message):
    with pytest.raises(CatalogError, match="node_os #1") as err:
        parse_node_os(text)
    assert message in str(err.value)


def test_builtin_catalogue_has_the_issue_s_six_os_versions_each_cited():
    versions = {e.os_version for e in CATALOG.entries}
    assert versions == {"Ubuntu 20.04", "Ubuntu 22.04", "Azure Linux 2.0", "Windows Server 2019", "Windows Server 2022",
                        "Windows Server Annual Channel", "Flatcar Container Linux"}
    assert all(e.urls for e in CATALOG.entries)


# --------------------------------------------------------------------------- the feed reader's hook


def _records():
    from scanner.sources.feed import parse_json
    from tests.conftest import FIXTURES

    text = (FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json").read_text(encoding="utf-8")
    return {a.id: a for a in parse_json(text, "fixture")[0]}


@pytest.mark.parametrize(("record_id", "entry"), [
    ("557928", "aks-ubuntu-2204"), ("500645", "aks-azurelinux-2"), ("557224", "aks-windows-annual"),
    ("557929", "aks-flatcar"),
])
def test_real_aks_node_os_notices_map_to_their_entries(record_id, entry):
    from scanner.sources.feed.reading import read_announcement

    r = read_announcement(_records()[record_id])
    assert r.kind == "ignore" and f"node OS entry {entry!r}" in r.reason
    assert CATALOG.get(entry) is not None


def test_node_os_notices_of_other_products_are_not_mapped():
    from scanner.sources.feed.reading import read_announcement

    for rid in ("499906", "558246", "558247"):  # AKS enabled by Azure Arc; Service Fabric
        assert "node OS" not in read_announcement(_records()[rid]).reason


def test_an_aks_node_os_notice_without_an_entry_goes_to_review():
    from dataclasses import replace

    from scanner.sources.feed.reading import read_announcement

    a = replace(_records()["557928"], id="999001", title="Retirement: Azure Kubernetes Service support for Ubuntu 24.04",
                text="On June 30, 2029, we'll retire Ubuntu 24.04 on Azure Kubernetes Service.")
    r = read_announcement(a)
    assert r.kind == "review" and "Ubuntu 24.04" in r.reason and "no entry" in r.reason


def test_annual_channel_move_uses_the_rebuild_s_os_choice():
    p = pool("Windows", "WindowsAnnual", name="win23", version="1.30.5")
    cmds, note = move_commands(cluster(p), p, CATALOG.get("aks-windows-annual"))
    assert cmds and cmds[0].startswith("az aks nodepool add") and "--os-sku Windows2022" in cmds[0]
    assert "Move to OS SKU Windows2022" in note


def test_catalogue_json_lists_the_node_os_entries_as_the_readme_shows():
    import json as _json
    import re

    from scanner.core.catalog import Catalog as _Catalog
    from scanner.core.schema import catalog_to_json
    from tests.conftest import ROOT

    doc = catalog_to_json(_Catalog(()), date(2026, 3, 1))
    assert [e["id"] for e in doc["node_os"]][:2] == ["aks-azurelinux-2", "aks-windows-2019"]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = next(_json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme, re.S) if '"aks-ubuntu-2204"' in b)
    assert example == next(e for e in doc["node_os"] if e["id"] == "aks-ubuntu-2204")


def test_a_fips_ubuntu_pool_is_not_told_to_move_to_ubuntu2404():
    """Red team: Ubuntu 24.04 has no FIPS image (node-images.md), so AKS refuses the update on a FIPS pool."""
    p = pool(os_sku="Ubuntu", version="1.33.2")
    p = dataclasses.replace(p, properties={**p.properties, "enableFIPS": True})
    cmds, note = move_commands(cluster(p), p, CATALOG.get("aks-ubuntu-2204"))
    assert cmds == ()
    assert "FIPS" in note and "AzureLinux3" in note and "--os-sku Ubuntu2404" not in note


def test_a_windows_2019_pool_on_a_retiring_size_is_rebuilt_once_on_the_replacement():
    """Red team: the node OS move rebuilt a Windows Server 2019 pool on its own retiring, capacity-restricted
    size (Standard_DS2_v2) while the size finding rebuilt it on Standard_D2s_v5: two new pools for one move."""
    p = pool("Windows", "Windows2019", name="w19", version="1.32.4", size="Standard_DS2_v2")
    cmds, note = move_commands(cluster(p, version="1.32.4"), p, CATALOG.get("aks-windows-2019"), ("w19",),
                               "Standard_D2s_v5")
    assert "--node-vm-size Standard_D2s_v5" in cmds[0] and "Standard_D2s_v5" in note and "retires" in note
    # judged as scan judges: the node OS finding's rebuild is the size finding's rebuild
    from datetime import date as _date

    from scanner.core.catalog import load_catalog
    from scanner.sources.skus import load_sku_files
    from tests.conftest import ROOT

    skus = load_sku_files([str(ROOT / "samples" / "skus" / "westeurope.json")])
    c = Cluster(id=cluster(p).id, name="c1", subscription_id=SUB, resource_group="rg", location="westeurope",
                kubernetes_version="1.32.4", pools=(p,))
    found = evaluate(Inventory(clusters=(c,)), load_catalog(), skus, _date(2026, 9, 10), node_os=CATALOG)
    adds = {f.rule: next(x for x in f.commands if x.startswith("az aks nodepool add")) for f in found if f.commands}
    assert adds[Rule.RETIRING_NODE_OS] == adds[Rule.RETIRING_SIZE]
