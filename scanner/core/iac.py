"""Infrastructure as code: sizes declared in Terraform, Bicep and ARM templates, judged before
they are deployed. Pure: values in, values out (the parsers in scanner/sources/iac/ read files).

    Spot(file, line, column)              where something is written (1-based line and column)
    Value                                 one attribute as written: its literal value when known,
                                          where that value came from, or why it is not literal
    Declaration                           one size-bearing resource (AKS pool, VM, scale set)
    Problem                               a file that could not be read or parsed, with where
    Templates(declarations, problems, files)   what the parsers read
    judge_templates(templates, catalog, skus, today, thresholds, region) -> IacResult
    successor_fit(vm_size, catalog) -> Replacement | None    the successor line's best fit
                                          without SKU facts ("region not checked")

The rules are the scanner's own (scanner.core.judge: retiring-size, gen1-only-size) over an
inventory made of the declarations, plus gen1-node-image for Windows pools a template declares
without a Gen2 path: Windows2019 always (it cannot run Gen2), Windows2022 on a size that offers
both generations (a template cannot send the UseWindowsGen2VM header the Gen2 path needs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from scanner.core import guidance, judge, sizes
from scanner.core.model import (
    Cluster,
    Finding,
    Inventory,
    NodePool,
    Replacement,
    ResourceKind,
    ResourceRef,
    Retirement,
    Rule,
    ScaleSet,
    Severity,
    VirtualMachine,
    finding_id,
)

# --------------------------------------------------------------------------- values


@dataclass(frozen=True, order=True)
class Spot:
    file: str  # as the user named it (relative paths stay relative), "/" separators
    line: int  # 1-based
    column: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Value:
    """One attribute as written. `known` with `value` when it is a literal or resolves to one
    (a variable's default, a .tfvars or parameter file, a module argument); then `source` says
    where the literal is written when that is not `spot` itself, and `via` how it got here.
    Otherwise `text` is the expression as written and `reason` why it could not be resolved."""

    spot: Spot
    known: bool = False
    value: Any = None
    text: str = ""
    source: Spot | None = None
    via: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Declaration:
    """A resource that declares a VM size. For AKS, one per node pool."""

    kind: ResourceKind
    address: str  # "azurerm_kubernetes_cluster.main", "module.aks.azurerm_...", Bicep symbol, ARM type/name
    resource_type: str  # "azurerm_kubernetes_cluster_node_pool", "Microsoft.Compute/virtualMachines"
    attribute: str  # where the size sits: "default_node_pool.vm_size", "properties.hardwareProfile.vmSize"
    size: Value
    pool: str = ""  # AKS pool name ("" when not literal)
    location: str = ""  # literal location ("" when not literal or not written)
    os_type: str = ""  # "Linux" | "Windows" | ""
    os_sku: str = ""
    kubernetes_version: str = ""
    mode: str = ""
    zones: tuple[str, ...] = ()
    language: str = ""  # "terraform" | "bicep" | "arm"
    # Facts beside the size that are written but not literal, as (attribute, Value): an AKS pool's
    # os_type / os_sku. The size is still judged; each of these is reported as not literal too,
    # naming the check it keeps from being made (a Windows pool's gen1-node-image).
    unresolved: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class Problem:
    """A file that could not be read or parsed: the scan goes on with the others."""

    spot: Spot
    message: str

    def __str__(self) -> str:
        return f"{self.spot}: {self.message}"


@dataclass(frozen=True)
class Templates:
    declarations: tuple[Declaration, ...] = ()
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()  # every file read (templates, variables, parameters)


@dataclass(frozen=True)
class IacFinding:
    finding: Finding
    declaration: Declaration
    region: str = ""  # the region the replacement was checked against; "" when not checked


@dataclass(frozen=True)
class IacResult:
    findings: tuple[IacFinding, ...] = ()
    not_literal: tuple[Declaration, ...] = ()
    problems: tuple[Problem, ...] = ()
    files: tuple[str, ...] = ()
    declarations: int = 0
    regions_without_facts: tuple[str, ...] = ()

    def at_or_above(self, threshold: Severity) -> list[IacFinding]:
        return [f for f in self.findings if f.finding.severity.rank >= threshold.rank]


# --------------------------------------------------------------------------- rules

_IAC_SUBSCRIPTION = ""  # SKU files are filed for any subscription: "" has no list of its own


def _resource_id(d: Declaration) -> str:
    """Identity of a declaration: file, resource address and attribute (one cluster declares many pools)."""
    return f"iac:{d.size.spot.file}#{d.address}#{d.attribute}"


def _location(d: Declaration, region: str) -> str:
    return d.location or region


def judge_templates(templates: Templates, catalog, skus, today: date,
                    thresholds: judge.Thresholds | None = None, region: str = "") -> IacResult:
    """Findings for every declaration whose size is known; the others are returned as not
    literal. `region` stands in for a location the template does not write literally."""
    thresholds = thresholds or judge.Thresholds()
    known = [d for d in templates.declarations if d.size.known and isinstance(d.size.value, str) and d.size.value]
    known_ids = {id(d) for d in known}
    not_literal = tuple(d for d in templates.declarations if id(d) not in known_ids)
    not_literal += tuple(replace(d, attribute=name, size=value, unresolved=())
                         for d in known for name, value in d.unresolved)
    by_id: dict[str, Declaration] = {}
    ids: dict[int, str] = {}
    clusters, vms, scale_sets = [], [], []
    for d in known:
        rid = base = _resource_id(d)
        n = 1
        while rid.lower() in by_id:  # one module called the same way from two roots
            n += 1
            rid = f"{base}#{n}"
        by_id[rid.lower()] = d
        ids[id(d)] = rid
        loc = _location(d, region)
        if d.kind is ResourceKind.AKS_NODEPOOL:
            pool = NodePool(name=d.pool or d.address, mode=d.mode or "User", vm_sizes=(d.size.value,),
                            os_type=d.os_type or "Linux", os_sku=d.os_sku, orchestrator_version=d.kubernetes_version,
                            zones=d.zones)
            clusters.append(Cluster(id=rid, name=d.address, subscription_id=_IAC_SUBSCRIPTION, resource_group="",
                                    location=loc, kubernetes_version=d.kubernetes_version, pools=(pool,)))
        elif d.kind is ResourceKind.VM:
            vms.append(VirtualMachine(id=rid, name=d.address, subscription_id=_IAC_SUBSCRIPTION, resource_group="",
                                      location=loc, vm_size=d.size.value, zones=d.zones, os_type=d.os_type))
        else:
            scale_sets.append(ScaleSet(id=rid, name=d.address, subscription_id=_IAC_SUBSCRIPTION, resource_group="",
                                       location=loc, vm_size=d.size.value, zones=d.zones, os_type=d.os_type))
    inventory = Inventory(clusters=tuple(clusters), vms=tuple(vms), scale_sets=tuple(scale_sets))
    # Replacements are chosen below (per declaration, with or without facts); commands for live
    # resources do not apply to a template, which is fixed by editing the file.
    findings = judge.evaluate(inventory, catalog, skus, today, thresholds, guide=False)
    guide = guidance.Guide(skus, catalog)
    out: list[IacFinding] = []
    for f in findings:
        d = by_id[f.resource.id.lower()]
        out.append(_with_replacement(f, d, guide, skus, catalog, region))
    for d in known:
        extra = _windows_gen1(d, ids[id(d)], skus, catalog, today, thresholds, region)
        if extra is not None:
            out.append(_with_replacement(extra, d, guide, skus, catalog, region))
    missing = sorted({_location(d, region) or "(no region)" for d in known
                      if not skus.has_region(_IAC_SUBSCRIPTION, _location(d, region))})
    return IacResult(
        findings=tuple(sort_findings(out)),
        not_literal=not_literal,
        problems=templates.problems,
        files=templates.files,
        declarations=len(templates.declarations),
        regions_without_facts=tuple(missing),
    )


def sort_findings(findings: list[IacFinding]) -> list[IacFinding]:
    def key(x: IacFinding):
        f = x.finding
        d = x.declaration
        return (d.size.source or d.size.spot, d.size.spot, d.address, f.rule.value)
    return sorted(findings, key=key)


def _with_replacement(f: Finding, d: Declaration, guide: guidance.Guide, skus, catalog, region: str) -> IacFinding:
    loc = _location(d, region)
    if loc and skus.has_region(_IAC_SUBSCRIPTION, loc):
        pool = NodePool(name=d.pool or "pool", mode=d.mode or "User", os_type=d.os_type or "Linux",
                        os_sku=d.os_sku) if d.kind is ResourceKind.AKS_NODEPOOL else None
        repl, why_not = guide.replacement(_IAC_SUBSCRIPTION, loc, f.vm_size, d.zones, pool=pool)
        if repl is None:
            return IacFinding(replace(f, message=f"{f.message} No replacement: {why_not}."), d, loc)
        if f.rule is Rule.GEN1_NODE_IMAGE and not guide.is_retiring(f.vm_size):
            return IacFinding(f, d, loc)  # the size stays; the pool's OS changes
        return IacFinding(replace(f, replacement=repl), d, loc)
    if f.rule is Rule.GEN1_NODE_IMAGE and not guide.is_retiring(f.vm_size):
        return IacFinding(f, d, "")
    repl = successor_fit(f.vm_size, catalog)
    if repl is None:
        return IacFinding(replace(f, message=(f"{f.message} No replacement without SKU facts: no successor line is "
                                              f"known for {f.vm_size} (give --skus and --region).")), d, "")
    return IacFinding(replace(f, replacement=repl), d, "")


# Windows Server 2019 node pools run Generation 1 VMs only; Windows Server 2022 pools get Gen2 only
# when created with the UseWindowsGen2VM=true header, which neither Terraform (azurerm) nor an ARM /
# Bicep deployment can send. Source: "Windows nodepools not upgraded to Gen2 during cluster node image
# upgrade", https://learn.microsoft.com/troubleshoot/azure/azure-kubernetes/create-upgrade-delete/nodepools-not-upgraded-to-gen2-during-node-image-upgrade
# The OS SKU default (Windows2019 up to Kubernetes 1.24, Windows2022 from 1.25) is guidance.windows_os_sku.
def _windows_gen1(d: Declaration, rid: str, skus, catalog, today: date, thresholds, region: str) -> Finding | None:
    if d.kind is not ResourceKind.AKS_NODEPOOL or d.os_type.lower() != "windows":
        return None
    size = d.size.value
    loc = _location(d, region)
    pool = NodePool(name=d.pool, os_type="Windows", os_sku=d.os_sku, orchestrator_version=d.kubernetes_version)
    os_sku = guidance.windows_os_sku(pool, d.kubernetes_version)
    sku = skus.get(_IAC_SUBSCRIPTION, loc, size) if loc else None
    how = f"os_sku {d.os_sku}" if d.os_sku else f"no OS SKU (the default, {os_sku}, for Kubernetes {d.kubernetes_version or 'today'})"
    if os_sku.lower() == "windows2019":
        why = (f"a Windows pool with {how} runs Generation 1 VMs: Windows Server 2019 cannot use Gen2. Declare it "
               "as Windows2022 on a Gen2 path (check the containers run on ltsc2022).")
    elif os_sku.lower() == "windows2022":
        if sku is not None and not {"V1", "V2"} <= set(sku.hyperv_generations):
            return None  # a Gen2-only size gets Gen2; a Gen1-only size is gen1-only-size's
        checked = (f"{size} offers both generations in {loc}" if sku is not None else
                   f"if {size} offers both generations (not checked: give --skus and --region)")
        why = (f"a Windows pool with {how} is created on Generation 1 {checked}: the Gen2 path needs the "
               "UseWindowsGen2VM=true header, which a template cannot send. Create the pool with "
               "`az aks nodepool add ... --aks-custom-headers UseWindowsGen2VM=true`, or move it to a Gen2-only size.")
    else:
        return None
    retirement = _retirement(catalog, size, loc)
    days = retirement.days_left(today) if retirement else None
    ref = ResourceRef(kind=d.kind, id=rid, name=d.address, subscription_id=_IAC_SUBSCRIPTION, resource_group="",
                      location=loc, pool=d.pool)
    return Finding(
        id=finding_id(rid, d.pool, Rule.GEN1_NODE_IMAGE.value, "", ""),
        rule=Rule.GEN1_NODE_IMAGE,
        severity=judge.severity_for(days, thresholds) if retirement else Severity.INFO,
        vm_size=size,
        resource=ref,
        retirement=retirement,
        days_left=days,
        message=why[0].upper() + why[1:],
    )


def _retirement(catalog, vm_size: str, location: str) -> Retirement | None:
    """The soonest retirement of the size that applies in `location`, with that location's date."""
    found = [r for r in catalog.retirements_for(vm_size) if judge.applies_in(r, location)]
    if not found:
        return None
    best = min(found, key=lambda r: (r.retires_on_in(location), r.id))
    return replace(best, retires_on=best.retires_on_in(location))


# --------------------------------------------------------------------------- replacement without facts

# Sizes whose number is a size number, not the vCPU count: Dv1/DSv1 and Dv2/DSv2 (D1-D5, D11-D15)
# and G/GS (G1-G5). (vCPUs, memory GiB). Source: Azure size pages "Dv2 and DSv2-series",
# https://learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/dv2-series and
# "G-series" in the previous-generation sizes, https://learn.microsoft.com/azure/virtual-machines/sizes-previous-gen
_LEGACY_NUMBERED = {
    ("D", 1): (1, 3.5), ("D", 2): (2, 7), ("D", 3): (4, 14), ("D", 4): (8, 28), ("D", 5): (16, 56),
    ("D", 11): (2, 14), ("D", 12): (4, 28), ("D", 13): (8, 56), ("D", 14): (16, 112), ("D", 15): (20, 140),
    ("G", 1): (2, 28), ("G", 2): (4, 56), ("G", 3): (8, 112), ("G", 4): (16, 224), ("G", 5): (32, 448),
}
# GiB of memory per vCPU of the v5/v6 lines a successor may be (family letter, "l" for the low-memory
# D/F lines). Source: Dsv5 / Esv5 / Dlsv5 / Falsv6 size pages on learn.microsoft.com
# (https://learn.microsoft.com/azure/virtual-machines/sizes/general-purpose/dsv5-series, .../memory-optimized/esv5-series,
# .../general-purpose/dlsv5-series, .../compute-optimized/falsv6-series).
_GIB_PER_VCPU = {"d": 4, "dl": 2, "e": 8, "f": 2, "fa": 2, "fal": 2}
# vCPU counts each common successor line offers (learn.microsoft.com size pages: Dv5/Dsv5/Ddsv5,
# Dasv5/Dadsv5, Dsv6/Ddsv6, Dasv6/Dadsv6, Ev5/Esv5/Edsv5, Easv5/Eadsv5, Esv6/Edsv6, Easv6, Bsv2/Basv2,
# Dlsv5/Dldsv5, Falsv6/Fasv6, Lsv3/Lasv3; https://learn.microsoft.com/azure/virtual-machines/sizes/overview).
# Without SKU facts a replacement is only named on these lines, so no size is ever invented.
_D5 = (2, 4, 8, 16, 32, 48, 64, 96)
_LINE_VCPUS = {
    "dsv5": _D5, "ddsv5": _D5, "dv5": _D5, "ddv5": _D5, "dasv5": _D5, "dadsv5": _D5,
    "dsv6": (*_D5, 128), "ddsv6": (*_D5, 128), "dasv6": _D5, "dadsv6": _D5,
    "esv5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 104), "edsv5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 104),
    "ev5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 104), "edv5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 104),
    "easv5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 112), "eadsv5": (2, 4, 8, 16, 20, 32, 48, 64, 96, 112),
    "esv6": (*_D5, 128, 192), "edsv6": (*_D5, 128, 192), "easv6": _D5,
    "bsv2": (2, 4, 8, 16, 32), "basv2": (2, 4, 8, 16, 32),
    "dlsv5": _D5, "dldsv5": _D5, "falsv6": (2, 4, 8, 16, 32, 48, 64), "fasv6": (2, 4, 8, 16, 32, 48, 64),
    "lsv3": (8, 16, 32, 48, 64, 80), "lasv3": (8, 16, 32, 48, 64, 80),
}
_KEY = re.compile(r"^(?P<family>[a-z]+?)(?P<features>[a-z]*)v(?P<version>\d+)$")


