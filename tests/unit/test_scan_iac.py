"""scan-iac on the fixture modules (tests/fixtures/iac): every planted size is found and nothing
else, outputs match the golden files, SARIF validates against the OASIS 2.1.0 schema kept in
tests/fixtures/sarif, malformed files are named with their line and the scan goes on, exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scanner.cli import main

ROOT = Path(__file__).resolve().parents[2]
FIX = ROOT / "tests" / "fixtures" / "iac"
GOLDEN = FIX / "golden"
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
F = "tests/fixtures/iac"
ARGS = [
    "scan-iac", f"{F}/terraform", f"{F}/bicep", f"{F}/arm",
    "--var-file", f"{F}/terraform/aks/prod.tfvars",
    "--params", f"{F}/bicep/main.bicepparam", f"{F}/arm/azuredeploy.parameters.json",
    "--today", "2026-03-01",
]

# Every size planted in the fixtures: (file where the size is written, size, rule, resource address).
# The line is the one in that file that writes the size (the first, or the one a fifth item counts to).
PLANTED = [
    ("terraform/aks/variables.tf", "Standard_DS2_v2", "retiring-size", "azurerm_kubernetes_cluster.main"),
    ("terraform/aks/variables.tf", "Standard_NC6s_v3", "retiring-size", 'azurerm_kubernetes_cluster_node_pool.user["gpu"]'),
    ("terraform/aks/prod.tfvars", "Standard_D4s_v3", "retiring-size", "azurerm_kubernetes_cluster_node_pool.win22"),
    ("terraform/aks/prod.tfvars", "Standard_D4s_v3", "gen1-node-image", "azurerm_kubernetes_cluster_node_pool.win22"),
    ("terraform/aks/windows.tf", "Standard_D4ds_v5", "gen1-node-image", "azurerm_kubernetes_cluster_node_pool.win19"),
    ("terraform/app/main.tf", "Standard_D2_v2", "retiring-size", "module.web.azurerm_linux_virtual_machine.this"),
    ("terraform/app/main.tf", "Standard_F8s_v2", "retiring-size",
     "module.workers.azurerm_linux_virtual_machine_scale_set.workers"),
    ("terraform/app/main.tf", "Standard_A4_v2", "retiring-size", "azurerm_virtual_machine.legacy"),
    ("terraform/modules/vm/variables.tf", "Standard_B2ms", "retiring-size", "module.api.azurerm_linux_virtual_machine.this"),
    ("terraform/modules/vm/main.tf", "Standard_F2s_v2", "retiring-size", "module.web.azurerm_windows_virtual_machine.jump"),
    ("terraform/modules/vm/main.tf", "Standard_F2s_v2", "retiring-size", "module.api.azurerm_windows_virtual_machine.jump"),
    ("bicep/main.bicepparam", "Standard_DS3_v2", "retiring-size", "aks"),
    ("bicep/main.bicep", "Standard_E8s_v3", "retiring-size", "userPool[0]"),
    ("bicep/main.bicep", "Standard_D4s_v5", "gen1-node-image", "winPool", 1),  # line 1 is the unused default
    ("bicep/main.bicep", "Standard_B4ms", "retiring-size", "jumpbox.vm"),
    ("arm/export.json", "Standard_DS1_v2", "retiring-size", "Microsoft.Compute/virtualMachines/ops01"),
    ("arm/export.json", "Standard_A2m_v2", "retiring-size", "Microsoft.Compute/virtualMachineScaleSets/build"),
    ("arm/export.json", "Standard_D2s_v3", "retiring-size", "Microsoft.ContainerService/managedClusters/aks-legacy"),
    ("arm/export.json", "Standard_D8s_v5", "gen1-node-image", "Microsoft.ContainerService/managedClusters/aks-legacy"),
    ("arm/export.json", "Standard_D2s_v3", "retiring-size",  # the second line writing it: the agentPools resource
     "Microsoft.ContainerService/managedClusters/agentPools/aks-legacy/nodepool1",
     1),
    ("arm/azuredeploy.parameters.json", "Standard_F4s", "retiring-size", "Microsoft.Compute/virtualMachines/report01"),
]
# Sizes declared but not literal: (file, resource address), each named with its reason.
NOT_LITERAL = [
    ("terraform/aks/pools.tf", "azurerm_kubernetes_cluster_node_pool.spot", "var.environment has no default"),
    ("bicep/modules/vmss.bicep", "scaleSet.vmss", "toLower()"),
]


def _line_of(rel: str, size: str, nth: int = 0) -> int:
    lines = (FIX / rel).read_text(encoding="utf-8").splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if size in line]
    return hits[nth]


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)  # reports name files relative to the working directory


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def _json(*args: str) -> tuple[int, dict]:
    code, out, _err = _run(*args, "--format", "json")
    return code, json.loads(out)


def test_every_planted_size_is_found_and_nothing_else():
    code, doc = _json(*ARGS)
    assert code == 0
    found = sorted((f["location"]["file"], f["location"]["line"], f["vm_size"], f["rule"], f["resource"]["address"])
                   for f in doc["findings"])
    expected = [(f"{F}/{rel}", _line_of(rel, size, *nth), size, rule, address) for rel, size, rule, address, *nth in PLANTED]
    assert found == sorted(expected)
    assert doc["summary"]["findings"] == len(PLANTED)


def test_sizes_that_are_not_literal_are_counted_and_named():
    _code, doc = _json(*ARGS)
    named = sorted((n["file"], n["resource"]) for n in doc["not_literal"])
    assert named == sorted((f"{F}/{rel}", address) for rel, address, _why in NOT_LITERAL)
    assert doc["summary"]["not_literal"] == len(NOT_LITERAL)
    by_resource = {n["resource"]: n["reason"] for n in doc["not_literal"]}
    for _rel, address, why in NOT_LITERAL:
        assert why in by_resource[address]


def test_a_value_from_a_variable_default_points_at_the_default_and_names_the_resource_that_uses_it():
    _code, doc = _json(*ARGS)
    system = next(f for f in doc["findings"] if f["resource"]["address"] == "azurerm_kubernetes_cluster.main")
    assert system["location"] == {"file": f"{F}/terraform/aks/variables.tf",
                                  "line": _line_of("terraform/aks/variables.tf", "Standard_DS2_v2"), "column": 13}
    assert system["declared_at"]["file"] == f"{F}/terraform/aks/main.tf"
    assert system["declared_at"]["line"] == _line_of("terraform/aks/main.tf", "var.system_vm_size")
    assert system["value_from"] == "default of var.system_vm_size"
    assert system["resource"]["pool"] == "system"
    assert system["retirement"]["retires_on"] == "2028-05-01"


def test_without_sku_facts_the_replacement_is_the_successor_line_and_says_region_not_checked():
    _code, doc = _json(*ARGS)
    ds2 = next(f for f in doc["findings"] if f["vm_size"] == "Standard_DS2_v2")
    assert ds2["replacement"]["vm_size"] == "Standard_D2s_v5"
    assert "region not checked" in ds2["replacement"]["why"]
    assert ds2["region_checked"] is None
    # A memory-optimised legacy size moves to a memory-optimised line, not to the same vCPUs of D.
    code, doc2 = _json("scan-iac", f"{F}/arm/export.json", "--today", "2026-03-01")
    a2m = next(f for f in doc2["findings"] if f["vm_size"] == "Standard_A2m_v2")
    assert a2m["replacement"]["vm_size"].startswith("Standard_E2")


def test_with_sku_exports_the_replacement_is_checked_against_the_region(tmp_path):
    code, doc = _json("scan-iac", f"{F}/terraform/aks", "--var-file", f"{F}/terraform/aks/prod.tfvars",
                      "--skus", "samples/skus/westeurope.json", "--today", "2026-03-01")
    assert code == 0
    ds2 = next(f for f in doc["findings"] if f["vm_size"] == "Standard_DS2_v2")
    assert ds2["region_checked"] == "westeurope"
    assert "region not checked" not in ds2["replacement"]["why"]
    assert "westeurope" in ds2["replacement"]["why"]
    assert doc["summary"]["regions_checked"] == ["westeurope"]


@pytest.mark.parametrize("fmt,name", [("json", "scan.json"), ("sarif", "scan.sarif"), ("table", "scan.txt"),
                                      ("markdown", "scan.md")], ids=["json", "sarif", "table", "markdown"])
def test_outputs_match_the_golden_files(fmt, name):
    code, out, _err = _run(*ARGS, "--format", fmt)
    assert code == 0
    if fmt == "json":
        doc = json.loads(out)
        doc["generated_at"] = "2026-03-01T00:00:00+00:00"
        out = json.dumps(doc, indent=2) + "\n"
    assert out == (GOLDEN / name).read_text(encoding="utf-8"), (
        f"{name} changed: if on purpose, run tests/fixtures/iac/make_golden.py and say so in the commit")


def _sarif_errors(doc: dict) -> list[str]:
    validator = jsonschema.Draft4Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_sarif_validates_against_the_2_1_0_schema_and_carries_rules_locations_and_replacements():
    code, out, _err = _run(*ARGS, "--format", "sarif")
    doc = json.loads(out)
    assert _sarif_errors(doc) == []
    run = doc["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["retiring-size", "gen1-only-size", "gen1-node-image", "size-not-literal"]
    results = run["results"]
    assert len([r for r in results if r["ruleId"] != "size-not-literal"]) == len(PLANTED)
    assert len([r for r in results if r["ruleId"] == "size-not-literal"]) == len(NOT_LITERAL)
    for r in results:
        assert rule_ids[r["ruleIndex"]] == r["ruleId"]
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
        assert not r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
    ds2 = next(r for r in results if r["properties"].get("vmSize") == "Standard_DS2_v2"
               if "properties" in r)
    assert "Replace with Standard_D2s_v5" in ds2["message"]["text"]
    assert ds2["level"] == "warning"
    gpu = next(r for r in results if r.get("properties", {}).get("vmSize") == "Standard_NC6s_v3")
    assert gpu["level"] == "error"  # retired already: critical
    assert run["invocations"][0]["executionSuccessful"] is True


def test_a_sarif_document_the_schema_refuses_is_refused():
    """The validation is real: a result without a message, or a bad level, fails."""
    _code, out, _err = _run(*ARGS, "--format", "sarif")
    doc = json.loads(out)
    del doc["runs"][0]["results"][0]["message"]
    doc["runs"][0]["results"][1]["level"] = "fatal"
    errors = _sarif_errors(doc)
    assert len(errors) >= 2


def test_malformed_files_are_named_with_their_line_and_the_scan_goes_on():
    code, out, err = _run("scan-iac", f"{F}/broken", "--today", "2026-03-01", "--format", "json")
    doc = json.loads(out)
    assert code == 2  # a file could not be read: the report is written, the exit code says so
    errors = {(e["file"], e["line"]) for e in doc["errors"]}
    assert errors == {(f"{F}/broken/bad.tf", 3), (f"{F}/broken/bad.bicep", 7), (f"{F}/broken/bad-template.json", 8)}
    assert [f["vm_size"] for f in doc["findings"]] == ["Standard_B1s"]  # ok.tf beside them was scanned
    assert f"{F}/broken/bad.tf:3:" in err
    code, out, _err = _run("scan-iac", f"{F}/broken", "--today", "2026-03-01", "--format", "sarif")
    sarif = json.loads(out)
    assert _sarif_errors(sarif) == []
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    assert len(invocation["toolExecutionNotifications"]) == 3


@pytest.mark.parametrize("fail_on,code", [(None, 0), ("critical", 3), ("high", 3), ("low", 3)],
                         ids=["no-fail-on", "critical", "high", "low"])
def test_fail_on_exit_codes_match_scan(fail_on, code):
    extra = ["--fail-on", fail_on] if fail_on else []
    got, _out, _err = _run(*ARGS, *extra)
    assert got == code


def test_fail_on_names_on_stderr_what_crossed_the_line_and_accepts_any_case():
    got, _out, err = _run(*ARGS, "--fail-on", "CRITICAL")
    assert got == 3
    assert err.splitlines() == [
        "--fail-on critical: 1 finding(s) at or above critical (exit 3):",
        f"  {F}/terraform/aks/variables.tf:34:19  critical  azurerm_kubernetes_cluster_node_pool.user[\"gpu\"]  "
        "Standard_NC6s_v3  retiring-size, -152 days left",
    ]


def test_an_unreadable_file_outranks_fail_on():
    got, _out, err = _run("scan-iac", f"{F}/broken", "--today", "2026-03-01", "--fail-on", "low")
    assert got == 2
    assert "--fail-on low: 1 finding(s)" in err and "bad.tf:3:" in err


def test_fail_on_is_not_reached_by_lower_severities():
    # modules/vm only: low findings (2028 retirements), no critical ones.
    got, _out, _err = _run("scan-iac", f"{F}/terraform/modules/vm", "--today", "2026-03-01", "--fail-on", "medium")
    assert got == 0
    got, _out, _err = _run("scan-iac", f"{F}/terraform/modules/vm", "--today", "2026-03-01", "--fail-on", "low")
    assert got == 3


def test_a_path_that_does_not_exist_is_bad_usage():
    code, _out, err = _run("scan-iac", "no/such/dir")
    assert code == 2
    assert "'no/such/dir' does not exist" in err


def test_python_dash_m_runs_scan_iac():
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan-iac", f"{F}/terraform/modules/vm", "--today",
                           "2026-03-01", "--format", "json"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["schema"] == "retirement-scan-iac/v1"
    assert {f["vm_size"] for f in doc["findings"]} == {"Standard_B2ms", "Standard_F2s_v2"}


def test_readme_annotation_example_is_the_preview_of_our_own_sarif():
    from scanner.devtools import sarif_preview

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Scan Terraform, Bicep and ARM templates"):]
    shown = section[section.index("```text\n") + len("```text\n"):]
    shown = shown[:shown.index("```")]
    sarif = json.loads((GOLDEN / "scan.sarif").read_text(encoding="utf-8"))
    assert shown == sarif_preview.render(sarif, ["Standard_DS2_v2", "Standard_NC6s_v3", "size-not-literal"])


def test_tfvars_json_and_auto_tfvars_are_read_like_terraform_reads_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.tf").write_text('variable "a" {}\nvariable "b" {}\nvariable "c" {}\n'
                                      'resource "azurerm_linux_virtual_machine" "a" {\n  size = var.a\n}\n'
                                      'resource "azurerm_linux_virtual_machine" "b" {\n  size = var.b\n}\n'
                                      'resource "azurerm_linux_virtual_machine" "c" {\n  size = var.c\n}\n')
    (tmp_path / "terraform.tfvars.json").write_text('{\n  "a": "Standard_DS2_v2",\n  "c": "Standard_D2s_v5"\n}\n')
    (tmp_path / "x.auto.tfvars").write_text('b = "Standard_F2s_v2"\n')
    (tmp_path / "prod.tfvars.json").write_text('{"c": "Standard_B2ms"}\n')  # named: wins over the auto files
    code, out, _err = _run("scan-iac", ".", "--var-file", "prod.tfvars.json", "--today", "2026-03-01", "--format", "json")
    doc = json.loads(out)
    got = {f["resource"]["address"]: (f["vm_size"], f["location"]["file"], f["location"]["line"]) for f in doc["findings"]}
    assert got == {"azurerm_linux_virtual_machine.a": ("Standard_DS2_v2", "terraform.tfvars.json", 2),
                   "azurerm_linux_virtual_machine.b": ("Standard_F2s_v2", "x.auto.tfvars", 1),
                   "azurerm_linux_virtual_machine.c": ("Standard_B2ms", "prod.tfvars.json", 1)}
    assert code == 0


def test_readme_names_the_iac_schema_and_documents_every_flag():
    from scanner.core import iac_schema

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`{iac_schema.SCHEMA}`" in readme


def test_a_folder_with_no_templates_is_exit_2_not_an_all_clear(tmp_path):
    (tmp_path / "README.md").write_text("# no templates here\n", encoding="utf-8")
    (tmp_path / "settings.json").write_text("{}", encoding="utf-8")  # JSON, but no template
    code, out, err = _run("scan-iac", str(tmp_path))
    assert code == 2
    assert str(tmp_path) in err and "nothing was scanned" in err
    assert "No retiring" not in out
