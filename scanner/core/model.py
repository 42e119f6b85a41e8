"""Plain values that flow between the stages (see ARCHITECTURE.md, "The flow").

Every arrow in the pipeline carries one of these frozen dataclasses, never a raw dict past the
edge where it was parsed. Nothing here does I/O or reads the clock.

Mapping-valued fields (tags, labels, capabilities) are ordinary dicts: the dataclasses are frozen
(no re-assignment) but are not meant to be hashed.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime

# --------------------------------------------------------------------------- severities, rules


class Severity(str, enum.Enum):
    """Ordered by urgency: CRITICAL > HIGH > MEDIUM > LOW > INFO."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Higher is more urgent (critical=4 ... info=0)."""
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            allowed = "|".join(s.value for s in cls)
            raise ValueError(f"severity {text!r} is not one of {allowed}") from None


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Rule(str, enum.Enum):
    RETIRING_SIZE = "retiring-size"
    GEN1_ONLY_SIZE = "gen1-only-size"
    GEN1_NODE_IMAGE = "gen1-node-image"
    CAPACITY_RESTRICTED = "capacity-restricted"
    RETIRING_NODE_OS = "retiring-node-os"


class Status(str, enum.Enum):
    """Life of a finding across runs (store / lifecycle)."""

    NEW = "new"
    OPEN = "open"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    SUPPRESSED = "suppressed"


class ResourceKind(str, enum.Enum):
    AKS_NODEPOOL = "aks-nodepool"
    VM = "vm"
    VMSS = "vmss"


# --------------------------------------------------------------------------- catalogue


@dataclass(frozen=True, slots=True)
class Retirement:
    """One announced retirement of one or more VM size series.

    `series` holds series as announcements write them ("Dsv2", "B", "NVv3", "H_Promo"); `sizes`
    holds explicit size names ("Standard_M192ids_v2") when an announcement names sizes rather
    than series. A VM size is covered when it matches any series or any size.
    """

    id: str
    title: str
    retires_on: date
    series: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    announced_on: date | None = None
    source: str = "builtin"  # "builtin" | "feed" | "extra"
    urls: tuple[str, ...] = ()
    replacement_series: tuple[str, ...] = ()
    # Cloud/region names where this retirement does NOT apply (e.g. "usgov", "china").
    region_exceptions: tuple[str, ...] = ()
    notes: str = ""
    # When the announcement was last modified (feed records); used to settle date disagreements.
    modified: datetime | None = None
    # Regions (ARM names, "usgovvirginia") or clouds ("usgov", "china") where the retirement
    # happens on another date than `retires_on`, sorted by name. A region's own date wins over
    # its cloud's.
    region_dates: tuple[tuple[str, date], ...] = ()
    # From this day Azure approves no more quota for these series and new subscriptions cannot
    # deploy them (capacity growth restrictions); `capacity_source` is the page that says so.
    capacity_restricted_from: date | None = None
    capacity_source: str = ""

    def capacity_restricted_on(self, today: date) -> bool:
        return self.capacity_restricted_from is not None and today >= self.capacity_restricted_from

    def days_left(self, today: date) -> int:
        return (self.retires_on - today).days

    def retires_on_in(self, location: str) -> date:
        """The date that applies in `location` (an ARM location, any case or spacing)."""
        if self.region_dates:
            loc = region_key(location)
            dates = dict(self.region_dates)
            if loc in dates:
                return dates[loc]
            cloud = cloud_of(loc)
            if cloud in dates:
                return dates[cloud]
        return self.retires_on

    def days_left_in(self, location: str, today: date) -> int:
        return (self.retires_on_in(location) - today).days


def region_key(location: str) -> str:
    """A location as ARM names it: lower-case, no spaces ("US Gov Virginia" -> "usgovvirginia")."""
    return "".join(str(location).split()).lower()


# ARM region-name prefixes of the clouds other than Azure public. Azure Government includes the
# DoD regions (usdod*) and the Government Secret/Top Secret regions (ussec*, usnat*); Azure
# operated by 21Vianet names every region china*.
CLOUD_PREFIXES = (("usgov", "usgov"), ("usdod", "usgov"), ("ussec", "usgov"), ("usnat", "usgov"),
                  ("china", "china"))
PUBLIC_CLOUD = "public"


