"""vCPU quota headroom: how much a pool can grow, and whether its replacement fits. Pure: no I/O.

    QuotaBook                                  usages per (subscription, region); files without a
                                               subscription are filed under ANY_SUBSCRIPTION
        .add(subscription_id, location, rows)  rows: [QuotaUsage]
        .has_region(sub, loc) / .rows(sub, loc) / .scopes() / .requests
        .headroom(sub, loc, family, vcpus_per_node, nodes) -> Headroom | None
    surge_nodes(max_surge, nodes) -> int       upgrade surge of a pool of `nodes` nodes
    pool_nodes(pool, vm_size) -> int           nodes the pool runs on that size now
    growth_nodes(pool, vm_size) -> int         nodes the pool may still add (autoscaler maximum, or surge)
    move_nodes(pool, vm_size) -> int           nodes a new pool needs at its maximum plus surge
    quota_request(sub, loc, headroom) -> (command, portal hint)

Facts (cited where they are used):
- Two tiers, both enforced: the family's vCPUs (usages row named like the SKU's `family`,
  "standardDSv3Family") and Total Regional vCPUs (row `cores`). Quota counts allocated and
  deallocated VMs. https://learn.microsoft.com/azure/virtual-machines/quotas
- Raising a family's quota raises the regional limit by the same amount
  (https://learn.microsoft.com/azure/quotas/regional-quota-requests), so one request per family
  is what to ask for.
- maxSurge unset: 10% of the pool, fractional nodes rounded up (AKS agentPool upgradeSettings,
  "If not specified, the default is 10%": Az.Aks NewOrUpdateAgentPoolBase.MaxSurge,
  https://learn.microsoft.com/dotnet/api/microsoft.azure.commands.aks.neworupdateagentpoolbase.maxsurge).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from scanner.core.model import Headroom, NodePool, QuotaUsage, region_key

ANY_SUBSCRIPTION = "*"
REGIONAL_ROW = "cores"  # "Total Regional vCPUs"
# Spot VMs have their own regional quota across all families ("Total Regional Low-priority vCPUs"):
# they are never charged to the family rows (https://learn.microsoft.com/azure/quotas/spot-quota).
SPOT_ROW = "lowPriorityCores"
DEFAULT_SURGE_PERCENT = 10
QUOTA_DOC = "https://learn.microsoft.com/azure/quotas/per-vm-quota-requests"
SPOT_DOC = "https://learn.microsoft.com/azure/quotas/spot-quota"
PORTAL_QUOTAS = "https://portal.azure.com/#view/Microsoft_Azure_Capacity/QuotaMenuBlade/~/myQuotas"


class QuotaBook:
    """vCPU usages and limits per (subscription, region), joined to SKU families by name."""

    def __init__(self) -> None:
        self._by_scope: dict[tuple[str, str], dict[str, QuotaUsage]] = {}
        self.requests = 0  # ARM requests made to fill it (0 for files)
        self.cached_pairs = 0  # (subscription, region) pairs taken from the quota cache (live scans)

    def add(self, subscription_id: str, location: str, rows: Iterable[QuotaUsage]) -> QuotaBook:
        key = (subscription_id.lower(), region_key(location))
        book = self._by_scope.setdefault(key, {})
        for row in rows:
            book[row.name.lower()] = row
        return self

    def rows(self, subscription_id: str, location: str) -> dict[str, QuotaUsage] | None:
        loc = region_key(location)
        own = self._by_scope.get((subscription_id.lower(), loc))
        return own if own is not None else self._by_scope.get((ANY_SUBSCRIPTION, loc))

    def has_region(self, subscription_id: str, location: str) -> bool:
        return self.rows(subscription_id, location) is not None

    def scopes(self) -> list[tuple[str, str]]:
        return sorted(self._by_scope)

    def __len__(self) -> int:
        return len(self._by_scope)

    def headroom(self, subscription_id: str, location: str, family: str, vcpus_per_node: int,
                 nodes: int, *, spot: bool = False) -> Headroom | None:
        """Room for `nodes` more nodes of `vcpus_per_node` vCPUs in `family` (Spot: the regional
        low-priority row alone); None without facts (no usages for the region, no family on the
        SKU, or no row for it)."""
        rows = self.rows(subscription_id, location)
        if rows is None or not family:
            return None
        fam = rows.get((SPOT_ROW if spot else family).lower())
        if fam is None:
            return None
        regional = None if spot else rows.get(REGIONAL_ROW)
        return Headroom(
            family=fam.name,
            needed=max(0, nodes) * max(0, vcpus_per_node),
            family_used=fam.current,
            family_limit=fam.limit,
            regional_used=regional.current if regional else None,
            regional_limit=regional.limit if regional else None,
            vcpus_per_node=vcpus_per_node,
            nodes=max(0, nodes),
        )


def surge_nodes(max_surge: str, nodes: int) -> int:
    """Nodes added during an upgrade: "5" -> 5, "33%" -> ceil(33% of nodes), "" -> ceil(10%), at least 1."""
    text = (max_surge or "").strip()
    try:
        if text.endswith("%"):
            return max(1, math.ceil(nodes * float(text[:-1]) / 100))
        if text:
            return max(0, int(text))
    except ValueError:
        pass  # unreadable: the documented default
    return max(1, math.ceil(nodes * DEFAULT_SURGE_PERCENT / 100))


def pool_nodes(pool: NodePool, vm_size: str) -> int:
    """Nodes the pool runs on `vm_size` now (VirtualMachines pools: that size's count)."""
    if pool.size_counts:
        return sum(n for s, n in pool.size_counts if s.lower() == vm_size.lower())
    return max(0, pool.count or 0)


def _max_nodes(pool: NodePool, vm_size: str) -> int:
    now = pool_nodes(pool, vm_size)
    if pool.enable_autoscaling and pool.max_count and not pool.size_counts:
        return max(now, pool.max_count)
    return now


def growth_nodes(pool: NodePool, vm_size: str) -> int:
    """Nodes the pool may still need to add: up to the autoscaler maximum, else one upgrade surge."""
    now = pool_nodes(pool, vm_size)
    top = _max_nodes(pool, vm_size)
    if top > now:
        return top - now
    return surge_nodes(_surge_of(pool), now)


def move_nodes(pool: NodePool, vm_size: str) -> int:
    """Nodes a new pool needs while the old one still runs: its maximum plus one upgrade surge."""
    top = max(1, _max_nodes(pool, vm_size))
    return top + surge_nodes(_surge_of(pool), top)


def _surge_of(pool: NodePool) -> str:
    return pool.max_surge


def quota_request(subscription_id: str, location: str, h: Headroom) -> tuple[str, str]:
    """The `az quota create` command asking for the missing vCPUs, and where to do it in the portal.

    `az quota create --resource-type dedicated --limit-object value=N` (Azure CLI quota extension,
    https://learn.microsoft.com/cli/azure/quota); N is the new limit, not the increase."""
    new_limit = h.family_limit + h.short_of
    command = (f"az quota create --resource-name {h.family} --scope /subscriptions/{subscription_id}/providers/"
               f"Microsoft.Compute/locations/{region_key(location)} --limit-object value={new_limit} "
               "--resource-type dedicated")
    portal = f"Quotas > Compute > My quotas in the Azure portal ({PORTAL_QUOTAS}; {QUOTA_DOC})"
    return command, portal


def describe(h: Headroom) -> str:
    """'standardDSv3Family 96/100 vCPUs used, Total Regional 180/200'."""
    text = f"{h.family} {h.family_used}/{h.family_limit} vCPUs used"
    if h.regional_limit is not None:
        text += f", Total Regional vCPUs {h.regional_used}/{h.regional_limit}"
    return text


def fit_replacement(book: QuotaBook | None, skus, subscription_id: str, location: str, pool: NodePool,
                    vm_size: str, repl):
    """Check the replacement's family (and the regional total) for the new pool at its maximum plus
    surge while the old pool still runs; when it does not fit and one of the alternatives does, that
    alternative becomes the replacement. Returns (replacement, Headroom | None, note); the note says
    what does not fit, with the numbers and how to ask for more. No quota facts: (repl, None, "")."""
    if book is None or repl is None:
        return repl, None, ""
    return fit_nodes(book, skus, subscription_id, location, move_nodes(pool, vm_size), pool.priority.lower() == "spot",
                     repl)


def fit_nodes(book: QuotaBook | None, skus, subscription_id: str, location: str, nodes: int, spot: bool, repl):
    """fit_replacement for a new pool of `nodes` nodes (its maximum plus surge; `spot`: a Spot pool):
    everything it reads of the pool. The same arguments give the same answer."""
    if book is None or repl is None or not book.has_region(subscription_id, location):
        return repl, None, ""

    def check(name: str) -> Headroom | None:
        sku = skus.get(subscription_id, location, name)
        if sku is None or not sku.family or not sku.vcpus:
            return None
        return book.headroom(subscription_id, location, sku.family, sku.vcpus, nodes, spot=spot)

    first = check(repl.vm_size)
    if first is None or first.fits:
        return repl, first, ""
    for alt in repl.alternatives:
        h = check(alt)
        if h is not None and h.fits:
            others = tuple(x for x in (repl.vm_size, *repl.alternatives) if x != alt)
            why = (f"{alt} instead of {repl.vm_size}, which has no quota for the move ({_short(first)}); "
                   f"{alt} fits: {h.needed} vCPUs of {h.family}, {h.free} free")
            return type(repl)(alt, why, others[:2]), h, ""
    ask = first.family_limit + first.short_of
    if spot:
        how = f"ask for a Spot vCPU limit of {ask} in the Azure portal (Quotas > Compute, {SPOT_DOC})"
    else:
        command, portal = quota_request(subscription_id, location, first)
        how = f"ask for a limit of {ask} with `{command}` or in {portal}"
    note = (f"Quota: the new pool ({first.nodes} nodes x {first.vcpus_per_node} vCPUs at its maximum plus surge) "
            f"needs {first.needed} vCPUs of {first.family} but {first.free} are free ({describe(first)}), and no "
            f"alternative fits either: {how}.")
    return repl, first, note


def _short(h: Headroom) -> str:
    return f"needs {h.needed} vCPUs of {h.family}, {h.free} free"
