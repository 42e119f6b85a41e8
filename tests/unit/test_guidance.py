"""Replacement choice and command shapes of scanner.core.guidance, table-driven."""

from __future__ import annotations

import re
import shlex
from dataclasses import replace
from datetime import date

import pytest

from scanner.core.catalog import Catalog
from scanner.core.guidance import SUCCESSORS, Guide, new_pool_name, series_key, successors
from scanner.core.model import Cluster, NodePool, Retirement, ScaleSet, Sku, VirtualMachine
from scanner.core.sizes import parse_series
from scanner.sources.skus import SkuIndex

SUB = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"
REGION = "westeurope"


def sku(name, vcpus=2, mem=8.0, gens="V1,V2", arch="x64", gpus=0, zones=("1", "2", "3"), restricted=False,
        restricted_zones=(), premium=True):
    return Sku(name=name, location=REGION, vcpus=vcpus, memory_gb=mem, hyperv_generations=frozenset(gens.split(",")),
               cpu_architecture=arch, gpus=gpus, zones=frozenset(zones), restricted=restricted,
               restricted_zones=frozenset(restricted_zones),
               capabilities={"PremiumIO": "True" if premium else "False",
                             "EphemeralOSDiskSupported": "True" if premium else "False"})


REGION_SKUS = {
    s.name: s for s in [
        sku("Standard_DS2_v2", 2, 7), sku("Standard_DS3_v2", 4, 14), sku("Standard_DS13_v2", 8, 56),
        sku("Standard_D2_v2", 2, 7, gens="V1", premium=False), sku("Standard_A2_v2", 2, 4, gens="V1", premium=False),
        sku("Standard_D2s_v3", 2, 8),
        sku("Standard_D2s_v5", 2, 8), sku("Standard_D4s_v5", 4, 16), sku("Standard_D8s_v5", 8, 32),
        sku("Standard_D2ds_v5", 2, 8), sku("Standard_D2as_v5", 2, 8), sku("Standard_D2s_v6", 2, 8, gens="V2"),
        sku("Standard_E8s_v5", 8, 64), sku("Standard_D2_v5", 2, 8, premium=False),
        sku("Standard_B2ms", 2, 8), sku("Standard_B2s_v2", 2, 8), sku("Standard_B2ls_v2", 2, 4),
        sku("Standard_F4s_v2", 4, 8), sku("Standard_F4als_v6", 4, 8, gens="V2"), sku("Standard_D4ls_v5", 4, 8),
        sku("Standard_D2ps_v5", 2, 8, gens="V2", arch="Arm64"), sku("Standard_D4ps_v5", 4, 16, gens="V2", arch="Arm64"),
        sku("Standard_E2ps_v5", 2, 16, gens="V2", arch="Arm64"),
        sku("Standard_NV12s_v3", 12, 112, gpus=1), sku("Standard_NV36ads_A10_v5", 36, 440, gens="V2", gpus=1),
        sku("Standard_NC64as_T4_v3", 64, 440, gpus=4), sku("Standard_D48s_v5", 48, 192),
        sku("Standard_HB120rs_v2", 120, 456, zones=()), sku("Standard_HB120rs_v3", 120, 448, zones=()),
        sku("Standard_D2s_v5-1", 1, 8), sku("Standard_DC2s_v3", 2, 16, gens="V2"),
    ]
}

RETIREMENTS = (
    Retirement(id="dv2", title="Dv2/DSv2", retires_on=date(2028, 5, 1), series=("Dv2", "DSv2")),
    Retirement(id="dv3", title="Dv3", retires_on=date(2029, 11, 15), series=("Dv3", "Dsv3")),
    Retirement(id="av2", title="Av2", retires_on=date(2028, 11, 15), series=("Av2",)),
    Retirement(id="b", title="B", retires_on=date(2028, 11, 15), series=("B",)),
    Retirement(id="f", title="F", retires_on=date(2028, 11, 15), series=("Fsv2",)),
    Retirement(id="nvv3", title="NVv3", retires_on=date(2026, 9, 30), series=("NVv3",)),
    Retirement(id="hbv2", title="HBv2", retires_on=date(2027, 5, 31), series=("HBv2",)),
    # pretend an Arm64 size retires, to check the architecture constraint
    Retirement(id="arm", title="Dpsv5 (test)", retires_on=date(2030, 1, 1), sizes=("Standard_D2ps_v5",)),
)


def guide(*replace: Sku, drop=()) -> Guide:
    skus = dict(REGION_SKUS)
    for s in replace:
        skus[s.name] = s
    for name in drop:
        skus.pop(name)
    return Guide(SkuIndex.from_skus(skus.values()), Catalog(retirements=RETIREMENTS))


