"""The one composition root: Settings -> everything a scan, a trigger, the CLI or the demo needs,
built lazily, once per process. The Functions app, the CLI and the demo wire scans here only.

Clients

    credential(settings) -> TokenCredential
        DefaultAzureCredential: managed identity in Azure (AZURE_CLIENT_ID / settings.azure_client_id
        picks a user-assigned identity), `az login` locally. The authority follows AZURE_CLOUD.
    resource_graph_client(settings) -> ResourceGraphClient
        Status-code retries are left to the caller (sources.arm reads ARG's quota
        headers); connection retries stay with the SDK.
    compute_client(settings, subscription_id) -> ComputeManagementClient
    arm_client(settings) -> ARMPipelineClient   (plain ARM GETs such as /subscriptions)
    arm_pipeline(settings) -> ARMPipelineClient the one pipeline of sources.arm.ArmJson (Resource Graph,
        subscriptions, SKUs, usages): status retries left to ArmJson, connection retries to the SDK,
        one connection pool shared by every subscription and thread
    clients(settings) -> Clients                 all of the above behind one lazy object
    storage(settings) -> tables.Storage           every table adapter (findings, runs, outbox, ...)
    notify_queue(settings) / scan_request_queue(settings)   the Storage queues, created if missing
    reset() -> None                              forget the context and cached clients (tests)

Sources of a scan (service ports; building one reads nothing, calling it does)
    inventory_loader(settings, scope=None, files=()) -> InventorySource
        files: exported inventory (az aks list / az vm list / az vmss list / az graph query -o json),
        read instead of Azure; a `sub:` scope then keeps only those subscriptions. Without files:
        Resource Graph over `scope` (default settings.scan_scope).
    sku_loader(settings, files=(), offline=False) -> SkuSource
        files: exported SKU lists; offline without files: no SKU facts (the scan reports the
        regions it could not judge); else the live Compute resource SKUs of the needed regions,
        through the SKU cache of the configured store (tables.cache; SKU_CACHE_HOURS).
    quota_loader(settings, quota_dir="", offline=False) -> (pairs) -> (QuotaBook, [ScopeError]) | None
        a folder of `az vm list-usage` exports, the live usages, or None (no quota checks).
    price_loader(settings, files=(), offline=False) -> (needs) -> (PriceBook, [ScopeError]) | None
        saved Retail Prices answers, the live API (cached a day), or None (costs left out).
    catalog_loader(settings, feed=None, catalogs=("builtin",), extra_file=None) -> CatalogSource
        built-in catalogue + feed + extra file (sources.feed.load_catalog).
    restrict_inventory(inventory, scope) -> Inventory      pure: keep a `sub:` scope's resources

The Functions app's context
    get_context(env=None) -> AppContext
        Settings.from_env(env or os.environ), validated: a bad setting raises ConfigError naming
        the setting and the expected form. Cached per process and rebuilt only when the
        environment changes (tests switch settings; a host never does).
    AppContext
        .settings                      Settings
        .store()                       tables.Storage (storage), opened on first use
        .has_store                     AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT is set
        .scan_deps(now, ...)           service.ScanDeps: catalogue from the stored feed snapshot,
                                       inventory and SKUs (files when SCAN_INVENTORY_FILES is set,
                                       Azure otherwise), store, notifier (queue, no drain)
        .run_scan(now, ...)            service.run_scan with those deps -> ScanReport
        .transports()                  notify.Transports for the queue trigger
        .api_deps()                    api.ApiDeps for the HTTP handlers (POST /api/scan enqueues
                                       on SCAN_QUEUE when storage has a queue)
        .scan_queue()                  queues.ScanRequestQueue, opened on first use
        .executor                      worker threads for HTTP scans when there is no queue

Every client talks to settings.arm_endpoint with the token scope settings.arm_scope, so sovereign
clouds (AZURE_CLOUD) and custom endpoints (AZURE_RESOURCE_MANAGER_ENDPOINT) work unchanged.
TLS trust follows the process (REQUESTS_CA_BUNDLE is honoured by requests). Nothing connects at
import time or when a client is built; the first request does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from typing import Any

from scanner.config import Scope, Settings
from scanner.core.model import Inventory
from scanner.errors import ConfigError
from scanner.sources.clients import (  # noqa: F401  (the composition root hands these out)
    Clients,
    arm_client,
    arm_pipeline,
    clients,
    compute_client,
    credential,
    forget_clients,
    resource_graph_client,
)

log = logging.getLogger("scanner.bootstrap")

def storage(settings: Settings, create: bool = True, **client_kwargs: Any) -> Any:
    """Every table adapter (tables.Storage) over the store the settings name: AzureWebJobsStorage,
    else STORAGE_TABLE_ENDPOINT with the managed identity. ConfigError when neither is set."""
    from scanner.tables import open_storage

    return open_storage(settings, lambda: credential(settings), create=create, **client_kwargs)


def notify_queue(settings: Settings) -> Any:
    """The notification queue (NOTIFY_QUEUE), created if missing."""
    from scanner.tables.queues import NotifyQueue, open_queue

    return NotifyQueue(open_queue(settings, settings.notify_queue, "notification queue", lambda: credential(settings)))


def scan_request_queue(settings: Settings) -> Any:
    """The scan request queue (SCAN_QUEUE), created if missing."""
    from scanner.tables.queues import ScanRequestQueue, open_queue

    return ScanRequestQueue(open_queue(settings, settings.scan_queue, "scan request queue",
                                       lambda: credential(settings)))


def reset() -> None:
    """Forget the process's context and close every cached client (tests; a long-lived process
    never needs it)."""
    _forget_context()
    forget_clients()


# --------------------------------------------------------------------------- sources of a scan


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
        from scanner.tables.cache import sku_cache

        cache = sku_cache(settings, lambda: credential(settings))
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
        from scanner.tables.cache import quota_cache

        # the store's table when there is one and QUOTA_CACHE_HOURS > 0: a second scan that day reads no usages
        return fetch_quotas(settings, pairs, cache=quota_cache(settings, lambda: credential(settings)))

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
        from scanner.tables.cache import price_cache

        # the store's table when there is one (every instance shares it), else a folder (PRICE_CACHE_DIR)
        cache = price_cache(settings, lambda: credential(settings))
        book, errors = fetch_prices(settings, needs, cache=cache)
        return book, [*errors, *(cache.errors if cache is not None else ())]

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


# --------------------------------------------------------------------------- the Functions app's context


HTTP_SCAN_WORKERS = 2


class AppContext:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._store: Any = None
        self._transports: Any = None
        self._scan_queue: Any = None
        self._executor: ThreadPoolExecutor | None = None

    # -- store and notifications

    @property
    def has_store(self) -> bool:
        from scanner.tables.kit import storage_configured

        return storage_configured(self.settings)

    def store(self) -> Any:
        with self._lock:
            if self._store is None:
                self._store = storage(self.settings)
            return self._store

    def transports(self) -> Any:
        with self._lock:
            if self._transports is None:
                from scanner.notify import Transports

                self._transports = Transports(self.settings, file_dir=self.settings.notify_dir or None)
            return self._transports

    def set_transports(self, transports: Any) -> None:
        """Use these transports (tests: a short retry backoff)."""
        with self._lock:
            self._transports = transports

    def notifier(self) -> Any:
        """ScanNotifier that records and enqueues (the queue trigger sends), or None when nobody
        is set up to be told."""
        from scanner.notify import ScanNotifier, notifications_configured

        if not notifications_configured(self.settings) or not self.has_store:
            return None
        return ScanNotifier(self.settings, outbox=self.store().outbox, open_queue=self._notify_queue(),
                            transports=self.transports(), drain=False)

    def _notify_queue(self) -> Callable[[], Any] | None:
        from scanner.tables.queues import queue_configured

        return (lambda: notify_queue(self.settings)) if queue_configured(self.settings) else None

    @property
    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=HTTP_SCAN_WORKERS, thread_name_prefix="http-scan")
            return self._executor

    # -- scans

    def scan_deps(self, now: datetime, *, scope: Scope | None = None, refresh_feed: bool = False,
                  notify: bool = True, source: str = "timer") -> Any:
        from scanner.service import ScanDeps

        s = self.settings
        if self.has_store:
            from scanner.feed_ingest import catalog_for_scan

            def load_catalog():
                return catalog_for_scan(self.store().snapshots, s, now, refresh_first=refresh_feed)
        else:
            load_catalog = catalog_loader(s)
        deps = ScanDeps(
            load_catalog=load_catalog,
            load_inventory=inventory_loader(s, scope, s.inventory_files),
            load_skus=sku_loader(s, s.sku_files, offline=bool(s.inventory_files)),
            load_quotas=quota_loader(s, offline=bool(s.inventory_files)),
            load_prices=price_loader(s, offline=bool(s.inventory_files)),
        )
        if self.has_store:
            from scanner.service import ScanStore

            deps.store = ScanStore(self.store().findings, self.store().runs, source=source)
        if notify:
            deps.notifier = self.notifier()
        return deps

    def run_scan(self, now: datetime, *, scope: Scope | None = None, dry_run: bool = False, notify: bool = True,
                 refresh_feed: bool = False, source: str = "timer") -> Any:
        from scanner.core.judge import Thresholds
        from scanner.service import ScanOptions, run_scan

        deps = self.scan_deps(now, scope=scope, refresh_feed=refresh_feed, notify=notify, source=source)
        options = ScanOptions(today=now.date(), thresholds=Thresholds.from_settings(self.settings),
                              no_notify=not notify, dry_run=dry_run)
        return run_scan(deps, now, options)

    # -- HTTP

    def run_scan_request(self, request: Any, now: datetime) -> Any:
        """One ad-hoc scan (POST /api/scan), as the queue trigger or the fallback thread runs it."""
        return self.run_scan(now, scope=request.scope, dry_run=request.dry_run, notify=request.notify,
                             source="http")

    def scan_queue(self) -> Any:
        with self._lock:
            if self._scan_queue is None:
                self._scan_queue = scan_request_queue(self.settings)
            return self._scan_queue

    def api_deps(self) -> Any:
        from scanner.api import ApiDeps
        from scanner.tables.queues import queue_configured

        def enqueue(run_id, request):
            self.scan_queue().enqueue(run_id, request)

        queued = self.has_store and queue_configured(self.settings)
        return ApiDeps(settings=self.settings, store=self.store if self.has_store else None,
                       run_scan=self.run_scan_request, executor=None if queued else self.executor,
                       enqueue=enqueue if queued else None)

    def close(self) -> None:
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None


_context_lock = threading.Lock()
_current: tuple[str, AppContext] | None = None


def _env_key(env: Mapping[str, str]) -> str:
    h = hashlib.sha256()
    for k, v in sorted(env.items()):
        h.update(k.encode("utf-8", "replace") + b"\0" + str(v).encode("utf-8", "replace") + b"\0")
    return h.hexdigest()


def get_context(env: Mapping[str, str] | None = None) -> AppContext:
    """The process's context for these settings (see the module docstring)."""
    global _current
    env = os.environ if env is None else env
    key = _env_key(env)
    with _context_lock:
        if _current is not None and _current[0] == key:
            return _current[1]
        settings = Settings.from_env(env)  # ConfigError names the setting
        old = _current
        ctx = AppContext(settings)
        _current = (key, ctx)
    if old is not None:
        old[1].close()
    return ctx


def _forget_context() -> None:
    global _current
    with _context_lock:
        old, _current = _current, None
    if old is not None:
        old[1].close()
