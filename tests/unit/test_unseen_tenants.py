"""The scan on a tenant nobody looked at while the parsers were written (tests/fixtures/tenants).

Every export shape a user may feed (`az aks list`, `az graph query` with its data wrapper, ARM REST
`{"value"}`, `az vm list [-d]`, `az vmss list`, `az vm list-skus [--all]`, the REST SKU page) is
read together, judged with the built-in catalogue, and checked for what a user would notice:
which findings appear, their severity, what the replacement is and that it keeps the constraints
(Gen2, no fewer vCPUs/GB/GPUs, same architecture, unrestricted in the resource's zones, not
retiring), and that the commands parse and carry the pool's options.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest

from scanner.core import judge
from scanner.core.catalog import load_catalog
from scanner.core.model import ResourceKind, Rule, Severity
from scanner.sources.resource_graph import load_inventory_files
from scanner.sources.skus import load_sku_files
from tests.conftest import FIXTURES, ROOT

TENANT = FIXTURES / "tenants"
TODAY = date(2026, 8, 15)
RETIRING, GEN1, IMAGE = Rule.RETIRING_SIZE, Rule.GEN1_ONLY_SIZE, Rule.GEN1_NODE_IMAGE
LOW, HIGH, CRIT, INFO = Severity.LOW, Severity.HIGH, Severity.CRITICAL, Severity.INFO


@pytest.fixture(scope="module")
def tenant():
    inv = load_inventory_files([str(TENANT / "inventory")])
    skus = load_sku_files([str(TENANT / "skus")])
    catalog = load_catalog()
    findings = judge.evaluate(inv, catalog, skus, TODAY)
    return inv, skus, catalog, findings


def _of(findings, name, pool=""):
    return [f for f in findings if f.resource.name == name and f.resource.pool == pool]


def _argv(command: str) -> list[str]:
    return shlex.split(command)


def _flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def _add(f) -> list[str]:
    [add] = [_argv(c) for c in f.commands if c.startswith("az aks nodepool add")]
    return add


# (id, resource name, pool, {rule: severity} expected (nothing else), checks)
# checks: repl = replacement size (None: no replacement), add = {flag: value} on `az aks nodepool add`
# (None: flag absent), note = text in the message, restricted, first = first command starts with,
# no_commands = True, steps = the verbs of the az vm / vmss commands in order.
SCENARIOS = [
    ("system-pool-only-system-zones-autoscaler", "aks-prod-weu", "system", {RETIRING: LOW},
     dict(repl="Standard_D2s_v5", add={"--mode": "System", "--enable-cluster-autoscaler": "--min-count",
                                       "--min-count": "1", "--max-count": "3", "--labels": None})),
    ("spot-max-price-minus-one-labels-taints-special-chars", "aks-prod-weu", "userspot", {RETIRING: LOW},
     dict(add={"--priority": "Spot", "--spot-max-price": "-1", "--eviction-policy": "Delete",
               "--node-taints": "example.com/dedicated=batch_jobs:NoExecute,team=home:PreferNoSchedule",
               "--min-count": "0"})),
    ("spot-max-price-number-deallocate", "aks-prod-weu", "spotprice", {RETIRING: LOW},
     dict(repl="Standard_D4s_v5", add={"--spot-max-price": "0.0452", "--eviction-policy": "Deallocate",
                                       "--node-count": "2"})),
    ("ephemeral-os-160gb-needs-a-local-disk-that-holds-it", "aks-prod-weu", "ephem", {RETIRING: LOW},
     dict(repl="Standard_D4ds_v6", add={"--node-osdisk-type": "Ephemeral", "--node-osdisk-size": "160",
                                        "--max-pods": "250", "--zones": "1"})),
    ("windows-ossku-empty-k8s-1.29-is-windows2022", "aks-prod-weu", "win22", {RETIRING: LOW, IMAGE: LOW},
     dict(add={"--os-sku": "Windows2022", "--aks-custom-headers": "UseWindowsGen2VM=true", "--os-type": "Windows"})),
    # No new WindowsAnnual pools since 2026-05-15 (windows-annual-channel-retirement.md @ 769df1f5): on 1.29
    # the rebuilt pool runs Windows Server 2022 on Gen2.
    ("windows-annual-moves-to-windows2022", "aks-prod-weu", "wann", {RETIRING: LOW, IMAGE: LOW},
     dict(add={"--os-sku": "Windows2022", "--aks-custom-headers": "UseWindowsGen2VM=true"},
          note="no new WindowsAnnual pools")),
    ("windows2019-6-char-name-on-gen1-only-size", "aks-prod-weu", "npwin1", {RETIRING: LOW, GEN1: LOW},
     dict(add={"--os-sku": "Windows2022", "--aks-custom-headers": "UseWindowsGen2VM=true"}, note="ltsc2022")),
    # AzureLinux on Kubernetes 1.29 is Azure Linux 2.0, whose images are gone: AzureLinux3
    # (upgrade-os-version.md @ d91258ba, azure-linux-retirement.md @ 6262afe3).
    ("azure-linux-burstable", "aks-prod-weu", "azl", {RETIRING: LOW},
     dict(repl="Standard_B2s_v2", add={"--os-sku": "AzureLinux3"}, note="Azure Linux 2.0")),
    ("mariner-fsv2", "aks-prod-weu", "mariner", {RETIRING: LOW},
     dict(repl="Standard_D4ls_v5", add={"--os-sku": "AzureLinux3"}, note="Azure Linux 2.0")),
    ("ubuntu2204-dsv3", "aks-prod-weu", "u2204", {RETIRING: LOW}, dict(add={"--os-sku": "Ubuntu2204"})),
    ("linux-ossku-empty-gen1-image", "aks-prod-weu", "linuxnosku", {RETIRING: LOW, IMAGE: LOW},
     dict(add={"--os-sku": None, "--os-type": "Linux"})),
    ("arm64-dpsv5-no-finding", "aks-prod-weu", "armv5", {}, {}),
    ("arm64-dpsv6-no-finding", "aks-prod-weu", "armv6", {}, {}),
    ("gpu-ncv3-retired", "aks-prod-weu", "gpu", {RETIRING: CRIT},
     dict(repl="Standard_NC24ads_A100_v4", add={"--node-taints": "sku=gpu:NoSchedule",
                                                "--labels": "accelerator=nvidia"})),
    ("stopped-pool-gen1-only", "aks-prod-weu", "stopped", {RETIRING: LOW, GEN1: LOW},
     dict(add={"--node-count": "0"})),
    ("node-image-version-missing", "aks-prod-weu", "noimage", {}, {}),
    ("gen1-image-on-current-size-is-info", "aks-prod-weu", "gen1img", {IMAGE: INFO},
     dict(repl=None, first="az aks nodepool upgrade")),
    ("pool-name-at-12-chars", "aks-prod-weu", "abcdefghijk1", {RETIRING: LOW}, {}),
    ("unknown-family-dsv7", "aks-prod-weu", "v7", {}, {}),
    ("size-missing-everywhere-ebdsv6", "aks-prod-weu", "ebds", {}, {}),
    ("h100-no-finding", "aks-prod-weu", "h100", {}, {}),
    ("virtual-machines-pool-several-sizes", "aks-prod-weu", "vmpool", {RETIRING: LOW, GEN1: LOW},
     dict(first="az aks nodepool manual-scale update")),
    ("virtual-machines-pool-preview-sizes-list", "aks-east", "vmprev", {RETIRING: LOW},
     dict(note="aks-preview")),
    ("stopped-cluster-k8s-1.24-windows-default-2019", "aks-legacy", "win19", {RETIRING: LOW, IMAGE: LOW},
     dict(first="az aks start", add={"--os-sku": "Windows2022"}, note="ltsc2022")),
    ("windows-ossku-empty-k8s-1.25-not-moved-off-2019", "aks-legacy", "wnew", {RETIRING: LOW},
     dict(first="az aks start", note="The cluster is stopped")),
    ("zone-restricted-size-system-pool", "aks-east", "system", {RETIRING: LOW},
     dict(restricted=True, repl="Standard_D2ds_v5", add={"--zones": "1"})),
    ("zones-1-2-not-touching-the-restricted-zone", "aks-east", "zonal12", {RETIRING: LOW},
     dict(restricted=False, repl="Standard_D2ds_v5")),
    ("region-without-sku-file", "aks-br", "system", {RETIRING: LOW},
     dict(repl=None, no_commands=True, note="no SKU facts for brazilsouth")),
    ("region-without-sku-file-gen1-unknown", "aks-br", "gen1", {RETIRING: LOW}, dict(repl=None)),
    ("size-not-offered-in-region", "aks-swe", "system", {RETIRING: LOW},
     dict(repl="Standard_D2s_v6", note="not in the SKU list of swedencentral")),
    ("vm-gen1-only-retiring", "vm-gen1", "", {RETIRING: LOW, GEN1: LOW},
     dict(repl="Standard_D2s_v5", steps=["deallocate", "resize", "start"])),
    ("vm-gen1-only-gen2-only-target-trusted-launch", "vm-gen1-swe", "", {RETIRING: LOW, GEN1: LOW},
     dict(repl="Standard_D2s_v6", steps=["deallocate", "resize", "update", "resize", "start"], note="GPT")),
    ("vm-already-trusted-launch", "vm-tl", "", {RETIRING: LOW},
     dict(steps=["deallocate", "resize", "start"])),
    ("vm-deallocated-windows-av2", "vm-dealloc", "", {RETIRING: LOW, GEN1: LOW},
     dict(steps=["deallocate", "resize", "start"])),
    ("vm-nvv3-gpu-zonal", "vm-viz", "", {RETIRING: HIGH},
     dict(repl="Standard_NC24ads_A100_v4", steps=["get-instance-view", "deallocate", "resize", "start"])),
    ("vm-node-of-aks-vm-pool-not-twice", "aks-vmpool-12345678-vm0", "", {}, {}),
    ("vm-node-of-cluster-not-in-inventory", "aks-vmp-87654321-vm0", "", {RETIRING: LOW, GEN1: LOW},
     dict(no_commands=True, note="Managed by AKS (pool vmp of cluster aks-gone in rg-gone")),
    ("vm-in-flexible-set-same-size-judged-through-set", "flex-web_0a1b2c3d", "", {}, {}),
    ("vm-in-flexible-set-other-size", "flex-web_9f8e7d6c", "", {RETIRING: LOW}, {}),
    ("vm-in-flexible-set-without-profile", "flexnone_1", "", {RETIRING: LOW}, {}),
    ("vmss-uniform-manual", "vmss-manual", "", {RETIRING: LOW}, dict(steps=["update", "update-instances"])),
    ("vmss-uniform-automatic", "vmss-auto", "", {RETIRING: LOW}, dict(steps=["update"], note="Automatic")),
    ("vmss-uniform-rolling", "vmss-rolling", "", {RETIRING: LOW}, dict(steps=["update", "rolling-upgrade"])),
    ("vmss-rest-rolling-zone-restricted", "vmss-east", "", {RETIRING: LOW},
     dict(restricted=True, repl="Standard_D2ds_v5", steps=["update", "rolling-upgrade"])),
    ("vmss-flexible", "flex-web", "", {RETIRING: LOW}, dict(steps=["update"], note="Flexible orchestration")),
    ("vmss-flexible-without-size", "flex-none", "", {}, {}),
    ("vmss-aks-own-cluster-not-twice", "aks-system-12345678-vmss", "", {}, {}),
    ("vmss-aks-rest-upper-case-sub-not-twice", "aks-system-11112222-vmss", "", {}, {}),
    ("vmss-aks-cluster-not-in-inventory", "aks-user-87654321-vmss", "", {RETIRING: LOW},
     dict(no_commands=True, repl="Standard_D2s_v5", note="resize it through the node pool")),
]


@pytest.mark.parametrize(("name", "pool", "expected", "checks"), [s[1:] for s in SCENARIOS],
                         ids=[s[0] for s in SCENARIOS])
def test_scenario(tenant, name, pool, expected, checks):
    *_, findings = tenant
    got = _of(findings, name, pool)
    assert {f.rule: f.severity for f in got} == expected, [(f.rule, f.severity, f.message) for f in got]
    if "note" in checks:
        assert any(checks["note"] in f.message for f in got), [f.message for f in got]
    for f in got:
        if "repl" in checks:
            assert (f.replacement.vm_size if f.replacement else None) == checks["repl"], f.message
        if "restricted" in checks:
            assert f.restricted is checks["restricted"]
        if checks.get("no_commands"):
            assert f.commands == ()
        if "first" in checks and f.rule is not GEN1:
            assert f.commands[0].startswith(checks["first"]), f.commands
        if "steps" in checks:
            verbs = [_argv(c)[2] for c in f.commands]
            assert verbs == checks["steps"], f.commands
        if "add" in checks and f.rule is RETIRING:
            add = _add(f)
            for flag, value in checks["add"].items():
                if value is None:
                    assert flag not in add, add
                else:
                    assert _flag(add, flag) == value, (flag, add)


def test_every_scenario_resource_exists_in_the_inventory(tenant):
    inv, *_ = tenant
    names = {(c.name, p.name) for c in inv.clusters for p in c.pools}
    names |= {(r.name, "") for r in (*inv.vms, *inv.scale_sets)}
    aks_plumbing = {"aks-vmpool-12345678-vm0", "aks-system-12345678-vmss", "aks-system-11112222-vmss"}
    missing = [(s[1], s[2]) for s in SCENARIOS if (s[1], s[2]) not in names and s[1] not in aks_plumbing]
    assert missing == []
    # AKS plumbing of clusters in the inventory is read into the pool, not listed on its own
    assert not aks_plumbing & {n for n, _ in names}


def test_every_export_shape_is_read(tenant):
    inv, skus, *_ = tenant
    assert inv.errors == ()
    assert {c.name for c in inv.clusters} == {"aks-prod-weu", "aks-legacy", "aks-east", "aks-big", "aks-br", "aks-swe"}
    weu = next(c for c in inv.clusters if c.name == "aks-prod-weu")
    assert weu.location == "westeurope" and weu.subscription_id == weu.subscription_id.lower()
    assert next(c for c in inv.clusters if c.name == "aks-legacy").location == "westeurope"
    assert next(c for c in inv.clusters if c.name == "aks-legacy").power_state == "Stopped"
    vmprev = next(p for c in inv.clusters for p in c.pools if p.name == "vmprev")
    assert set(vmprev.vm_sizes) == {"Standard_DS2_v2", "Standard_D2s_v3", "Standard_D4s_v5"} and vmprev.count == 3
    dealloc = next(v for v in inv.vms if v.name == "vm-dealloc")
    assert dealloc.power_state == "deallocated"
    # SKU files: `--all` with restrictions, REST with a disk SKU mixed in, a list without --all
    assert {loc for _, loc in skus.scopes()} == {"westeurope", "eastus2", "swedencentral"}
    assert skus.get("any", "westeurope", "Standard_D2as_v5").restricted
    assert skus.get("any", "westeurope", "Standard_D4s_v5").restricted_zones == frozenset({"3"})
    assert skus.get("any", "eastus2", "Premium_LRS") is None
    assert skus.get("any", "swedencentral", "Standard_DS2_v2") is None


def test_no_finding_is_reported_twice(tenant):
    *_, findings = tenant
    ids = Counter(f.id for f in findings)
    assert [i for i, n in ids.items() if n > 1] == []
    keys = Counter((f.resource.id.lower(), f.resource.pool, f.rule, f.vm_size.lower()) for f in findings)
    assert [k for k, n in keys.items() if n > 1] == []


def test_replacements_keep_every_constraint(tenant):
    inv, skus, catalog, findings = tenant
    zones_of = {(c.id, p.name): p.zones for c in inv.clusters for p in c.pools}
    zones_of |= {(r.id, ""): r.zones for r in (*inv.vms, *inv.scale_sets)}
    checked = 0
    for f in findings:
        if f.replacement is None:
            continue
        sub, loc = f.resource.subscription_id, f.resource.location
        new = skus.get(sub, loc, f.replacement.vm_size)
        old = skus.get(sub, loc, f.vm_size) or skus.facts(f.vm_size)
        assert new is not None and old is not None, f.message
        assert new.supports_gen2, f.replacement
        assert new.cpu_architecture == old.cpu_architecture
        assert new.vcpus >= old.vcpus and new.memory_gb >= old.memory_gb and new.gpus >= old.gpus
        assert (new.gpus == 0) == (old.gpus == 0)
        zones = zones_of[(f.resource.id, f.resource.pool)]
        assert new.available_in_zones(tuple(zones) if new.zones else ()), (f.replacement, zones)
        assert not catalog.retirements_for(new.name), new.name
        if f.resource.kind is ResourceKind.AKS_NODEPOOL:
            assert new.vcpus >= 2 and new.memory_gb >= 2
        checked += 1
    assert checked > 140


def test_commands_parse_and_name_their_scope(tenant):
    *_, findings = tenant
    for f in findings:
        for c in f.commands:
            argv = _argv(c)
            if argv[0] == "az" and argv[1] != "aks" or argv[:3] == ["az", "aks", "nodepool"]:
                assert _flag(argv, "--subscription") == f.resource.subscription_id, c
                assert _flag(argv, "--resource-group") == f.resource.resource_group, c


def test_virtual_machines_pool_entries_of_one_size_and_of_several(tenant):
    """A one-size entry is changed by the GA manual-scale command; an entry listing several sizes for
    one count (preview API) has no GA command: the finding gives the aks-preview one, labelled."""
    *_, findings = tenant
    by_size = {f.vm_size: f for f in _of(findings, "aks-east", "vmprev")}
    one = by_size["Standard_DS2_v2"]
    assert one.commands[0].startswith("az aks nodepool manual-scale update")
    assert _flag(_argv(one.commands[0]), "--vm-sizes") == one.replacement.vm_size
    shared = by_size["Standard_D2s_v3"]
    assert shared.commands == () and shared.replacement is not None
    assert "(preview)" in shared.message and "--current-vm-sizes" in shared.message


def test_virtual_machines_pool_autoscale_profiles_are_read_and_moved(tenant):
    """scale.autoscale entries (GA API) are sizes of the pool too; the retiring one moves to the size of
    the pool's other profile (one family per pool), its min and max counts added there."""
    *_, findings = tenant
    [f] = _of(findings, "aks-prod-weu", "vmauto")
    assert f.vm_size == "Standard_DS3_v2" and f.replacement.vm_size == "Standard_D4s_v5"
    update, delete = (_argv(c) for c in f.commands)
    assert update[:5] == ["az", "aks", "nodepool", "auto-scale", "update"]
    assert (_flag(update, "--current-node-vm-size"), _flag(update, "--min-count"), _flag(update, "--max-count")) == (
        "Standard_D4s_v5", "1", "6")
    assert delete[:5] == ["az", "aks", "nodepool", "auto-scale", "delete"] and "--yes" in delete
    assert _flag(delete, "--current-node-vm-size") == "Standard_DS3_v2"


