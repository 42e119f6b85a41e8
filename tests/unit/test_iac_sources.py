"""The IaC parsers (scanner/sources/iac): text in, declarations out. Pure, table-driven."""

from __future__ import annotations

import json

import pytest

from scanner.core import catalog as cat
from scanner.core.iac import Spot, successor_fit
from scanner.sources.iac import arm, bicep, terraform


def _tf(files: dict[str, str], tfvars: str = "", roots=(".",)):
    modules: dict[str, terraform.TfModule] = {}
    for path, text in files.items():
        directory = path.rsplit("/", 1)[0] if "/" in path else "."
        modules.setdefault(directory, terraform.TfModule(directory, [])).files.append(terraform.parse_file(text, path))
    values = {}
    if tfvars:
        values, problems = terraform.parse_tfvars(terraform.parse_file(tfvars, "x.tfvars"))
        assert problems == []
    decls, problems = terraform.declarations(modules, list(roots), values)
    return decls, problems


TF_CASES = [
    ("literal", 'resource "azurerm_linux_virtual_machine" "a" {\n  size = "Standard_D2_v2"\n}\n', "",
     "Standard_D2_v2", None, ""),
    ("variable default", 'variable "s" {\n  default = "Standard_B2ms"\n}\n'
     'resource "azurerm_windows_virtual_machine" "a" {\n  size = var.s\n}\n', "",
     "Standard_B2ms", Spot("main.tf", 2, 13), "default of var.s"),
    ("tfvars wins over the default", 'variable "s" {\n  default = "Standard_B2ms"\n}\n'
     'resource "azurerm_virtual_machine" "a" {\n  vm_size = var.s\n}\n', 's = "Standard_F4s_v2"\n',
     "Standard_F4s_v2", Spot("x.tfvars", 1, 5), "x.tfvars"),
    ("template of a variable", 'variable "s" {\n  default = "D2_v2"\n}\n'
     'resource "azurerm_linux_virtual_machine_scale_set" "a" {\n  sku = "Standard_${var.s}"\n}\n', "",
     "Standard_D2_v2", Spot("main.tf", 2, 13), "default of var.s"),
    ("local", 'locals {\n  size = "Standard_DS3_v2"\n}\n'
     'resource "azurerm_orchestrated_virtual_machine_scale_set" "a" {\n  sku_name = local.size\n}\n', "",
     "Standard_DS3_v2", Spot("main.tf", 2, 10), "local.size"),
    ("element of a map variable", 'variable "m" {\n  default = {\n    a = "Standard_A2_v2"\n  }\n}\n'
     'resource "azurerm_linux_virtual_machine" "a" {\n  size = var.m["a"]\n}\n', "",
     "Standard_A2_v2", Spot("main.tf", 3, 9), "default of var.m"),
]


@pytest.mark.parametrize("text,tfvars,size,source,via", [c[1:] for c in TF_CASES], ids=[c[0] for c in TF_CASES])
def test_terraform_resolves_literals_and_says_where_they_come_from(text, tfvars, size, source, via):
    decls, problems = _tf({"main.tf": text}, tfvars)
    assert problems == []
    [d] = decls
    assert (d.size.known, d.size.value, d.size.source, d.size.via) == (True, size, source, via)
    assert d.size.spot.file == "main.tf" and d.size.spot.line >= 2


NOT_LITERAL_TF = [
    ("variable without default", 'variable "s" {}\nresource "azurerm_linux_virtual_machine" "a" {\n  size = var.s\n}\n',
     "var.s has no default"),
    ("function", 'resource "azurerm_linux_virtual_machine" "a" {\n  size = replace("X", "a", "b")\n}\n', "function replace()"),
    ("conditional", 'variable "p" {\n  default = true\n}\n'
     'resource "azurerm_linux_virtual_machine" "a" {\n  size = var.p ? "Standard_D2s_v5" : "Standard_D4s_v5"\n}\n',
     "conditional"),
    ("data source", 'resource "azurerm_linux_virtual_machine" "a" {\n  size = data.x.y.size\n}\n', "data.*"),
    ("undeclared variable", 'resource "azurerm_linux_virtual_machine" "a" {\n  size = var.nope\n}\n', "not declared"),
    ("unset", 'resource "azurerm_linux_virtual_machine" "a" {\n  name = "x"\n}\n', "size is not set"),
    ("for_each over a resource's output", 'resource "azurerm_kubernetes_cluster_node_pool" "p" {\n'
     '  for_each = azurerm_x.y.pools\n  vm_size = each.value\n}\n', "for_each is not literal"),
]


