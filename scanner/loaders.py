"""Loader builders for service.run_scan, shared by the scan command, the Functions app and the demo.

    inventory_loader(settings, scope=None, files=()) -> () -> Inventory
        files: exported inventory (az aks list / az vm list / az vmss list / az graph query -o json),
        read instead of Azure; a `sub:` scope then keeps only those subscriptions. Without files:
        Resource Graph over `scope` (default settings.scan_scope).
    sku_loader(settings, files=(), offline=False) -> (Inventory) -> (SkuIndex, [ScopeError])
        files: exported SKU lists; offline without files: no SKU facts (the scan reports the
        regions it could not judge); else the live Compute resource SKUs of the needed regions,
        through the SKU cache of the configured store (tables.cache; SKU_CACHE_HOURS).
    quota_loader(settings, quota_dir="", offline=False) -> (pairs) -> (QuotaBook, [ScopeError]) | None
        a folder of `az vm list-usage` exports, the live usages, or None (no quota checks).
    price_loader(settings, files=(), offline=False) -> (needs) -> (PriceBook, [ScopeError]) | None
        saved Retail Prices answers, the live API (cached a day), or None (costs left out).
    catalog_loader(settings, feed=None, catalogs=("builtin",), extra_file=None) -> () -> (Catalog, errors)
        built-in catalogue + feed + extra file (collectors.azure_updates.load_catalog).
    restrict_inventory(inventory, scope) -> Inventory      pure: keep a `sub:` scope's resources

Every loader is lazy: building one reads nothing; calling it does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from scanner.config import Scope
from scanner.core.model import Inventory
from scanner.errors import ConfigError


def restrict_inventory(inventory: Inventory, scope: Scope | None) -> Inventory:
    """Keep only the subscriptions of a `sub:` scope (file inputs); other scopes keep everything."""
    if scope is None or scope.kind != "sub":
        return inventory
    subs = {s.lower() for s in scope.values}

    def keep(items):
        return tuple(x for x in items if x.subscription_id.lower() in subs)

    return replace(
        inventory,
        clusters=keep(inventory.clusters),
        vms=keep(inventory.vms),
        scale_sets=keep(inventory.scale_sets),
        subscriptions_seen=frozenset(subs),
    )


def inventory_loader(settings: Any, scope: Scope | None = None, files: Sequence[str] = ()) -> Callable[[], Inventory]:
    files = list(files)
    if files:
        if scope is not None and scope.kind == "mg":
            raise ConfigError(
                f"scope: {scope} names management groups, which only a live Azure read can resolve "
                "(the inventory comes from files here); use 'tenant' or 'sub:ID[,ID...]'"
            )

        def load_files() -> Inventory:
            from scanner.sources.resource_graph import load_inventory_files

            return restrict_inventory(load_inventory_files(files), scope)

        return load_files

    def load_live() -> Inventory:
        from scanner.sources.resource_graph import collect_inventory

        return collect_inventory(settings, scope if scope is not None else settings.scan_scope)

    return load_live


def sku_loader(settings: Any, files: Sequence[str] = (), offline: bool = False) -> Callable[[Inventory], tuple]:
    files = list(files)

    def load(inventory: Inventory) -> tuple:
        from scanner.sources import skus as sku_mod

        if files:
            return sku_mod.load_sku_files(files), []
        if offline:
            return sku_mod.SkuIndex(), []  # service reports the regions without facts
        from scanner import bootstrap
        from scanner.tables.cache import sku_cache

        cache = sku_cache(settings, lambda: bootstrap.credential(settings))
        return sku_mod.fetch_skus(settings, sku_mod.needed_pairs(inventory), cache=cache)

    return load


def quota_loader(settings: Any, quota_dir: str = "", offline: bool = False):
    """(pairs) -> (QuotaBook, [ScopeError]), or None when there is no quota source: a folder of
    `az vm list-usage` exports when given, else the live usages (unless QUOTA_CHECKS=false or the
    scan is offline)."""
    quota_dir = quota_dir or settings.quota_dir
    if quota_dir:
        def load_dir(pairs) -> tuple:
            from scanner.sources.quotas import load_quota_dir

            return load_quota_dir(quota_dir), []

        return load_dir
    if offline or not settings.quota_checks:
        return None

    def load_live(pairs) -> tuple:
        from scanner.sources.quotas import fetch_quotas

        return fetch_quotas(settings, pairs)

    return load_live


def price_loader(settings: Any, files: Sequence[str] = (), offline: bool = False):
    """(needs) -> (PriceBook, [ScopeError]), or None when there is no price source: saved Retail
    Prices answers when given (--prices / SCAN_PRICE_FILES), else the live API (PRICES_URL, cached
    for a day) unless the scan is offline or PRICES_URL is empty."""
    files = list(files) or list(settings.price_files)
    if files:
        def load_files(needs) -> tuple:
            from scanner.sources.prices import book_from_items, load_price_files

            return book_from_items(load_price_files(files), needs), []

        return load_files
    if offline or not settings.prices_url:
        return None

    def load_live(needs) -> tuple:
        from scanner.sources.prices import fetch_prices

        return fetch_prices(settings, needs)

    return load_live


def catalog_loader(settings: Any, feed: Sequence[str] | str | None = None, catalogs: Sequence[str] = ("builtin",),
                   extra_file: str | None = None, previous: Callable[[], Sequence[Any]] | None = None,
                   on_items: Callable[[Sequence[Any]], Any] | None = None) -> Callable[[], tuple]:
    """`previous`/`on_items`: the stored feed snapshot, read before and kept after (see
    scanner.sources.feed.load_catalog): a feed answering with fewer records never shrinks the catalogue."""
    catalogs = list(catalogs)

    def load() -> tuple:
        from scanner.sources.feed import load_catalog

        return load_catalog(settings, None, feed=feed, catalogs=catalogs, extra_file=extra_file,
                            previous=previous or (), on_items=on_items)

    return load
