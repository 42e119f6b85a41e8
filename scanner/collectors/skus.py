"""Compute resource SKUs: what every VM size is, per subscription and region.

Pure part: `SkuIndex` (lookups). I/O part: listing SKUs through ComputeManagementClient.
"""

from __future__ import annotations

from collections.abc import Iterable

from scanner.model import Sku

ANY_SUBSCRIPTION = "*"


class SkuIndex:
    """Answers questions about sizes per (subscription, region).

    SKU facts read from files usually carry no subscription: they are filed under
    ANY_SUBSCRIPTION and answer for every subscription that has no list of its own.
    """

    def __init__(self) -> None:
        self._by_scope: dict[tuple[str, str], dict[str, Sku]] = {}

    def add(self, subscription_id: str, skus: Iterable[Sku]) -> SkuIndex:
        for sku in skus:
            key = (subscription_id.lower(), sku.location.lower())
            self._by_scope.setdefault(key, {})[sku.name.lower()] = sku
        return self

    @classmethod
    def from_skus(cls, skus: Iterable[Sku], subscription_id: str = ANY_SUBSCRIPTION) -> SkuIndex:
        return cls().add(subscription_id, skus)

    def _region(self, subscription_id: str, location: str) -> dict[str, Sku] | None:
        loc = location.lower().replace(" ", "")
        own = self._by_scope.get((subscription_id.lower(), loc))
        if own is not None:
            return own
        return self._by_scope.get((ANY_SUBSCRIPTION, loc))

    def has_region(self, subscription_id: str, location: str) -> bool:
        return self._region(subscription_id, location) is not None

    def get(self, subscription_id: str, location: str, vm_size: str) -> Sku | None:
        region = self._region(subscription_id, location)
        return None if region is None else region.get(vm_size.lower())

    def sizes(self, subscription_id: str, location: str) -> list[Sku]:
        region = self._region(subscription_id, location)
        return [] if region is None else sorted(region.values(), key=lambda s: s.name.lower())

    def scopes(self) -> list[tuple[str, str]]:
        return sorted(self._by_scope)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_scope.values())