def cloud_of(location: str) -> str:
    """The cloud of an ARM location: "usgov" (Azure Government), "china" (21Vianet) or "public"."""
    loc = region_key(location)
    for prefix, cloud in CLOUD_PREFIXES:
        if loc.startswith(prefix):
            return cloud
    return PUBLIC_CLOUD


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """An announcement we could not turn into a retirement with confidence."""

    id: str
    title: str
    url: str
    reason: str


# --------------------------------------------------------------------------- inventory


@dataclass(frozen=True, slots=True)
class NodePool:
    """One AKS agent pool, as read from the cluster's `agentPoolProfiles`."""

    name: str
    mode: str = "User"  # "System" | "User" | "Gateway"
    pool_type: str = "VirtualMachineScaleSets"  # or "VirtualMachines"
    # One size for a scale-set pool; for a VirtualMachines pool, every size in scale.manual[].
    vm_sizes: tuple[str, ...] = ()
    # Per-size node counts for VirtualMachines pools (size, count); empty for scale-set pools.
    size_counts: tuple[tuple[str, int], ...] = ()
    count: int | None = None
    enable_autoscaling: bool = False
    min_count: int | None = None
    max_count: int | None = None
    zones: tuple[str, ...] = ()
    os_type: str = "Linux"  # "Linux" | "Windows"
    os_sku: str = ""  # "" means the documented default (Ubuntu / Windows2019 or 2022 by version)
    node_image_version: str = ""
    orchestrator_version: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[str, ...] = ()
    priority: str = "Regular"  # "Regular" | "Spot"
    eviction_policy: str = ""  # "Delete" | "Deallocate" (Spot only)
    spot_max_price: float | None = None  # -1 means pay up to on-demand price
    max_pods: int | None = None
    os_disk_size_gb: int | None = None
    os_disk_type: str = ""  # "Managed" | "Ephemeral"
    power_state: str = ""  # "Running" | "Stopped" | ""
    vnet_subnet_id: str = ""
    pod_subnet_id: str = ""
    max_surge: str = ""  # upgradeSettings.maxSurge: "5", "33%", "" (unset: AKS's default)
    # Every writable agentPool property the row carries, by API name ("maxPods"; fields of objects as
    # "upgradeSettings.maxSurge"), values as JSON: what the rebuilt pool must keep (core/pool_flags.py).
    properties: dict[str, object] = field(default_factory=dict)
    # Keys of the row that core/pool_flags.py does not know (a newer API): named in the finding.
    unknown_properties: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Cluster:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    tags: dict[str, str] = field(default_factory=dict)
    node_resource_group: str = ""
    kubernetes_version: str = ""
    power_state: str = ""
    pools: tuple[NodePool, ...] = ()


@dataclass(frozen=True, slots=True)
class VirtualMachine:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    vm_size: str
    tags: dict[str, str] = field(default_factory=dict)
    zones: tuple[str, ...] = ()
    os_type: str = ""
    security_type: str = ""  # "" | "TrustedLaunch" | "ConfidentialVM"
    power_state: str = ""
    # VMs that belong to a scale set (Flexible orchestration) carry the scale set id here.
    scale_set_id: str = ""


@dataclass(frozen=True, slots=True)
class ScaleSet:
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    vm_size: str
    capacity: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    zones: tuple[str, ...] = ()
    os_type: str = ""
    orchestration_mode: str = ""  # "Uniform" | "Flexible"
    upgrade_policy: str = ""  # "Manual" | "Automatic" | "Rolling"
    security_type: str = ""
    # Set when AKS manages this scale set (tags aks-managed-*): the cluster id and pool name.
    aks_cluster_id: str = ""
    aks_pool: str = ""


class ScopeKind(str, enum.Enum):
    """What kind of scope a run could not read (or deliver to). Decisions read this, never text."""

    TENANT = "tenant"
    MANAGEMENT_GROUP = "management-group"
    SUBSCRIPTION = "subscription"
    ROW = "row"  # one inventory row or file item that could not be read
    REGION_SKUS = "region-skus"
    FEED = "feed"
    CATALOG = "catalog"
    NOTIFY = "notify"
    STORE = "store"
    QUOTA = "quota"
    PRICES = "prices"


