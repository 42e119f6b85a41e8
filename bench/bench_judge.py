"""evaluate() on a large synthetic tenant: 10,000 clusters x 4 pools, plus VMs and scale sets.

    .venv/bin/python bench/bench_judge.py [--clusters N] [--subscriptions N]

Uses the bundled catalogue and the sample tenant's SKU files (samples/skus). Prints the time of
evaluate() with and without guidance, findings per second and peak memory. No network.

Issue 10 (every pool property carried, OS moves, constraints with reasons) against the tree before
it (main at cd76c4d), this same bench, one after the other on the shared 2-core machine (load ~10):
worst case, 70,000 findings with guidance: 7.52 s before, 9.11 s after (1.21x); typical, 35,000:
4.07 s before, 5.56 s after (1.37x). The target is within 2x.

Issue 14 (memos with exact keys shared between resources: tests/unit/test_judge_memo.py), main at
69f45dc against perf-judge, one after the other on the quiet 2-core machine: worst case 3.06 s ->
1.84 s with guidance (1.30 -> 0.68 s without), traced peak 133 -> 84 MiB; typical 2.06 -> 0.97 s,
71 -> 45 MiB. Findings unchanged.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.core import catalog, judge  # noqa: E402
from scanner.core.model import Cluster, Inventory, NodePool, ScaleSet, VirtualMachine  # noqa: E402
from scanner.sources.skus import load_sku_files  # noqa: E402

REGIONS = ("westeurope", "northeurope", "eastus")
# worst case: most sizes retiring or Gen1-only; typical: one pool size in four is.
WORST = ("Standard_DS2_v2", "Standard_D4s_v5", "Standard_F8s_v2", "Standard_D8s_v3", "Standard_D2_v2",
         "Standard_B4ms", "Standard_DS3_v2", "Standard_E4s_v5")
TYPICAL = ("Standard_D4s_v5", "Standard_D8ds_v5", "Standard_DS2_v2", "Standard_E4s_v5", "Standard_D4as_v5",
           "Standard_D2s_v5", "Standard_F8s_v2", "Standard_D16s_v5")
POOL_SIZES = WORST


# A pool carrying the writable properties a real one does (issue 10: every one is carried to the
# rebuilt pool); only where the model has them, so this bench also runs on older trees.
_PROPERTIES = {
    "enableFIPS": True, "enableEncryptionAtHost": True, "scaleDownMode": "Deallocate", "maxPods": 110,
    "osDiskSizeGB": 128, "osDiskType": "Managed", "tags": {"owner": "team", "cost-center": "cc-1"},
    "nodeLabels": {"workload": "apps"}, "upgradeSettings.maxSurge": "33%",
    "upgradeSettings.drainTimeoutInMinutes": 45, "securityProfile.enableSecureBoot": True,
    "securityProfile.enableVTPM": True, "kubeletConfig": {"cpuManagerPolicy": "static"},
    "networkProfile.allowedHostPorts": [{"portStart": 8443, "portEnd": 8443, "protocol": "TCP"}],
}


def _props(i: int) -> dict:
    if "properties" not in NodePool.__dataclass_fields__:
        return {}
    return {"properties": dict(_PROPERTIES, tags={"owner": f"team{i % 50}", "cost-center": "cc-1"})}


def tenant(n_clusters: int, n_subs: int, sizes: tuple[str, ...] = WORST) -> Inventory:
    global POOL_SIZES
    POOL_SIZES = sizes
    clusters, vms, sets = [], [], []
    for i in range(n_clusters):
        sub = f"00000000-0000-0000-0000-{i % n_subs:012d}"
        loc = REGIONS[i % len(REGIONS)]
        pools = (
            NodePool("system", mode="System", vm_sizes=(POOL_SIZES[i % 8],), count=3, zones=("1", "2", "3"),
                     node_image_version="AKSUbuntu-2204gen2containerd-202409.23.0"),
            NodePool("apps", vm_sizes=(POOL_SIZES[(i + 1) % 8],), enable_autoscaling=True, min_count=1, max_count=9,
                     node_image_version="AKSUbuntu-2204containerd-202401.09.0", **_props(i)),
            NodePool("win", vm_sizes=(POOL_SIZES[(i + 2) % 8],), os_type="Windows", os_sku="Windows2019", count=2,
                     node_image_version="AKSWindows-2019-containerd-17763.6293.240905"),
            NodePool("mixed", pool_type="VirtualMachines", vm_sizes=(POOL_SIZES[(i + 3) % 8], "Standard_D4s_v5"),
                     size_counts=((POOL_SIZES[(i + 3) % 8], 2), ("Standard_D4s_v5", 1))),
        )
        clusters.append(Cluster(id=f"/subscriptions/{sub}/resourceGroups/rg{i}/providers/Microsoft.ContainerService/"
                                   f"managedClusters/aks{i}", name=f"aks{i}", subscription_id=sub,
                                resource_group=f"rg{i}", location=loc, pools=pools))
        vms.append(VirtualMachine(id=f"/subscriptions/{sub}/resourceGroups/rg{i}/providers/Microsoft.Compute/"
                                     f"virtualMachines/vm{i}", name=f"vm{i}", subscription_id=sub,
                                  resource_group=f"rg{i}", location=loc, vm_size=POOL_SIZES[(i + 4) % 8]))
        sets.append(ScaleSet(id=f"/subscriptions/{sub}/resourceGroups/rg{i}/providers/Microsoft.Compute/"
                                f"virtualMachineScaleSets/ss{i}", name=f"ss{i}", subscription_id=sub,
                             resource_group=f"rg{i}", location=loc, vm_size=POOL_SIZES[(i + 5) % 8],
                             orchestration_mode="Uniform", upgrade_policy="Manual"))
    return Inventory(clusters=tuple(clusters), vms=tuple(vms), scale_sets=tuple(sets))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=10_000)
    ap.add_argument("--subscriptions", type=int, default=200)
    args = ap.parse_args()
    cat = catalog.merge(catalog.load_builtin(), [], [])
    skus = load_sku_files([str(ROOT / "samples" / "skus")])
    today = date(2026, 9, 10)
    for label, sizes in (("worst case", WORST), ("typical", TYPICAL)):
        inv = tenant(args.clusters, args.subscriptions, sizes)
        pools = sum(len(c.pools) for c in inv.clusters)
        print(f"{label}: {len(inv.clusters)} clusters, {pools} pools, {len(inv.vms)} VMs, {len(inv.scale_sets)} "
              f"scale sets, {args.subscriptions} subscriptions, {len(REGIONS)} regions")
        for guide in (False, True):
            t = time.perf_counter()
            findings = judge.evaluate(inv, cat, skus, today, guide=guide)
            dt = time.perf_counter() - t
            print(f"  evaluate(guide={guide}): {len(findings)} findings in {dt:.2f} s")
        tracemalloc.start()
        judge.evaluate(inv, cat, skus, today)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  peak memory of evaluate (traced, with guidance): {peak / 2**20:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