def test_labels_and_taints_survive_the_shell_exactly(tenant):
    *_, findings = tenant
    [f] = [f for f in _of(findings, "aks-prod-weu", "userspot")]
    add = _add(f)
    labels = add[add.index("--labels") + 1:add.index("--node-taints")]
    assert labels == ["app.example.com/tier=web.front", "cost-center=cc_1234", "team=a-b"]
    tags = add[add.index("--tags") + 1:add.index("--tags") + 4]
    assert tags == ["cost-center=cc;rm -rf ~", "note=web front & $HOME", "team=a&b"]
    # AKS sets the Spot label and taint itself; passing them is refused
    assert not any(x.startswith("kubernetes.azure.com/") for x in add)


def test_a_cluster_with_100_pools_gets_distinct_valid_new_names(tenant):
    inv, _, _, findings = tenant
    big = next(c for c in inv.clusters if c.name == "aks-big")
    assert len(big.pools) == 100
    rebuilt = [f for f in findings if f.resource.name == "aks-big" and f.rule is RETIRING]
    assert len(rebuilt) == 99
    new = [_flag(_add(f), "--name") for f in rebuilt]
    assert len(set(new)) == len(new)
    assert not set(new) & {p.name for p in big.pools}
    assert all(re.fullmatch(r"[a-z][a-z0-9]{0,11}", n) for n in new)


@pytest.mark.parametrize(("pool", "limit"), [("npwin1", 6), ("abcdefghijk1", 12), ("win22", 6), ("wann", 6)])
def test_new_pool_names_at_the_length_limit(tenant, pool, limit):
    *_, findings = tenant
    [f] = [f for f in _of(findings, "aks-prod-weu", pool) if f.rule is RETIRING]
    name = _flag(_add(f), "--name")
    assert name != pool and re.fullmatch(r"[a-z][a-z0-9]*", name) and len(name) <= limit


def test_python_m_scanner_scan_reads_the_tenant(tmp_path):
    out = tmp_path / "scan.json"
    proc = subprocess.run(
        [sys.executable, "-m", "scanner", "scan", "--inventory", str(TENANT / "inventory"), "--skus",
         str(TENANT / "skus"), "--today", TODAY.isoformat(), "--format", "json", "--output", str(out),
         "--no-store", "--no-notify"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(out.read_text())
    text = json.dumps(doc)
    assert "brazilsouth" in text  # the region without SKU facts is named
    assert "aks-gone" in text and "Standard_NC24ads_A100_v4" in text
