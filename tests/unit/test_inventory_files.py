"""Inventory files as a new user brings them: shapes we read, shapes we do not, and bad rows.

No false all-clear: a file of storage accounts (or an empty export) is exit 2 naming the file and
the shapes accepted, even with --fail-on; `az aks nodepool list -o json` is read (its ids carry the
cluster); a malformed row is an error naming the row while the rest is scanned.
"""

from __future__ import annotations

import json

import pytest

from scanner.cli import main
from scanner.core.model import ScopeKind
from scanner.errors import InventoryError
from scanner.sources.resource_graph import load_inventory_files, to_resources
from tests.conftest import FIXTURES

ARM = FIXTURES / "arm"
NODEPOOLS = ARM / "az_aks_nodepool_list.json"


def scan(capsys, *argv):
    code = main(["scan", "--no-store", "--no-notify", "--today", "2026-06-01", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_az_aks_nodepool_list_is_read_into_its_cluster():
    inv = load_inventory_files([str(NODEPOOLS)])
    (cluster,) = inv.clusters
    assert cluster.name == "prod-aks" and cluster.resource_group == "rg-prod"
    assert [(p.name, p.pool_type, p.vm_sizes[0]) for p in cluster.pools] == [
        ("system", "VirtualMachineScaleSets", "Standard_DS2_v2"),
        ("win22", "VirtualMachineScaleSets", "Standard_D4s_v3"),
        ("vmpool", "VirtualMachines", "Standard_D2_v2")]
    # that export has no location: said, with what to add, and the subscription is not resolved from it
    (err,) = inv.errors
    assert err.kind is ScopeKind.ROW and err.subscription == cluster.subscription_id
    assert "no location" in err.error and "az aks list -o json" in err.error and "az_aks_nodepool_list.json" in err.scope


def test_nodepool_rows_with_the_clusters_own_row_take_its_location():
    inv = load_inventory_files([str(NODEPOOLS), str(ARM / "az_aks_list.json")])
    assert [(c.name, c.location, len(c.pools)) for c in inv.clusters] == [("prod-aks", "westeurope", 3)]
    assert inv.errors == ()


def test_scan_of_a_nodepool_export_finds_the_retiring_pools(capsys):
    code, out, err = scan(capsys, "--inventory", str(NODEPOOLS), "--format", "json", "--fail-on", "low")
    doc = json.loads(out)
    assert code == 3, err
    assert {f["resource"]["pool"] for f in doc["findings"]} >= {"system", "vmpool"}


def test_rows_of_types_not_read_are_counted_and_named(tmp_path, capsys, caplog):
    """Counted in the JSON summary; named in a warning (stderr from the command line)."""
    rows = json.loads((ARM / "az_vm_list_d.json").read_text(encoding="utf-8"))
    rows += [{"id": f"/subscriptions/{rows[0]['id'].split('/')[2]}/resourceGroups/rg/providers/Microsoft.Storage/"
                    f"storageAccounts/sa{i}", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope"}
             for i in range(3)]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows))
    code, out, err = scan(capsys, "--inventory", str(path), "--format", "json")
    doc = json.loads(out)
    assert doc["summary"]["scanned"]["unread_rows"] == 3
    assert "of types this scanner does not read, skipped: microsoft.storage/storageaccounts (3)" in caplog.text


@pytest.mark.parametrize("content", [
    [{"id": "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Storage/"
            "storageAccounts/sa", "type": "Microsoft.Storage/storageAccounts", "location": "westeurope"}],
    [],
    {"value": []},
], ids=["storage-accounts", "empty-list", "empty-arm-list"])
def test_reading_zero_resources_is_exit_2_naming_the_file_and_the_shapes(tmp_path, capsys, content):
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(content))
    code, out, err = scan(capsys, "--inventory", str(path), "--fail-on", "low")
    assert code == 2 and out == ""
    assert str(path) in err and "az aks nodepool list -o json" in err and "no AKS cluster, node pool, VM" in err


def test_a_malformed_row_is_an_error_naming_it_and_the_scan_goes_on(tmp_path, capsys):
    rows = json.loads((ARM / "az_vm_list_d.json").read_text(encoding="utf-8"))
    bad = dict(rows[0], hardwareProfile={"vmSize": ["Standard_D2s_v3"]})
    path = tmp_path / "vms.json"
    path.write_text(json.dumps([bad, *rows[1:]]))
    code, out, err = scan(capsys, "--inventory", str(path), "--format", "json")
    doc = json.loads(out)
    assert code == 0, err
    assert doc["summary"]["scanned"]["vms"] == len(rows) - 1
    (e,) = [e for e in doc["errors"] if bad["id"] in e["scope"]]
    assert "vms.json" in e["scope"] and "hardwareProfile.vmSize" in e["error"] and "expected text" in e["error"]


@pytest.mark.parametrize("value", [float("inf"), float("nan"), [1], "3.5"], ids=["infinity", "nan", "list", "fraction"])
def test_a_count_that_is_not_a_whole_number_names_the_field(value):
    rows = json.loads((ARM / "az_vmss_list.json").read_text(encoding="utf-8"))
    rows[0]["sku"] = dict(rows[0]["sku"], capacity=value)
    inv = to_resources(rows)
    assert any("sku.capacity" in e.error and "expected a whole number" in e.error for e in inv.errors)


def test_json_nested_too_deeply_is_a_file_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000)
    with pytest.raises(InventoryError, match="nested too deeply"):
        load_inventory_files([str(path)])


@pytest.mark.parametrize("fmt", ["json", "table", "markdown", "csv"])
def test_lone_surrogates_in_rows_are_errors_and_every_format_still_writes(tmp_path, capsys, fmt):
    rows = json.loads((ARM / "az_vm_list_d.json").read_text(encoding="utf-8"))
    rows[0]["id"] += "\ud800"
    rows[1]["tags"] = {"owner": "x\ud800"}
    path = tmp_path / "vms.json"
    path.write_text(json.dumps(rows))
    code, out, err = scan(capsys, "--inventory", str(path), "--format", fmt)
    assert code == 0, err
    out.encode("utf-8")  # printable: the bad id is shown escaped
    if fmt != "csv":  # CSV lists findings only
        assert "\\ud800" in out and "not valid Unicode text" in out
