"""Rules: turn an inventory, a catalogue and SKU facts into findings. Pure: no I/O, no clock.

    evaluate(inventory, catalog, skus, today, thresholds=Thresholds(), guide=True) -> list[Finding]
    severity_for(days_left, thresholds) -> Severity
    Thresholds.from_settings(settings) -> Thresholds

Rules (issue 4):
- retiring-size    a node pool, VM or scale set on a size the catalogue retires; one finding per
                   retiring size (a VirtualMachines pool can hold several sizes).
- gen1-only-size   the region's SKU facts say the size supports Generation 1 only.
- gen1-node-image  an AKS pool on a Gen2-capable size whose node image is still a Gen1 image
                   (nodeImageVersion without "gen2"), Windows Server 2019 pools included.
- capacity-restricted  (issue 13) a pool or scale set on a size under capacity growth restrictions
                   (catalogue `capacity_restricted_from`, today on or after it) whose growth (autoscaler
                   maximum, else one upgrade surge; one instance for a scale set) needs more vCPUs than
                   the family's quota (or Total Regional vCPUs) has left. `high` at the quota ceiling
                   (not one more node fits) whatever the date, else `medium`; never below the
                   retirement's own severity. Needs quota facts (`quotas`, a core.headroom.QuotaBook);
                   without them the retiring-size message still names the restriction.
- retiring-node-os (issue 13) an AKS pool on a node OS version AKS stops supporting (`node_os`, a
                   core.node_os.NodeOsCatalog: Ubuntu 20.04/22.04, Azure Linux 2.0, Windows Server
                   2019/2022, Annual Channel). Severity from the days to the end of support; critical
                   once the node images are removed. Commands: the OS SKU move (in place for Linux,
                   a new pool for Windows Server 2019).

Severity of retiring-size comes from the days left (critical when past or within
critical_days, then high, medium, low); Gen1 findings are `info` unless the size also retires,
in which case they share the retirement's severity. Dates are regional: a retirement that happens
later in some regions (`Retirement.region_dates`) is judged by the date of the resource's region,
and the finding carries the retirement with that date as `retires_on`. A retirement whose
`region_exceptions` name the resource's region or cloud (see `applies_in`) gives no finding. A size restricted for the subscription in
the region (or in the pool's zones) is flagged `restricted`: the autoscaler cannot add nodes.

`catalog` is anything with `retirements_for(vm_size) -> list[Retirement]` (soonest first) and
`skus` a `scanner.sources.skus.SkuIndex`.

Answers that follow from a few inputs (a size's facts and retirement where a resource is, a node OS
verdict, a replacement choice, a quota fit, a VM's plan) are worked out once per run and shared by
every resource that asks the same question, and so are the values and message texts they make. A
memo's key holds everything its answer reads: tests/unit/test_judge_memo.py judges a varied tenant
in one run and with a judge per resource and expects the same findings.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from scanner.core import costs, guidance, headroom, node_images, node_os
from scanner.core.bulk import paused_gc
from scanner.core.model import (
    CLOUD_PREFIXES,
    Capacity,
    Cluster,
    Cost,
    Finding,
    Inventory,
    NodePool,
    ResourceKind,
    ResourceRef,
    Retirement,
    Rule,
    ScaleSet,
    Severity,
    Sku,
    VirtualMachine,
    cloud_of,
    region_key,
)

VIRTUAL_MACHINES_POOL = "virtualmachines"


@dataclass(frozen=True)
class Thresholds:
    """Days-left boundaries of retiring-size severities (inclusive upper bounds)."""

    critical_days: int = 30
    high_days: int = 90
    medium_days: int = 365

    @classmethod
    def from_settings(cls, settings) -> Thresholds:
        return cls(settings.critical_days, settings.high_days, settings.medium_days)


def severity_for(days_left: int, thresholds: Thresholds = Thresholds()) -> Severity:
    """critical when past or within critical_days, high within high_days, medium within
    medium_days, low beyond."""
    if days_left <= thresholds.critical_days:
        return Severity.CRITICAL
    if days_left <= thresholds.high_days:
        return Severity.HIGH
    if days_left <= thresholds.medium_days:
        return Severity.MEDIUM
    return Severity.LOW


# Other names an exception may give a cloud by.
_CLOUD_ALIASES = {
    "usgovernment": "usgov", "azureusgovernment": "usgov", "azuregovernment": "usgov",
    "azurechina": "china", "azurechinacloud": "china", "chinacloud": "china", "21vianet": "china",
}
# Region families an exception may name as a prefix ("usdod": usdodeast, usdodcentral).
_FAMILIES = tuple(prefix for prefix, _ in CLOUD_PREFIXES)


def applies_in(retirement: Retirement, location: str) -> bool:
    """False when the retirement's `region_exceptions` name the location, its cloud or its family.

    Locations are ARM names ("usgovvirginia", any case or spacing). Clouds: "usgov" is Azure
    Government (usgov*, usdod*, ussec*, usnat*), "china" is Azure operated by 21Vianet (china*);
    see `scanner.core.model.cloud_of`. Any other exception must name the region exactly ("eastus" does
    not exclude "eastus2")."""
    loc = region_key(location)
    cloud = cloud_of(loc)
    for exc in retirement.region_exceptions:
        e = region_key(exc)
        e = _CLOUD_ALIASES.get(e, e)
        if not e:
            continue
        if e in (loc, cloud) or (e in _FAMILIES and loc.startswith(e)):
            return False
    return True


def is_windows_2019(pool: NodePool, cluster_version: str = "") -> bool:
    sku = pool.os_sku.lower()
    if pool.os_type.lower() != "windows":
        return False
    if sku == "windows2019":
        return True
    if sku:
        return False
    family = node_images.family_of(pool.node_image_version)
    if family is not None and family.windows:
        return family.os_sku == "Windows2019"
    # No OS SKU and no image: AKS defaulted Windows pools to 2019 before Kubernetes 1.25 (the pool's
    # version, else the cluster's; an unknown version is not assumed to be old).
    version = pool.orchestrator_version or cluster_version
    return bool(version) and _version_tuple(version) < (1, 25)


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for p in text.split(".")[:2]:
        try:
            parts.append(int(p))
        except ValueError:
            break
    return tuple(parts) if parts else (0,)


def has_gen1_image(pool: NodePool) -> bool:
    """The node image is a Generation 1 image, by its family (scanner.core.node_images; an empty or
    unknown image name is not taken as Gen1)."""
    return node_images.is_gen1(pool.node_image_version)


# --------------------------------------------------------------------------- evaluation


class _Judge:
    def __init__(self, catalog, skus, today: date, thresholds: Thresholds, guide: bool, quotas=None,
                 node_os=None, costed: bool = False) -> None:
        self.catalog = catalog
        self.costed = costed  # findings carry a Cost (nodes, meter) for core.costs to price
        self.node_os = node_os  # core.node_os.NodeOsCatalog or None
        self.skus = skus
        self.today = today
        self.thresholds = thresholds
        self.quotas = quotas  # core.headroom.QuotaBook or None
        self.guide = guidance.Guide(skus, catalog, quotas) if guide else None
        # (size, region) -> (retirement as it applies there, the general date when the region's differs)
        self._retiring: dict[tuple[str, str], tuple[Retirement | None, date | None]] = {}
        # Memos of values every resource with the same inputs shares (exact keys: everything read is in
        # the key; the values are shared between findings, which also saves memory):
        self._sized: dict[tuple[str, str, str], tuple] = {}  # (sub, location, size) as written -> facts
        self._restricted: dict[tuple[int, tuple[str, ...]], bool] = {}  # (id(Sku), zones) -> restricted
        self._os_hits: dict[tuple[str, ...], tuple | None] = {}  # the pool's OS fields -> node OS verdict
        self._os_retirements: dict[str, Retirement] = {}  # node OS entry id -> its Retirement, shared
        self._soon: dict[date, str] = {}  # restriction start -> the sentence saying it is coming
        self._gen1_why: dict[tuple[str, ...], str] = {}  # the pool's OS fields -> how it leaves its Gen1 image
        # Message texts held once: most size findings of a region read alike (at 300k resources,
        # 250,000 retiring-size messages were about 60,000 texts). Also: message parts -> message.
        self._texts: dict = {}

    def _text(self, text: str) -> str:
        return self._texts.setdefault(text, text)

    def _message(self, pool: bool, *parts: str) -> str:
        """"".join(parts), held once (_text). A VM's or scale set's message is looked up by its parts
        (memo values, their hashes known) before it is joined; a pool's note names the cluster, so
        its parts are not kept."""
        if pool:
            return self._text("".join(parts))
        text = self._texts.get(parts)
        if text is None:
            text = self._texts[parts] = self._text("".join(parts))
        return text

    def retirement(self, vm_size: str, location: str) -> Retirement | None:
        """The soonest retirement of `vm_size` in `location`, with that location's date as retires_on."""
        return self._regional(vm_size, location)[0]

    def _regional(self, vm_size: str, location: str) -> tuple[Retirement | None, date | None]:
        hit = self._retiring.get((vm_size, location))  # as written: most resources spell them alike
        if hit is not None:
            return hit
        key = (vm_size.lower(), region_key(location))
        hit = self._retiring.get(key)
        if hit is None:
            found = [r for r in self.catalog.retirements_for(vm_size) if applies_in(r, location)]
            best = min(found, key=lambda r: (r.retires_on_in(location), r.id)) if found else None
            general = None
            if best is not None:
                local = best.retires_on_in(location)
                if local != best.retires_on:
                    best, general = replace(best, retires_on=local), best.retires_on
            hit = self._retiring[key] = (best, general)
        self._retiring[(vm_size, location)] = hit
        return hit

    # ------------------------------------------------------------------ per size
    def _capacity(self, ref: ResourceRef, vm_size: str, sku: Sku | None, retirement: Retirement | None,
                  growth: int | None, pool: NodePool | None = None) -> tuple[Capacity | None, str]:
        """The size's capacity growth restriction as it stands today, and a sentence for the message.
        `pool`: a node pool, whose growth (None for Spot) is worked out here, the one place it is read."""
        if retirement is None or retirement.capacity_restricted_from is None:
            return None, ""
        since = retirement.capacity_restricted_from
        if self.today < since:
            soon = self._soon.get(since)
            if soon is None:
                soon = self._soon[since] = (f" Capacity growth restrictions start on {since.isoformat()}: no more "
                                            "quota for it from then.")
            return None, soon
        if pool is not None:
            # Spot pools draw on the low-priority quota, which the restriction does not cap.
            growth = None if pool.priority.lower() == "spot" else headroom.growth_nodes(pool, vm_size)
        facts = sku or self.skus.facts(vm_size)
        room = None
        if growth is not None and facts is not None and self.quotas is not None:
            room = self.quotas.headroom(ref.subscription_id, ref.location, facts.family, facts.vcpus, growth)
        text = f" Capacity growth restricted since {since.isoformat()}: Azure approves no more quota for it"
        if room is not None:
            text += f" ({headroom.describe(room)})"
        return Capacity(since, retirement.capacity_source, room), text + "."

    def _size_facts(self, subscription_id: str, location: str, vm_size: str) -> tuple:
        """What the judge reads of a size where a resource is: (Sku | None, retirement as it applies
        there, the general date when the region's differs, Gen1 only, the retiring-size message's
        head, days left, severity, and when the region's list lacks the size the sentence saying so
        for a pool and for a VM or scale set). One value per (subscription, region, size) as written."""
        key = (subscription_id, location, vm_size)
        hit = self._sized.get(key)
        if hit is None:
            sku = self.skus.get(subscription_id, location, vm_size)
            retirement, general = self._regional(vm_size, location)
            head, days, severity = "", None, Severity.INFO
            if retirement is not None:
                days = retirement.days_left(self.today)
                severity = severity_for(days, self.thresholds)
                when = "retired" if days < 0 else "retires"
                regional = (f"; the date for {region_key(location)}, elsewhere {general.isoformat()}"
                            if general is not None else "")
                head = (f"{vm_size} {when} on {retirement.retires_on.isoformat()} "
                        f"({_days_text(days)}{regional}): {retirement.title}.")
            missing = None
            if sku is None and self.skus.has_region(subscription_id, location):
                text = (f" {vm_size} is not in the SKU list of {region_key(location)}: not offered to "
                        "this subscription there (or left out of the export)")
                missing = (text + ", so the pool cannot scale out on it.",
                           text + "; a deallocated VM may not start again on it.")
            hit = self._sized[key] = (sku, retirement, general, bool(sku and sku.gen1_only), head, days, severity,
                                      missing)
        return hit

    def _is_restricted(self, sku: Sku | None, zones) -> bool:
        if sku is None:
            return False
        key = (id(sku), zones if type(zones) is tuple else tuple(zones))  # the index keeps every Sku alive
        hit = self._restricted.get(key)
        if hit is None:
            hit = self._restricted[key] = not sku.available_in_zones(_zones_offered(sku, zones))
        return hit

    def _size_findings(self, ref: ResourceRef, vm_size: str, zones, id_size: str, advise, args=(),
                       growth: int | None = None, cost: Cost | None = None,
                       pool: NodePool | None = None, id_prefix: str = "") -> list[Finding]:
        """retiring-size, gen1-only-size and capacity-restricted findings for one size of one resource.
        `advise(*args)` gives the Advice (called only when there is a finding); `growth`: nodes the
        scale set may still add (None for a VM); `pool`: the node pool (its growth is read from it);
        `id_prefix`: _id_prefix(ref), when the caller has it."""
        if not vm_size:  # a Flexible scale set without a VM profile has no size to judge
            return []
        sku, retirement, general, gen1_only, head, days, severity, missing = self._size_facts(
            ref.subscription_id, ref.location, vm_size)
        if retirement is None and not gen1_only:
            return []
        out: list[Finding] = []
        restricted = self._is_restricted(sku, zones)
        advice = advise(*args) if self.guide else None
        capacity, capacity_note = self._capacity(ref, vm_size, sku, retirement, growth, pool)
        if advice is not None:
            replacement, commands, quota = advice.replacement, advice.commands, advice.quota
            note = f" {advice.note}" if advice.note else ""
        else:
            replacement, commands, quota, note = None, (), None, ""
        cost = cost if self.costed else None  # nodes and meter only: the service prices it (core.costs)
        pool_kind = ref.kind is ResourceKind.AKS_NODEPOOL
        restricted_note = (
            " The size is restricted for this subscription here: the pool cannot scale out on it."
            if restricted and pool_kind
            else (" The size is restricted for this subscription here." if restricted else "")
        )
        if missing is not None:
            restricted_note = missing[0] if pool_kind else missing[1]
        prefix = id_prefix or _id_prefix(ref)
        id_size = id_size.lower()
        if retirement is not None:
            out.append(Finding(
                id=_finding_id(prefix, _RETIRING_SIZE, retirement.id, id_size),
                rule=Rule.RETIRING_SIZE,
                severity=severity,
                vm_size=vm_size,
                resource=ref,
                retirement=retirement,
                days_left=days,
                replacement=replacement,
                commands=commands,
                restricted=restricted,
                message=self._message(pool_kind, head, capacity_note, restricted_note, note),
                capacity=capacity,
                replacement_quota=quota,
                cost=cost,
            ))
        room = capacity.headroom if capacity else None
        if retirement is not None and room is not None and not room.fits:
            # No more quota will be approved for this series: a pool that cannot reach its maximum
            # (or take an upgrade surge) stays that way. At the ceiling it is high whatever the date.
            floor = Severity.HIGH if room.at_ceiling else Severity.MEDIUM
            what = "pool" if pool_kind else "scale set"
            state = ("is at its quota ceiling: not one more node fits" if room.at_ceiling
                     else f"can add {room.free // max(1, room.vcpus_per_node)} of the {room.nodes} nodes it may need")
            out.append(Finding(
                id=_finding_id(prefix, _CAPACITY_RESTRICTED, retirement.id, id_size),
                rule=Rule.CAPACITY_RESTRICTED,
                severity=floor if floor.rank >= severity.rank else severity,
                vm_size=vm_size,
                resource=ref,
                retirement=retirement,
                days_left=days,
                replacement=replacement,
                commands=commands,
                restricted=restricted,
                message=self._text(
                    f"{vm_size} is under capacity growth restrictions since "
                    f"{capacity.restricted_from.isoformat()} (Azure approves no more quota for it) and the "
                    f"{what} {state}: growing by {room.nodes} node(s) needs {room.needed} vCPUs, "
                    f"{room.free} are free ({headroom.describe(room)}). Move it to a current size."
                    f"{restricted_note}{note}"),
                capacity=capacity,
                replacement_quota=quota,
                cost=cost,
            ))
        if gen1_only:
            out.append(Finding(
                id=_finding_id(prefix, _GEN1_ONLY_SIZE, "", id_size),
                rule=Rule.GEN1_ONLY_SIZE,
                severity=severity,
                vm_size=vm_size,
                resource=ref,
                retirement=retirement,
                days_left=days,
                replacement=replacement,
                commands=commands,
                restricted=restricted,
                message=self._message(pool_kind, f"{vm_size} supports Generation 1 only in {ref.location}: no move "
                                      "to v6 sizes, Trusted Launch or NVMe without changing size.", restricted_note,
                                      note),
                capacity=capacity,
                replacement_quota=quota,
                cost=cost,
            ))
        return out

    # ------------------------------------------------------------------ resources
    def cluster(self, cluster: Cluster) -> list[Finding]:
        out: list[Finding] = []
        names = tuple(p.name for p in cluster.pools)
        for_pool = self.guide.for_pool if self.guide else None
        costed = self.costed
        cluster_id = cluster.id.lower()
        for pool in cluster.pools:
            ref = ResourceRef(
                kind=ResourceKind.AKS_NODEPOOL, id=cluster.id, name=cluster.name,
                subscription_id=cluster.subscription_id, resource_group=cluster.resource_group,
                location=cluster.location, pool=pool.name, tags=cluster.tags,
            )
            vm_pool = pool.pool_type.lower() == VIRTUAL_MACHINES_POOL
            prefix = f"{cluster_id}|{pool.name.lower()}|"  # _id_prefix(ref)
            first = len(out)
            for size in _unique(pool.vm_sizes):
                out.extend(self._size_findings(
                    ref, size, pool.zones, size if vm_pool else "", for_pool, (cluster, pool, size, names),
                    cost=Cost("", headroom.pool_nodes(pool, size), os_type=costs.os_key(pool.os_type),
                              spot=pool.priority.lower() == "spot") if costed else None,
                    pool=pool, id_prefix=prefix,
                ))
            sized = out[first:] if len(out) > first else ()
            out.extend(self._node_image(cluster, pool, ref, names, prefix))
            out.extend(self._node_os(cluster, pool, ref, names, sized, prefix))
        return out

    def _os_verdict(self, pool: NodePool, cluster_version: str) -> tuple | None:
        """The node OS finding's parts that follow from the pool's OS fields alone (see _node_os)."""
        hit = self.node_os.match(pool, cluster_version)
        if hit is None:
            return None
        entry, how = hit
        retirement = self._os_retirements.get(entry.id)
        if retirement is None:
            retirement = self._os_retirements[entry.id] = entry.as_retirement()
        days = retirement.days_left(self.today)
        removed = (entry.images_removed - self.today).days
        ends = "ended" if days < 0 else "ends"
        gone = "were removed" if removed < 0 else "are removed"
        # Past the image removal nothing scales or repairs any more: critical whatever the thresholds.
        severity = Severity.CRITICAL if removed < 0 else severity_for(days, self.thresholds)
        head = (f"the pool runs {entry.os_version} ({how}): AKS support {ends} on "
                f"{entry.end_of_support.isoformat()} ({_days_text(days)}; no patches, no new node pools) and "
                f"its node images {gone} on {entry.images_removed.isoformat()}, when scaling and repair fail.")
        return entry, retirement, days, severity, head

    def _os_of(self, cluster: Cluster, pool: NodePool) -> tuple | None:
        """_os_verdict, one per combination of everything NodeOsCatalog.match reads of the pool and
        cluster (and so of the whole verdict)."""
        key = (pool.os_type, pool.node_image_version, pool.os_sku, pool.orchestrator_version,
               cluster.kubernetes_version)
        verdict = self._os_hits.get(key, _UNSEEN)
        if verdict is _UNSEEN:
            verdict = self._os_hits[key] = self._os_verdict(pool, cluster.kubernetes_version)
        return verdict

    def _node_os(self, cluster: Cluster, pool: NodePool, ref: ResourceRef, names, sized=(),
                 id_prefix: str = "") -> list[Finding]:
        """retiring-node-os: the pool runs a node OS version AKS stops supporting. `sized`: the pool's
        size findings."""
        if self.node_os is None:
            return []
        verdict = self._os_of(cluster, pool)
        if verdict is None:
            return []
        entry, retirement, days, severity, head = verdict
        if self.guide:
            # a node OS move that rebuilds the pool goes to the size the size findings recommend, not onto
            # a retiring (often capacity-restricted) size again (an in-place update keeps the pool's size)
            size = next((f.replacement.vm_size for f in sized if f.replacement is not None
                         and f.replacement.vm_size and pool.vm_sizes and f.vm_size == pool.vm_sizes[0]),
                        "") if sized and entry.move_how != "update" else ""
            commands, note = node_os.move_commands(cluster, pool, entry, names, size)
        else:
            commands, note = (), ""
        return [Finding(
            id=_finding_id(id_prefix or _id_prefix(ref), _RETIRING_NODE_OS, entry.id, ""),
            rule=Rule.RETIRING_NODE_OS,
            severity=severity,
            vm_size=pool.vm_sizes[0] if pool.vm_sizes else "",
            resource=ref,
            retirement=retirement,
            days_left=days,
            commands=commands,
            message=self._text(f"{head} {note}".strip()),
        )]

    def _node_image(self, cluster: Cluster, pool: NodePool, ref: ResourceRef, names,
                    id_prefix: str = "") -> list[Finding]:
        if not has_gen1_image(pool):
            return []
        for size in _unique(pool.vm_sizes):
            sku, retirement = self._size_facts(cluster.subscription_id, cluster.location, size)[:2]
            if sku is None or not sku.supports_gen2:
                continue
            advice = self.guide.for_node_image(cluster, pool, size, names) if self.guide else None
            days = retirement.days_left(self.today) if retirement else None
            # Everything the sentence reads of the pool and cluster (as for the node OS verdict):
            key = (pool.os_type, pool.node_image_version, pool.os_sku, pool.orchestrator_version,
                   cluster.kubernetes_version)
            why = self._gen1_why.get(key)
            if why is None:
                why = self._gen1_why[key] = self._why_gen1(pool, cluster.kubernetes_version)
            return [Finding(
                id=_finding_id(id_prefix or _id_prefix(ref), _GEN1_NODE_IMAGE, "", ""),
                rule=Rule.GEN1_NODE_IMAGE,
                severity=severity_for(days, self.thresholds) if retirement else Severity.INFO,
                vm_size=size,
                resource=ref,
                retirement=retirement,
                days_left=days,
                replacement=advice.replacement if advice else None,
                commands=advice.commands if advice else (),
                restricted=self._is_restricted(sku, pool.zones),
                message=self._text(f"node image {pool.node_image_version} is Generation 1 on Gen2-capable {size}: "
                                   f"{why}" + (f" {advice.note}" if advice and advice.note else "")),
            )]
        return []

    @staticmethod
    def _why_gen1(pool: NodePool, cluster_version: str) -> str:
        """What moves a pool off its Gen1 node image."""
        target = guidance.new_pool_os(pool, cluster_version).os_sku if pool.os_type.lower() == "windows" else ""
        if is_windows_2019(pool, cluster_version):
            how = "as Windows2022 with the UseWindowsGen2VM header" if target == "Windows2022" else f"as {target}"
            return f"Windows Server 2019 pools cannot use Gen2: rebuild it {how}."
        if pool.os_type.lower() == "windows" and guidance.windows_os_sku(pool, cluster_version).lower() == "windows2022":
            return ("Windows Server 2022 pools stay on Gen1 unless created with the "
                    "UseWindowsGen2VM=true header: rebuild the pool with it." if target == "Windows2022" else
                    f"Windows Server 2022 pools stay on Gen1, and Windows2022 ends at Kubernetes 1.36: rebuild "
                    f"the pool as {target}.")
        if pool.os_type.lower() == "windows":
            return (f"the {pool.os_sku or 'Windows'} pool was created on a Gen1 image: rebuild it on the same "
                    "OS SKU to get the Gen2 image.")
        return "upgrade the node image to move the pool to the Gen2 image."

    def _judged(self, subscription_id: str, location: str, vm_size: str) -> bool:
        """The size gets a size finding where the resource is (retiring, or Gen1 only)."""
        if not vm_size:
            return False
        facts = self._size_facts(subscription_id, location, vm_size)
        return facts[1] is not None or facts[3]

    # Whether a resource gets any finding, without making one (judge.finding_regions): the same rules.
    def sized_finds(self, obj: VirtualMachine | ScaleSet) -> bool:
        """A VM or scale set gets a finding: its size retires where it is, or is Gen1 only."""
        return self._judged(obj.subscription_id, obj.location, obj.vm_size)

    def cluster_finds(self, cluster: Cluster) -> bool:
        """One of the cluster's pools gets a finding (the rules of cluster())."""
        sub, loc = cluster.subscription_id, cluster.location
        for pool in cluster.pools:
            sizes = _unique(pool.vm_sizes)
            if any(self._judged(sub, loc, size) for size in sizes):
                return True  # retiring-size or gen1-only-size (capacity-restricted comes with retiring-size)
            if has_gen1_image(pool) and any((sku := self.skus.get(sub, loc, size)) is not None and sku.supports_gen2
                                            for size in sizes):
                return True  # gen1-node-image
            if self.node_os is not None and self._os_of(cluster, pool) is not None:
                return True  # retiring-node-os
        return False

    def vm(self, vm: VirtualMachine) -> list[Finding]:
        if not self._judged(vm.subscription_id, vm.location, vm.vm_size):
            return []
        ref = ResourceRef(
            kind=ResourceKind.VM, id=vm.id, name=vm.name, subscription_id=vm.subscription_id,
            resource_group=vm.resource_group, location=vm.location, tags=vm.tags,
        )
        return self._size_findings(ref, vm.vm_size, vm.zones, "", self.guide.for_vm if self.guide else None, (vm,),
                                   cost=Cost("", 1, os_type=costs.os_key(vm.os_type)) if self.costed else None)

    def scale_set(self, vmss: ScaleSet) -> list[Finding]:
        if not self._judged(vmss.subscription_id, vmss.location, vmss.vm_size):
            return []
        ref = ResourceRef(
            kind=ResourceKind.VMSS, id=vmss.id, name=vmss.name, subscription_id=vmss.subscription_id,
            resource_group=vmss.resource_group, location=vmss.location, tags=vmss.tags,
        )
        # A scale set outside AKS: room for one more instance (a repair, a rolling upgrade).
        return self._size_findings(ref, vmss.vm_size, vmss.zones, "", self.guide.for_scale_set if self.guide else None,
                                   (vmss,), growth=1,
                                   cost=Cost("", max(0, vmss.capacity or 0), os_type=costs.os_key(vmss.os_type))
                                   if self.costed else None)


