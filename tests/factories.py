"""Builders of model values for tests and benches: one place, keyword overrides, no I/O.

    retirement(**overrides)                        a Retirement (default: Dv2, 2028-05-01)
    resource_id(name, kind=..., sub=..., rg=...)   the ARM id of a cluster, VM or scale set
    resource(name, pool, **overrides)              a ResourceRef (pool only for AKS node pools)
    finding(name, pool, **overrides)               a Finding with its deterministic id
    change(kind, name, pool, **overrides)          a Change around finding(...)

Every default can be overridden by keyword; a test that cares about a value passes it, so the
value it asserts on is visible in the test. Benches import these too (`from tests.factories ...`).
"""

from __future__ import annotations

from datetime import date

from scanner.core.model import (
    Change,
    Finding,
    Replacement,
    ResourceKind,
    ResourceRef,
    Retirement,
    Rule,
    Severity,
    Status,
    finding_id,
)

__all__ = ["SUB", "DV2", "Severity", "Status", "ResourceKind", "Rule", "retirement", "resource_id", "resource",
           "finding", "change"]

SUB = "11111111-2222-3333-4444-555555555555"
DV2_URL = "https://azure.microsoft.com/updates?id=dv2"


def retirement(id: str = "dv2-2028", title: str = "Dv2 series retire", retires_on: date = date(2028, 5, 1),
               series: tuple[str, ...] = ("Dv2",), **fields) -> Retirement:
    return Retirement(id, title, retires_on, series=series, **fields)


DV2 = retirement(urls=(DV2_URL,))

_PROVIDERS = {
    ResourceKind.AKS_NODEPOOL: "Microsoft.ContainerService/managedClusters",
    ResourceKind.VM: "Microsoft.Compute/virtualMachines",
    ResourceKind.VMSS: "Microsoft.Compute/virtualMachineScaleSets",
}


def resource_id(name: str, kind: ResourceKind = ResourceKind.AKS_NODEPOOL, sub: str = SUB, rg: str = "rg") -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{_PROVIDERS[kind]}/{name}"


def resource(name: str = "aks1", pool: str = "np1", *, kind: ResourceKind = ResourceKind.AKS_NODEPOOL,
             sub: str = SUB, rg: str = "rg", location: str = "westeurope", tags: dict | None = None,
             rid: str | None = None) -> ResourceRef:
    """A ResourceRef; `pool` is dropped for VMs and scale sets (as the judge does)."""
    return ResourceRef(kind, rid or resource_id(name, kind, sub, rg), name, sub, rg, location,
                       pool if kind == ResourceKind.AKS_NODEPOOL else "", dict(tags or {}))


def finding(name: str = "aks1", pool: str = "np1", *, kind: ResourceKind = ResourceKind.AKS_NODEPOOL,
            sub: str = SUB, rg: str = "rg", location: str = "westeurope", tags: dict | None = None,
            rid: str | None = None, rule: Rule = Rule.RETIRING_SIZE, severity: Severity = Severity.MEDIUM,
            size: str = "Standard_D2_v2", retirement: Retirement | None = DV2, days_left: int | None = 700,
            replacement: str | None = "Standard_D2s_v5", why: str = "Gen2, same shape",
            alternatives: tuple[str, ...] = (), commands: tuple[str, ...] | None = None, **fields) -> Finding:
    """A Finding on `name` (cluster, VM or scale set) with the id the judge would give it.

    `replacement=None` gives a finding without one; `commands` defaults to add + delete of the
    pool on the replacement size; any other Finding field (status, message, first_seen, ...) by
    keyword.
    """
    ref = resource(name, pool, kind=kind, sub=sub, rg=rg, location=location, tags=tags, rid=rid)
    if commands is None:
        commands = (f"az aks nodepool add -g {rg} --cluster-name {name} -n {pool}v5 "
                    f"--node-vm-size {replacement or size}",
                    f"az aks nodepool delete -g {rg} --cluster-name {name} -n {pool}")
    return Finding(
        id=finding_id(ref.id, ref.pool, rule.value, retirement.id if retirement else ""),
        rule=rule, severity=severity, vm_size=size, resource=ref, retirement=retirement, days_left=days_left,
        replacement=Replacement(replacement, why, tuple(alternatives)) if replacement else None,
        commands=tuple(commands), **fields,
    )


def change(kind: str = "new", name: str = "aks1", pool: str = "np1", *, previous_severity: Severity | None = None,
           **overrides) -> Change:
    return Change(kind, finding(name, pool, **overrides), previous_severity)
