"""What the Functions app needs, built once per process from the app settings, lazily.

    get_context(env=None) -> AppContext
        Settings.from_env(env or os.environ), validated: a bad setting raises ConfigError naming
        the setting and the expected form. Cached per process and rebuilt only when the
        environment changes (tests switch settings; a host never does).
    AppContext
        .settings                      Settings
        .store()                       tables.Storage (bootstrap.storage), opened on first use
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

Nothing connects when the context is built; the first request does.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from scanner.config import Scope, Settings

log = logging.getLogger("scanner.app")

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
                from scanner import bootstrap

                self._store = bootstrap.storage(self.settings)
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
        return ScanNotifier(self.settings, outbox=self.store().outbox, transports=self.transports(), drain=False)

    @property
    def executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=HTTP_SCAN_WORKERS, thread_name_prefix="http-scan")
            return self._executor

    # -- scans

    def scan_deps(self, now: datetime, *, scope: Scope | None = None, refresh_feed: bool = False,
                  notify: bool = True, source: str = "timer") -> Any:
        from scanner import loaders
        from scanner.service import ScanDeps

        s = self.settings
        if self.has_store:
            from scanner.feed_ingest import catalog_for_scan

            def load_catalog():
                return catalog_for_scan(self.store().snapshots, s, now, refresh_first=refresh_feed)
        else:
            load_catalog = loaders.catalog_loader(s)
        deps = ScanDeps(
            load_catalog=load_catalog,
            load_inventory=loaders.inventory_loader(s, scope, s.inventory_files),
            load_skus=loaders.sku_loader(s, s.sku_files, offline=bool(s.inventory_files)),
            load_quotas=loaders.quota_loader(s, offline=bool(s.inventory_files)),
            load_prices=loaders.price_loader(s, offline=bool(s.inventory_files)),
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
                from scanner import bootstrap

                self._scan_queue = bootstrap.scan_request_queue(self.settings)
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


_lock = threading.Lock()
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
    with _lock:
        if _current is not None and _current[0] == key:
            return _current[1]
        settings = Settings.from_env(env)  # ConfigError names the setting
        old = _current
        ctx = AppContext(settings)
        _current = (key, ctx)
    if old is not None:
        old[1].close()
    return ctx


def reset() -> None:
    """Forget the cached context (tests)."""
    global _current
    with _lock:
        old, _current = _current, None
    if old is not None:
        old[1].close()
