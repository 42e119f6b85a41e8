"""Resize guidance: which size to move to, and the commands that do it. Pure: no I/O, no clock.

    Guide(skus, catalog)                       caches answers per (subscription, region, size,
                                               zones, arch and pool constraints)
      .replacement(sub, location, vm_size, zones=(), *, pool=None, prefer_gen1=False)
                                               -> (Replacement | None, why-not text)
      .for_pool(cluster, pool, vm_size, pool_names) -> Advice     retiring / Gen1-only size
      .for_node_image(cluster, pool, vm_size, pool_names) -> Advice   Gen1 node image
      .for_vm(vm) -> Advice
      .for_scale_set(vmss) -> Advice
    new_pool_name(old, os_type, target_size, taken) -> str
    series_key(vm_size) -> str                 "Standard_D4s_v5" -> "dsv5" (family+features+version)
    successors(vm_size) -> tuple[str, ...]     SUCCESSORS of the size's series (sizes.series_name)

Size names are read by scanner.core.sizes.parse_size only (one parser for the whole scanner).

A replacement supports Gen2, has the same CPU architecture, no fewer vCPUs, no less memory, no
fewer GPUs (and no GPU when the current size has none), keeps premium storage / ephemeral OS
disk support when the current size or pool relies on it, is offered and unrestricted in the
region and in every zone asked for, and is not itself in the retirement catalogue. AKS pools
also need at least 2 vCPUs and 2 GB (4 GB and no burstable B size for System pools). Among the
sizes that fit, the natural successor line wins (the retirement's own replacement series first,
then SUCCESSORS), then the smallest.

Commands are ready to paste: every value goes through shlex.quote, every az command names
--resource-group, --cluster-name (AKS) and --subscription.
"""

from __future__ import annotations

import functools
import itertools
import re
import shlex
from dataclasses import dataclass
from typing import NamedTuple

from scanner.core import headroom, node_images, pool_flags, sizes
from scanner.core.model import Cluster, Headroom, NodePool, Replacement, ScaleSet, Sku, VirtualMachine
from scanner.errors import SizeNameError

# Natural successor lines, keyed by the canonical series of the current size
# (scanner.core.sizes.series_name: "DSv2", "Dsv3", "NCv3", "Lsv2"); values are series_key()s in order
# of preference. Facts from the Azure size migration guides; the order is our choice.
_D_SUCCESSORS = ("dsv5", "ddsv5", "dasv5", "dadsv5", "dsv6", "ddsv6", "dasv6", "dadsv6", "dv5", "ddv5",
                 "esv5", "edsv5", "easv5", "esv6", "edsv6", "easv6")
_GENERAL_RANK = {k: i for i, k in enumerate(_D_SUCCESSORS)}
_F_SUCCESSORS = ("falsv6", "fasv6", "dlsv5", "dldsv5", "dalsv6", "dlsv6", "dsv5")
_B_SUCCESSORS = ("bsv2", "basv2", "bmsv2", "blsv2", "btsv2")
_A_SUCCESSORS = ("dasv5", "bsv2", "basv2", "dsv5")
_G_SUCCESSORS = ("esv5", "edsv5", "ebdsv5", "msv2")
_L_SUCCESSORS = ("lsv3", "lasv3", "lsv4")
_HPC_SUCCESSORS = ("hbrsv4", "hxrs", "hbrsv3")
_M_V2_SUCCESSORS = ("msv3", "mdsv3")
SUCCESSORS: dict[str, tuple[str, ...]] = {
    "D": _D_SUCCESSORS, "DS": _D_SUCCESSORS, "Dv2": _D_SUCCESSORS, "DSv2": _D_SUCCESSORS,
    "Dv3": _D_SUCCESSORS, "Dsv3": _D_SUCCESSORS,
    "Ev3": ("esv5", "edsv5", "easv5", "esv6", "edsv6", "easv6", "ev5", "edv5"),
    "Esv3": ("esv5", "edsv5", "easv5", "esv6", "edsv6", "easv6"),
    "F": _F_SUCCESSORS, "Fs": _F_SUCCESSORS, "Fsv2": _F_SUCCESSORS,
    "B": _B_SUCCESSORS,
    "Av2": ("dasv5", "bsv2", "basv2", "dsv5", "easv5", "esv5"),
    "Amv2": ("easv5", "esv5", "dasv5", "dsv5"),
    "A": _A_SUCCESSORS,  # Basic_A and Standard_A (v1)
    "G": _G_SUCCESSORS, "GS": _G_SUCCESSORS,
    "Ls": _L_SUCCESSORS, "Lsv2": _L_SUCCESSORS,
    "H": _HPC_SUCCESSORS, "HB": _HPC_SUCCESSORS, "HBv2": _HPC_SUCCESSORS, "HC": _HPC_SUCCESSORS,
    "NV": ("nvadsa10v5", "nvadsv710v5"), "NVv3": ("nvadsa10v5",), "NVv4": ("nvadsv710v5", "nvadsa10v5"),
    "NC": ("ncast4v3", "ncadsa100v4", "ncadsh100v5"),
    "NCv2": ("ncadsa100v4", "ncadsh100v5", "ncast4v3"),
    "NCv3": ("ncadsa100v4", "ncadsh100v5", "ncast4v3"),
    "ND": ("ncadsa100v4", "ndasrv4", "ndamsra100v4"), "NDv2": ("ndasrv4", "ndamsra100v4"),
    "NP": ("nvadsa10v5",),
    "M": ("msv2", "mdsv2", "msv3", "mdsv3"), "Mv2": _M_V2_SUCCESSORS, "Msv2": _M_V2_SUCCESSORS,
    "Mdsv2": _M_V2_SUCCESSORS,
}


def _size(vm_size: str) -> sizes.SizeName | None:
    """The parsed size (scanner.core.sizes.parse_size, cached there), or None for other text."""
    try:
        return sizes.parse_size(vm_size)
    except (SizeNameError, TypeError):
        return None


@functools.lru_cache(maxsize=4096)
def series_key(vm_size: str) -> str:
    """Family, feature letters as written, qualifiers and version, lower-case: the key of a
    successor line. "Standard_D4s_v5" -> "dsv5", "Standard_NV36ads_A10_v5" -> "nvadsa10v5",
    "Standard_B2ms" -> "bms", "Standard_NV4ads_V710_v5" -> "nvadsv710v5", "Basic_A1" -> "basica".
    Text that is not a VM size name gives itself, lower-cased."""
    s = _size(vm_size)
    if s is None:
        return str(vm_size).strip().lower()
    tier = "basic" if s.tier == "Basic" else ""
    version = f"v{s.version}" if s.version is not None else ""
    return f"{tier}{s.family.lower()}{s.features}{''.join(s.qualifiers).lower()}{version}"


def successors(vm_size: str) -> tuple[str, ...]:
    """The natural successor lines (series_key()s) of a size's series; () when none is known."""
    s = _size(vm_size)
    return SUCCESSORS.get(sizes.series_name(s), ()) if s is not None else ()


def _norm_series(text: str) -> str:
    s = re.sub(r"[^a-z0-9]", "", text.lower())
    return re.sub(r"series$", "", s)


def _version_number(vm_size: str) -> int:
    s = _size(vm_size)
    return s.effective_version if s is not None else 1


def _is_burstable(vm_size: str) -> bool:
    s = _size(vm_size)
    return s is not None and s.family == "B"


def _is_special(vm_size: str) -> bool:
    """Sizes never offered as a general replacement: constrained-core, promo, basic, unparseable."""
    s = _size(vm_size)
    return s is None or s.constrained is not None or s.promo or s.tier == "Basic"


def _is_confidential(vm_size: str) -> bool:
    s = _size(vm_size)
    return s is not None and (s.family in ("DC", "EC", "NCC") or "cc" in "".join(s.qualifiers).lower())


# --------------------------------------------------------------------------- replacement