@pytest.mark.parametrize("text,why", [c[1:] for c in NOT_LITERAL_TF], ids=[c[0] for c in NOT_LITERAL_TF])
def test_terraform_names_what_is_not_literal(text, why):
    [d], _problems = _tf({"main.tf": text})
    assert not d.size.known
    assert why in d.size.reason


def test_terraform_for_each_expands_pools_and_points_at_each_element():
    text = ('variable "pools" {\n  default = {\n    gpu = { size = "Standard_NC6s_v3" }\n'
            '    app = { size = "Standard_D4s_v5" }\n  }\n}\n'
            'resource "azurerm_kubernetes_cluster_node_pool" "p" {\n  for_each = var.pools\n'
            '  name = each.key\n  vm_size = each.value.size\n  os_type = "Windows"\n}\n')
    decls, _ = _tf({"main.tf": text})
    got = {(d.address, d.pool, d.size.value, d.size.source.line, d.os_type) for d in decls}
    assert got == {('azurerm_kubernetes_cluster_node_pool.p["gpu"]', "gpu", "Standard_NC6s_v3", 3, "Windows"),
                   ('azurerm_kubernetes_cluster_node_pool.p["app"]', "app", "Standard_D4s_v5", 4, "Windows")}


def test_terraform_count_zero_is_not_created_and_a_node_pool_reads_its_cluster():
    text = ('resource "azurerm_linux_virtual_machine" "off" {\n  count = 0\n  size = "Standard_D2_v2"\n}\n'
            'resource "azurerm_kubernetes_cluster" "c" {\n  location = "swedencentral"\n  kubernetes_version = "1.24"\n'
            '  default_node_pool {\n    name = "sys"\n    vm_size = "Standard_D4s_v5"\n  }\n}\n'
            'resource "azurerm_kubernetes_cluster_node_pool" "w" {\n  kubernetes_cluster_id = azurerm_kubernetes_cluster.c.id\n'
            '  name = "w"\n  vm_size = "Standard_D4s_v5"\n  os_type = "Windows"\n}\n')
    decls, _ = _tf({"main.tf": text})
    assert [d.address for d in decls] == ["azurerm_kubernetes_cluster.c", "azurerm_kubernetes_cluster_node_pool.w"]
    pool = decls[1]
    assert (pool.location, pool.kubernetes_version, pool.mode) == ("swedencentral", "1.24", "User")
    assert (decls[0].pool, decls[0].mode) == ("sys", "System")


def test_terraform_module_arguments_reach_the_module_and_registry_modules_are_skipped():
    root = ('module "a" {\n  source = "./mod"\n  size = "Standard_F2s_v2"\n}\n'
            'module "b" {\n  source = "./mod"\n}\n'
            'module "c" {\n  source = "Azure/aks/azurerm"\n  version = "9.0.0"\n}\n')
    child = ('variable "size" {\n  default = "Standard_D2s_v5"\n}\n'
             'resource "azurerm_linux_virtual_machine" "vm" {\n  size = var.size\n}\n')
    decls, problems = _tf({"main.tf": root, "mod/main.tf": child}, roots=(".",))
    assert problems == []
    got = {(d.address, d.size.value, str(d.size.source), d.size.via) for d in decls}
    assert got == {("module.a.azurerm_linux_virtual_machine.vm", "Standard_F2s_v2", "main.tf:3:10", "module.a argument size"),
                   ("module.b.azurerm_linux_virtual_machine.vm", "Standard_D2s_v5", "mod/main.tf:2:13",
                    "default of var.size")}


@pytest.mark.parametrize("text,line", [
    ('resource "a" "b" {\n  size = "x\n}\n', 3),
    ('resource "a" "b" {\n  size = \n}\n', 2),
    ('resource "a" "b" {\n  x = 1\n', 3),
], ids=["unclosed string", "missing value", "unclosed block"])
def test_terraform_syntax_errors_name_file_and_line(text, line):
    with pytest.raises(terraform.TfSyntaxError) as exc:
        terraform.parse_file(text, "bad.tf")
    assert exc.value.spot.file == "bad.tf"
    assert exc.value.spot.line in (line - 1, line)
    assert str(exc.value).startswith(f"bad.tf:{exc.value.spot.line}:")


# --------------------------------------------------------------------------- Bicep