# --------------------------------------------------------------------------- replacement

REPLACEMENTS = {
    "DSv2 -> successor Dsv5": (guide(), "Standard_DS2_v2", (), None, "Standard_D2s_v5"),
    "restricted successor skipped": (guide(sku("Standard_D2s_v5", 2, 8, restricted=True)),
                                     "Standard_DS2_v2", (), None, "Standard_D2ds_v5"),
    "zone gap: successor missing a pool zone": (guide(sku("Standard_D2s_v5", 2, 8, restricted_zones=("3",))),
                                                "Standard_DS2_v2", ("1", "2", "3"), None, "Standard_D2ds_v5"),
    "zone gap does not matter outside the pool's zones": (
        guide(sku("Standard_D2s_v5", 2, 8, restricted_zones=("3",))), "Standard_DS2_v2", ("1", "2"), None,
        "Standard_D2s_v5"),
    "size not offered in a zone at all": (guide(sku("Standard_D2s_v5", 2, 8, zones=("1", "2"))),
                                          "Standard_DS2_v2", ("3",), None, "Standard_D2ds_v5"),
    "memory-heavy DS13_v2 fits E-series": (guide(), "Standard_DS13_v2", (), None, "Standard_E8s_v5"),
    "Gen1-only Dv2 -> Gen2 successor": (guide(), "Standard_D2_v2", (), None, "Standard_D2s_v5"),
    "GPU: no fewer GPUs, successor line": (guide(), "Standard_NV12s_v3", (), None, "Standard_NV36ads_A10_v5"),
    "GPU successor gone: other GPU size that fits": (guide(drop=("Standard_NV36ads_A10_v5",)),
                                                     "Standard_NV12s_v3", (), None, "Standard_NC64as_T4_v3"),
    "Arm64 stays Arm64": (guide(), "Standard_D2ps_v5", (), None, "Standard_E2ps_v5"),
    "B -> Bsv2": (guide(), "Standard_B2ms", (), None, "Standard_B2s_v2"),
    "System pool: no burstable": (guide(), "Standard_B2ms", (), NodePool("sys", mode="System"), "Standard_D2s_v5"),
    "F -> Falsv6": (guide(), "Standard_F4s_v2", (), NodePool("f"), "Standard_F4als_v6"),
    "successor line before a smaller size": (guide(drop=("Standard_D2s_v5", "Standard_D2ds_v5", "Standard_D2as_v5",
                                                         "Standard_D2s_v6")),
                                             "Standard_DS2_v2", (), None, "Standard_D4s_v5"),
    "retiring candidate (Dsv3) never chosen": (
        Guide(SkuIndex.from_skus([REGION_SKUS[n] for n in ("Standard_DS2_v2", "Standard_D2s_v3", "Standard_D4ls_v5")]),
              Catalog(retirements=RETIREMENTS)),
        "Standard_DS2_v2", (), None, "Standard_D4ls_v5"),
}


@pytest.mark.parametrize(("g", "size", "zones", "pool", "expected"), REPLACEMENTS.values(), ids=REPLACEMENTS.keys())
def test_replacement(g, size, zones, pool, expected):
    repl, why_not = g.replacement(SUB, REGION, size, zones, pool=pool)
    assert why_not == ""
    assert repl.vm_size == expected
    assert expected not in repl.alternatives and len(repl.alternatives) <= 2
    current, chosen = g.skus.get(SUB, REGION, size), g.skus.get(SUB, REGION, expected)
    assert chosen.supports_gen2 and chosen.cpu_architecture == current.cpu_architecture
    assert chosen.vcpus >= current.vcpus and chosen.memory_gb >= current.memory_gb and chosen.gpus >= current.gpus
    assert not g.catalog.retirements_for(expected)
    assert size in repl.why


@pytest.mark.parametrize(
    ("g", "size", "needle"),
    [(guide(), "Standard_HB120rs_v2", "too small"),
     (guide(drop=("Standard_D4ps_v5",)), "Standard_E2ps_v5", "not arm64"),
     (Guide(SkuIndex.from_skus([REGION_SKUS["Standard_DS2_v2"]]), Catalog(retirements=RETIREMENTS)),
      "Standard_DS2_v2", "no other size"),
     (guide(), "Standard_Unknown_v9", "not in the SKU list")],
    ids=["no-fitting-successor", "arm64-no-other-arm64-fits", "region-lists-only-itself", "size-unknown"],
)
def test_no_replacement_says_why(g, size, needle):
    repl, why_not = g.replacement(SUB, REGION, size)
    assert repl is None
    assert needle in why_not