def _zones_offered(sku: Sku, zones) -> tuple[str, ...]:
    # A region without zones in the SKU facts cannot be checked per zone: judge the region only.
    return tuple(zones) if sku.zones else ()


def _unique(items: tuple[str, ...]) -> list[str]:
    if len(items) == 1:  # a scale-set pool: one size
        return [items[0]] if items[0] else []
    seen: dict[str, str] = {}
    for item in items:
        if item and item.lower() not in seen:
            seen[item.lower()] = item
    return list(seen.values())


_UNSEEN = object()
_RETIRING_SIZE, _CAPACITY_RESTRICTED, _GEN1_ONLY_SIZE, _RETIRING_NODE_OS, _GEN1_NODE_IMAGE = (
    Rule.RETIRING_SIZE.value, Rule.CAPACITY_RESTRICTED.value, Rule.GEN1_ONLY_SIZE.value, Rule.RETIRING_NODE_OS.value,
    Rule.GEN1_NODE_IMAGE.value)


def _id_prefix(ref: ResourceRef) -> str:
    return f"{ref.id.lower()}|{ref.pool.lower()}|"


def _finding_id(prefix: str, rule: str, retirement_id: str, size_lower: str) -> str:
    """model.finding_id with the resource's part lower-cased once:
    _finding_id(_id_prefix(ref), rule, retirement_id, size.lower())
    == finding_id(ref.id, ref.pool, rule, retirement_id, size)."""
    raw = f"{prefix}{rule}|{retirement_id.lower()}|{size_lower}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


