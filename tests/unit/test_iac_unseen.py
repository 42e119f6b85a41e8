"""Red-team table for scan-iac: templates in the shapes real teams write (tests/fixtures/iac/unseen/),
each with its answer decided by reading the template, not by running the scanner: the planted
retiring / Gen1 sizes and the line that writes each, what is not literal (and where), and the files
that cannot be read. Every row runs the real CLI (JSON and SARIF, the SARIF validated)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

from scanner.cli import main

ROOT = Path(__file__).resolve().parents[2]
U = "tests/fixtures/iac/unseen"
SCHEMA = json.loads((ROOT / "tests" / "fixtures" / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
R, G, W = "retiring-size", "gen1-only-size", "gen1-node-image"

# case: (folder, extra args, findings [(file, text on the line ("text@N": its Nth line), size, rule)],
#        not literal [(file, text on the line, attribute)], errors [(file, line)])
CASES = [
    ("tf-foreach-map", [], [
        ("main.tf", '"Standard_DS2_v2"', "Standard_DS2_v2", R),
        ("variables.tf", '"Standard_D4s_v3"', "Standard_D4s_v3", R),
        ("variables.tf", '"Standard_NC6s_v3"', "Standard_NC6s_v3", R)], [], []),
    ("tf-list-objects", [], [
        ("variables.tf", '"Standard_E8s_v3"', "Standard_E8s_v3", R),
        ("variables.tf", '"Standard_F8s_v2"', "Standard_F8s_v2", R)], [], []),  # A4_v2 is filtered out by `if`
    ("tf-var-index", [], [
        ("main.tf", '"Standard_D2s_v3"', "Standard_D2s_v3", R),
        ("main.tf", '"Standard_E16s_v3"', "Standard_E16s_v3", R)], [], []),
    ("tf-toset", [], [("main.tf", '"Standard_B4ms"', "Standard_B4ms", R)], [], []),
    ("tf-nested", [], [
        ("main.tf", '"Standard_DS3_v2"', "Standard_DS3_v2", R),
        ("modules/platform/main.tf", '"Standard_E4s_v3"', "Standard_E4s_v3", R)],
     [], []),  # aks_followup's size is module.aks.recommended_size, a literal output: Standard_D4s_v5, fine
    ("tf-module-output", [], [  # module.sizes.vm_size / module.sizes.by_tier["gpu"] of a local module
        ("sizes/main.tf", '"Standard_D2_v3"', "Standard_D2_v3", R),
        ("sizes/main.tf", '"Standard_NC6s_v3"', "Standard_NC6s_v3", R)], [], []),
    ("tf-windows", [], [
        ("main.tf", '"Standard_D4s_v5"@2', "Standard_D4s_v5", W),  # win19: Windows2019 (the first D4s_v5 is system)
        ("main.tf", '"Standard_D8s_v5"', "Standard_D8s_v5", W)],  # win22 on a size with both generations
     [("main.tf", "var.pool_os", "os_type")], []),
    ("tf-vmss-count", [], [
        ("main.tf", '"Standard_F8s_v2"', "Standard_F8s_v2", R),
        ("main.tf", '"Standard_D2_v2"', "Standard_D2_v2", R)], [], []),
    ("tf-azapi-hcl", [], [("main.tf", '"Standard_DS3_v2"', "Standard_DS3_v2", R)], [], []),
    ("tf-azapi-json", [], [
        ("main.tf", '"Standard_E8s_v3"', "Standard_E8s_v3", R),
        ("main.tf", '"Standard_E8s_v3"', "Standard_E8s_v3", W),  # osSKU Windows2019 in the jsonencode() body
        ("main.tf", '"Standard_B2ms"', "Standard_B2ms", R),
        ("main.tf", '"Standard_D4s_v3"', "Standard_D4s_v3", R)], [], []),  # azapi_update_resource sku.name
    ("tf-legacy-vmss", [], [
        ("main.tf", '"Standard_DS2_v2"', "Standard_DS2_v2", R),
        ("main.tf", '"Standard_D3_v2"', "Standard_D3_v2", R)], [], []),
    ("tf-count-index", [], [  # count = length(var.pools), var.pools[count.index], element(..., count.index)
        ("main.tf", '"Standard_DS4_v2"', "Standard_DS4_v2", R),
        ("main.tf", '"Standard_B2s"', "Standard_B2s", R)], [], []),
    ("tf-json", [], [], [], [("main.tf.json", 1)]),  # Terraform JSON syntax: named as not read, never skipped
    ("tf-optional-defaults", [], [  # optional(string, "Standard_DS2_v2") fills {} and absent attributes
        ("main.tf", '"Standard_DS2_v2"', "Standard_DS2_v2", R),
        ("main.tf", '"Standard_E4s_v3"', "Standard_E4s_v3", R),
        ("main.tf", '"Windows2019"', "Standard_D4s_v5", W)], [], []),
    ("tf-registry-module", [], [  # sizes handed to registry / git modules (which are not read)
        ("main.tf", '"Standard_D4s_v3"', "Standard_D4s_v3", R),
        ("main.tf", '"Standard_NC12s_v3"', "Standard_NC12s_v3", R)],
     [("main.tf", "vm_size = var.jump_size", "vm_size")], []),
    ("tf-tfvars-json", [], [("terraform.tfvars.json", '"Standard_DS12_v2"', "Standard_DS12_v2", R)], [], []),
    ("tf-crlf-bom", [], [
        ("main.tf", '"Standard_DS1_v2"', "Standard_DS1_v2", R),
        ("vm.tf", '"Standard_A2_v2"', "Standard_A2_v2", R)], [], []),
    ("tf-empty", [], [], [], []),
    ("tf-latin1", [], [], [], [("main.tf", 1)]),
    ("tf-conditional", [], [("main.tf", 'upper("standard_d4s_v3")', "STANDARD_D4S_V3", R)],
     [("main.tf", "local.is_prod ?", "default_node_pool.vm_size"), ("main.tf", "format(", "vm_size")], []),
    ("bicep-udt", [], [("main.bicep", "'Standard_DS13_v2'", "Standard_DS13_v2", R)], [], []),  # user-defined types
    ("bicep-safe-deref", [], [  # p.?vmSize ?? override ?? fallback, p.?osType ?? 'Linux', p.?osSKU
        ("main.bicep", "'Standard_D2_v2'", "Standard_D2_v2", R),
        ("main.bicep", "'Standard_D2_v2'", "Standard_D2_v2", W),  # Windows, no OS SKU: Windows2022, Gen1 path
        ("main.bicep", "'Standard_F2s_v2'", "Standard_F2s_v2", R)], [], []),
    ("bicep-pool-loop", [], [  # agentPools in a loop with `parent:` an existing cluster; range() loop
        ("main.bicep", "'Standard_D8s_v3'", "Standard_D8s_v3", R),
        ("main.bicep", "'Windows2022'", "Standard_D8s_v5", W),
        ("main.bicep", "'Standard_F4s_v2'", "Standard_F4s_v2", R),
        ("main.bicep", "'Standard_F4s_v2'", "Standard_F4s_v2", R)], [], []),
    ("bicep-avm-registry", [], [  # params of br/public:avm/... modules
        ("main.bicep", "'Standard_DS4_v2'", "Standard_DS4_v2", R),
        ("main.bicep", "'Standard_B2ms'", "Standard_B2ms", R)],
     [("main.bicep", "vmSize: userPoolSize", "params.agentPools[0].vmSize")], []),
    ("bicep-loop-filter", [], [  # [for p in pools: if (p.enabled) {...}]: conditions are judged as if deployed
        ("main.bicep", "'Standard_D2_v2'", "Standard_D2_v2", R),
        ("main.bicep", "'Standard_D3_v2'", "Standard_D3_v2", R)], [], []),
    ("bicep-vmss-mix", [], [("main.bicep", "'Standard_D4s_v3'", "Standard_D4s_v3", R)], [], []),  # instance mix
    ("bicep-concat", [], [  # concat(systemPools, userPools), union(common, {...})
        ("main.bicep", "'Standard_E8_v3'", "Standard_E8_v3", R),
        ("main.bicep", "'Standard_F2'", "Standard_F2", R)], [], []),
    ("bicep-existing-child", [], [("main.bicep", "'Standard_NC6s_v3'", "Standard_NC6s_v3", R)], [], []),  # child of `existing`
    ("bicep-existing", [], [
        ("main.bicep", "'Standard_D4s_v3'", "Standard_D4s_v3", R),
        ("main.bicep", "'Standard_D4s_v3'", "Standard_D4s_v3", W)], [], []),
    ("bicep-jsonparams", ["--params", f"{U}/bicep-jsonparams/main.parameters.json"],  # -p main.parameters.json
     [("main.parameters.json", '"Standard_B4ms"', "Standard_B4ms", R)], [], []),
    ("bicep-crlf", [], [("main.bicep", "'Standard_NV12s_v3'", "Standard_NV12s_v3", R)], [], []),
    ("bicep-loop-module", [], [
        ("main.bicep", "'Standard_D4s_v3'", "Standard_D4s_v3", R),
        ("main.bicep", "'Standard_L8s_v2'", "Standard_L8s_v2", R)], [], []),  # `if (false)`: still reported
    ("bicep-modern", [], [  # import, multi-line string, `...base` object spread, pools.apps.vmSize
        ("main.bicep", "'Standard_F16s_v2'", "Standard_F16s_v2", R),
        ("main.bicep", "'Standard_DS4_v2'", "Standard_DS4_v2", R)], [], []),
    ("bicep-accessors", [], [  # cfg.pools[0].sizes.primary and .? / ?? with ['primary']
        ("main.bicep", "'Standard_E2_v3'", "Standard_E2_v3", R),
        ("main.bicep", "'Standard_E2_v3'", "Standard_E2_v3", R)], [], []),
    ("arm-copy", [], [("azuredeploy.json", '"Standard_D16s_v3"', "Standard_D16s_v3", R)], [], []),  # resource copy
    ("arm-propcopy", [], [("template.json", '"Standard_DS2_v2"', "Standard_DS2_v2", R)], [], []),  # property copy
    ("arm-nested", [], [  # inner scope gets the value as a parameter; outer scope reads the parent's parameters
        ("azuredeploy.json", '"Standard_E2s_v3"', "Standard_E2s_v3", R),
        ("azuredeploy.json", '"Standard_E2s_v3"', "Standard_E2s_v3", R),
        ("azuredeploy.json", '"Standard_DS3_v2"', "Standard_DS3_v2", R)], [], []),  # handed to a templateLink
    ("arm-subscription", [], [("sub.json", '"Standard_E4_v3"', "Standard_E4_v3", R)], [], []),  # found in a folder
    ("arm-utf16", [], [("template.json", '"Standard_DS11_v2"', "Standard_DS11_v2", R)], [], []),  # PowerShell 5 `>`
    ("arm-variable-copy", [], [  # "variables": {"copy": [{"name": "pools", ...}]}, two pools of one size
        ("azuredeploy.json", '"Standard_D4_v3"', "Standard_D4_v3", R),
        ("azuredeploy.json", '"Standard_D4_v3"', "Standard_D4_v3", R)], [], []),
    ("arm-comments", [], [("azuredeploy.json", '"Standard_F4s"', "Standard_F4s", R)], [], []),
    ("arm-symbolic", [], [
        ("main.json", '"Standard_D2_v3"', "Standard_D2_v3", R),
        ("main.json", '"Windows2022"', "Standard_D4s_v5", W)], [], []),
    ("arm-crlf", [], [("template.json", '"Standard_D8_v3"', "Standard_D8_v3", R)], [], []),
    ("arm-vmss-win", [], [
        ("template.json", '"defaultValue": "Standard_A2_v2"', "Standard_A2_v2", R),
        ("template.json", '"name": "win2"', "Standard_D4s_v5", W)],  # Kubernetes 1.24: Windows2019 by default
     [("template.json", "parameters('osType')", "properties.agentPoolProfiles[1].osType")], []),
]


def _line(path: Path, text: str) -> int:
    """The line holding `text` ("text@N": its Nth occurrence)."""
    text, _, nth = text.partition("@") if text.rsplit("@", 1)[-1].isdigit() else (text, "", "1")
    data = path.read_bytes()
    lines = (data.decode("utf-16") if data.startswith(b"\xff\xfe") else data.decode("utf-8-sig")).splitlines()
    return [i + 1 for i, line in enumerate(lines) if text in line][int(nth) - 1]


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, out.getvalue()


@pytest.fixture(autouse=True)
def _repo_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("folder,extra,findings,not_literal,errors", CASES, ids=[c[0] for c in CASES])
def test_unseen_templates_give_the_decided_answer(folder, extra, findings, not_literal, errors):
    base = f"{U}/{folder}"
    code, out = _run("scan-iac", base, *extra, "--format", "json")
    doc = json.loads(out)
    got = sorted((f["location"]["file"], f["location"]["line"], f["vm_size"], f["rule"]) for f in doc["findings"])
    want = sorted((f"{base}/{file}", _line(ROOT / base / file, text), size, rule) for file, text, size, rule in findings)
    assert got == want
    got_nl = sorted((n["file"], n["line"], n["attribute"]) for n in doc["not_literal"])
    want_nl = sorted((f"{base}/{file}", _line(ROOT / base / file, text), attr) for file, text, attr in not_literal)
    assert got_nl == want_nl
    assert all(n["reason"] for n in doc["not_literal"])
    assert sorted((e["file"], e["line"]) for e in doc["errors"]) == sorted((f"{base}/{f}", n) for f, n in errors)
    assert code == (2 if errors else 0)
    code, out = _run("scan-iac", base, *extra, "--format", "sarif")
    sarif = json.loads(out)
    assert [e.message for e in jsonschema.Draft4Validator(SCHEMA).iter_errors(sarif)] == []
    results = sarif["runs"][0]["results"]
    assert len([r for r in results if r["ruleId"] != "size-not-literal"]) == len(findings)
    assert len([r for r in results if r["ruleId"] == "size-not-literal"]) == len(not_literal)


def test_a_folder_of_empty_and_non_template_json_is_exit_2_naming_it():
    code, out = _run("scan-iac", f"{U}/arm-empty", "--format", "json")
    assert code == 2 and out == ""


def test_a_bicepparam_file_alone_reads_the_template_it_uses():
    base = f"{U}/bicep-param-only"
    code, out = _run("scan-iac", f"{base}/params/prod.bicepparam", "--format", "json")
    doc = json.loads(out)
    assert (code, doc["errors"]) == (0, [])
    assert [(f["location"]["file"], f["location"]["line"], f["vm_size"]) for f in doc["findings"]] == [
        (f"{base}/params/prod.bicepparam", _line(ROOT / base / "params/prod.bicepparam", "Standard_DS3_v2"),
         "Standard_DS3_v2")]