def test_no_sku_facts_for_region():
    repl, why = guide().replacement(SUB, "brazilsouth", "Standard_DS2_v2")
    assert repl is None and "no SKU facts for brazilsouth" in why


def test_premium_storage_kept():
    repl, _ = guide(drop=("Standard_D2s_v5", "Standard_D2ds_v5", "Standard_D2as_v5", "Standard_D2s_v6")).replacement(
        SUB, REGION, "Standard_DS2_v2")
    assert repl.vm_size != "Standard_D2_v5"  # no premium storage on D2_v5


def test_constrained_and_confidential_sizes_are_not_offered():
    g = guide()
    repl, _ = g.replacement(SUB, REGION, "Standard_DS2_v2")
    assert {repl.vm_size, *repl.alternatives}.isdisjoint({"Standard_D2s_v5-1", "Standard_DC2s_v3"})


def test_answers_are_cached_per_question():
    g = guide()
    a = g.replacement(SUB, REGION, "Standard_DS2_v2", ("1", "2"))
    b = g.replacement(SUB, REGION, "standard_ds2_v2", ("2", "1"))
    assert a is b


def test_catalogue_replacement_series_preferred():
    ret = Retirement(id="dv2", title="x", retires_on=date(2028, 5, 1), series=("DSv2",), replacement_series=("Dasv5",))
    g = Guide(SkuIndex.from_skus(REGION_SKUS.values()), Catalog(retirements=(ret,)))
    repl, _ = g.replacement(SUB, REGION, "Standard_DS2_v2")
    assert repl.vm_size == "Standard_D2as_v5"


@pytest.mark.parametrize(
    ("size", "key"),
    [("Standard_D4s_v5", "dsv5"), ("Standard_NV36ads_A10_v5", "nvadsa10v5"), ("Standard_DS2_v2", "dsv2"),
     ("Standard_B2ms", "bms"), ("Standard_NC24ads_A100_v4", "ncadsa100v4"), ("Standard_F2als_v6", "falsv6"),
     # an accelerator that looks like a version ("V710") is not the version
     ("Standard_NV4ads_V710_v5", "nvadsv710v5"), ("standard_nv4ADS_v710_V5", "nvadsv710v5"),
     ("Basic_A1", "basica"), ("Standard_D2_v2_Promo", "dv2"), ("Standard_DS11-1_v2", "dsv2"),
     ("Standard_LRS", "standard_lrs")],
)
def test_series_key(size, key):
    assert series_key(size) == key


@pytest.mark.parametrize(
    ("size", "line"),
    [("Standard_DS2_v2", "dsv5"), ("Standard_D2_v2_Promo", "dsv5"), ("Standard_DS11-1_v2", "dsv5"),
     ("Standard_D4s_v3", "dsv5"), ("Standard_E4s_v3", "esv5"), ("Standard_E64i_v3", "esv5"),
     ("Standard_F4s_v2", "falsv6"), ("Standard_F4s", "falsv6"), ("Standard_B2ms", "bsv2"), ("Basic_A2", "dasv5"),
     ("Standard_A2m_v2", "easv5"), ("Standard_L8s", "lsv3"), ("Standard_L8s_v2", "lsv3"),
     ("Standard_H16mr", "hbrsv4"), ("Standard_HB120rs_v2", "hbrsv4"), ("Standard_NC24rs_v3", "ncadsa100v4"),
     ("Standard_NV4as_v4", "nvadsv710v5"), ("Standard_M192ids_v2", "msv3"), ("Standard_GS4-8", "esv5")],
)
def test_successor_lines_follow_the_series_of_the_size(size, line):
    assert successors(size)[0] == line


def test_successor_table_keys_are_canonical_series_names():
    # a key that is not what sizes.series_name writes would never be looked up
    for key in SUCCESSORS:
        assert parse_series(key).name == key


@pytest.mark.parametrize("size", ["Standard_D4s_v5", "Standard_NC24ads_A100_v4", "Standard_LRS", ""])
def test_no_successor_line_for_current_or_unknown_sizes(size):
    assert successors(size) == ()


