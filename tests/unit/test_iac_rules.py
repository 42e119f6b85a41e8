"""core.iac.judge_templates: the scanner's rules over template declarations (in-memory values)."""

from __future__ import annotations

from datetime import date

import pytest

from scanner.core import catalog as cat
from scanner.core.iac import Declaration, Spot, Templates, Value, judge_templates
from scanner.core.model import ResourceKind, Sku
from scanner.sources.skus import SkuIndex

TODAY = date(2026, 3, 1)
CATALOG = cat.load_catalog()


def _sku(name, vcpus, mem, gens=("V1", "V2"), location="westeurope"):
    return Sku(name=name, location=location, vcpus=vcpus, memory_gb=mem, hyperv_generations=frozenset(gens),
               capabilities={"PremiumIO": "True"})


SKUS = SkuIndex.from_skus([
    _sku("Standard_D4s_v5", 4, 16),
    _sku("Standard_D4s_v6", 4, 16, ("V2",)),
    _sku("Standard_D2s_v5", 2, 8),
    _sku("Standard_DS2_v2", 2, 7),
    _sku("Standard_D2_v2", 2, 7, ("V1",)),
    _sku("Standard_E2s_v5", 2, 16),
])


def _pool(size, os_type="Windows", os_sku="", version="1.29", location="westeurope", kind=ResourceKind.AKS_NODEPOOL):
    spot = Spot("main.tf", 3, 13)
    return Declaration(kind=kind, address="azurerm_kubernetes_cluster_node_pool.w", resource_type="x",
                       attribute="vm_size", size=Value(spot=spot, known=True, value=size), pool="w",
                       location=location, os_type=os_type, os_sku=os_sku, kubernetes_version=version, language="terraform")


def _rules(decl, skus=SKUS, region=""):
    result = judge_templates(Templates((decl,)), CATALOG, skus, TODAY, region=region)
    return sorted(x.finding.rule.value for x in result.findings), result


@pytest.mark.parametrize("decl,rules", [
    (_pool("Standard_D4s_v5", os_sku="Windows2022"), ["gen1-node-image"]),
    (_pool("Standard_D4s_v6", os_sku="Windows2022"), []),  # Gen2-only size: the pool gets Gen2
    (_pool("Standard_D4s_v6", os_sku="Windows2019"), ["gen1-node-image"]),  # 2019 cannot run Gen2 at all
    (_pool("Standard_D4s_v5", version="1.24"), ["gen1-node-image"]),  # no OS SKU on 1.24: Windows2019
    (_pool("Standard_D4s_v5", version="1.29"), ["gen1-node-image"]),  # no OS SKU on 1.29: Windows2022
    (_pool("Standard_D4s_v5", os_type="Linux"), []),
    (_pool("Standard_D4s_v5", os_sku="Windows2025"), []),
    (_pool("Standard_DS2_v2", os_type="Linux"), ["retiring-size"]),
    (_pool("Standard_D2_v2", os_type="Linux", kind=ResourceKind.VM), ["gen1-only-size", "retiring-size"]),
], ids=["w2022-dual-gen", "w2022-gen2-only", "w2019-gen2-only", "default-1.24", "default-1.29", "linux",
        "w2025", "retiring", "vm-gen1-only"])
def test_rules_on_declarations(decl, rules):
    assert _rules(decl)[0] == rules


def test_windows_2022_says_what_it_checked_and_what_to_run():
    _rules_, result = _rules(_pool("Standard_D4s_v5", os_sku="Windows2022"))
    [x] = result.findings
    assert "Standard_D4s_v5 offers both generations in westeurope" in x.finding.message
    assert "--aks-custom-headers UseWindowsGen2VM=true" in x.finding.message
    assert x.finding.replacement is None  # the size is fine; the pool is rebuilt


def test_without_facts_windows_2022_says_generations_were_not_checked():
    _rules_, result = _rules(_pool("Standard_D4s_v5", os_sku="Windows2022"), skus=SkuIndex())
    [x] = result.findings
    assert "not checked" in x.finding.message


def test_replacement_is_checked_in_the_region_when_facts_are_given():
    decl = _pool("Standard_DS2_v2", os_type="Linux", location="")
    _r, result = _rules(decl, region="westeurope")
    [x] = result.findings
    assert (x.region, x.finding.replacement.vm_size) == ("westeurope", "Standard_D2s_v5")
    assert "westeurope" in x.finding.replacement.why
    _r, result = _rules(decl, region="")  # no region known: successor line, not checked
    [x] = result.findings
    assert x.region == "" and "region not checked" in x.finding.replacement.why
    assert result.regions_without_facts == ("(no region)",)


def test_not_literal_declarations_are_returned_not_judged():
    decl = Declaration(kind=ResourceKind.VM, address="a", resource_type="t", attribute="size",
                       size=Value(spot=Spot("m.tf", 1, 1), known=False, text="var.x", reason="var.x has no default"))
    result = judge_templates(Templates((decl,)), CATALOG, SKUS, TODAY)
    assert result.findings == () and result.not_literal == (decl,)


def test_the_same_module_called_from_two_roots_gives_two_findings_each_with_its_own_value():
    a = _pool("Standard_DS2_v2", os_type="Linux")
    b = Declaration(**{**a.__dict__, "size": Value(spot=a.size.spot, known=True, value="Standard_F2s_v2",
                                                   source=Spot("b.tfvars", 1, 5))})
    result = judge_templates(Templates((a, b)), CATALOG, SKUS, TODAY)
    assert sorted((x.finding.vm_size, str(x.declaration.size.source)) for x in result.findings) == [
        ("Standard_DS2_v2", "None"), ("Standard_F2s_v2", "b.tfvars:1:5")]
    assert len({x.finding.id for x in result.findings}) == 2