class Advice(NamedTuple):  # one per size of a resource: a tuple is made fastest
    """What to do about one size of one resource."""

    replacement: Replacement | None
    commands: tuple[str, ...] = ()
    note: str = ""  # why there is no replacement, or a caution the commands cannot express
    quota: Headroom | None = None  # the replacement's family quota for the move (core.headroom)


@dataclass(frozen=True)
class _Needs:
    vcpus: int
    memory_gb: float
    gpus: int
    arch: str
    zones: tuple[str, ...]
    premium_io: bool
    ephemeral_os: bool
    ephemeral_gb: int  # the pool's ephemeral OS disk size (0: not set): the local disk must hold it
    min_vcpus: int
    min_memory_gb: float
    allow_burstable: bool
    confidential: bool
    # A standalone Windows VM keeps a temp disk, or keeps having none (None: not checked).
    temp_disk: bool | None = None
    scsi: bool = False  # a VM or scale set whose disks sit on SCSI: the target must offer SCSI
    trusted_launch: bool = False  # Trusted Launch is on: the target must support it
    accelerated_networking: bool = False  # the current size has it: the target must too
    family: str = ""  # VirtualMachines pool: the family its other sizes share


class Guide:
    """Finds replacements and builds commands; remembers answers (same question, same answer)."""

    def __init__(self, skus, catalog, quotas=None) -> None:
        self.skus = skus
        self.catalog = catalog
        self.quotas = quotas  # core.headroom.QuotaBook, or None: no quota checks
        self._cache: dict[tuple, tuple[Replacement | None, str]] = {}
        self._retiring: dict[str, bool] = {}
        self._preferred: dict[str, tuple[str, ...]] = {}
        self._facts: dict[tuple[str, str], tuple] = {}
        self._keep: list = []
        self._lists: dict[tuple[int, ...], int] = {}
        self._asked: dict[tuple, tuple[Replacement | None, str]] = {}  # replacement() by its arguments as given
        self._pair_facts: dict[tuple[str, str], tuple] = {}  # _facts_key by (subscription, location) as given
        # (subscription, location, id(replacement), nodes, spot) -> headroom.fit_nodes answer
        self._fits: dict[tuple, tuple] = {}
        self._in_place: dict[tuple, bool] = {}  # in_place_preview's verdict by what it reads
        self._vm_plans: dict[tuple, tuple] = {}  # for_vm's choice by what it reads of the VM
        self._advised_cluster: Cluster | None = None  # for_pool's answers for this cluster's pools
        self._advised: dict[tuple[int, str], tuple] = {}

    # ------------------------------------------------------------------ facts
    def is_retiring(self, vm_size: str) -> bool:
        key = vm_size.lower()
        if key not in self._retiring:
            self._retiring[key] = bool(self.catalog.retirements_for(vm_size))
        return self._retiring[key]

    def preferred_series(self, vm_size: str) -> tuple[str, ...]:
        key = vm_size.lower()
        if key not in self._preferred:
            named: list[str] = []
            for r in self.catalog.retirements_for(vm_size):
                # as announcements write them ("Bsv2", "HBv4"): "~" marks text for sizes.parse_series
                named.extend("~" + s.strip() for s in r.replacement_series if s.strip())
            named.extend(successors(vm_size))
            self._preferred[key] = tuple(dict.fromkeys(named))
        return self._preferred[key]

    def _series_matcher(self, preferred: tuple[str, ...]):
        """vm_size -> index of the first preferred line it belongs to, or None."""
        parsed = []
        for i, entry in enumerate(preferred):
            if entry.startswith("~"):
                try:
                    parsed.append((i, sizes.parse_series(entry[1:]), None))
                except SizeNameError:
                    parsed.append((i, None, _norm_series(entry[1:])))  # unreadable text: compare keys
            else:
                parsed.append((i, None, entry))

        def match(vm_size: str) -> int | None:
            key = series_key(vm_size)
            for i, series, k in parsed:
                if series is not None:
                    try:
                        if series.matches(vm_size):
                            return i
                    except SizeNameError:
                        continue
                elif k == key:
                    return i
            return None

        return match

    def _facts_key(self, subscription_id: str, location: str) -> tuple:
        """Which SKU list answers for (subscription, region): subscriptions that share one (files
        filed under any subscription) share cached answers."""
        pair = (subscription_id.lower(), location.lower())
        key = self._facts.get(pair)
        if key is None:
            listed = self.skus.sizes(subscription_id, location)
            # Same values (by identity) = same list: live SKU facts share one value per size between
            # subscriptions (sources.skus.SharedFacts), and only a subscription's own restrictions
            # make a copy, so the whole list decides, not its first entry.
            ids = tuple(id(s) for s in listed)
            key = (location.lower(), self._lists.setdefault(ids, len(self._lists))) if listed else pair
            self._facts[pair] = key
            self._keep.append(listed)  # keep the objects alive so their ids stay unique
        return key

    # ------------------------------------------------------------------ replacement
    def replacement(
        self,
        subscription_id: str,
        location: str,
        vm_size: str,
        zones: tuple[str, ...] | frozenset[str] = (),
        *,
        pool: NodePool | None = None,
        prefer_gen1: bool = False,
        windows_vm: bool = False,
        scsi: bool = False,
        trusted_launch: bool = False,
        family: str = "",
    ) -> tuple[Replacement | None, str]:
        """The size to move to and up to two alternatives, or (None, why none fits). `windows_vm`:
        a standalone Windows VM (temp-disk parity); `scsi`: a VM or scale set on a SCSI disk
        controller; `trusted_launch`: Trusted Launch is on; `family`: the family a VirtualMachines
        pool's other sizes share."""
        if pool is not None:
            trusted_launch = trusted_launch or bool(pool.properties.get("securityProfile.enableSecureBoot")
                                                    or pool.properties.get("securityProfile.enableVTPM"))
        # Most questions come again spelled the same way: answer those from the arguments as given,
        # the subscription and region by the SKU list that answers for them (subscriptions that see
        # the same list get the same answers). Every argument and pool field the answer reads is in
        # this key (the normalised key below is the one that decides; tests/unit/test_judge_memo.py
        # changes each and expects a change).
        facts = self._pair_facts.get((subscription_id, location))
        if facts is None:
            facts = self._pair_facts[(subscription_id, location)] = self._facts_key(subscription_id, location)
        raw = (facts, vm_size, zones, pool is not None,
               pool.mode if pool is not None else "", pool.os_disk_type if pool is not None else "",
               pool.os_disk_size_gb if pool is not None else None, prefer_gen1, windows_vm, scsi, trusted_launch,
               family)
        try:
            hit = self._asked.get(raw)
        except TypeError:  # zones in a list: not a key, answered the long way
            raw, hit = None, None
        if hit is not None:
            return hit
        zones_t = tuple(sorted(str(z) for z in zones))
        mode = (pool.mode.lower() if pool else "")
        ephemeral = bool(pool and pool.os_disk_type.lower() == "ephemeral")
        ephemeral_gb = (pool.os_disk_size_gb or 0) if ephemeral else 0
        extra = (windows_vm, scsi, trusted_launch, family.lower())
        key = (facts, vm_size.lower(), zones_t, mode, ephemeral,
               ephemeral_gb, pool is not None, prefer_gen1, extra)
        if key not in self._cache:
            self._cache[key] = self._find(subscription_id, location, vm_size, zones_t, mode, ephemeral,
                                          pool is not None, prefer_gen1, ephemeral_gb, extra)
        if raw is not None:
            self._asked[raw] = self._cache[key]
        return self._cache[key]

    def _find(self, sub, location, vm_size, zones, mode, ephemeral, aks, prefer_gen1, ephemeral_gb=0,
              extra=(False, False, False, "")):
        windows_vm, scsi, trusted_launch, family = extra
        current = self.skus.get(sub, location, vm_size)
        if not self.skus.has_region(sub, location):
            return None, f"no SKU facts for {location}: cannot pick a replacement (give --skus for that region)"
        elsewhere = ""
        if current is None:
            # Not offered here (any more): the size's own facts from another region's list will do.
            facts = getattr(self.skus, "facts", None)
            current = facts(vm_size) if facts else None
            if current is None:
                return None, (f"{vm_size} is not in the SKU list for {location} nor in any other region's: "
                              "cannot compare sizes")
            elsewhere = f"; {vm_size} itself is not offered in {location}, its facts are from {current.location}"
        region_has_zones = any(s.zones for s in self.skus.sizes(sub, location))
        needs = _Needs(
            vcpus=current.vcpus,
            memory_gb=current.memory_gb,
            gpus=current.gpus,
            arch=current.cpu_architecture.lower(),
            zones=zones if region_has_zones else (),
            premium_io=current.capabilities.get("PremiumIO", "").lower() == "true",
            ephemeral_os=ephemeral,
            ephemeral_gb=ephemeral_gb,
            min_vcpus=2 if aks else 0,
            min_memory_gb=(4.0 if mode == "system" else 2.0) if aks else 0.0,
            # Burstable sizes only where they are the natural line (B, Av2) and never for System pools.
            allow_burstable=not (aks and mode == "system") and (
                _is_burstable(vm_size) or any(k.lstrip("~").startswith("b") for k in self.preferred_series(vm_size))),
            confidential=_is_confidential(vm_size),
            temp_disk=_has_temp_disk(current) if windows_vm else None,
            scsi=scsi and _controllers(current) != {"nvme"},
            trusted_launch=trusted_launch,
            accelerated_networking=_cap(current, "AcceleratedNetworkingEnabled") == "true",
            family=family,
        )
        line_of = self._series_matcher(self.preferred_series(vm_size))
        fits: list[Sku] = []
        rejected: dict[str, int] = {}
        named: list[tuple[int, str, str]] = []  # (line, size, reason) of successor-line sizes turned down
        for cand in self.skus.sizes(sub, location):
            if cand.name.lower() == vm_size.lower():
                continue
            reason = self._reject(cand, needs)
            if reason:
                rejected[reason] = rejected.get(reason, 0) + 1
                line = line_of(cand.name)
                if line is not None:
                    named.append((line, cand.name, reason))
                continue
            fits.append(cand)
        if not fits:
            return None, _none_fits(vm_size, location, needs, rejected)

        lines = {s.name: line_of(s.name) for s in fits}

        # The successor line wins unless it costs much more: a preferred size with more than
        # 1.5x the vCPUs of the smallest fit is ranked as any other size.
        least = min(s.vcpus for s in fits)

        def order(s: Sku):
            p = lines[s.name] if s.vcpus <= least * 1.5 else None
            return (
                0 if p is not None else 1,
                0 if (prefer_gen1 and "V1" in s.hyperv_generations) or not prefer_gen1 else 1,
                s.vcpus,
                s.memory_gb,
                s.gpus,
                p or 0,
                0 if "V1" in s.hyperv_generations else 1,  # drop-in first (v6 sizes are Gen2/NVMe only)
                _GENERAL_RANK.get(series_key(s.name), len(_GENERAL_RANK)),  # then the mainstream lines
                -_version_number(s.name),
                s.name.lower(),
            )

        fits.sort(key=order)
        best = fits[0]
        alternatives = _alternatives(best, fits[1:])
        why = self._why(vm_size, current, best, needs, location, order(best)[0] == 0) + elsewhere
        # the telling reasons first: "too small" says little about a line
        named.sort(key=lambda t: (t[2] == "too small", t[0], t[1]))
        turned = tuple((name, reason) for _, name, reason in named[:_NAMED_REJECTIONS])
        counts = tuple(sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
        return Replacement(best.name, why, alternatives, turned, counts), ""

    def _reject(self, cand: Sku, n: _Needs) -> str:
        if _is_special(cand.name):
            return "special-purpose (constrained-core, promo or basic)"
        if _is_confidential(cand.name) != n.confidential:
            return "confidential" if not n.confidential else "not confidential"
        if not cand.supports_gen2:
            return "Generation 1 only"
        if cand.cpu_architecture.lower() != n.arch:
            return f"not {n.arch}"
        if cand.gpus < n.gpus or (n.gpus == 0 and cand.gpus > 0):
            return "GPU count differs" if n.gpus == 0 else "fewer GPUs"
        if cand.vcpus < max(n.vcpus, n.min_vcpus) or cand.memory_gb < max(n.memory_gb, n.min_memory_gb):
            return "too small"
        if not n.allow_burstable and _is_burstable(cand.name):
            return "burstable"
        if n.premium_io and cand.capabilities.get("PremiumIO", "").lower() == "false":
            return "no premium storage"
        if n.ephemeral_os and cand.capabilities.get("EphemeralOSDiskSupported", "").lower() == "false":
            return "no ephemeral OS disk"
        if n.ephemeral_gb:
            local = _local_disk_gib(cand)
            if local is not None and local < n.ephemeral_gb:
                return f"local disk under {n.ephemeral_gb} GB for the ephemeral OS disk"
        if n.temp_disk is not None and _has_temp_disk(cand) != n.temp_disk:
            # Azure resizes a VM only between sizes that both have a local temp disk or both have
            # none (learn.microsoft.com/azure/virtual-machines/azure-vms-no-temp-disk, FAQ).
            return "no local temp disk (a Windows VM with one cannot resize to it)" if n.temp_disk else (
                "has a local temp disk (a Windows VM without one cannot resize to it)")
        if n.scsi and _controllers(cand) == {"nvme"}:
            # DiskControllerTypes "NVMe" only (v6 sizes): a SCSI VM must switch its controller while
            # deallocated first (learn.microsoft.com/azure/virtual-machines/nvme-overview).
            return "NVMe disk controller only (the VM's disks are on SCSI)"
        if n.trusted_launch and _cap(cand, "TrustedLaunchDisabled") == "true":
            return "no Trusted Launch"
        if n.accelerated_networking and _cap(cand, "AcceleratedNetworkingEnabled") == "false":
            return "no accelerated networking"
        if n.family and cand.family and cand.family.lower() != n.family.lower():
            # A Virtual Machines pool holds sizes of one family (learn.microsoft.com/azure/aks/
            # virtual-machines-node-pools).
            return "another family than the pool's other sizes"
        if cand.restricted:
            return "restricted for the subscription"
        if n.zones and not cand.available_in_zones(n.zones):
            return "not offered in every zone"
        if self.is_retiring(cand.name):
            return "retiring itself"
        return ""

    def _why(self, vm_size, current: Sku, best: Sku, n: _Needs, location, successor: bool) -> str:
        where = location + (f" zones {','.join(n.zones)}" if n.zones else "")
        fit = f"{best.vcpus} vCPUs/{_gb(best.memory_gb)} GB" + (f"/{best.gpus} GPU" if best.gpus else "")
        was = f"{current.vcpus} vCPUs/{_gb(current.memory_gb)} GB" + (f"/{current.gpus} GPU" if current.gpus else "")
        line = "successor line" if successor else "smallest Gen2 size that fits"
        return (f"{line} for {vm_size}: {fit} (was {was}), {current.cpu_architecture}, Gen2, "
                f"offered unrestricted in {where}, not retiring")

    # ------------------------------------------------------------------ advice
    def for_pool(self, cluster: Cluster, pool: NodePool, vm_size: str, pool_names=()) -> Advice:
        """Advice for a retiring or Gen1-only size in an AKS pool."""
        # Asked again for the same pool (its size finding, then its Gen1 node image): the same
        # answer. Only the cluster being judged is remembered, by identity.
        if self._advised_cluster is not cluster:
            self._advised_cluster, self._advised = cluster, {}
        key = (id(pool), vm_size)
        hit = self._advised.get(key)
        if hit is not None and hit[0] is pool and hit[1] == pool_names:
            return hit[2]
        advice = self._for_pool(cluster, pool, vm_size, pool_names)
        self._advised[key] = (pool, pool_names, advice)
        return advice

    def _for_pool(self, cluster: Cluster, pool: NodePool, vm_size: str, pool_names=()) -> Advice:
        family = self._pool_family(cluster, pool, vm_size)
        repl, why_not = self.replacement(cluster.subscription_id, cluster.location, vm_size, pool.zones, pool=pool,
                                         family=family)
        if repl is None:
            return Advice(None, (), f"No replacement: {why_not}.")
        # Quota is one more constraint: an alternative with room wins over a replacement without.
        repl, quota, quota_note = self._fit(cluster.subscription_id, cluster.location, pool, vm_size, repl)
        if pool.pool_type.lower() == "virtualmachines":
            shared = _shared_entry(pool, vm_size)
            if shared:
                sizes_ = ",".join(dict.fromkeys(repl.vm_size if s.lower() == vm_size.lower() else s for s in shared))
                note = (f"{vm_size} shares one scale.manual entry with {', '.join(s for s in shared if s != vm_size)} "
                        "(a preview API shape: several sizes for one count). The GA `az aks nodepool manual-scale "
                        "update` changes one-size entries only; with the aks-preview extension (preview): "
                        + " ".join(["az aks nodepool manual-scale update", *_aks_scope(cluster), "--name",
                                    _q(pool.name), "--current-vm-sizes", _q(",".join(shared)), "--vm-sizes",
                                    _q(sizes_)]) + ".")
                return _started(cluster, Advice(repl, (), f"{note} {quota_note}".strip(), quota))
            return _started(cluster, Advice(repl, vm_pool_commands(cluster, pool, vm_size, repl.vm_size), quota_note,
                                            quota))
        plan = rebuild_pool(cluster, pool, repl.vm_size, pool_names)
        preview = self.in_place_preview(cluster, pool, vm_size, repl.vm_size)
        note = " ".join((*plan.notes, quota_note, *(["Preview alternative (aks-preview extension; the rebuild above "
                                                    "stays the default): " + " && ".join(preview) + "."]
                                                   if preview else []))).strip()
        return _started(cluster, Advice(repl, plan.commands, note, quota))

    def _fit(self, subscription_id: str, location: str, pool: NodePool, vm_size: str, repl: Replacement):
        """headroom.fit_replacement, one answer per (subscription, region, replacement, nodes, Spot):
        the replacement (kept alive by the cache it came from) and the Headroom are shared."""
        if self.quotas is None:
            return repl, None, ""
        nodes, spot = headroom.move_nodes(pool, vm_size), pool.priority.lower() == "spot"
        key = (subscription_id, location, id(repl), nodes, spot)
        hit = self._fits.get(key)
        if hit is None:
            hit = self._fits[key] = headroom.fit_nodes(self.quotas, self.skus, subscription_id, location, nodes,
                                                       spot, repl)
        return hit

    def in_place_preview(self, cluster: Cluster, pool: NodePool, vm_size: str, target: str) -> tuple[str, ...]:
        """`az aks nodepool update --node-vm-size` (aks-preview: resize a scale-set pool in place,
        learn.microsoft.com/azure/aks/resize-node-pool, "Resize a VMSS node pool in place (preview)"),
        only where nothing but the size changes: same Hyper-V generations, disk controllers, CPU
        architecture and confidential support, the same OS SKU, and a max surge that is not 0 (the
        nodes are replaced by surge). () when it does not apply; the core Azure CLI has no such flag."""
        if pool.pool_type.lower() == "virtualmachines":
            return ()
        surge = pool.properties.get("upgradeSettings.maxSurge", pool.max_surge)
        # Everything the verdict reads (the pool's OS fields, the cluster's version, the surge, the two
        # sizes where the cluster is): one verdict per combination.
        key = (pool.os_type, pool.os_sku, pool.node_image_version, pool.orchestrator_version,
               cluster.kubernetes_version, surge, cluster.subscription_id, cluster.location, vm_size, target)
        try:
            same = self._in_place.get(key)
        except TypeError:  # a surge value that is not text or a number: no memo
            key, same = None, None
        if same is None:
            same = self._resizes_in_place(cluster, pool, vm_size, target, surge)
            if key is not None:
                self._in_place[key] = same
        if not same:
            return ()
        return ("az extension add --name aks-preview",
                " ".join(["az aks nodepool update", *_aks_scope(cluster), "--name", _q(pool.name),
                          "--node-vm-size", _q(target)]))

    def _resizes_in_place(self, cluster: Cluster, pool: NodePool, vm_size: str, target: str, surge) -> bool:
        os_ = new_pool_os(pool, cluster.kubernetes_version)
        current_os = (windows_os_sku(pool, cluster.kubernetes_version) if pool.os_type.lower() == "windows"
                      else pool.os_sku)
        if os_.os_sku.lower() != current_os.lower():
            return False  # the OS must change too: only a new pool does that
        surge = str(surge or "").strip().rstrip("%")
        if surge in ("0",):
            return False
        old = self.skus.get(cluster.subscription_id, cluster.location, vm_size)
        new = self.skus.get(cluster.subscription_id, cluster.location, target)
        if old is None or new is None:
            return False
        return not (old.hyperv_generations != new.hyperv_generations or _controllers(old) != _controllers(new)
                    or old.cpu_architecture.lower() != new.cpu_architecture.lower()
                    or _is_confidential(vm_size) != _is_confidential(target))

    def _pool_family(self, cluster: Cluster, pool: NodePool, vm_size: str) -> str:
        """The family the other sizes of a VirtualMachines pool share ("" for scale-set pools, or
        when those sizes retire too or already span several families)."""
        if pool.pool_type.lower() != "virtualmachines":
            return ""
        families = set()
        for other in pool.vm_sizes:
            if other.lower() == vm_size.lower() or self.is_retiring(other):
                continue
            sku = self.skus.get(cluster.subscription_id, cluster.location, other)
            if sku is not None and sku.family and not sku.gen1_only:
                families.add(sku.family.lower())
        return families.pop() if len(families) == 1 else ""

    def for_node_image(self, cluster: Cluster, pool: NodePool, vm_size: str, pool_names=()) -> Advice:
        """Advice for a Gen1 node image on a Gen2-capable size."""
        if self.is_retiring(vm_size):
            return self.for_pool(cluster, pool, vm_size, pool_names)
        if pool.os_type.lower() != "windows":
            return _started(cluster, Advice(None, node_image_upgrade_commands(cluster, pool),
                                            "If nodeImageVersion still has no 'gen2' after the upgrade, "
                                            "rebuild the pool."))
        sku = self.skus.get(cluster.subscription_id, cluster.location, vm_size)
        if sku is not None and sku.available_in_zones(pool.zones if sku.zones else ()):
            plan = rebuild_pool(cluster, pool, vm_size, pool_names)
            first = ("Same size, new pool with the Gen2 header." if plan.os and plan.os.os_sku == "Windows2022"
                     and windows_os_sku(pool, cluster.kubernetes_version) == "Windows2022"
                     else "Same size, new pool.")
            return _started(cluster, Advice(None, plan.commands, " ".join((first, *plan.notes))))
        return self.for_pool(cluster, pool, vm_size, pool_names)

    def for_vm(self, vm: VirtualMachine) -> Advice:
        # Everything _vm_plan reads of the VM: one plan per combination.
        key = (vm.subscription_id, vm.location, vm.vm_size, vm.zones, vm.security_type, vm.os_type)
        try:
            plan = self._vm_plans.get(key)
        except TypeError:  # zones in a list: no memo
            key, plan = None, None
        if plan is None:
            plan = self._vm_plan(vm)
            if key is not None:
                self._vm_plans[key] = plan
        repl, why_not, convert, check, bridge, note = plan
        aks = _aks_managed_note(vm.tags, "")
        if repl is None:
            return Advice(None, (), f"No replacement: {why_not}." + (f" {aks}" if aks else ""))
        if aks:  # a node of an AKS VirtualMachines pool whose cluster is not in the inventory
            return Advice(repl, (), aks)
        if convert and not bridge:
            return Advice(repl, (), note)
        return Advice(repl, vm_commands(vm, repl.vm_size, trusted_launch=convert, check_generation=check,
                                        bridge_size=bridge), note)

    def _vm_plan(self, vm: VirtualMachine) -> tuple:
        """(replacement, why none, convert to Trusted Launch, check the generation first, bridge size,
        note) for a standalone VM; no names in any of it."""
        current = self.skus.get(vm.subscription_id, vm.location, vm.vm_size)
        known_gen2 = vm.security_type.lower() in ("trustedlaunch", "confidentialvm")
        gen1 = bool(current and current.gen1_only)
        repl, why_not = self.replacement(vm.subscription_id, vm.location, vm.vm_size, vm.zones,
                                         prefer_gen1=not known_gen2, windows_vm=vm.os_type.lower() == "windows",
                                         scsi=True, trusted_launch=vm.security_type.lower() == "trustedlaunch")
        if repl is None:
            return None, why_not, False, False, "", ""
        target = self.skus.get(vm.subscription_id, vm.location, repl.vm_size)
        gen2_only = bool(target and "V1" not in target.hyperv_generations)
        convert = gen2_only and gen1 and not known_gen2
        check = gen2_only and not gen1 and not known_gen2
        note = ""
        bridge = ""
        if convert:
            # A Gen1 VM can neither be resized straight onto a Gen2-only size nor upgraded to Trusted
            # Launch on a Gen1-only one: it goes through a size that offers both generations.
            bridge = self._bridge(vm)
            if not bridge:
                return repl, "", convert, check, "", (
                    f"The VM runs a Generation 1 image and {repl.vm_size} is Gen2-only, but no size in "
                    f"{vm.location} offers both generations to carry it through the Trusted Launch upgrade: "
                    "recreate it from a Gen2 image, or move it through a region that has one.")
            note = ("The VM runs a Generation 1 image and the target is Gen2-only: back it up and make the OS "
                    "disk GPT/UEFI-bootable first (Windows: mbr2gpt /convert /allowFullOS in the guest); "
                    f"it passes through {bridge} (Gen1 and Gen2) for the Trusted Launch upgrade.")
        elif check:
            note = "The target is Gen2-only: if the first command prints V1, upgrade the VM to Trusted Launch first."
        return repl, "", convert, check, bridge, note

    def _bridge(self, vm: VirtualMachine) -> str:
        """A size offering Gen1 and Gen2 with Trusted Launch, deployable where the VM is: the VM is
        deallocated while on it, so its capacity does not matter. "" when the region has none."""
        region_has_zones = any(s.zones for s in self.skus.sizes(vm.subscription_id, vm.location))
        zones = tuple(vm.zones) if region_has_zones else ()
        current = self.skus.get(vm.subscription_id, vm.location, vm.vm_size)
        arch = (current.cpu_architecture if current else "x64").lower()
        vcpus = current.vcpus if current else 0
        options = [
            s for s in self.skus.sizes(vm.subscription_id, vm.location)
            if {"V1", "V2"} <= s.hyperv_generations and s.cpu_architecture.lower() == arch
            and s.capabilities.get("TrustedLaunchDisabled", "").lower() != "true"
            and not _is_special(s.name) and not _is_confidential(s.name) and s.available_in_zones(zones)
        ]
        if not options:
            return ""
        best = min(options, key=lambda s: (self.is_retiring(s.name), abs(s.vcpus - vcpus), s.vcpus, s.name.lower()))
        return best.name

    def for_scale_set(self, vmss: ScaleSet) -> Advice:
        if vmss.aks_cluster_id:
            return Advice(None, (), f"Managed by AKS (cluster {vmss.aks_cluster_id.rsplit('/', 1)[-1]}, "
                                    f"pool {vmss.aks_pool}): change it through the node pool, not the scale set.")
        aks = _aks_managed_note(vmss.tags, vmss.aks_pool)
        known_gen2 = vmss.security_type.lower() in ("trustedlaunch", "confidentialvm")
        repl, why_not = self.replacement(vmss.subscription_id, vmss.location, vmss.vm_size, vmss.zones,
                                         prefer_gen1=not known_gen2, scsi=True,
                                         trusted_launch=vmss.security_type.lower() == "trustedlaunch")
        if repl is None:
            return Advice(None, (), f"No replacement: {why_not}." + (f" {aks}" if aks else ""))
        if aks:  # its cluster is not in the inventory: the pool's options are unknown here
            return Advice(repl, (), aks)
        target = self.skus.get(vmss.subscription_id, vmss.location, repl.vm_size)
        note = ""
        if target is not None and "V1" not in target.hyperv_generations and not known_gen2:
            note = "The target is Gen2-only: the scale set's image must be a Generation 2 image."
        if vmss.orchestration_mode.lower() == "flexible":
            note = (note + " " if note else "") + (
                "Flexible orchestration: existing instances keep their size; resize them "
                "(az vm deallocate/resize/start) or scale out and remove the old ones.")
        elif vmss.upgrade_policy.lower() == "automatic":
            note = (note + " " if note else "") + "Upgrade policy Automatic: instances pick up the new size on their own."
        return Advice(repl, scale_set_commands(vmss, repl.vm_size), note)


def windows_os_sku(pool: NodePool, cluster_version: str = "") -> str:
    """The Windows OS SKU a pool runs: its osSKU; else the node image's family; else the AKS default
    for its Kubernetes version (the pool's, else the cluster's): Windows2019 up to 1.24, Windows2022
    from 1.25, Windows2025 from 1.36 (upgrade-os-version.md @ d91258ba; an unknown version is taken
    as today's default, never as old)."""
    if pool.os_sku:
        return pool.os_sku
    family = node_images.family_of(pool.node_image_version)
    if family is not None and family.windows:
        return family.os_sku
    version = _version(pool.orchestrator_version or cluster_version)[:2]
    if not version:
        return "Windows2022"
    if version < (1, 25):
        return "Windows2019"
    return "Windows2022" if version < (1, 36) else "Windows2025"


def _windows_needs_move(pool: NodePool, cluster: Cluster | None = None) -> bool:
    """The rebuilt Windows pool changes OS (Windows Server 2019 cannot run Gen2, ...)."""
    version = cluster.kubernetes_version if cluster else ""
    return new_pool_os(pool, version).os_sku.lower() != windows_os_sku(pool, version).lower()


def _tag_value(tags, name: str) -> str:
    if not tags:
        return ""
    low = name.lower()
    return next((str(v) for k, v in (tags or {}).items() if str(k).lower() == low), "")


def _aks_managed_note(tags, pool: str) -> str:
    """For a scale set / VM AKS manages whose cluster is not in the inventory: "" when not AKS's."""
    pool = pool or _tag_value(tags, "aks-managed-poolName")
    if not pool:
        return ""
    cluster, rg = _tag_value(tags, "aks-managed-cluster-name"), _tag_value(tags, "aks-managed-cluster-rg")
    which = f"cluster {cluster} in {rg}" if cluster and rg else (f"cluster {cluster}" if cluster else "its cluster")
    return (f"Managed by AKS (pool {pool} of {which}, not in the scanned inventory): resize it through the node "
            "pool (az aks nodepool), never the scale set or VM itself; scan the cluster for the exact commands.")


def _started(cluster: Cluster, advice: Advice) -> Advice:
    """A stopped cluster takes no node pool changes: start it first."""
    if cluster.power_state.lower() != "stopped" or not advice.commands:
        return advice
    start = " ".join(["az aks start", "--resource-group", _q(cluster.resource_group), "--name", _q(cluster.name),
                      "--subscription", _q(cluster.subscription_id)])
    note = "The cluster is stopped: start it first (az aks stop afterwards if it should stay stopped)."
    return Advice(advice.replacement, (start, *advice.commands), f"{advice.note} {note}".strip(), advice.quota)


def _alternatives(best: Sku, rest: list[Sku]) -> tuple[str, ...]:
    """Up to two alternatives, other series first (a choice, not three sizes of one line)."""
    out: list[str] = []
    seen = {series_key(best.name)}
    for s in rest:
        sk = series_key(s.name)
        if sk not in seen:
            out.append(s.name)
            seen.add(sk)
        if len(out) == 2:
            return tuple(out)
    for s in rest:
        if s.name not in out:
            out.append(s.name)
        if len(out) == 2:
            break
    return tuple(out)


_NAMED_REJECTIONS = 8  # successor-line sizes turned down, named in `replacement.rejected`


def _cap(sku: Sku | None, name: str) -> str:
    return str((sku.capabilities if sku else {}).get(name, "")).strip().lower()


def _has_temp_disk(sku: Sku | None) -> bool:
    """The size has a local temp (resource) disk: MaxResourceVolumeMB above 0."""
    try:
        return float(_cap(sku, "MaxResourceVolumeMB") or 0) > 0
    except ValueError:
        return False


def _controllers(sku: Sku | None) -> set[str]:
    """DiskControllerTypes ("SCSI, NVMe") lower-cased; {"scsi"} when not stated (older sizes)."""
    raw = _cap(sku, "DiskControllerTypes")
    return {p.strip() for p in raw.split(",") if p.strip()} or {"scsi"}


def _local_disk_gib(sku: Sku) -> float | None:
    """The largest local disk an ephemeral OS disk can be placed on (cache, temp or NVMe disk), in
    GiB; None when the SKU facts carry none of those capabilities (then it cannot be checked)."""
    caps = sku.capabilities
    sizes_gib = []
    for name, per_gib in (("CachedDiskBytes", 1024 ** 3), ("MaxResourceVolumeMB", 1024), ("NvmeDiskSizeInMiB", 1024)):
        raw = str(caps.get(name, "")).strip()
        if raw:
            try:
                sizes_gib.append(float(raw) / per_gib)
            except ValueError:
                continue
    return max(sizes_gib) if sizes_gib else None


def _gb(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _none_fits(vm_size, location, n: _Needs, rejected: dict[str, int]) -> str:
    want = [f"Gen2 {n.arch}", f">= {max(n.vcpus, n.min_vcpus)} vCPUs", f">= {_gb(max(n.memory_gb, n.min_memory_gb))} GB"]
    if n.gpus:
        want.append(f">= {n.gpus} GPU")
    where = location + (f" zones {','.join(n.zones)}" if n.zones else "")
    if not rejected:
        return f"the SKU list for {location} has no other size"
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"no size with {', '.join(want)} is offered unrestricted and not retiring in {where} ({reasons})"


# --------------------------------------------------------------------------- commands

@functools.lru_cache(maxsize=65536)
def _quoted(text: str) -> str:
    return shlex.quote(text)


def _q(value) -> str:
    return _quoted(str(value))


def _aks_scope(cluster: Cluster) -> tuple[str, ...]:
    global _last_scope
    last = _last_scope  # one read: (cluster, its scope), replaced whole (threads may share it)
    if last[0] is cluster:  # the pools of one cluster ask one after the other
        return last[1]
    scope = _aks_scope_of(cluster.resource_group, cluster.name, cluster.subscription_id)
    _last_scope = (cluster, scope)
    return scope


_last_scope: tuple = (None, ())


@functools.lru_cache(maxsize=1024)  # a cluster's pools are judged one after the other
def _aks_scope_of(resource_group: str, name: str, subscription_id: str) -> tuple[str, ...]:
    return ("--resource-group", _q(resource_group), "--cluster-name", _q(name), "--subscription", _q(subscription_id))


def _vm_scope(resource_group: str, name: str, subscription_id: str) -> tuple[str, ...]:
    return ("--resource-group", _q(resource_group), "--name", _q(name), "--subscription", _q(subscription_id))


def get_credentials_command(cluster: Cluster) -> str:
    return _credentials(cluster.resource_group, cluster.name, cluster.subscription_id)


@functools.lru_cache(maxsize=1024)  # one string shared by the findings of a cluster's pools
def _credentials(resource_group: str, name: str, subscription_id: str) -> str:
    return " ".join(["az aks get-credentials", "--resource-group", _q(resource_group), "--name", _q(name),
                     "--subscription", _q(subscription_id)])




def new_pool_name(old: str, os_type: str, target_size: str, taken=()) -> str:
    """A valid AKS pool name for the rebuilt pool: lower-case letters and digits, starting with a
    letter, at most 12 characters (6 for Windows), different from `old`, from every name in `taken`
    (the cluster's pools) and from the name any other pool of `taken` would get for a size of the
    same version: names are handed out in pool-name order, so two pools rebuilt together never
    collide."""
    if type(taken) is tuple:  # a cluster's pool names: the same question for each of its pools
        return _pool_name(old, os_type.lower() == "windows", target_size, taken)
    return _pool_name(old, os_type.lower() == "windows", target_size, tuple(taken))


@functools.lru_cache(maxsize=1024)
def _pool_name(old: str, windows: bool, target_size: str, taken: tuple) -> str:
    target = _size(target_size)
    version = f"v{target.version}" if target is not None and target.version is not None else ""
    pools = tuple(sorted({str(t).lower() for t in taken} | {old.lower()}))
    return _assign_names(pools, windows, version)[old.lower()]


@functools.lru_cache(maxsize=256)
def _assign_names(pools: tuple[str, ...], windows: bool, version: str) -> dict[str, str]:
    limit = 6 if windows else 12
    stripped_of = {p: re.sub(r"[^a-z0-9]", "", p).rstrip("0123456789") for p in pools}
    shared: dict[str, int] = {}
    for st in stripped_of.values():
        shared[st] = shared.get(st, 0) + 1
    used = set(pools)
    out: dict[str, str] = {}
    for old in pools:
        base = re.sub(r"[^a-z0-9]", "", old)
        base = re.sub(r"v\d+$", "", base) or base  # "userv3" -> "user"
        stripped = base.rstrip("0123456789")  # "nodepool1" -> "nodepool", unless a sibling shares it
        if stripped and shared.get(stripped, 0) <= (1 if stripped_of[old] == stripped else 0):
            base = stripped
        if not base or not base[0].isalpha():
            base = ("w" if windows else "np") + base
        for suffix in itertools.chain((version or "g2",), map(str, range(2, 1000))):
            name = base[: limit - len(suffix)] + suffix
            if name[0].isalpha() and name not in used:
                out[old] = name
                used.add(name)
                break
        else:  # pragma: no cover - 998 tries
            raise ValueError(f"no free pool name derived from {old!r}")
    return out


def _version(text: str) -> tuple[int, ...]:
    """"1.31.2" / "v1.31" -> (1, 31, 2) / (1, 31); () when unreadable."""
    parts = []
    for p in str(text or "").strip().lstrip("vV").split("."):
        if not p.isdigit():
            break
        parts.append(int(p))
    return tuple(parts)


@dataclass(frozen=True)
class NewPoolOs:
    """The OS of the rebuilt pool: its OS SKU ("" = AKS's default for Linux), extra flags, and a
    sentence for the finding when it differs from the old pool's."""

    os_sku: str
    args: tuple[str, ...] = ()
    note: str = ""
    fips: bool = False  # the OS SKU requires a FIPS image


# Sources for the OS rules below (stored copies in /work/shared/reference/docs):
# - MicrosoftDocs/azure-aks-docs articles/aks/upgrade-os-version.md @ d91258ba (OS SKU x Kubernetes
#   version table: AzureLinux is Azure Linux 2.0 on 1.27-1.31 and 3.0 from 1.32; AzureLinux3 on 1.28-1.36;
#   Ubuntu2204 on 1.25-1.36; Ubuntu2404 on 1.32-1.38; Windows2022 on 1.23-1.36, default 1.25-1.35;
#   Windows2025 from 1.32, default from 1.36, "Requires a FIPS-enabled image (--enable-fips-image)").
# - articles/aks/includes/azure-linux-retirement.md @ 6262afe3: Azure Linux 2.0 node images removed 2026-03-31.
# - articles/aks/includes/windows-server-2019-retirement.md @ 61b373f2: no Windows Server 2019 on 1.33+.
# - articles/aks/upgrade-windows-os.md @ cfccec22: "Windows Server 2025 node pools require a FIPS-enabled
#   image ... include --enable-fips-image"; a Windows version change is always a new pool.
# - articles/aks/generation-2-vms.md @ fb060abe: Windows Server 2022 runs Gen2 only with
#   --aks-custom-headers UseWindowsGen2VM=true; Windows Server 2025+ uses Gen2 by default.
# - articles/aks/includes/windows-annual-channel-retirement.md @ 769df1f5: no new WindowsAnnual pools
#   after 2026-05-15.
_LINUX_MOVES = {
    # old OS SKU -> (first Kubernetes version where it no longer works for a new pool, OS SKU to use there)
    "azurelinux": ((0, 0), ""),  # decided below: the version picks 2.0 or 3.0
    "cblmariner": ((0, 0), ""),
    "mariner": ((0, 0), ""),
    "azurelinux3": ((1, 37), "AzureLinux"),
    "ubuntu2204": ((1, 37), "Ubuntu"),
    "ubuntu2404": ((1, 39), "Ubuntu"),
}


def new_pool_os(pool: NodePool, cluster_version: str) -> NewPoolOs:
    """The OS SKU of the pool rebuilt on the cluster's (control plane's) version."""
    # Every pool field it (and windows_os_sku) reads: one answer per combination.
    return _new_pool_os(pool.os_type, pool.os_sku, pool.node_image_version, pool.orchestrator_version,
                        cluster_version)


@functools.lru_cache(maxsize=1024)
def _new_pool_os(os_type: str, os_sku: str, node_image_version: str, orchestrator_version: str,
                 cluster_version: str) -> NewPoolOs:
    pool = NodePool("", os_type=os_type, os_sku=os_sku, node_image_version=node_image_version,
                    orchestrator_version=orchestrator_version)
    version = _version(cluster_version)[:2]
    known = bool(version)
    if pool.os_type.lower() != "windows":
        old = pool.os_sku
        low = old.lower()
        if low in ("azurelinux", "cblmariner", "mariner"):
            if known and version < (1, 32):
                note = (f"OS SKU {old} on Kubernetes {cluster_version} is Azure Linux 2.0, whose node images were "
                        "removed on 2026-03-31: the new pool runs AzureLinux3 (Azure Linux 3.0).")
                if version < (1, 28):
                    note += " AzureLinux3 needs Kubernetes 1.28 or later: upgrade the control plane first."
                return NewPoolOs("AzureLinux3", ("--os-sku", "AzureLinux3"), note)
            if low != "azurelinux":
                return NewPoolOs("AzureLinux", ("--os-sku", "AzureLinux"),
                                 f"OS SKU {old} (Azure Linux 2.0) is deprecated: the new pool runs AzureLinux.")
            return NewPoolOs(old, ("--os-sku", old))
        move = _LINUX_MOVES.get(low)
        if move and known and version >= move[0]:
            return NewPoolOs(move[1], ("--os-sku", move[1]),
                             f"OS SKU {old} is not supported on Kubernetes {cluster_version}: the new pool runs "
                             f"{move[1]}.")
        return NewPoolOs(old, ("--os-sku", old) if old else ())
    effective = windows_os_sku(pool, cluster_version)
    low = effective.lower()
    gen2_header = ("--aks-custom-headers", "UseWindowsGen2VM=true")
    if low == "windows2025":
        note = "" if not known or version >= (1, 32) else (
            "Windows2025 needs Kubernetes 1.32 or later: upgrade the control plane first.")
        return NewPoolOs("Windows2025", ("--os-sku", "Windows2025"), note, fips=True)
    if low in ("windows2019", "windows2022", "windowsannual"):
        if low == "windows2022" and (not known or version < (1, 37)):
            return NewPoolOs("Windows2022", ("--os-sku", "Windows2022", *gen2_header))
        target_2025 = known and (version >= (1, 36) if low != "windowsannual" else version >= (1, 32))
        why = {"windows2019": "Windows Server 2019 cannot run Gen2 (and not on Kubernetes 1.33+)",
               "windows2022": f"Windows2022 is not supported on Kubernetes {cluster_version}",
               "windowsannual": "no new WindowsAnnual pools since 2026-05-15"}[low]
        if target_2025:
            return NewPoolOs("Windows2025", ("--os-sku", "Windows2025"),
                             f"{why}: the new pool runs Windows Server 2025 (Gen2, FIPS image required); check the "
                             "containers run on ltsc2025.", fips=True)
        return NewPoolOs("Windows2022", ("--os-sku", "Windows2022", *gen2_header),
                         f"{why}: the new pool runs Windows Server 2022 on Gen2; check the containers run on "
                         "ltsc2022.")
    return NewPoolOs(effective, ("--os-sku", effective))


# The NodePool fields a pool built in code (not read from an inventory row) carries, as properties:
# (property, NodePool field, copy made of the value).
_TYPED = (("availabilityZones", "zones", list), ("nodeLabels", "labels", dict), ("nodeTaints", "taints", list),
          ("maxPods", "max_pods", None), ("osDiskSizeGB", "os_disk_size_gb", None),
          ("osDiskType", "os_disk_type", None), ("vnetSubnetID", "vnet_subnet_id", None),
          ("podSubnetID", "pod_subnet_id", None))


def _typed_properties(pool: NodePool, have=()) -> dict[str, object]:
    """Those fields as properties, but for the ones in `have` (the row's own properties win anyway)."""
    out: dict[str, object] = {}
    for prop, name, copy in _TYPED:
        if prop in have:
            continue
        value = getattr(pool, name)
        if copy is not None:
            value = copy(value)
        if value not in (None, "", [], {}):
            out[prop] = value
    return out


# Rendered by rebuild_pool_commands itself (pool_flags RULED / CHANGED rows) or never passed on.
_RULED = frozenset(p for p, c in pool_flags.TABLE.items() if c.how in (pool_flags.RULED, pool_flags.CHANGED))


@dataclass(frozen=True)
class Rebuild:
    commands: tuple[str, ...]
    notes: tuple[str, ...] = ()  # sentences for the finding: OS moves, properties not carried
    new_pool: str = ""
    os: NewPoolOs | None = None


def rebuild_pool(cluster: Cluster, pool: NodePool, target_size: str, pool_names=()) -> Rebuild:
    """Scale-set pool: write the files the flags read, add a pool like the old one on
    `target_size` (every writable property carried by pool_flags, on the control plane's version and
    the OS SKU AKS supports there), cordon and drain the old pool's nodes, delete the old pool."""
    new = new_pool_name(pool.name, pool.os_type, target_size, pool_names)
    props = {**_typed_properties(pool, pool.properties), **pool.properties}  # the pool's own values win
    os_ = new_pool_os(pool, cluster.kubernetes_version)
    skip = _RULED
    if os_.fips and "enableFIPS" in props:
        skip = skip | {"enableFIPS"}
    carried = pool_flags.add_args(props, new, skip=skip, unknown=pool.unknown_properties)
    add = ["az aks nodepool add", *_aks_scope(cluster), "--name", _q(new), "--node-vm-size", _q(target_size),
           "--mode", _q(pool.mode or "User")]
    if pool.enable_autoscaling and pool.min_count is not None and pool.max_count is not None:
        add += ["--enable-cluster-autoscaler", "--min-count", _q(pool.min_count), "--max-count", _q(pool.max_count)]
        if pool.count is not None and pool.min_count <= pool.count <= pool.max_count:
            add += ["--node-count", _q(pool.count)]
    elif pool.count is not None:
        add += ["--node-count", _q(pool.count)]
    add += ["--os-type", "Windows" if pool.os_type.lower() == "windows" else "Linux", *os_.args]
    if os_.fips:
        add += ["--enable-fips-image"]
    if cluster.kubernetes_version:
        add += ["--kubernetes-version", _q(cluster.kubernetes_version)]
    if pool.priority.lower() == "spot":
        add += ["--priority", "Spot", "--eviction-policy", _q(pool.eviction_policy or "Delete")]
        if pool.spot_max_price is not None:
            price = pool.spot_max_price
            add += ["--spot-max-price", _q(int(price) if float(price).is_integer() else price)]
    set_type = str(props.get("type") or "VirtualMachineScaleSets")
    if set_type.lower() not in ("virtualmachinescalesets", "virtualmachines"):
        add += ["--vm-set-type", _q(set_type)]
    add += list(carried.args)
    notes = [os_.note] if os_.note else []
    if os_.fips and not props.get("enableFIPS"):
        notes.append(f"{os_.os_sku} pools require a FIPS-enabled image: the new pool has --enable-fips-image.")
    dropped = [f"{prop} ({why})" for prop, why in carried.not_carried]
    if dropped:
        notes.append("Not carried to the new pool: " + "; ".join(dropped) + ".")
    if carried.unknown:
        notes.append("Properties this scanner does not know, not carried: " + ", ".join(carried.unknown)
                     + ": compare `az aks nodepool show` of both pools and set them by hand.")
    labels = props.get("nodeLabels") or {}
    reserved = sorted(k for k in labels if str(k).startswith(pool_flags.RESERVED_LABEL_PREFIXES)) if labels else ()
    if reserved:
        notes.append("Labels under reserved prefixes are set by AKS and not passed on: " + ", ".join(reserved) + ".")
    if str(props.get("powerState.code", "")).lower() == "stopped" or pool.power_state.lower() == "stopped":
        notes.append("The old pool is stopped; the new one starts running (az aks nodepool stop it if wanted).")
    commands = (
        *carried.file_commands(),
        " ".join(add),
        get_credentials_command(cluster),
        *_drain(pool.name),
        " ".join(["az aks nodepool delete", *_aks_scope(cluster), "--name", _q(pool.name)]),
    )
    return Rebuild(commands, tuple(notes), new, os_)


@functools.lru_cache(maxsize=1024)  # pools of many clusters share names ("system", "user"): and these strings
def _drain(pool_name: str) -> tuple[str, str]:
    selector = _q(f"agentpool={pool_name}")
    return (f"kubectl cordon -l {selector}", f"kubectl drain -l {selector} --ignore-daemonsets --delete-emptydir-data")


def rebuild_pool_commands(cluster: Cluster, pool: NodePool, target_size: str, pool_names=()) -> tuple[str, ...]:
    """The commands of rebuild_pool (kept for callers that need only them)."""
    return rebuild_pool(cluster, pool, target_size, pool_names).commands


def _shared_entry(pool: NodePool, vm_size: str) -> tuple[str, ...]:
    """The sizes of the scale.manual entry that lists `vm_size` among several (preview API); ()."""
    scale = pool.properties.get("virtualMachinesProfile.scale") or {}
    for entry in (scale.get("manual") or []) if isinstance(scale, dict) else []:
        sizes = entry.get("sizes") if isinstance(entry, dict) else None
        if isinstance(sizes, list) and len(sizes) > 1 and vm_size.lower() in {str(s).lower() for s in sizes}:
            return tuple(str(s) for s in sizes)
    return ()


def _autoscale_entries(pool: NodePool) -> dict[str, dict]:
    """size (lower-case) -> the scale.autoscale entry of a VirtualMachines pool."""
    scale = pool.properties.get("virtualMachinesProfile.scale") or {}
    entries = (scale.get("autoscale") or []) if isinstance(scale, dict) else []
    return {str(e.get("size", "")).lower(): e for e in entries if isinstance(e, dict) and e.get("size")}


def vm_pool_commands(cluster: Cluster, pool: NodePool, old_size: str, target_size: str) -> tuple[str, ...]:
    """Virtual Machines pool: change its size list in place (manual-scale entries; autoscale
    profiles through `az aks nodepool auto-scale`, keeping their min and max counts)."""
    autoscale = _autoscale_entries(pool)
    if old_size.lower() in autoscale:
        scope = ["az aks nodepool auto-scale", None, *_aks_scope(cluster), "--name", _q(pool.name)]

        def auto(verb: str, *extra: str) -> str:
            parts = list(scope)
            parts[1] = verb
            return " ".join([*parts, *extra])

        old = autoscale[old_size.lower()]
        mine = autoscale.get(target_size.lower())
        if mine is None:
            return (auto("update", "--current-node-vm-size", _q(old_size), "--node-vm-size", _q(target_size)),)
        lo = int(mine.get("minCount") or 0) + int(old.get("minCount") or 0)
        hi = int(mine.get("maxCount") or 0) + int(old.get("maxCount") or 0)
        return (auto("update", "--current-node-vm-size", _q(str(mine["size"])), "--min-count", _q(lo),
                     "--max-count", _q(hi)),
                auto("delete", "--current-node-vm-size", _q(old_size), "--yes"))
    counts = {s.lower(): n for s, n in pool.size_counts}
    count = counts.get(old_size.lower())
    base = ["az aks nodepool manual-scale", None, *_aks_scope(cluster), "--name", _q(pool.name)]

    def cmd(verb: str, *extra: str) -> str:
        parts = list(base)
        parts[1] = verb
        return " ".join([*parts, *extra])

    # The target has its own one-size entry: move the count there and drop the old entry. Otherwise
    # (not in the pool, or only inside a several-size entry) the old entry changes size in place.
    if target_size.lower() in counts:
        existing = counts.get(target_size.lower())
        total = (existing or 0) + (count or 0)
        out = []
        if existing is not None and count is not None:
            # azure-cli 2.91 refuses `manual-scale update` without --vm-sizes even when only the
            # count changes ("We only accept single sku size"): name the same size again.
            out.append(cmd("update", "--current-vm-sizes", _q(target_size), "--vm-sizes", _q(target_size),
                           "--node-count", _q(total)))
        out.append(cmd("delete", "--current-vm-sizes", _q(old_size), "--yes"))  # it asks otherwise
        return tuple(out)
    extra = ["--current-vm-sizes", _q(old_size), "--vm-sizes", _q(target_size)]
    if count is not None:
        extra += ["--node-count", _q(count)]
    return (cmd("update", *extra),)


def node_image_upgrade_commands(cluster: Cluster, pool: NodePool) -> tuple[str, ...]:
    """Linux pool on a Gen2-capable size with a Gen1 image: upgrade the node image, then check it."""
    scope = [*_aks_scope(cluster), "--name", _q(pool.name)]
    return (
        " ".join(["az aks nodepool upgrade", *scope, "--node-image-only"]),
        " ".join(["az aks nodepool show", *scope, "--query", "nodeImageVersion", "--output", "tsv"]),
    )


def vm_commands(vm: VirtualMachine, target_size: str, trusted_launch: bool = False,
                check_generation: bool = False, bridge_size: str = "") -> tuple[str, ...]:
    """Standalone VM: deallocate, (Gen1 -> Trusted Launch, through `bridge_size` when the current
    size is Gen1-only), resize, start."""
    scope = " ".join(_vm_scope(vm.resource_group, vm.name, vm.subscription_id))
    out = []
    if check_generation:
        out.append(f"az vm get-instance-view {scope} --query instanceView.hyperVGeneration --output tsv")
    out.append(f"az vm deallocate {scope}")
    if trusted_launch and bridge_size:
        out.append(f"az vm resize {scope} --size {_q(bridge_size)}")
    if trusted_launch:
        out.append(f"az vm update {scope} --security-type TrustedLaunch --enable-secure-boot true --enable-vtpm true")
    out.append(f"az vm resize {scope} --size {_q(target_size)}")
    out.append(f"az vm start {scope}")
    return tuple(out)


def scale_set_commands(vmss: ScaleSet, target_size: str) -> tuple[str, ...]:
    """Scale set: change the model's SKU, then roll the instances onto it."""
    scope = _vm_scope(vmss.resource_group, vmss.name, vmss.subscription_id)
    out = [" ".join(["az vmss update", *scope, "--set", _q(f"sku.name={target_size}")])]
    if vmss.orchestration_mode.lower() == "flexible":
        return tuple(out)
    policy = vmss.upgrade_policy.lower()
    if policy == "rolling":
        out.append(" ".join(["az vmss rolling-upgrade start", *scope]))
    elif policy != "automatic":
        out.append(" ".join(["az vmss update-instances", *scope, "--instance-ids", _q("*")]))
    return tuple(out)