def test_nvv4_without_catalogue_replacements_moves_to_its_v710_successor():
    # feed-derived retirements carry no replacement_series: the successor table decides
    nvv4 = Retirement(id="nvv4", title="NVv4", retires_on=date(2026, 9, 30), series=("NVv4",))
    skus = SkuIndex.from_skus([sku("Standard_NV8as_v4", 8, 28, gpus=1),
                               sku("Standard_NV12ads_A10_v5", 12, 110, gens="V2", gpus=1),
                               sku("Standard_NV8ads_V710_v5", 8, 40, gens="V2", gpus=1)])
    repl, _ = Guide(skus, Catalog(retirements=(nvv4,))).replacement(SUB, REGION, "Standard_NV8as_v4")
    assert repl.vm_size == "Standard_NV8ads_V710_v5"
    assert repl.alternatives == ("Standard_NV12ads_A10_v5",)
    assert repl.why.startswith("successor line for Standard_NV8as_v4")


# --------------------------------------------------------------------------- commands

CLUSTER = Cluster(id=f"/subscriptions/{SUB}/resourceGroups/rg (prod)/providers/Microsoft.ContainerService/managedClusters/aks1",
                  name="aks1", subscription_id=SUB, resource_group="rg (prod)", location=REGION,
                  kubernetes_version="1.31.2")


def pool_commands(pool: NodePool, size: str, g: Guide | None = None, names=()) -> list[list[str]]:
    advice = (g or guide()).for_pool(CLUSTER, pool, size, names or (pool.name,))
    return [shlex.split(c) for c in advice.commands]


