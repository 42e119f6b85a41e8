"""Every `az` command the scanner prints, run by the real Azure CLI against the fake ARM.

For the sample tenant (samples/) and the test tenant (tests/fixtures/tenants) the scan's findings
are computed as `scan` computes them, then each finding's commands run, in order, in one Azure CLI
process (tests/fakes/azcli.py: `az cloud register --skip-endpoint-discovery`, `az login
--identity`, then `get_default_cli().invoke` per command), each finding starting from the
resources as exported. Asserted, per tenant:

- every `az` command exits 0 (kubectl lines are counted, not run);
- the agentPool PUT of `az aks nodepool add` carries every writable property of the pool it
  rebuilds (scanner/core/pool_flags.py), except the size, the Kubernetes version (the control
  plane's), the OS SKU where AKS needs another one, the node image, and the properties the finding
  names as not carried, with why;
- VM and scale-set PUTs carry the new size; VirtualMachines pools carry it in scale.manual.

The counts (commands run, failures, properties compared, dropped, explained) are printed.
A missing Azure CLI fails the test (`make azcli` installs it): it never skips.
"""

from __future__ import annotations

import json
import shlex
from datetime import date
from pathlib import Path

import pytest

from scanner.core import guidance, judge, node_os, pool_flags
from scanner.core.catalog import load_catalog
from scanner.core.model import ResourceKind
from scanner.sources.inventory_files import expand_paths, load_files, read_json_file, rows_from_document
from scanner.sources.skus import load_sku_files
from tests.conftest import FIXTURES, ROOT
from tests.fakes.arm_server import FakeArm
from tests.fakes.azcli import run_az

TENANTS = {
    "samples": (ROOT / "samples" / "inventory", ROOT / "samples" / "skus", date(2026, 9, 10)),
    "test-tenant": (FIXTURES / "tenants" / "inventory", FIXTURES / "tenants" / "skus", date(2026, 8, 15)),
    # red team: pools with property combinations the two above lack (tests/fixtures/tenants_unseen/make_unseen.py)
    "unseen": (FIXTURES / "tenants_unseen" / "inventory", FIXTURES / "tenants_unseen" / "skus", date(2026, 9, 10)),
}


def _rows(folder: Path) -> list[dict]:
    rows = []
    for path in expand_paths([str(folder)]):
        for row in rows_from_document(read_json_file(path), str(path)):
            if isinstance(row, dict) and row.get("id"):
                sub = str(row.get("subscriptionId") or row["id"].split("/")[2]).lower()
                rows.append(dict(row, subscriptionId=sub))
    return rows


