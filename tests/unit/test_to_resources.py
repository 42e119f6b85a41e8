"""to_resources / load_inventory_files: ARM-shaped rows and az CLI exports become typed values."""

from __future__ import annotations

import copy
import json

import pytest

from scanner.errors import InventoryError
from scanner.sources.resource_graph import (
    aks_managed_scale_sets,
    load_inventory_files,
    retry_wait,
    to_resources,
)
from tests.conftest import FIXTURES

ARM = FIXTURES / "arm"
SUB = "3f6c1c1e-5b7a-4a55-9d55-2d1f0c7e9a10"


def _rows() -> list[dict]:
    return json.loads((ARM / "inventory_az_graph_query.json").read_text())["data"]


def _reference_cluster() -> dict:
    row = json.loads((ARM / "arg_managedcluster_row.json").read_text())
    row.pop("_comment")
    return row


def _pools(inv):
    return {p.name: p for c in inv.clusters for p in c.pools}


# --------------------------------------------------------------------------- node pools


def test_reference_cluster_row_gives_both_pool_types():
    inv = to_resources([_reference_cluster()])
    (cluster,) = inv.clusters
    assert (cluster.name, cluster.location, cluster.node_resource_group) == (
        "clustername1", "westeurope", "MC_rg1_clustername1_westeurope")
    assert cluster.kubernetes_version == "1.30.5" and cluster.power_state == "Running"
    pools = _pools(inv)
    vmss = pools["nodepool1"]
    assert (vmss.pool_type, vmss.vm_sizes, vmss.count, vmss.min_count, vmss.max_count) == (
        "VirtualMachineScaleSets", ("Standard_DS2_v2",), 3, 1, 5)
    assert vmss.enable_autoscaling and vmss.zones == ("1", "2", "3") and vmss.mode == "System"
    vmp = pools["vmpool"]
    assert vmp.pool_type == "VirtualMachines"
    assert vmp.vm_sizes == ("Standard_D2_v2", "Standard_D2_v3")
    assert vmp.size_counts == (("Standard_D2_v2", 3), ("Standard_D2_v3", 2))
    assert vmp.count == 5