def _bicep(files: dict[str, str], roots, given=None):
    parsed = {p: bicep.parse_file(t, p) for p, t in files.items()}
    return bicep.declarations(parsed, list(roots), given or {})


def test_bicep_params_vars_loops_and_modules():
    main = ("param size string = 'Standard_DS2_v2'\nvar pools = [\n  { name: 'a', vmSize: 'Standard_E4s_v3' }\n]\n"
            "resource aks 'Microsoft.ContainerService/managedClusters@2024-09-01' = {\n  name: 'aks'\n"
            "  location: 'westeurope'\n  properties: {\n    agentPoolProfiles: [\n      {\n        name: 'sys'\n"
            "        vmSize: size\n        mode: 'System'\n      }\n    ]\n  }\n}\n"
            "resource p 'Microsoft.ContainerService/managedClusters/agentPools@2024-09-01' = [for x in pools: {\n"
            "  parent: aks\n  name: x.name\n  properties: {\n    vmSize: x.vmSize\n  }\n}]\n"
            "module m 'vm.bicep' = {\n  name: 'm'\n  params: {\n    vmSize: 'Standard_B2ms'\n  }\n}\n")
    child = ("param vmSize string\nresource vm 'Microsoft.Compute/virtualMachines@2024-07-01' = {\n  name: 'vm'\n"
             "  location: resourceGroup().location\n  properties: {\n    hardwareProfile: {\n      vmSize: vmSize\n    }\n  }\n}\n")
    decls, problems = _bicep({"main.bicep": main, "vm.bicep": child}, ["main.bicep"])
    assert problems == []
    got = {(d.address, d.pool, d.size.value, str(d.size.source), d.location) for d in decls}
    assert got == {
        ("aks", "sys", "Standard_DS2_v2", "main.bicep:1:21", "westeurope"),
        ("p[0]", "a", "Standard_E4s_v3", "main.bicep:3:24", "westeurope"),
        ("m.vm", "", "Standard_B2ms", "main.bicep:28:13", ""),
    }


def test_bicepparam_values_win_and_expressions_are_not_literal():
    main = ("param size string = 'Standard_D4s_v5'\nparam other string\n"
            "resource vm 'Microsoft.Compute/virtualMachines@2024-07-01' = {\n  name: 'vm'\n  properties: {\n"
            "    hardwareProfile: { vmSize: size }\n  }\n}\n"
            "resource ss 'Microsoft.Compute/virtualMachineScaleSets@2024-07-01' = {\n  name: 'ss'\n  sku: { name: other }\n}\n")
    using, values, problems = bicep.parse_bicepparam(
        "using './main.bicep'\n\nparam size = 'Standard_DS3_v2'\nparam other = concat('a', 'b')\n", "main.bicepparam")
    assert (using, problems) == ("./main.bicep", [])
    decls, _ = _bicep({"main.bicep": main}, ["main.bicep"], {"main.bicep": values})
    vm, ss = decls
    assert (vm.size.value, str(vm.size.source), vm.size.via) == ("Standard_DS3_v2", "main.bicepparam:3:14", "main.bicepparam")
    assert not ss.size.known and "concat()" in ss.size.reason


def test_bicep_syntax_error_names_file_and_line():
    with pytest.raises(bicep.BicepSyntaxError) as exc:
        bicep.parse_file("param a string = 'x'\nresource r 'T@1' = {\n  name: 'r'\n", "bad.bicep")
    assert exc.value.spot.file == "bad.bicep" and exc.value.spot.line >= 3


# --------------------------------------------------------------------------- ARM