def flag(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_every_aks_command_names_group_cluster_and_subscription():
    pool = NodePool("system", mode="System", vm_sizes=("Standard_DS2_v2",), count=3)
    cmds = pool_commands(pool, "Standard_DS2_v2")
    for argv in cmds:
        if argv[:2] == ["az", "aks"] and argv[2] != "get-credentials":
            assert flag(argv, "--resource-group") == "rg (prod)"
            assert flag(argv, "--cluster-name") == "aks1"
            assert flag(argv, "--subscription") == SUB
    kubectl = [i for i, a in enumerate(cmds) if a[0] == "kubectl"]
    creds = [i for i, a in enumerate(cmds) if a[:3] == ["az", "aks", "get-credentials"]]
    assert creds and creds[0] < kubectl[0]


SHAPES = {
    "system pool replaced by a System pool before the old one goes": (
        NodePool("system", mode="System", vm_sizes=("Standard_DS2_v2",), count=3, max_pods=30,
                 os_disk_size_gb=128, os_disk_type="Managed"),
        {"--mode": "System", "--node-count": "3", "--max-pods": "30", "--node-osdisk-size": "128",
         "--node-vm-size": "Standard_D2s_v5", "--os-type": "Linux"},
        ["--enable-cluster-autoscaler"],
    ),
    "autoscaler carried over": (
        NodePool("apps", vm_sizes=("Standard_DS2_v2",), count=4, enable_autoscaling=True, min_count=2, max_count=9,
                 zones=("1", "2", "3")),
        # the current count too (within min..max), so the new pool starts as big as the old one is now
        {"--min-count": "2", "--max-count": "9", "--mode": "User", "--node-count": "4"},
        [],
    ),
    "taints and labels carried, reserved ones dropped": (
        NodePool("tainted", vm_sizes=("Standard_DS2_v2",), count=1,
                 labels={"team": "a b", "kubernetes.azure.com/scalesetpriority": "spot"},
                 taints=("dedicated=db:NoSchedule", "gpu=true:NoExecute")),
        {"--node-taints": "dedicated=db:NoSchedule,gpu=true:NoExecute", "--labels": "team=a b"},
        [],
    ),
    "Spot pool": (
        NodePool("spot", vm_sizes=("Standard_DS2_v2",), count=0, priority="Spot", eviction_policy="Delete",
                 spot_max_price=-1.0, taints=("kubernetes.azure.com/scalesetpriority=spot:NoSchedule",)),
        {"--priority": "Spot", "--eviction-policy": "Delete", "--spot-max-price": "-1"},
        ["--node-taints"],
    ),
    "Windows2019 moves to Windows2022 with the Gen2 header": (
        NodePool("win19", vm_sizes=("Standard_DS2_v2",), count=2, os_type="Windows", os_sku="Windows2019"),
        {"--os-type": "Windows", "--os-sku": "Windows2022", "--aks-custom-headers": "UseWindowsGen2VM=true"},
        [],
    ),
    "subnets carried over; the new pool takes the control plane's version, not the pool's older patch": (
        NodePool("net", vm_sizes=("Standard_DS2_v2",), count=1, orchestrator_version="1.30.5",
                 vnet_subnet_id="/subscriptions/x/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
                 pod_subnet_id="/subscriptions/x/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/p"),
        {"--kubernetes-version": "1.31.2",
         "--vnet-subnet-id": "/subscriptions/x/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/a",
         "--pod-subnet-id": "/subscriptions/x/resourceGroups/n/providers/Microsoft.Network/virtualNetworks/v/subnets/p"},
        [],
    ),
}


@pytest.mark.parametrize(("pool", "flags", "absent"), SHAPES.values(), ids=SHAPES.keys())
def test_scale_set_pool_rebuild_shape(pool, flags, absent):
    cmds = pool_commands(pool, "Standard_DS2_v2")
    verbs = [" ".join(a[:4]) if a[0] == "az" else " ".join(a[:2]) for a in cmds]
    assert verbs == ["az aks nodepool add", "az aks get-credentials --resource-group", "kubectl cordon",
                     "kubectl drain", "az aks nodepool delete"]
    add, _, cordon, drain, delete = cmds
    for name, value in flags.items():
        assert flag(add, name) == value, name
    for name in absent:
        assert name not in add
    new = flag(add, "--name")
    limit = 6 if pool.os_type == "Windows" else 12
    assert re.fullmatch(rf"[a-z][a-z0-9]{{0,{limit - 1}}}", new) and new != pool.name
    assert flag(delete, "--name") == pool.name
    assert cordon[-2:] == ["-l", f"agentpool={pool.name}"]
    assert {"--ignore-daemonsets", "--delete-emptydir-data"} <= set(drain)
    if pool.zones:
        i = add.index("--zones")
        assert add[i + 1:i + 1 + len(pool.zones)] == list(pool.zones)


def test_virtual_machines_pool_changes_sizes_in_place():
    pool = NodePool("mixed", pool_type="VirtualMachines", vm_sizes=("Standard_DS2_v2", "Standard_D4s_v5"),
                    size_counts=(("Standard_DS2_v2", 3), ("Standard_D4s_v5", 1)))
    [update] = pool_commands(pool, "Standard_DS2_v2")
    assert update[:5] == ["az", "aks", "nodepool", "manual-scale", "update"]
    assert flag(update, "--current-vm-sizes") == "Standard_DS2_v2"
    assert flag(update, "--vm-sizes") == "Standard_D2s_v5" and flag(update, "--node-count") == "3"
    assert flag(update, "--subscription") == SUB


def test_virtual_machines_pool_merges_into_a_size_it_already_has():
    pool = NodePool("mixed", pool_type="VirtualMachines", vm_sizes=("Standard_DS2_v2", "Standard_D2s_v5"),
                    size_counts=(("Standard_DS2_v2", 3), ("Standard_D2s_v5", 1)))
    update, delete = pool_commands(pool, "Standard_DS2_v2")
    assert flag(update, "--current-vm-sizes") == "Standard_D2s_v5" and flag(update, "--node-count") == "4"
    assert delete[4] == "delete" and flag(delete, "--current-vm-sizes") == "Standard_DS2_v2"


def test_linux_gen1_image_needs_only_a_node_image_upgrade():
    pool = NodePool("old", vm_sizes=("Standard_D4s_v5",), node_image_version="AKSUbuntu-2204containerd-202401.09.0")
    advice = guide().for_node_image(CLUSTER, pool, "Standard_D4s_v5", ("old",))
    upgrade, show = [shlex.split(c) for c in advice.commands]
    assert upgrade[:4] == ["az", "aks", "nodepool", "upgrade"] and "--node-image-only" in upgrade
    assert flag(show, "--query") == "nodeImageVersion"


def test_windows2022_gen1_image_rebuilds_on_same_size_with_header():
    pool = NodePool("win22", vm_sizes=("Standard_D4s_v5",), count=2, os_type="Windows", os_sku="Windows2022",
                    node_image_version="AKSWindows-2022-containerd-20348.2700.240911")
    advice = guide().for_node_image(CLUSTER, pool, "Standard_D4s_v5", ("win22",))
    add = shlex.split(advice.commands[0])
    assert flag(add, "--node-vm-size") == "Standard_D4s_v5"
    assert flag(add, "--aks-custom-headers") == "UseWindowsGen2VM=true"
    assert len(flag(add, "--name")) <= 6


VM = VirtualMachine(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1",
                    name="vm1", subscription_id=SUB, resource_group="rg", location=REGION, vm_size="Standard_A2_v2")


def test_vm_deallocate_resize_start():
    advice = guide().for_vm(VM)
    cmds = [shlex.split(c) for c in advice.commands]
    assert [a[:3] for a in cmds] == [["az", "vm", "deallocate"], ["az", "vm", "resize"], ["az", "vm", "start"]]
    assert "V1" in REGION_SKUS[advice.replacement.vm_size].hyperv_generations  # Gen1 VM: no conversion needed
    for argv in cmds:
        assert flag(argv, "--subscription") == SUB and flag(argv, "--resource-group") == "rg"


def test_gen1_vm_to_gen2_only_target_gets_trusted_launch_step():
    # A Gen1 VM cannot be upgraded to Trusted Launch on a Gen1-only size, nor resized straight onto a
    # Gen2-only one: it passes through a size offering both (here one too small to be the target).
    bridge = sku("Standard_DS1_v2", 1, 3.5)
    only_gen2 = Guide(SkuIndex.from_skus([REGION_SKUS["Standard_A2_v2"], REGION_SKUS["Standard_D2s_v6"], bridge]),
                      Catalog(retirements=RETIREMENTS))
    advice = only_gen2.for_vm(VM)
    cmds = [shlex.split(c) for c in advice.commands]
    assert advice.replacement.vm_size == "Standard_D2s_v6"
    assert [a[2] for a in cmds] == ["deallocate", "resize", "update", "resize", "start"]
    assert flag(cmds[1], "--size") == "Standard_DS1_v2" and flag(cmds[3], "--size") == "Standard_D2s_v6"
    assert flag(cmds[2], "--security-type") == "TrustedLaunch"
    assert "GPT" in advice.note


def test_gen1_vm_without_a_two_generation_size_in_the_region_gets_no_failing_commands():
    only_gen2 = Guide(SkuIndex.from_skus([REGION_SKUS["Standard_A2_v2"], REGION_SKUS["Standard_D2s_v6"]]),
                      Catalog(retirements=RETIREMENTS))
    advice = only_gen2.for_vm(VM)
    assert advice.replacement.vm_size == "Standard_D2s_v6" and advice.commands == ()
    assert "both generations" in advice.note and REGION in advice.note


@pytest.mark.parametrize(
    ("mode", "policy", "second"),
    [("Uniform", "Manual", ["az", "vmss", "update-instances"]), ("Uniform", "Rolling", ["az", "vmss", "rolling-upgrade"]),
     ("Flexible", "", None), ("Uniform", "Automatic", None)],
    ids=["uniform-manual", "uniform-rolling", "flexible", "uniform-automatic"],
)
def test_scale_set_update_sku_and_roll(mode, policy, second):
    vmss = ScaleSet(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web",
                    name="web", subscription_id=SUB, resource_group="rg", location=REGION, vm_size="Standard_DS2_v2",
                    orchestration_mode=mode, upgrade_policy=policy)
    advice = guide().for_scale_set(vmss)
    cmds = [shlex.split(c) for c in advice.commands]
    assert cmds[0][:3] == ["az", "vmss", "update"] and flag(cmds[0], "--set") == "sku.name=Standard_D2s_v5"
    if second:
        assert cmds[1][:3] == second and len(cmds) == 2
    else:
        assert len(cmds) == 1


@pytest.mark.parametrize(
    ("old", "os_type", "target", "taken", "expected"),
    [("nodepool1", "Linux", "Standard_D4s_v5", (), "nodepoolv5"),
     ("userv3", "Linux", "Standard_D4s_v5", (), "userv5"),
     ("averyverylongpool", "Linux", "Standard_D4s_v5", (), "averyverylv5"),
     ("win19", "Windows", "Standard_D4s_v5", ("win19", "win22"), "win1v5"),
     ("npv5", "Linux", "Standard_D4s_v5", ("npv5",), "np2"),
     ("sys", "Linux", "Standard_HX176rs", (), "sysg2"),
     ("1pool", "Linux", "Standard_D4s_v5", (), "np1poolv5")],
)
def test_new_pool_name(old, os_type, target, taken, expected):
    name = new_pool_name(old, os_type, target, taken)
    assert name == expected
    assert name != old and name not in taken


def test_values_are_shell_quoted():
    pool = NodePool("apps", vm_sizes=("Standard_DS2_v2",), count=1, labels={"team": "x; rm -rf /"})
    add = guide().for_pool(CLUSTER, pool, "Standard_DS2_v2", ("apps",)).commands[0]
    assert "'rg (prod)'" in add and "'team=x; rm -rf /'" in add


# --------------------------------------------------------------------------- constraints (issue 10)


def _sized(name, vcpus, mem, **caps):
    base = {"PremiumIO": "True", "EphemeralOSDiskSupported": "True", "AcceleratedNetworkingEnabled": "True",
            "MaxResourceVolumeMB": "0", "DiskControllerTypes": "SCSI"}
    base.update({k: str(v) for k, v in caps.items()})
    return Sku(name=name, location=REGION, vcpus=vcpus, memory_gb=mem, hyperv_generations=frozenset({"V1", "V2"}),
               zones=frozenset({"1", "2", "3"}), family=caps.get("family", ""), capabilities=base)


def _constraint_guide(*skus):
    return Guide(SkuIndex.from_skus(skus), Catalog(retirements=RETIREMENTS))


WINDOWS_VM = VirtualMachine(id=f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/sql",
                            name="sql", subscription_id=SUB, resource_group="rg", location=REGION,
                            vm_size="Standard_DS13_v2", os_type="Windows")


@pytest.mark.parametrize(("vm", "current", "candidates", "want", "reason"), [
    # A Windows VM with a temp disk moves to a 'd' size: E8s_v5 has none (issue 10's example)
    (WINDOWS_VM, _sized("Standard_DS13_v2", 8, 56, MaxResourceVolumeMB=114688),
     [_sized("Standard_E8s_v5", 8, 64), _sized("Standard_E8ds_v5", 8, 64, MaxResourceVolumeMB=307200)],
     "Standard_E8ds_v5", "no local temp disk"),
    # NVMe-only targets are turned down for a SCSI VM
    (replace(WINDOWS_VM, os_type="Linux", vm_size="Standard_DS3_v2"), _sized("Standard_DS3_v2", 4, 14),
     [_sized("Standard_D4s_v6", 4, 16, DiskControllerTypes="NVMe"), _sized("Standard_D4as_v5", 4, 16)],
     "Standard_D4as_v5", "NVMe disk controller only"),
    # Trusted Launch stays on
    (replace(WINDOWS_VM, os_type="Linux", vm_size="Standard_DS3_v2", security_type="TrustedLaunch"),
     _sized("Standard_DS3_v2", 4, 14),
     [_sized("Standard_D4s_v5", 4, 16, TrustedLaunchDisabled="True"), _sized("Standard_D4as_v5", 4, 16)],
     "Standard_D4as_v5", "no Trusted Launch"),
    # accelerated networking is not lost
    (replace(WINDOWS_VM, os_type="Linux", vm_size="Standard_DS3_v2"), _sized("Standard_DS3_v2", 4, 14),
     [_sized("Standard_D4s_v5", 4, 16, AcceleratedNetworkingEnabled="False"), _sized("Standard_D4as_v5", 4, 16)],
     "Standard_D4as_v5", "no accelerated networking"),
], ids=["windows-temp-disk", "nvme-only", "trusted-launch", "accelerated-networking"])
def test_vm_constraints_turn_down_with_a_reason(vm, current, candidates, want, reason):
    g = _constraint_guide(current, *candidates)
    advice = g.for_vm(vm)
    assert advice.replacement.vm_size == want
    turned = dict(advice.replacement.rejected)
    assert any(reason in r for r in turned.values()), turned
    assert any(reason in r for r, _ in advice.replacement.turned_down)
    assert f"--size {want}" in " ".join(advice.commands)


def test_virtual_machines_pool_stays_in_one_family():
    pool = NodePool("vmp", pool_type="VirtualMachines", vm_sizes=("Standard_DS2_v2", "Standard_D4s_v5"),
                    size_counts=(("Standard_DS2_v2", 2), ("Standard_D4s_v5", 1)))
    g = _constraint_guide(_sized("Standard_DS2_v2", 2, 7, family="standardDSv2Family"),
                          _sized("Standard_D4s_v5", 4, 16, family="standardDSv5Family"),
                          _sized("Standard_D2as_v5", 2, 8, family="standardDASv5Family"),
                          _sized("Standard_D2s_v5", 2, 8, family="standardDSv5Family"))
    advice = g.for_pool(CLUSTER, pool, "Standard_DS2_v2", ("vmp",))
    assert advice.replacement.vm_size == "Standard_D2s_v5"
    assert ("Standard_D2as_v5", "another family than the pool's other sizes") in advice.replacement.rejected


def test_ephemeral_pool_never_lands_on_a_size_without_local_disk():
    pool = NodePool("spot", vm_sizes=("Standard_F8s_v2",), count=1, os_disk_type="Ephemeral", os_disk_size_gb=64)
    g = _constraint_guide(_sized("Standard_F8s_v2", 8, 16, MaxResourceVolumeMB=65536),
                          _sized("Standard_F8als_v6", 8, 16, EphemeralOSDiskSupported="False"),
                          _sized("Standard_D8ds_v5", 8, 32, MaxResourceVolumeMB=307200))
    advice = g.for_pool(CLUSTER, pool, "Standard_F8s_v2", ("spot",))
    assert advice.replacement.vm_size == "Standard_D8ds_v5"
    assert ("Standard_F8als_v6", "no ephemeral OS disk") in advice.replacement.rejected


# --------------------------------------------------------------------------- in-place resize (preview)

# The parameters learn.microsoft.com/azure/aks/resize-node-pool ("Resize a VMSS node pool in place
# (preview)") gives `az aks nodepool update --node-vm-size` (aks-preview), plus --subscription.
PREVIEW_FLAGS = {"--resource-group", "--cluster-name", "--name", "--subscription", "--node-vm-size"}


def _preview(pool, old, new, *extra):
    g = _constraint_guide(old, new, *extra)
    return g.in_place_preview(CLUSTER, pool, old.name, new.name)


@pytest.mark.parametrize(("pool", "old", "new", "offered"), [
    (NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3), _sized("Standard_D8s_v3", 8, 32),
     _sized("Standard_D8s_v5", 8, 32), True),
    (NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3, max_surge="0"), _sized("Standard_D8s_v3", 8, 32),
     _sized("Standard_D8s_v5", 8, 32), False),
    (NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3), _sized("Standard_D8s_v3", 8, 32),
     _sized("Standard_D8s_v6", 8, 32, DiskControllerTypes="NVMe"), False),
    (NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3), _sized("Standard_D8s_v3", 8, 32),
     replace(_sized("Standard_D8as_v6", 8, 32), hyperv_generations=frozenset({"V2"})), False),
    (NodePool("win", vm_sizes=("Standard_D8s_v3",), count=3, os_type="Windows", os_sku="Windows2019"),
     _sized("Standard_D8s_v3", 8, 32), _sized("Standard_D8s_v5", 8, 32), False),  # the OS must move too
    (NodePool("vmp", pool_type="VirtualMachines", vm_sizes=("Standard_D8s_v3",)), _sized("Standard_D8s_v3", 8, 32),
     _sized("Standard_D8s_v5", 8, 32), False),
], ids=["same-facts", "max-surge-0", "nvme-only", "gen2-only", "os-moves", "virtual-machines-pool"])
def test_in_place_resize_only_where_nothing_but_the_size_changes(pool, old, new, offered):
    got = _preview(pool, old, new)
    assert bool(got) is offered
    if got:
        install, update = (shlex.split(c) for c in got)
        assert install == ["az", "extension", "add", "--name", "aks-preview"]
        assert update[:4] == ["az", "aks", "nodepool", "update"]
        flags = {a for a in update if a.startswith("--")}
        assert flags <= PREVIEW_FLAGS, flags - PREVIEW_FLAGS
        assert flag(update, "--node-vm-size") == new.name and flag(update, "--name") == pool.name