def _lower(value):
    """JSON value with text compared case-insensitively (ARM enums are case-insensitive)."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, list):
        return [_lower(v) for v in value]
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items() if v is not None}
    return value


def _compare_pool(finding, cluster, pool, put: dict, report: dict) -> None:
    """The PUT of the new pool against the pool it rebuilds."""
    original, _ = pool_flags.read_properties(pool["profile"])
    sent, _ = pool_flags.read_properties(put.get("properties") or {})
    add = shlex.split(next(c for c in finding.commands if c.startswith("az aks nodepool add")))
    target = add[add.index("--node-vm-size") + 1]
    assert sent.get("vmSize") == target
    version = cluster.kubernetes_version
    if version:
        assert sent.get("orchestratorVersion") == version, "the new pool runs the control plane's version"
    expected_os = guidance.new_pool_os(pool["model"], version)
    assert str(sent.get("osSKU") or "") == expected_os.os_sku
    if expected_os.fips:
        assert sent.get("enableFIPS") is True, f"{expected_os.os_sku} requires a FIPS image"
    for prop, value in original.items():
        carry = pool_flags.TABLE[prop]
        report["compared"] += 1
        if carry.how in (pool_flags.CHANGED, pool_flags.DERIVED):
            continue
        if carry.how == pool_flags.NOT and not pool_flags.is_default(carry, value):
            assert prop in finding.message, f"{prop} is not carried and the finding must say so"
            report["explained"] += 1
            continue
        if prop == "enableFIPS" and expected_os.fips:
            continue
        if carry.how == pool_flags.FLAG and prop not in sent and f"{prop} (" in finding.message:
            report["explained"] += 1  # a value the flag cannot take (non-ASCII message of the day), said so
            continue
        want = value
        if prop == "nodeLabels":
            want = {k: v for k, v in value.items() if not k.startswith(pool_flags.RESERVED_LABEL_PREFIXES)}
        if prop == "nodeTaints" and pool["model"].priority.lower() == "spot":
            # AKS taints every Spot node itself (learn.microsoft.com/azure/aks/spot-node-pool)
            want = [t for t in value if not t.startswith(pool_flags.SPOT_TAINT)]
        if prop not in sent and (want in ({}, []) or pool_flags.is_default(carry, want)):
            continue  # nothing to send, or AKS's default is the old value
        if _lower(sent.get(prop)) != _lower(want):
            report["dropped"].append(f"{finding.resource.name}/{finding.resource.pool}: {prop} was {value!r}, "
                                     f"the new pool gets {sent.get(prop)!r}")


def _run_in_parts(rows: list[dict], groups: list[list[str]], tmp_path: Path, parts: int = 2):
    """The groups in `parts` Azure CLI processes at once, each against its own fake ARM holding the
    whole tenant (CI has two cores; each group starts from the exported state either way).
    Returns the merged AzRun, the PUTs by global group index, and the pool profiles as exported."""
    import threading

    fakes, runs, errors = [], [None] * parts, []
    for _ in range(parts):
        fake = FakeArm()
        for sub in {r["subscriptionId"] for r in rows}:
            fake.add_subscription(sub)
        fake.add_rows(rows)
        fakes.append(fake)
    shares = [list(range(k, len(groups), parts)) for k in range(parts)]
    profiles = {}  # as exported, before any command ran
    for doc in json.loads(json.dumps(fakes[0].resources)).values():
        for p in doc["properties"].get("agentPoolProfiles", []) or []:
            profiles[(doc["id"].lower(), p["name"].lower())] = p

    def work(k: int) -> None:
        try:
            with fakes[k].running(tmp_path / f"part{k}"):
                runs[k] = run_az(fakes[k], [groups[i] for i in shares[k]], tmp_path / f"part{k}")
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(parts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    results, puts = [], {}
    for k, run in enumerate(runs):
        for r in run.results:
            results.append(dict(r, group=shares[k][r["group"]]))
        for local, path, body in fakes[k].puts:
            puts.setdefault(shares[k][local], []).append((path, body))
    results.sort(key=lambda r: r["group"])
    merged = type(runs[0])(runs[0].setup, results, "", [r for r in results if r["exit"] != 0])
    return merged, puts, profiles


@pytest.mark.parametrize("tenant", TENANTS)
def test_every_az_command_runs_and_keeps_the_pool(tenant, tmp_path, capsys):
    inventory_dir, skus_dir, today = TENANTS[tenant]
    inv = load_files([str(inventory_dir)], strict=False)
    # as `scan` judges (scanner/service.py): with the node OS catalogue, so the retiring-node-os moves run too
    findings = judge.evaluate(inv, load_catalog(), load_sku_files([str(skus_dir)]), today, node_os=node_os.load_builtin())
    with_commands = [f for f in findings if f.commands]
    assert with_commands, "the tenant gives findings with commands"

    rows = _rows(inventory_dir)
    clusters = {c.id.lower(): c for c in inv.clusters}
    run, puts_of, profiles = _run_in_parts(rows, [list(f.commands) for f in with_commands], tmp_path)

    az_lines = [r for r in run.results if not r["skipped"]]
    with capsys.disabled():
        print(f"\n{tenant}: {len(with_commands)} findings with commands, {len(az_lines)} az commands run by "
              f"azure-cli, {len(run.results) - len(az_lines)} kubectl lines not run, {len(run.failures)} failures")
    assert not run.failures, json.dumps(run.failures, indent=1)

    report = {"compared": 0, "explained": 0, "dropped": []}
    checked = {"pool": 0, "vm": 0, "vmss": 0, "vm-pool": 0}
    for index, f in enumerate(with_commands):
        puts = puts_of.get(index, [])
        if f.resource.kind is ResourceKind.AKS_NODEPOOL:
            cluster = clusters[f.resource.id.lower()]
            model = next(p for p in cluster.pools if p.name == f.resource.pool)
            adds = [c for c in f.commands if c.startswith("az aks nodepool add")]
            if adds:
                new = shlex.split(adds[0])[shlex.split(adds[0]).index("--name") + 1]
                bodies = [b for p, b in puts if p.lower().endswith(f"/agentpools/{new}")]
                assert len(bodies) == 1, f"{f.resource.name}/{f.resource.pool}: one PUT of the new pool {new}"
                body = bodies[0]
                pool = {"profile": profiles[(f.resource.id.lower(), f.resource.pool.lower())], "model": model}
                _compare_pool(f, cluster, pool, body, report)
                checked["pool"] += 1
            elif any("manual-scale" in c or "auto-scale" in c for c in f.commands):
                bodies = [b for p, b in puts if p.lower().endswith(f"/agentpools/{f.resource.pool.lower()}")]
                scale = bodies[-1]["properties"]["virtualMachinesProfile"]["scale"] if bodies else {}
                sizes = [m.get("size", "").lower() for m in (scale.get("manual") or []) + (scale.get("autoscale") or [])]
                if f.replacement.vm_size.lower() not in sizes or f.vm_size.lower() in sizes:
                    report["dropped"].append(f"{f.resource.name}/{f.resource.pool}: manual scale sizes {sizes}")
                checked["vm-pool"] += 1
        elif f.resource.kind is ResourceKind.VM and any(c.startswith("az vm resize") for c in f.commands):
            sizes = [b["properties"]["hardwareProfile"]["vmSize"] for _, b in puts if "/virtualmachines/" in _.lower()]
            assert sizes and sizes[-1] == f.replacement.vm_size
            checked["vm"] += 1
        elif f.resource.kind is ResourceKind.VMSS and any(c.startswith("az vmss update ") for c in f.commands):
            sizes = [b["sku"]["name"] for _, b in puts if "/virtualmachinescalesets/" in _.lower()]
            assert sizes and sizes[-1] == f.replacement.vm_size
            checked["vmss"] += 1

    with capsys.disabled():
        print(f"{tenant}: PUTs checked {checked}; {report['compared']} pool properties compared, "
              f"{len(report['dropped'])} dropped, {report['explained']} not carried with a reason")
    assert not report["dropped"], "\n".join(report["dropped"])
    kinds = ("pool", "vm-pool") if tenant == "unseen" else tuple(checked)  # the unseen tenant holds only AKS pools
    assert all(checked[k] for k in kinds), checked


def test_the_fake_refuses_what_aks_refuses(tmp_path):
    """Exit 0 above means something: the commands this scanner used to print fail here as on AKS
    (a new pool pinned below the control plane's version; Azure Linux 2.0 on 1.31; Windows2025 on 1.30;
    an 8-character Windows pool name; Ubuntu2404 on 1.30; a B-series system pool), and a plain one on the
    control plane's version passes."""
    rows = _rows(ROOT / "samples" / "inventory")
    fake = FakeArm()
    for sub in {r["subscriptionId"] for r in rows}:
        fake.add_subscription(sub)
    fake.add_rows(rows)
    dev = ("--resource-group rg-dev --cluster-name aks-dev-eus --subscription 5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e02")
    pay = ("--resource-group rg-payments-prod --cluster-name aks-payments-prod "
           "--subscription 5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01")
    groups = [
        [f"az aks nodepool add {pay} --name old --node-vm-size Standard_D4s_v5 --kubernetes-version 1.29.8"],
        [f"az aks nodepool add {dev} --name azl2 --node-vm-size Standard_D4s_v5 --os-sku AzureLinux"],
        [f"az aks nodepool add {pay} --name w25 --node-vm-size Standard_D4s_v5 --os-type Windows "
         "--os-sku Windows2025 --kubernetes-version 1.30.5"],
        [f"az aks nodepool add {pay} --name ok --node-vm-size Standard_D4s_v5 --kubernetes-version 1.30.5"],
        # red team: documented refusals the fake lacked (use-system-pools#limitations, upgrade-os-version.md)
        [f"az aks nodepool add {pay} --name winseven --node-vm-size Standard_D4s_v5 --os-type Windows "
         "--kubernetes-version 1.30.5"],
        [f"az aks nodepool update {pay} --name apps --os-sku Ubuntu2404"],
        [f"az aks nodepool add {pay} --name sysb --node-vm-size Standard_B4ms --mode System "
         "--kubernetes-version 1.30.5"],
    ]
    with fake.running(tmp_path):
        run = run_az(fake, groups, tmp_path)
    codes = [r["exit"] for r in run.results]
    assert all(c != 0 for c in codes[:3]), run.results
    assert "AgentPoolK8sVersionNotSupported" in run.results[0]["error"]
    assert "Azure Linux 2.0" in run.results[1]["error"]
    assert codes[3] == 0, run.results[3]
    assert codes[4] != 0 and "at most 6 characters for a Windows pool" in run.results[4]["error"]
    assert codes[5] != 0 and "Ubuntu2404 is supported on Kubernetes 1.32 to 1.38, not 1.30" in run.results[5]["error"]
    assert codes[6] != 0 and "B-series" in run.results[6]["error"]