def test_arm_parameters_variables_child_resources_and_expressions():
    text = ('{\n  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
            '  "contentVersion": "1.0.0.0",\n'
            '  "parameters": {"size": {"type": "string", "defaultValue": "Standard_D2_v2"}, "loc": {"type": "string"}},\n'
            '  "variables": {"ss": "Standard_F2s_v2"},\n'
            '  "resources": [\n'
            '    {"type": "Microsoft.Compute/virtualMachines", "name": "vm", "location": "[parameters(\'loc\')]",\n'
            '     "properties": {"hardwareProfile": {"vmSize": "[parameters(\'size\')]"}}},\n'
            '    {"type": "Microsoft.Compute/virtualMachineScaleSets", "name": "ss", "sku": {"name": "[variables(\'ss\')]"}},\n'
            '    {"type": "Microsoft.ContainerService/managedClusters", "name": "aks", "location": "eastus",\n'
            '     "properties": {"agentPoolProfiles": []},\n'
            '     "resources": [{"type": "agentPools", "name": "w", "properties": {"vmSize": "[reference(\'x\').vmSize]"}}]}\n'
            '  ]\n}\n')
    node = arm.parse_json(text, "t.json")
    assert arm.is_template(node)
    decls, problems = arm.declarations(node, "t.json", {})
    assert problems == []
    vm, ss, pool = decls
    assert (vm.size.value, str(vm.size.source), vm.location) == ("Standard_D2_v2", "t.json:4:61", "")
    assert (ss.size.value, ss.size.via) == ("Standard_F2s_v2", "variable ss")
    assert pool.address == "Microsoft.ContainerService/managedClusters/agentPools/aks/w"
    assert (pool.size.known, pool.location, pool.pool) == (False, "eastus", "w")
    params = arm.parse_json('{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#",'
                            '\n "parameters": {"size": {"value": "Standard_A2_v2"}}}', "p.json")
    given, _ = arm.parameter_values(params, "p.json")
    vm2 = arm.declarations(node, "t.json", given)[0][0]
    assert (vm2.size.value, str(vm2.size.source), vm2.size.via) == ("Standard_A2_v2", "p.json:2:35", "p.json")


@pytest.mark.parametrize("text,spot", [
    ('{"a": 1,\n "b": }', (2, 7)),
    ('{"a": [1, 2\n', (2, 1)),
    ('{"a" 1}', (1, 6)),
    ('{"a": tru}', (1, 7)),
], ids=["missing value", "unclosed array", "missing colon", "bad literal"])
def test_arm_json_errors_name_line_and_column(text, spot):
    with pytest.raises(arm.JsonSyntaxError) as exc:
        arm.parse_json(text, "bad.json")
    assert (exc.value.spot.line, exc.value.spot.column) == spot


# --------------------------------------------------------------------------- replacement without facts


@pytest.mark.parametrize("size,expected", [
    ("Standard_DS2_v2", "Standard_D2s_v5"),  # 2 vCPUs, 7 GiB: Dsv5 (8 GiB) fits
    ("Standard_DS1_v2", "Standard_D2s_v5"),  # 1 vCPU: the line starts at 2
    ("Standard_D4s_v3", "Standard_D4s_v5"),
    ("Standard_A2m_v2", "Standard_E2s_v5"),  # 16 GiB on 2 vCPUs: memory-optimised
    ("Standard_B2ms", "Standard_B2s_v2"),
], ids=lambda v: v)
def test_successor_fit_without_facts_names_a_real_size_of_the_successor_line(size, expected):
    repl = successor_fit(size, cat.load_catalog())
    assert repl.vm_size == expected
    assert "region not checked" in repl.why


def test_successor_fit_gives_nothing_rather_than_a_guess():
    # NCv3's successors are accelerator lines whose sizes this table does not hold.
    assert successor_fit("Standard_NC6s_v3", cat.load_catalog()) is None


def test_arm_nested_deployment_reads_the_inline_template_with_its_parameters():
    """What `az bicep build` makes of a module: Microsoft.Resources/deployments with an inline template."""
    text = ('{\n  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
            '  "contentVersion": "1.0.0.0",\n'
            '  "parameters": {"size": {"type": "string", "defaultValue": "Standard_B2ms"}},\n'
            '  "resources": [{\n'
            '    "type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "jumpbox",\n'
            '    "properties": {\n'
            '      "expressionEvaluationOptions": {"scope": "inner"}, "mode": "Incremental",\n'
            '      "parameters": {"vmSize": {"value": "[parameters(\'size\')]"}, "other": {"value": "Standard_F2s_v2"}},\n'
            '      "template": {\n'
            '        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",\n'
            '        "contentVersion": "1.0.0.0",\n'
            '        "parameters": {"vmSize": {"type": "string"}, "other": {"type": "string"}},\n'
            '        "resources": [\n'
            '          {"type": "Microsoft.Compute/virtualMachines", "name": "vm",\n'
            '           "properties": {"hardwareProfile": {"vmSize": "[parameters(\'vmSize\')]"}}},\n'
            '          {"type": "Microsoft.Compute/virtualMachineScaleSets", "name": "ss",\n'
            '           "sku": {"name": "[parameters(\'other\')]"}}\n'
            '        ]\n      }\n    }\n  }]\n}\n')
    decls, problems = arm.declarations(arm.parse_json(text, "main.json"), "main.json", {})
    assert problems == []
    got = [(d.address, d.size.value, str(d.size.source), d.size.via) for d in decls]
    assert got == [
        ("Microsoft.Resources/deployments/jumpbox.Microsoft.Compute/virtualMachines/vm", "Standard_B2ms",
         "main.json:4:61", "defaultValue of parameter size"),
        ("Microsoft.Resources/deployments/jumpbox.Microsoft.Compute/virtualMachineScaleSets/ss", "Standard_F2s_v2",
         "main.json:9:86", "Microsoft.Resources/deployments/jumpbox parameter other"),
    ]