def _days_text(days: int) -> str:
    if days < 0:
        return f"{-days} days ago"
    if days == 0:
        return "today"
    return f"in {days} days"


# The dated phrases the judge writes: "retires on D (in N days", "AKS support ends on D (in N days",
# "its node images are removed on D"; each verb with its past tense.
_TENSES = {"retires": "retired", "ends": "ended", "are removed": "were removed"}
_PRESENT = {**{v: k for k, v in _TENSES.items()}, **{k: k for k in _TENSES}}
_DATED = re.compile(r"\b(retires|retired|ends|ended|are removed|were removed) on (\d{4}-\d{2}-\d{2})"
                    r"( \((?:in \d+ days|\d+ days ago|today))?")


def restate_days(message: str, today: date) -> str:
    """A stored finding's message as of `today`. The stored text is the one of the night the
    finding was first written (a quiet night rewrites nothing), so "(in 514 days)" would drift from
    the days left shown beside it: each dated phrase gets its count and tense again; the dates and
    everything else stay as they were."""
    def recount(m: re.Match) -> str:
        try:
            days = (date.fromisoformat(m.group(2)) - today).days
        except ValueError:  # not a calendar date: leave the phrase as written
            return m.group(0)
        present = _PRESENT[m.group(1)]
        verb = _TENSES[present] if days < 0 else present
        return f"{verb} on {m.group(2)}" + (f" ({_days_text(days)}" if m.group(3) else "")

    return _DATED.sub(recount, message)