@pytest.mark.parametrize(
    "pool_name, attr, expected",
    [
        ("system", "labels", {"team": "platform"}),
        ("system", "os_sku", "Ubuntu"),
        ("system", "os_disk_size_gb", 128),
        ("system", "vnet_subnet_id", f"/subscriptions/{SUB}/resourceGroups/rg-net/providers/Microsoft.Network/"
                                     "virtualNetworks/vnet/subnets/aks"),
        ("win22", "os_type", "Windows"),
        ("win22", "os_sku", ""),  # empty: the documented default for the version
        ("win22", "priority", "Spot"),
        ("win22", "eviction_policy", "Delete"),
        ("win22", "spot_max_price", -1.0),
        ("win22", "taints", ("kubernetes.azure.com/scalesetpriority=spot:NoSchedule", "os=windows:NoSchedule")),
        ("win22", "os_disk_type", "Ephemeral"),
        ("win22", "power_state", "Stopped"),
        ("win22", "max_pods", 30),
        ("win22", "orchestrator_version", "1.30.5"),
        ("vmpool", "os_sku", "AzureLinux"),
        ("vmpool", "size_counts", (("Standard_D2_v2", 3), ("Standard_D2s_v5", 2))),
        ("vmpool", "node_image_version", "AKSAzureLinux-V2gen2-202409.23.0"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_pool_fields(pool_name, attr, expected):
    pool = _pools(to_resources(_rows()))[pool_name]
    assert getattr(pool, attr) == expected


def test_missing_os_type_and_mode_take_documented_defaults():
    row = _reference_cluster()
    for p in row["properties"]["agentPoolProfiles"]:
        p.pop("osType"), p.pop("mode"), p.pop("osSKU")
    pool = _pools(to_resources([row]))["nodepool1"]
    assert (pool.os_type, pool.mode, pool.os_sku) == ("Linux", "User", "")


# --------------------------------------------------------------------------- AKS plumbing


def test_aks_managed_scale_sets_and_pool_vms_are_not_reported_twice():
    inv = to_resources(_rows())
    assert sorted(s.name for s in inv.scale_sets) == ["aks-oldpool-87654321-vmss", "batch-flex", "web-vmss"]
    assert sorted(v.name for v in inv.vms) == ["batch-flex_1a2b3c", "jumpbox", "win-app"]


def test_aks_scale_set_of_a_pool_no_longer_in_the_cluster_is_kept_with_its_pool_name():
    inv = to_resources(_rows())
    stale = next(s for s in inv.scale_sets if s.name.startswith("aks-oldpool"))
    assert stale.aks_pool == "oldpool" and stale.aks_cluster_id == ""


def test_aks_managed_scale_sets_are_matched_to_cluster_and_pool():
    matched = {(s.name, s.aks_pool, s.aks_cluster_id.rsplit("/", 1)[-1]) for s in aks_managed_scale_sets(_rows())}
    assert matched == {("aks-system-12345678-vmss", "system", "prod-aks"), ("akswin22", "win22", "prod-aks")}


def test_aks_scale_set_without_its_cluster_in_the_input_is_still_reported():
    rows = [r for r in _rows() if r["type"] != "microsoft.containerservice/managedclusters"]
    inv = to_resources(rows)
    assert "aks-system-12345678-vmss" in {s.name for s in inv.scale_sets}
    assert "aks-vmpool-12345678-vms0" in {v.name for v in inv.vms}


def test_cluster_name_and_rg_tags_match_when_node_resource_group_differs():
    rows = _rows()
    for r in rows:
        if r["name"] == "aks-system-12345678-vmss":
            r["id"] = r["id"].replace("MC_rg-prod_prod-aks_westeurope", "custom-nodes")
            r["tags"].update({"aks-managed-cluster-name": "prod-aks", "aks-managed-cluster-rg": "rg-prod"})
    assert "aks-system-12345678-vmss" not in {s.name for s in to_resources(rows).scale_sets}


# --------------------------------------------------------------------------- VMs and scale sets


@pytest.mark.parametrize(
    "name, attrs",
    [
        ("jumpbox", {"vm_size": "Standard_A2_v2", "power_state": "deallocated", "zones": ("1",),
                     "resource_group": "rg-ops", "subscription_id": SUB, "tags": {"owner": "ops@example.com"}}),
        ("win-app", {"os_type": "Windows", "security_type": "TrustedLaunch", "power_state": "running"}),
        ("batch-flex_1a2b3c", {"scale_set_id": f"/subscriptions/{SUB}/resourceGroups/rg-batch/providers/"
                                               "Microsoft.Compute/virtualMachineScaleSets/batch-flex"}),
    ],
    ids=["jumpbox", "windows-trusted-launch", "flexible-member"],
)
def test_vm_fields(name, attrs):
    vm = next(v for v in to_resources(_rows()).vms if v.name == name)
    assert {k: getattr(vm, k) for k in attrs} == attrs


@pytest.mark.parametrize(
    "name, attrs",
    [
        ("web-vmss", {"vm_size": "Standard_F4s", "capacity": 3, "orchestration_mode": "Uniform",
                      "upgrade_policy": "Manual", "security_type": "TrustedLaunch", "zones": ("1", "2")}),
        ("batch-flex", {"vm_size": "", "capacity": None, "orchestration_mode": "Flexible"}),
    ],
    ids=["uniform", "flexible-without-profile"],
)
def test_scale_set_fields(name, attrs):
    ss = next(s for s in to_resources(_rows()).scale_sets if s.name == name)
    assert {k: getattr(ss, k) for k in attrs} == attrs


def test_other_resource_types_are_ignored_and_duplicates_read_once():
    rows = _rows()
    inv = to_resources(rows + copy.deepcopy(rows))
    assert len(inv.clusters) == 1 and len(inv.vms) == 3 and len(inv.scale_sets) == 3 and inv.errors == ()


# --------------------------------------------------------------------------- exports agree with live rows


def test_az_cli_exports_give_the_same_resources_as_graph_rows():
    live = to_resources(_rows())
    files = load_inventory_files([str(ARM / "az_aks_list.json"), str(ARM / "az_vm_list_d.json"),
                                  str(ARM / "az_vmss_list.json")])
    assert files.clusters == live.clusters
    assert sorted(files.vms, key=lambda v: v.id) == sorted(live.vms, key=lambda v: v.id)
    assert sorted(files.scale_sets, key=lambda s: s.id) == sorted(live.scale_sets, key=lambda s: s.id)


def test_az_graph_query_export_file_and_folder(tmp_path):
    one = load_inventory_files([str(ARM / "inventory_az_graph_query.json")])
    assert one.clusters == to_resources(_rows()).clusters
    folder = tmp_path / "exports"
    folder.mkdir()
    for name in ("az_aks_list.json", "az_vm_list_d.json", "az_vmss_list.json"):
        (folder / name).write_text((ARM / name).read_text())
    assert len(load_inventory_files([str(folder)]).vms) == 3


# --------------------------------------------------------------------------- bad input


def _bad(mutate) -> list[dict]:
    rows = _rows()
    mutate(rows)
    return rows


def _cluster(rows):
    return next(r for r in rows if r["type"].endswith("managedclusters"))


def _vm(rows, name="jumpbox"):
    return next(r for r in rows if r["name"] == name)


@pytest.mark.parametrize(
    "mutate, scope_part, error_part",
    [
        (lambda rows: _cluster(rows)["properties"]["agentPoolProfiles"][0].pop("vmSize"),
         "managedClusters/prod-aks", "properties.agentPoolProfiles[0] (pool 'system').vmSize"),
        (lambda rows: _cluster(rows)["properties"]["agentPoolProfiles"][1].__setitem__("count", "three"),
         "managedClusters/prod-aks", "'three', expected a whole number"),
        (lambda rows: [_cluster(rows)["properties"]["agentPoolProfiles"][2].pop(k)
                       for k in ("virtualMachinesProfile", "virtualMachineNodesStatus")],
         "managedClusters/prod-aks", "virtualMachinesProfile.scale.manual"),
        (lambda rows: _vm(rows)["properties"].pop("hardwareProfile"),
         "virtualMachines/jumpbox", "properties.hardwareProfile.vmSize"),
        (lambda rows: _vm(rows).__setitem__("properties", "oops"), "virtualMachines/jumpbox", "'properties'"),
        (lambda rows: _vm(rows).pop("location"), "virtualMachines/jumpbox", "missing field 'location'"),
        (lambda rows: _vm(rows).pop("id"), "row 8", "missing field 'id'"),
        (lambda rows: _vm(rows).pop("type"), "virtualMachines/jumpbox", "missing field 'type'"),
        (lambda rows: next(r for r in rows if r["name"] == "web-vmss")["sku"].pop("name"),
         "virtualMachineScaleSets/web-vmss", "sku.name"),
        (lambda rows: rows.append(["not", "an", "object"]), "row 12", "expected an object"),
    ],
    ids=["pool-no-size", "pool-count-text", "vm-pool-no-sizes", "vm-no-size", "properties-text",
         "no-location", "no-id", "no-type", "vmss-no-sku", "row-not-object"],
)
def test_bad_row_is_named_and_the_rest_is_kept(mutate, scope_part, error_part):
    inv = to_resources(_bad(mutate))
    assert len(inv.errors) == 1, inv.errors
    assert scope_part in inv.errors[0].scope and error_part in inv.errors[0].error
    total = len(inv.clusters) + len(inv.vms) + len(inv.scale_sets)
    assert total >= 6  # everything else still read


def test_file_errors_name_the_file_item_and_field(tmp_path):
    rows = _rows()
    _vm(rows)["properties"].pop("hardwareProfile")
    bad = tmp_path / "export.json"
    bad.write_text(json.dumps(rows))
    with pytest.raises(InventoryError) as err:
        load_inventory_files([str(bad)], strict=True)
    text = str(err.value)
    assert "export.json" in text and "virtualMachines/jumpbox" in text and "hardwareProfile.vmSize" in text
    lenient = load_inventory_files([str(bad)])  # the default since issue 12: the scan goes on
    assert len(lenient.vms) == 2 and "export.json" in lenient.errors[0].scope
    assert "hardwareProfile.vmSize" in lenient.errors[0].error


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"data": {"columns": [], "rows": []}}', "objectArray"),
        ('"text"', "not an inventory export; expected `az aks list -o json`"),
    ],
    ids=["broken-json", "table-format", "string"],
)
def test_unreadable_files_are_named(tmp_path, content, message):
    path = tmp_path / "inv.json"
    path.write_text(content)
    with pytest.raises(InventoryError, match=message) as err:
        load_inventory_files([str(path)])
    assert str(path) in str(err.value)