def test_terraform_orchestrated_scale_set_mix_reads_every_size_of_the_profile():
    text = ('resource "azurerm_orchestrated_virtual_machine_scale_set" "mix" {\n  sku_name = "Mix"\n'
            '  sku_profile {\n    allocation_strategy = "LowestPrice"\n'
            '    vm_sizes = ["Standard_D4s_v5", "Standard_F4s_v2"]\n  }\n}\n')
    decls, _ = _tf({"main.tf": text})
    assert [(d.attribute, d.size.value, str(d.size.spot)) for d in decls] == [
        ("sku_profile.vm_sizes[0]", "Standard_D4s_v5", "main.tf:5:17"),
        ("sku_profile.vm_sizes[1]", "Standard_F4s_v2", "main.tf:5:36"),
    ]


@pytest.mark.parametrize("expr,size", [
    ('try(each.value.vm_size, "Standard_D2s_v5")', {"a": "Standard_F2s_v2", "b": "Standard_D2s_v5"}),
    ('lookup(each.value, "vm_size", "Standard_D2s_v5")', {"a": "Standard_F2s_v2", "b": "Standard_D2s_v5"}),
    ('coalesce(lookup(each.value, "vm_size", null), "Standard_D2s_v5")', {"a": "Standard_F2s_v2", "b": "Standard_D2s_v5"}),
], ids=["try", "lookup", "coalesce"])
def test_terraform_functions_that_pick_a_size_from_literals(expr, size):
    text = ('variable "pools" {\n  default = {\n    a = { vm_size = "Standard_F2s_v2" }\n    b = {}\n  }\n}\n'
            'resource "azurerm_kubernetes_cluster_node_pool" "p" {\n  for_each = var.pools\n  name = each.key\n'
            f'  vm_size = {expr}\n}}\n')
    decls, _ = _tf({"main.tf": text})
    assert {d.pool: d.size.value for d in decls} == size


def test_terraform_try_does_not_hide_an_unknown_value():
    text = ('variable "s" {}\nresource "azurerm_linux_virtual_machine" "a" {\n'
            '  size = try(var.s, "Standard_D2s_v5")\n}\n')
    [d], _ = _tf({"main.tf": text})
    assert not d.size.known and "var.s has no default" in d.size.reason


@pytest.mark.parametrize("expr,value", [
    ("[concat('Standard_', parameters('family'), '_v5')]", "Standard_D4s_v5"),
    ("[format('{0}_{1}', 'Standard', parameters('family'))]", "Standard_D4s"),
    ("[toLower(variables('v').size)]", "standard_e2s_v5"),
    ("[[not an expression]", "[not an expression]"),
], ids=["concat", "format", "property-of-variable", "escaped"])
def test_arm_expressions_that_follow_from_the_template(expr, value):
    text = ('{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",'
            ' "contentVersion": "1.0.0.0",'
            ' "parameters": {"family": {"type": "string", "defaultValue": "D4s"}},'
            ' "variables": {"v": {"size": "Standard_E2s_v5"}},'
            ' "resources": [{"type": "Microsoft.Compute/virtualMachines", "name": "vm",'
            f' "properties": {{"hardwareProfile": {{"vmSize": "{expr}"}}}}}}]}}')
    [d], _ = arm.declarations(arm.parse_json(text, "t.json"), "t.json", {})
    assert (d.size.known, d.size.value) == (True, value)


def test_arm_functions_known_only_at_deployment_are_named():
    text = ('{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",'
            ' "contentVersion": "1.0.0.0", "resources": [{"type": "Microsoft.Compute/virtualMachines", "name": "vm",'
            ' "properties": {"hardwareProfile": {"vmSize": "[reference(\'other\').size]"}}}]}')
    [d], _ = arm.declarations(arm.parse_json(text, "t.json"), "t.json", {})
    assert not d.size.known and "reference() is evaluated at deployment" in d.size.reason


