"""python -m scanner scan: flags, formats, exit codes and the JSON contract (offline, in-process)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from scanner import cli
from tests.conftest import ROOT

SAMPLES = ROOT / "samples"
OFFLINE = ["--inventory", str(SAMPLES / "inventory"), "--skus", str(SAMPLES / "skus"), "--no-store", "--no-notify"]
SUB = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in ("CATALOG_EXTRA_FILE", "SEVERITY_CRITICAL_DAYS", "SEVERITY_HIGH_DAYS", "SEVERITY_MEDIUM_DAYS",
                 "AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, *args: str) -> tuple[int, str, str]:
    try:
        rc = cli.main(["scan", *args])
    except SystemExit as exc:  # argparse rejects bad usage before the command runs
        rc = exc.code
    out = capsys.readouterr()
    return rc, out.out, out.err


def one_vm_inventory(tmp_path, size: str) -> str:
    path = tmp_path / "vms.json"
    path.write_text(json.dumps([{
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/solo",
        "name": "solo", "location": "westeurope", "resourceGroup": "rg", "type": "Microsoft.Compute/virtualMachines",
        "hardwareProfile": {"vmSize": size}, "storageProfile": {"osDisk": {"osType": "Linux"}}, "tags": {}}]))
    return str(path)


def test_json_contract(capsys):
    rc, out, _ = run(capsys, *OFFLINE, "--today", "2026-09-10", "--format", "json")
    assert rc == 0
    doc = json.loads(out)
    assert doc["schema"] == "retirement-scan/v1" and doc["today"] == "2026-09-10"
    assert {"generated_at", "summary", "findings", "needs_review", "errors"} <= set(doc)
    assert doc["summary"]["by_severity"]["critical"] == sum(f["severity"] == "critical" for f in doc["findings"])
    for f in doc["findings"]:
        assert {"id", "rule", "severity", "vm_size", "resource", "retirement", "replacement", "commands"} <= set(f)
        assert set(f["resource"]) >= {"kind", "id", "name", "pool", "subscription_id", "resource_group", "location"}
        assert f["rule"] in ("retiring-size", "gen1-only-size", "gen1-node-image", "capacity-restricted",
                             "retiring-node-os")
        if f["retirement"] is not None:
            r = f["retirement"]
            assert set(r) >= {"id", "title", "retires_on", "days_left", "source", "urls"}
            assert isinstance(r["days_left"], int) and r["source"] in ("builtin", "feed", "extra")
        if f["replacement"] is not None:
            assert set(f["replacement"]) >= {"vm_size", "why", "alternatives"}
            assert f["commands"], "a replacement comes with commands"


@pytest.mark.parametrize(
    ("size", "fail_on", "expected"),
    [("Standard_DS2_v2", "low", 3), ("Standard_DS2_v2", "medium", 0), ("Standard_NV12s_v3", "critical", 3),
     ("Standard_D4s_v5", "low", 0)],
    ids=["low-at-low", "low-under-medium", "critical-at-critical", "nothing-found"],
)
def test_fail_on_exit_code(capsys, tmp_path, size, fail_on, expected):
    inv = one_vm_inventory(tmp_path, size)
    rc, out, _ = run(capsys, "--inventory", inv, "--skus", str(SAMPLES / "skus"), "--no-store",
                     "--today", "2026-09-10", "--fail-on", fail_on)
    assert rc == expected
    assert "vm solo" in out or expected == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [(["--inventory", "does/not/exist.json"], "does/not/exist.json"),
     (["--inventory", str(SAMPLES / "inventory"), "--skus", "no-such-dir"], "no-such-dir"),
     (["--inventory", str(SAMPLES / "inventory"), "--today", "2026-13-01"], "2026-13-01"),
     (["--inventory", str(SAMPLES / "inventory"), "--scope", "sub:not-a-guid"], "--scope"),
     (["--inventory", str(SAMPLES / "inventory"), "--format", "yaml"], "yaml"),
     (["--inventory", str(SAMPLES / "inventory"), "--catalog", "missing.toml"], "missing.toml")],
    ids=["missing-inventory", "missing-skus", "bad-today", "bad-scope", "bad-format", "missing-catalog"],
)
def test_bad_input_exits_2_naming_it(capsys, args, needle):
    rc, _, err = run(capsys, *args, "--no-store")
    assert rc == 2
    assert needle in err


def test_unreadable_json_names_the_file(capsys, tmp_path):
    bad = tmp_path / "aks.json"
    bad.write_text("[{not json")
    rc, _, err = run(capsys, "--inventory", str(bad), "--no-store")
    assert rc == 2 and str(bad) in err


def test_output_file_and_formats(capsys, tmp_path):
    target = tmp_path / "report.csv"
    rc, out, _ = run(capsys, *OFFLINE, "--today", "2026-09-10", "--format", "csv", "--output", str(target))
    assert rc == 0 and out == ""
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    rc, out, _ = run(capsys, *OFFLINE, "--today", "2026-09-10", "--format", "json")
    assert len(rows) == len(json.loads(out)["findings"]) > 0
    assert {r["rule"] for r in rows} == {"retiring-size", "gen1-only-size", "gen1-node-image", "retiring-node-os"}
    rc, md, _ = run(capsys, *OFFLINE, "--today", "2026-09-10", "--format", "markdown")
    assert "```bash" in md and "az aks nodepool add" in md


def test_table_groups_by_cluster_most_urgent_first(capsys):
    rc, out, _ = run(capsys, *OFFLINE, "--today", "2026-09-10")
    assert rc == 0
    groups = [line for line in out.splitlines() if line.startswith(("cluster ", "vm ", "scale set "))]
    assert groups[0].startswith("cluster aks-ml-weu")  # NCv3 retired 345 days ago
    assert groups[1].startswith("cluster aks-dev-eus")  # Azure Linux 2.0 support ended 284 days ago
    assert groups[2].startswith("cluster aks-legacy-win")  # Windows Server 2019 support ended 193 days ago
    assert groups[3].startswith("cluster aks-payments-prod")  # NVv3 in 20 days
    assert len(groups) == len(set(groups))
    first_rows = out.split(groups[3])[1].splitlines()[2:6]
    # ID, STATUS, SEVERITY ... (the table shows the short id `ack` takes and the status); Ubuntu 22.04 pools medium
    assert [r.split()[2] for r in first_rows] == ["critical", "medium", "medium", "medium"]
    assert all(r.split()[1] == "new" and len(r.split()[0]) == 8 for r in first_rows)


def test_catalog_none_keeps_gen1_rules_only(capsys):
    rc, out, _ = run(capsys, *OFFLINE, "--today", "2026-09-10", "--catalog", "none", "--format", "json")
    doc = json.loads(out)
    assert rc == 0 and doc["findings"]
    # no size catalogue: the Gen1 rules, and the node OS catalogue (its own data), still judge
    assert {f["rule"] for f in doc["findings"]} == {"gen1-only-size", "gen1-node-image", "retiring-node-os"}


def test_catalog_file_is_used(capsys, tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text('[[retirement]]\nid = "test-dsv5"\ntitle = "Dsv5 (test)"\nseries = ["Dsv5"]\n'
                     'retires_on = 2026-10-01\nurls = ["https://example.invalid/dsv5"]\n')
    inv = one_vm_inventory(tmp_path, "Standard_D4s_v5")
    rc, out, _ = run(capsys, "--inventory", inv, "--skus", str(SAMPLES / "skus"), "--no-store", "--catalog",
                     str(extra), "--today", "2026-09-10", "--format", "json", "--fail-on", "critical")
    doc = json.loads(out)
    assert rc == 3
    [f] = doc["findings"]
    assert f["retirement"]["id"] == "test-dsv5" and f["retirement"]["days_left"] == 21
    assert f["replacement"]["vm_size"] != "Standard_D4s_v5"


def test_inventory_without_skus_reports_the_missing_regions(capsys):
    rc, out, _ = run(capsys, "--inventory", str(SAMPLES / "inventory"), "--no-store", "--today", "2026-09-10",
                     "--format", "json")
    doc = json.loads(out)
    assert rc == 0
    assert {e["scope"] for e in doc["errors"]} == {"skus:westeurope", "skus:northeurope", "skus:eastus"}
    assert all(f["rule"] in ("retiring-size", "retiring-node-os") for f in doc["findings"])  # neither needs SKU facts


def test_malformed_setting_is_named_even_offline(capsys, monkeypatch):
    monkeypatch.setenv("SEVERITY_CRITICAL_DAYS", "soon")
    rc, _, err = run(capsys, *OFFLINE, "--today", "2026-09-10")
    assert rc == 2 and "SEVERITY_CRITICAL_DAYS" in err


def test_severity_thresholds_come_from_settings(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("SEVERITY_CRITICAL_DAYS", "700")
    monkeypatch.setenv("SEVERITY_HIGH_DAYS", "800")
    monkeypatch.setenv("SEVERITY_MEDIUM_DAYS", "900")
    inv = one_vm_inventory(tmp_path, "Standard_DS2_v2")  # retires 2028-05-01: 599 days after 2026-09-10
    rc, out, _ = run(capsys, "--inventory", inv, "--skus", str(SAMPLES / "skus"), "--no-store", "--today",
                     "2026-09-10", "--format", "json", "--fail-on", "critical")
    assert rc == 3 and json.loads(out)["findings"][0]["severity"] == "critical"