def test_the_preview_path_is_a_labelled_alternative_never_a_command():
    pool = NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3)
    g = _constraint_guide(_sized("Standard_D8s_v3", 8, 32), _sized("Standard_D8s_v5", 8, 32))
    advice = g.for_pool(CLUSTER, pool, "Standard_D8s_v3", ("apps",))
    assert advice.commands[0].startswith("az aks nodepool add")  # the rebuild stays the default
    assert not any("nodepool update" in c or "aks-preview" in c for c in advice.commands)
    assert "Preview alternative (aks-preview extension" in advice.note


def test_properties_not_carried_are_named_with_what_to_do():
    pool = NodePool("apps", vm_sizes=("Standard_D8s_v3",), count=3, unknown_properties=("brandNewSetting",),
                    properties={"kubeletDiskType": "Temporary", "securityProfile.sshAccess": "LocalUser",
                                "creationData.sourceResourceId": "/subscriptions/x/resourceGroups/r/providers/"
                                "Microsoft.ContainerService/snapshots/s1"})
    g = _constraint_guide(_sized("Standard_D8s_v3", 8, 32), _sized("Standard_D8s_v5", 8, 32))
    advice = g.for_pool(CLUSTER, pool, "Standard_D8s_v3", ("apps",))
    assert "kubeletDiskType (" in advice.note and "ARM/Bicep" in advice.note
    assert "creationData.sourceResourceId (" in advice.note and "snapshot" in advice.note
    assert "sshAccess" not in advice.note  # LocalUser is what AKS gives the new pool anyway
    assert "brandNewSetting" in advice.note and "az aks nodepool show" in advice.note
    assert "--snapshot-id" not in advice.commands[0]