def evaluate(
    inventory: Inventory,
    catalog,
    skus,
    today: date,
    thresholds: Thresholds = Thresholds(),
    guide: bool = True,
    quotas=None,
    node_os=None,
    costed: bool = False,
) -> list[Finding]:
    """Every finding for the inventory, most urgent first (severity, days left, resource, pool).

    AKS-managed scale sets are judged through their cluster's pool when the cluster is in the
    inventory; VMs that belong to a scale set in the inventory with the same size are judged
    through the scale set. `guide=False` skips replacements and commands (faster, for counts).
    """
    # Building tens of thousands of small frozen values trips the cyclic GC again and again
    # (none of them form cycles): pause it for the loop, as bulk loaders do.
    with paused_gc():
        return _evaluate(inventory, catalog, skus, today, thresholds, guide, quotas, node_os, costed)


class Handover:
    """An inventory handed to `evaluate` for good: its resources in lists that the judge empties as
    it goes, so each cluster, VM and scale set is freed once judged. At 300,000 resources the whole
    inventory held beside all the findings was a third of the peak memory. Only for a caller that
    keeps no other reference to the Inventory (service.run_scan)."""

    __slots__ = ("clusters", "vms", "scale_sets")

    def __init__(self, inventory: Inventory) -> None:
        self.clusters: list = list(inventory.clusters)
        self.vms: list = list(inventory.vms)
        self.scale_sets: list = list(inventory.scale_sets)