def test_missing_path_is_named(tmp_path):
    with pytest.raises(InventoryError, match="nowhere.json: no such file"):
        load_inventory_files([str(tmp_path / "nowhere.json")])


def test_rows_must_be_a_list():
    with pytest.raises(InventoryError, match="list of objects"):
        to_resources("[]")


# --------------------------------------------------------------------------- throttling waits (pure)


@pytest.mark.parametrize(
    "headers, attempt, expected",
    [
        ({"Retry-After": "7"}, 0, 7.0),
        ({"retry-after-ms": "1500"}, 0, 1.5),
        ({"x-ms-user-quota-resets-after": "00:00:04"}, 0, 4.0),
        ({"x-ms-user-quota-resets-after": "00:01:30", "x-ms-user-quota-remaining": "0"}, 3, 90.0),
        ({}, 0, 1.0),
        ({}, 3, 8.0),
        ({"Retry-After": "86400"}, 0, 120.0),  # capped
        ({"Retry-After": "soon"}, 1, 2.0),  # unreadable: backoff
    ],
    ids=["retry-after", "retry-after-ms", "quota-reset", "quota-reset-minutes", "backoff-0", "backoff-3",
         "cap", "garbage"],
)
def test_retry_wait(headers, attempt, expected):
    assert retry_wait(headers, attempt) == pytest.approx(expected)