def _current_shape(vm_size: str) -> tuple[int, float | None] | None:
    """(vCPUs, memory GiB or None when the name does not tell) of a size, without SKU facts."""
    try:
        s = sizes.parse_size(vm_size)
    except (ValueError, TypeError):
        return None
    if s.constrained is not None:
        return None
    legacy_family = s.family.rstrip("S") if s.family in ("D", "DS", "G", "GS") else ""
    if legacy_family and (s.version or 1) <= 2:
        return _LEGACY_NUMBERED.get((legacy_family, s.vcpus))
    if s.family == "A" and s.version == 2:  # Av2: 2 GiB per vCPU, Amv2 ("m"): 8 (the Av2-series size page)
        return s.vcpus, float(s.vcpus * (8 if "m" in s.features else 2))
    return s.vcpus, None


def _candidate(key: str, vcpus: int) -> str | None:
    """A size name on successor line `key` ("dsv5", "ebdsv5") with `vcpus` vCPUs, or None when the
    line has a qualifier (accelerators) or its name does not read back as that line."""
    m = _KEY.match(key)
    if not m:
        return None
    for split in range(1, len(key)):  # shortest family first: "dsv5" is D + s, not DS
        family = key[:split].upper()
        if family not in sizes.FAMILIES:
            continue
        features = key[split:key.rindex("v")]
        if not features.isalpha() and features:
            continue
        name = f"Standard_{family}{vcpus}{features}_v{m['version']}"
        if guidance.series_key(name) == key:
            return name
    return None