@dataclass(frozen=True, slots=True)
class ScopeError:
    """A scope the run could not read completely (or a channel it could not deliver to).

    `subscription` (lower-case id) and `region` (ARM name, lower-case) say what was not read;
    `name` names the scope where it is neither (management group, masked feed location, notify
    setting, inventory row). `scope` is the spelling the JSON, CLI and stored runs have always
    shown; nothing decides anything by parsing it.
    """

    kind: ScopeKind
    detail: str
    subscription: str | None = None
    region: str | None = None
    name: str = ""

    @property
    def error(self) -> str:
        return self.detail

    @property
    def scope(self) -> str:
        k = self.kind
        if k is ScopeKind.SUBSCRIPTION:
            return f"subscription {self.subscription or self.name}"
        if k is ScopeKind.REGION_SKUS:
            return f"skus {self.subscription}/{self.region}" if self.subscription else f"skus:{self.region}"
        if k is ScopeKind.MANAGEMENT_GROUP:
            return f"management group {self.name}"
        if k is ScopeKind.TENANT:
            return "tenant"
        if k in (ScopeKind.FEED, ScopeKind.NOTIFY, ScopeKind.STORE, ScopeKind.CATALOG, ScopeKind.QUOTA,
                 ScopeKind.PRICES):
            where = "/".join(x for x in (self.subscription, self.region) if x)
            return f"{k.value}:{self.name or where}"
        return self.name  # ROW: the row's id or label, as it was read


@dataclass(frozen=True, slots=True)
class Inventory:
    clusters: tuple[Cluster, ...] = ()
    vms: tuple[VirtualMachine, ...] = ()
    scale_sets: tuple[ScaleSet, ...] = ()
    # Subscription ids (lower-case) the run did read. Empty with `complete=True` means "all of the
    # inventory's own subscriptions" (file inputs).
    subscriptions_seen: frozenset[str] = frozenset()
    errors: tuple[ScopeError, ...] = ()
    requests: int = 0  # ARM requests made to build it (0 for file inputs)
    # Rows of resource types this scanner does not read, by type (lower-case) and count: said
    # aloud (log, CLI) so a file of storage accounts never reads as "0 findings, all clear".
    unread_types: tuple[tuple[str, int], ...] = ()


# --------------------------------------------------------------------------- SKU facts


@dataclass(frozen=True, slots=True)
class Sku:
    """One VM size as offered in one region to one subscription (Compute resource SKUs)."""

    name: str  # "Standard_D4s_v5"
    location: str  # "westeurope" (lower-case)
    vcpus: int = 0
    memory_gb: float = 0.0
    hyperv_generations: frozenset[str] = frozenset()  # {"V1"}, {"V2"}, {"V1","V2"}
    cpu_architecture: str = "x64"  # "x64" | "Arm64"
    gpus: int = 0
    zones: frozenset[str] = frozenset()
    # Not offered to this subscription in the region at all (restriction type Location).
    restricted: bool = False
    # Zones in which the size is restricted for this subscription (restriction type Zone).
    restricted_zones: frozenset[str] = frozenset()
    family: str = ""  # "standardDSv2Family"
    capabilities: dict[str, str] = field(default_factory=dict)

    @property
    def supports_gen2(self) -> bool:
        return "V2" in self.hyperv_generations

    @property
    def gen1_only(self) -> bool:
        return self.hyperv_generations == frozenset({"V1"})

    def available_in_zones(self, zones: tuple[str, ...] | frozenset[str]) -> bool:
        """True when offered (not restricted) in every one of `zones` (no zones: region only)."""
        if self.restricted:
            return False
        wanted = {str(z) for z in zones}
        if not wanted:
            return True
        return wanted <= set(self.zones) and not (wanted & set(self.restricted_zones))


# --------------------------------------------------------------------------- findings


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What a finding is about. For a node pool, `id` is the cluster's ARM id and `pool` the pool."""

    kind: ResourceKind
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    pool: str = ""
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Replacement:
    vm_size: str
    why: str
    alternatives: tuple[str, ...] = ()
    # Sizes of the natural successor lines that were turned down, with the reason: (size, reason).
    rejected: tuple[tuple[str, str], ...] = ()
    # Every other size of the region turned down, counted by reason: (reason, count), most first.
    turned_down: tuple[tuple[str, int], ...] = ()