def _evaluate(inventory, catalog, skus, today, thresholds, guide, quotas=None, node_os=None,
              costed=False) -> list[Finding]:
    judge = _Judge(catalog, skus, today, thresholds, guide, quotas, node_os, costed)
    findings: list[Finding] = []
    let_go = isinstance(inventory, Handover)
    clusters, scale_set_list, vms = inventory.clusters, inventory.scale_sets, inventory.vms
    cluster_ids = {c.id.lower() for c in clusters}
    for i, cluster in enumerate(clusters):
        findings.extend(judge.cluster(cluster))
        if let_go:
            clusters[i] = None
    scale_sets = {s.id.lower(): s for s in scale_set_list}
    for i, vmss in enumerate(scale_set_list):
        if let_go:
            scale_set_list[i] = None  # still in `scale_sets` until the VMs are judged
        if vmss.aks_cluster_id and vmss.aks_cluster_id.lower() in cluster_ids:
            continue
        findings.extend(judge.scale_set(vmss))
    for i, vm in enumerate(vms):
        if let_go:
            vms[i] = None
        owner = scale_sets.get(vm.scale_set_id.lower()) if vm.scale_set_id else None
        if owner is not None and owner.vm_size.lower() == vm.vm_size.lower():
            continue
        findings.extend(judge.vm(vm))
    return sort_findings(findings)