def successor_fit(vm_size: str, catalog) -> Replacement | None:
    """Without SKU facts: the first successor line (the retirement's own replacement series, then
    guidance.SUCCESSORS) whose vCPU counts are known here (_LINE_VCPUS), at the smallest count not
    below the size's, with enough memory when the size name tells it (legacy numbered sizes), and
    not retiring itself. None when no line gives one."""
    shape = _current_shape(vm_size)
    if shape is None:
        return None
    vcpus, memory = shape
    guide = guidance.Guide(_NoFacts(), catalog)
    picked: list[tuple[str, str]] = []
    for entry in guide.preferred_series(vm_size):
        key = re.sub(r"[^a-z0-9]", "", entry.lstrip("~").lower())
        key = re.sub(r"series$", "", key)
        offered = [n for n in _LINE_VCPUS.get(key, ()) if n >= vcpus]
        name = _candidate(key, offered[0]) if offered else None
        if name is None or guide.is_retiring(name) or name.lower() == vm_size.lower():
            continue
        if memory is not None:
            m = _KEY.match(key)
            ratio = _GIB_PER_VCPU.get(m["family"] + ("l" if "l" in m["features"][:1] else "")) if m else None
            if ratio is None or ratio * offered[0] < memory:
                continue
        if name not in (n for n, _ in picked):
            picked.append((name, key))
        if len(picked) == 3:
            break
    if not picked:
        return None
    best, line = picked[0]
    mem = f", at least {memory:g} GiB" if memory is not None else ""
    size = sizes.parse_size(best)
    why = (f"successor line {line} with {size.vcpus} vCPUs (was {vcpus}){mem}; region not checked (Gen2, memory and "
           "availability unverified: give --skus and --region to check)")
    return Replacement(best, why, tuple(n for n, _ in picked[1:]))


class _NoFacts:
    def has_region(self, *_a) -> bool:
        return False

    def get(self, *_a):
        return None

    def sizes(self, *_a) -> list:
        return []