def finding_id(resource_id: str, pool: str, rule: str, retirement_id: str = "", vm_size: str = "") -> str:
    """Deterministic, Table-key-safe identity of a finding.

    Built from the resource id (lower-cased), the pool name, the rule, the retirement id and,
    for VirtualMachines pools that mix sizes, the size. Hex only: no `/ \\ # ?` or control
    characters, which Table Storage keys forbid.
    """
    raw = "|".join([resource_id.lower(), pool.lower(), rule, retirement_id.lower(), vm_size.lower()])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    rule: Rule
    severity: Severity
    vm_size: str
    resource: ResourceRef
    # As it applies where the resource is: `retires_on` is the resource's regional date.
    retirement: Retirement | None = None
    days_left: int | None = None
    replacement: Replacement | None = None
    commands: tuple[str, ...] = ()
    # The size is restricted for the subscription in the region: autoscaler cannot scale out.
    restricted: bool = False
    message: str = ""
    # Lifecycle, filled by the store (scan JSON: "status", "first_seen").
    status: Status = Status.NEW
    first_seen: datetime | None = None
    suppressed_until: date | None = None
    suppression_reason: str = ""
    # Issue 13 (all optional, additive in the JSON): the size's capacity growth restriction and
    # the pool's growth room under its family quota; whether the replacement's family has quota
    # for the move; what the pool costs a month now and after the move.
    capacity: Capacity | None = None
    replacement_quota: Headroom | None = None
    cost: Cost | None = None


# --------------------------------------------------------------------------- quota, capacity, cost


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """One row of Microsoft.Compute/locations/{location}/usages: a family's vCPUs, or `cores`."""

    name: str  # "standardDSv3Family", "cores" (Total Regional vCPUs), "virtualMachines", ...
    current: int
    limit: int
    label: str = ""  # "Standard DSv3 Family vCPUs"

    @property
    def free(self) -> int:
        return max(0, self.limit - self.current)


@dataclass(frozen=True, slots=True)
class Headroom:
    """Room for `needed` more vCPUs of one family in one subscription and region.

    Both the family row and the Total Regional vCPUs row (`cores`) must have room; a region
    whose usages list has no `cores` row is judged on the family alone."""

    family: str
    needed: int  # vCPUs asked for
    family_used: int
    family_limit: int
    regional_used: int | None = None
    regional_limit: int | None = None
    vcpus_per_node: int = 0
    nodes: int = 0  # nodes the `needed` vCPUs stand for

    @property
    def free(self) -> int:
        room = max(0, self.family_limit - self.family_used)
        if self.regional_limit is not None and self.regional_used is not None:
            room = min(room, max(0, self.regional_limit - self.regional_used))
        return room

    @property
    def fits(self) -> bool:
        return self.needed <= self.free

    @property
    def short_of(self) -> int:
        return max(0, self.needed - self.free)

    @property
    def at_ceiling(self) -> bool:
        """Not even one more node fits."""
        return self.free < max(1, self.vcpus_per_node)


@dataclass(frozen=True, slots=True)
class Capacity:
    """The finding's size is under capacity growth restrictions (no more quota) since a date."""

    restricted_from: date
    source: str = ""
    # Growth room of the pool or scale set under its family quota (None: no quota facts).
    headroom: Headroom | None = None


HOURS_PER_MONTH = 730  # 8,760 h / 12, as Azure's pricing calculator counts a month


@dataclass(frozen=True, slots=True)
class Cost:
    """Monthly pay-as-you-go price of the nodes now and after the move (None: price not found)."""

    currency: str
    nodes: int
    current_hourly: float | None = None
    replacement_hourly: float | None = None
    hours: int = HOURS_PER_MONTH
    note: str = ""  # why a price is missing, or what was assumed
    os_type: str = "linux"  # "linux" | "windows": which meter (Windows includes the licence)
    spot: bool = False  # a Spot pool: the pay-as-you-go price overstates it

    @property
    def current_monthly(self) -> float | None:
        return None if self.current_hourly is None else round(self.current_hourly * self.nodes * self.hours, 2)

    @property
    def replacement_monthly(self) -> float | None:
        return None if self.replacement_hourly is None else round(self.replacement_hourly * self.nodes * self.hours, 2)

    @property
    def delta_monthly(self) -> float | None:
        a, b = self.current_monthly, self.replacement_monthly
        return None if a is None or b is None else round(b - a, 2)


@dataclass(frozen=True, slots=True)
class Change:
    """One lifecycle transition produced by diff(previous, current)."""

    kind: str  # "new" | "unchanged" | "escalated" | "resolved" | "reopened"
    finding: Finding
    previous_severity: Severity | None = None