@pytest.mark.parametrize("text", [
    "type pool = {\n  @description('name')\n  name: string\n  size: ('a' | 'b')?\n}\n",
    "@export()\ntype sizes = 'Standard_D2s_v5'\n  | 'Standard_D4s_v5'\n",
    "param p 'a' | 'b' = 'a'\n",
    "param p resourceInput<'Microsoft.Compute/virtualMachines@2024-03-01'>.properties\n",
    "param p {\n  @minLength(1)\n  name: string\n}\n",
])
def test_bicep_user_defined_types_are_read_and_later_lines_keep_their_numbers(text):
    from scanner.sources.iac import bicep

    tail = "param size string = 'Standard_DS2_v2'\n"
    parsed = bicep.parse_file(text + tail, "t.bicep")
    assert parsed.params["size"][1].line == text.count("\n") + 1


def test_arm_copy_loops_expand_and_a_count_that_is_not_literal_is_named():
    from scanner.sources.iac import arm

    text = json.dumps({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "parameters": {"n": {"type": "int"}, "sizes": {"type": "array", "defaultValue": ["Standard_D2_v2", "Standard_F2s_v2"]}},
        "resources": [
            {"type": "Microsoft.Compute/virtualMachines", "name": "[concat('vm', copyIndex(1))]",
             "copy": {"name": "vms", "count": "[length(parameters('sizes'))]"},
             "properties": {"hardwareProfile": {"vmSize": "[parameters('sizes')[copyIndex('vms')]]"}}},
            {"type": "Microsoft.Compute/virtualMachines", "name": "vmx", "copy": {"name": "x", "count": "[parameters('n')]"},
             "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v5"}}},
            {"type": "Microsoft.ContainerService/managedClusters", "name": "aks", "properties": {"copy": [
                {"name": "agentPoolProfiles", "count": "[parameters('n')]", "input": {"vmSize": "Standard_D2_v2"}}]}},
        ]}, indent=1)
    decls, problems = arm.declarations(arm.parse_json(text, "t.json"), "t.json", {})
    assert problems == []
    got = [(d.address, d.size.known, d.size.value) for d in decls]
    assert got[:2] == [("Microsoft.Compute/virtualMachines/vm1", True, "Standard_D2_v2"),
                       ("Microsoft.Compute/virtualMachines/vm2", True, "Standard_F2s_v2")]
    assert [(a, k) for a, k, _v in got[2:]] == [("Microsoft.Compute/virtualMachines/vmx[copy]", True),
                                                ("Microsoft.ContainerService/managedClusters/aks", False)]
    assert "copy count is not literal" in decls[3].size.reason


def test_bicep_object_spread_merges_and_later_properties_win():
    text = ("var base = {\n  vmSize: 'Standard_D2_v2'\n  x: 1\n}\n"
            "resource vm 'Microsoft.Compute/virtualMachines@2024-03-01' = {\n  name: 'v'\n  properties: {\n"
            "    hardwareProfile: {\n      ...base\n      x: 2\n    }\n  }\n}\n"
            "resource vm2 'Microsoft.Compute/virtualMachines@2024-03-01' = {\n  name: 'w'\n  properties: {\n"
            "    hardwareProfile: {\n      ...base\n      vmSize: 'Standard_D4s_v5'\n    }\n  }\n}\n")
    parsed = bicep.parse_file(text, "s.bicep")
    decls, problems = bicep.declarations({"s.bicep": parsed}, ["s.bicep"], {})
    assert problems == []
    assert [(d.address, d.size.value, d.size.spot.line) for d in decls] == [
        ("vm", "Standard_D2_v2", 2), ("vm2", "Standard_D4s_v5", 19)]


def test_terraform_for_expression_filters_compare_literals():
    text = ('variable "pools" {\n  default = [\n    { name = "a", mode = "User", size = "Standard_D2_v2" },\n'
            '    { name = "b", mode = "System", size = "Standard_D3_v2" },\n  ]\n}\n'
            'resource "azurerm_kubernetes_cluster_node_pool" "p" {\n'
            '  for_each = { for p in var.pools : p.name => p if p.mode == "User" && !(p.name != "a") }\n'
            '  vm_size  = each.value.size\n}\n')
    decls, problems = _tf({"main.tf": text}, "")
    assert problems == []
    assert [(d.address, d.size.value, d.size.source.line) for d in decls] == [
        ('azurerm_kubernetes_cluster_node_pool.p["a"]', "Standard_D2_v2", 3)]