def test_parsing_modules_import_no_azure_sdk():
    import subprocess
    import sys

    code = ("import sys, scanner.sources.resource_graph, scanner.sources.skus\n"
            "print(','.join(sorted(m for m in sys.modules if m.startswith('azure'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------- fast path = careful path
# Rows spelled as Resource Graph spells them are read by a fast path; any other spelling (keys are
# case-insensitive) goes the careful way. Both must give the same values and the same errors.

_USER_MAPS = {"tags", "nodelabels"}  # user data: their keys are values, not field names


def _respelled(value, spell=str.upper):
    if isinstance(value, dict):
        return {(spell(k) if isinstance(k, str) else k): (v if str(k).lower() in _USER_MAPS else _respelled(v, spell))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_respelled(v, spell) for v in value]
    return value


def _clusters(inv):
    """The clusters, with the JSON values a pool carries as they are (properties) spelled upper-case."""
    from dataclasses import replace

    return [replace(c, pools=tuple(replace(p, properties={k: _respelled(v) for k, v in p.properties.items()})
                                   for p in c.pools)) for c in inv.clusters]


@pytest.mark.parametrize("spell", [str.upper, str.lower, str.swapcase], ids=["upper", "lower", "swapcase"])
def test_key_spelling_does_not_change_what_is_read(spell):
    rows = _rows() + [_reference_cluster()]
    exact, respelled = to_resources(rows), to_resources(_respelled(rows, spell))
    assert _clusters(respelled) == _clusters(exact) and respelled.vms == exact.vms
    assert respelled.scale_sets == exact.scale_sets and respelled.errors == exact.errors == ()
    assert sum(len(c.pools) for c in exact.clusters) == 5  # every pool read, not skipped


_POOL = "properties.agentPoolProfiles[0] (pool 'system')"


@pytest.mark.parametrize(
    "field, value, attr, expected",
    [
        ("count", "3", "count", 3),
        ("count", " 7 ", "count", 7),
        ("count", 4.0, "count", 4),
        ("count", "", "count", None),
        ("maxPods", None, "max_pods", None),
        ("enableAutoScaling", "TRUE", "enable_autoscaling", True),
        ("enableAutoScaling", None, "enable_autoscaling", False),
        ("osType", 5, "os_type", "5"),
        ("osType", None, "os_type", "Linux"),
        ("osSKU", "AzureLinuxé", "os_sku", "AzureLinuxé"),
        ("availabilityZones", "1", "zones", ("1",)),
        ("availabilityZones", ["1", None, 2], "zones", ("1", "2")),
        ("nodeLabels", {"a": None, "b": 1}, "labels", {"a": "", "b": "1"}),
        ("nodeTaints", [None, "k=v:NoSchedule"], "taints", ("k=v:NoSchedule",)),
        ("powerState", "PowerState/Stopped", "power_state", "Stopped"),
        ("powerState", {"Code": "Stopped"}, "power_state", "Stopped"),
        ("powerState", {"code": "VM deallocated"}, "power_state", "deallocated"),
        ("spotMaxPrice", "-1", "spot_max_price", -1.0),
        ("upgradeSettings", {"MaxSurge": 3}, "max_surge", "3"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_odd_pool_values_read_the_same_whatever_the_spelling(field, value, attr, expected):
    row = _reference_cluster()
    row["properties"]["agentPoolProfiles"][0][field] = value
    for rows in ([row], _respelled([row])):
        inv = to_resources(rows)
        assert inv.errors == ()
        assert getattr(inv.clusters[0].pools[0], attr) == expected


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("count", "three", f"field '{_POOL.replace('system', 'nodepool1')}.count' is 'three', expected a whole number"),
        ("maxPods", 10 ** 12, "out of range for a resource"),
        ("maxPods", True, ".maxPods' is a boolean, expected a whole number"),
        ("enableAutoScaling", "yes", ".enableAutoScaling' is 'yes', expected true or false"),
        ("osType", ["Linux"], ".osType' is list, expected text"),
        ("osSKU", "\ud800", ".osSKU' is not valid Unicode text (a lone surrogate)"),
        ("availabilityZones", ["1", {}], ".availabilityZones' is dict, expected text"),
        ("nodeTaints", ["a", 3], ".nodeTaints' holds a int, expected a list of text"),
        ("nodeLabels", ["x"], ".nodeLabels' is list, expected an object"),
        ("spotMaxPrice", "cheap", ".spotMaxPrice' is 'cheap', expected a number"),
        ("upgradeSettings", "10%", ".upgradeSettings' is not an object"),
        ("vmSize", None, "missing field 'properties.agentPoolProfiles[0] (pool 'nodepool1').vmSize'"),
        ("name", 7.5, "properties.agentPoolProfiles[0] (pool '7.5')"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_bad_pool_values_give_the_same_error_whatever_the_spelling(field, value, error):
    row = _reference_cluster()
    row["properties"]["agentPoolProfiles"][0][field] = value
    exact, respelled = to_resources([row]), to_resources(_respelled([row]))
    if field == "name":  # a number is read as text: the pool is named by it, nothing is wrong
        assert exact.errors == respelled.errors == () and exact.clusters[0].pools[0].name == "7.5"
        return
    assert [e.error for e in exact.errors] == [e.error for e in respelled.errors]
    (err,) = exact.errors
    assert error in err.error and "managedClusters/clustername1" in err.scope
    assert not exact.clusters  # the cluster with the bad pool is named, not half-read


def test_live_pages_give_what_the_whole_export_gives():
    """Live, clusters arrive on earlier pages than the scale sets and VMs they own; the result is the
    one to_resources gives for all the rows at once (owned ones left out, a stale AKS scale set kept
    with its pool name)."""
    from scanner.sources.resource_graph import _Fold

    order = ("managedclusters", "virtualmachinescalesets", "virtualmachines")  # the queries' order
    rows = sorted((r for r in _rows() if r["type"].rsplit("/", 1)[-1] in order),
                  key=lambda r: order.index(r["type"].rsplit("/", 1)[-1]))
    fold = _Fold()
    for i in range(0, len(rows), 2):
        fold.add("page", rows[i:i + 2])
    whole = to_resources(rows)
    assert fold.clusters == list(whole.clusters) and fold.errors == list(whole.errors)
    assert fold.scale_sets == list(whole.scale_sets) and fold.vms == list(whole.vms)
    assert [s.aks_pool for s in fold.scale_sets if s.name.startswith("aks-oldpool")] == ["oldpool"]


def test_plumbing_its_cluster_owns_is_read_no_further_than_id_group_and_tags():
    """An AKS scale set or pool VM whose cluster is in the inventory is reported through the pool:
    its other fields are not read, so one the scan would not use cannot fail the row (nor hold back
    the subscription's resolved findings). Without its cluster it is read in full and named."""
    rows = _rows()
    next(r for r in rows if r["name"] == "aks-system-12345678-vmss")["sku"].pop("name")
    next(r for r in rows if r["name"] == "aks-vmpool-12345678-vms0")["properties"].pop("hardwareProfile")
    owned = to_resources(rows)
    assert owned.errors == () and owned.scale_sets == to_resources(_rows()).scale_sets
    assert owned.clusters == to_resources(_rows()).clusters and owned.vms == to_resources(_rows()).vms
    alone = to_resources([r for r in rows if not r["type"].endswith("managedclusters")])
    assert sorted((e.scope.rsplit("/", 1)[-1], e.error) for e in alone.errors) == [
        ("aks-system-12345678-vmss", "missing field 'sku.name' (the VM size)"),
        ("aks-vmpool-12345678-vms0", "missing field 'properties.hardwareProfile.vmSize'")]


def test_owned_plumbing_with_a_broken_id_group_or_tags_is_still_named():
    rows = _rows()
    next(r for r in rows if r["name"] == "aks-system-12345678-vmss").pop("location")
    next(r for r in rows if r["name"] == "aks-vmpool-12345678-vms0")["tags"] = ["not", "a", "map"]
    errors = sorted((e.scope.rsplit("/", 1)[-1], e.error) for e in to_resources(rows).errors)
    assert errors == [("aks-system-12345678-vmss", "missing field 'location'"),
                      ("aks-vmpool-12345678-vms0", "field 'tags' is list, expected an object")]


def test_positional_constructors_fall_back_to_keywords_when_the_model_changes():
    """Pools and VMs are built by position when the model's fields are in the order the parser
    lists them (faster); if the model changes, they are built by name, still right."""
    from scanner.core.model import NodePool
    from scanner.sources.resource_graph import _positional

    make = _positional(NodePool, ("count", "name", "vm_sizes"))
    assert make(3, "apps", ("Standard_D2s_v5",)) == NodePool(name="apps", count=3, vm_sizes=("Standard_D2s_v5",))
    with pytest.raises(ValueError):
        make(3, "apps")  # a value short is an error, not a default


def test_virtual_machines_pool_entries_read_the_same_whatever_the_spelling():
    row = _reference_cluster()
    vmpool = row["properties"]["agentPoolProfiles"][1]
    vmpool["virtualMachinesProfile"]["scale"] = {
        "manual": [{"sizes": ["Standard_D2s_v5", "Standard_D4s_v5"], "count": 2}, {"size": "Standard_E2s_v5", "count": 1}],
        "autoscale": [{"size": "Standard_D8s_v5", "minCount": 1, "maxCount": 3}]}
    for rows in ([row], _respelled([row]), _respelled([row], str.lower)):
        (pool,) = [p for p in to_resources(rows).clusters[0].pools if p.name == "vmpool"]
        assert pool.size_counts == (("Standard_E2s_v5", 1),) and pool.count == 3
        assert pool.vm_sizes == ("Standard_E2s_v5", "Standard_D2s_v5", "Standard_D4s_v5", "Standard_D8s_v5")
    vmpool["virtualMachinesProfile"]["scale"]["autoscale"][0]["maxCount"] = "lots"
    for rows in ([row], _respelled([row])):
        (err,) = to_resources(rows).errors
        assert err.error == ("field 'properties.agentPoolProfiles[1] (pool 'vmpool').virtualMachinesProfile.scale."
                             "autoscale[0].maxCount' is 'lots', expected a whole number")