def finding_regions(inventory: Inventory, catalog, skus, today: date,
                    thresholds: Thresholds = Thresholds()) -> set[tuple[str, str]]:
    """The (subscription, location) pairs, lower-case, of the resources `evaluate` would find
    something on: what the service reads vCPU quota for. The same rules as `evaluate(guide=False)`,
    but a resource whose pair already has a finding is not judged again, and nothing is kept."""
    with paused_gc():
        judge = _Judge(catalog, skus, today, thresholds, False, None, None, False)
        pairs: set[tuple[str, str]] = set()

        def look(obj, finds) -> None:
            pair = (obj.subscription_id.lower(), obj.location.lower())
            if pair not in pairs and finds(obj):
                pairs.add(pair)

        cluster_ids = {c.id.lower() for c in inventory.clusters}
        for cluster in inventory.clusters:
            look(cluster, judge.cluster_finds)
        scale_sets = {s.id.lower(): s for s in inventory.scale_sets}
        for vmss in inventory.scale_sets:
            if not (vmss.aks_cluster_id and vmss.aks_cluster_id.lower() in cluster_ids):
                look(vmss, judge.sized_finds)
        for vm in inventory.vms:
            owner = scale_sets.get(vm.scale_set_id.lower()) if vm.scale_set_id else None
            if not (owner is not None and owner.vm_size.lower() == vm.vm_size.lower()):
                look(vm, judge.sized_finds)
        return pairs


_URGENCY = {s: -s.rank for s in Severity}
_RULE_TEXT = {r: r.value for r in Rule}


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    urgency, rule_text = _URGENCY, _RULE_TEXT
    # Each text lower-cased once, however many findings share it (a resource's findings share its
    # name and id): sorting 430,000 findings built a new lower-case copy of four texts per finding,
    # about 200 MiB for the length of the sort, at the run's peak.
    lowered: dict[str, str] = {}
    get = lowered.get

    def low(text: str) -> str:
        out = lowered[text] = text.lower()
        return out

    def key(f: Finding):  # `get(x) or low(x)`: the shared copy, made on first sight ("" is made again)
        days = f.days_left
        ref = f.resource
        name, pool, size, rid = ref.name, ref.pool, f.vm_size, ref.id
        return (urgency[f.severity], 10**9 if days is None else days, get(name) or low(name),
                (get(pool) or low(pool)) if pool else "", rule_text[f.rule], get(size) or low(size),
                get(rid) or low(rid))

    return sorted(findings, key=key)


def max_severity(findings: Iterable[Finding]) -> Severity | None:
    worst = None
    for f in findings:
        if worst is None or f.severity.rank > worst.rank:
            worst = f.severity
    return worst
