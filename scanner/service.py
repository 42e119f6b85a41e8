"""The one orchestrator: gather inputs, call the pure core, apply its outputs.

    run_scan(deps: ScanDeps, now: datetime, options: ScanOptions) -> ScanReport

It reads top to bottom like the picture in ARCHITECTURE.md:

    1. catalogue      deps.load_catalog()          -> (Catalog, [ScopeError])
    2. inventory      deps.load_inventory()        -> Inventory (carries its own errors)
    3. SKU facts      deps.load_skus(inventory)    -> (SkuIndex, [ScopeError])
    4. judge          judge.evaluate(...)          -> [Finding] with replacements and commands
    5. store          deps.store.sync(report, now=, dry_run=) -> ([Finding] with status, [Change])
    6. notify         deps.notifier.send(changes, report, now=, dry_run=)
    7. undelivered    deps.notifier.delivery_errors() -> [ScopeError], added to the report's
                      errors and to the stored run record (deps.store.add_errors)

Steps 5 and 6 run only when a store / notifier is given (ScanOptions.no_store / no_notify turn
them off). The store returns the findings with their lifecycle filled in (status, first_seen)
and the changes worth telling someone about; the notifier gets those changes.

Loaders are plain callables, so the CLI, the Functions triggers, the demo and the tests build
them from files, live Azure clients or values, and this module never knows which.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from scanner.core import judge
from scanner.core.model import Change, Finding, Inventory, ReviewItem, ScopeError, ScopeKind, Severity, Status

log = logging.getLogger("scanner.service")


@dataclass(frozen=True)
class ScanOptions:
    today: date
    thresholds: judge.Thresholds = judge.Thresholds()
    no_store: bool = False
    no_notify: bool = False
    dry_run: bool = False  # render everything, store and send nothing


@dataclass
class ScanDeps:
    load_catalog: Callable[[], tuple[object, Sequence[ScopeError]]]
    load_inventory: Callable[[], Inventory]
    load_skus: Callable[[Inventory], tuple[object, Sequence[ScopeError]]]
    store: object | None = None  # has .sync(report, *, now, dry_run) -> (findings, changes)
    notifier: object | None = None  # has .send(changes, report, *, now, dry_run) -> messages


@dataclass(frozen=True)
class ScanReport:
    generated_at: datetime
    today: date
    findings: tuple[Finding, ...]
    needs_review: tuple[ReviewItem, ...] = ()
    errors: tuple[ScopeError, ...] = ()
    changes: tuple[Change, ...] = ()
    messages: tuple = ()  # what the notifier rendered / sent
    # counts of what was looked at: clusters, node_pools, vms, scale_sets, retirements, skus
    scanned: dict[str, int] = field(default_factory=dict)
    conflicts: tuple[str, ...] = ()  # catalogue date disagreements between sources
    timings: dict[str, float] = field(default_factory=dict)
    # Subscriptions the run read (lower-case; empty = every subscription in the inventory), so
    # the lifecycle resolves nothing in a scope it could not read (see ScanReport.errors).
    subscriptions_seen: frozenset[str] = frozenset()
    stored: bool = False  # the store ran (findings carry status / first_seen from it)

    def worst(self) -> Severity | None:
        return judge.max_severity(self.active())

    def active(self) -> list[Finding]:
        """Findings not suppressed (by ack or tag): what --fail-on and `worst` look at."""
        return [f for f in self.findings if f.status is not Status.SUPPRESSED]

    def at_or_above(self, threshold: Severity) -> list[Finding]:
        return [f for f in self.active() if f.severity.rank >= threshold.rank]


def missing_sku_regions(inventory: Inventory, skus) -> list[ScopeError]:
    """One error per region (and subscription) that has resources but no SKU facts."""
    seen: dict[tuple[str, str], None] = {}
    for sub, loc in _resource_regions(inventory):
        if not skus.has_region(sub, loc):
            seen.setdefault((sub, loc), None)
    by_loc: dict[str, list[str]] = {}
    for sub, loc in seen:
        by_loc.setdefault(loc, []).append(sub)
    return [
        ScopeError(ScopeKind.REGION_SKUS, region=loc,
                   detail=f"no SKU facts for {loc} ({len(subs)} subscription(s)): "
                          "Gen1 rules and replacements were skipped there")
        for loc, subs in sorted(by_loc.items())
    ]


def _resource_regions(inventory: Inventory):
    for c in inventory.clusters:
        yield c.subscription_id.lower(), c.location.lower()
    for v in inventory.vms:
        yield v.subscription_id.lower(), v.location.lower()
    for s in inventory.scale_sets:
        yield s.subscription_id.lower(), s.location.lower()


def run_scan(deps: ScanDeps, now: datetime, options: ScanOptions) -> ScanReport:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    # 1. catalogue
    catalog, catalog_errors = deps.load_catalog()
    retirements = tuple(getattr(catalog, "retirements", ()))
    needs_review = tuple(getattr(catalog, "needs_review", ()))
    log.info("catalog: %d retirements, %d need review, %d errors",
             len(retirements), len(needs_review), len(catalog_errors))
    timings["catalog"] = _lap(t0)

    # 2. inventory
    t = time.perf_counter()
    inventory = deps.load_inventory()
    pools = sum(len(c.pools) for c in inventory.clusters)
    log.info("inventory: %d node pools in %d clusters, %d VMs, %d scale sets, %d errors",
             pools, len(inventory.clusters), len(inventory.vms), len(inventory.scale_sets),
             len(inventory.errors))
    timings["inventory"] = _lap(t)

    # 3. SKU facts
    t = time.perf_counter()
    skus, sku_errors = deps.load_skus(inventory)
    missing = missing_sku_regions(inventory, skus)
    log.info("skus: %d sizes in %d regions, %d regions without facts", len(skus), len(skus.scopes()), len(missing))
    timings["skus"] = _lap(t)

    # 4. judge (pure)
    t = time.perf_counter()
    findings = judge.evaluate(inventory, catalog, skus, options.today, options.thresholds)
    log.info("judge: %d findings", len(findings))
    timings["judge"] = _lap(t)

    errors = (*catalog_errors, *inventory.errors, *sku_errors, *missing)
    report = ScanReport(
        generated_at=now,
        today=options.today,
        findings=tuple(findings),
        needs_review=needs_review,
        errors=tuple(errors),
        scanned={
            "clusters": len(inventory.clusters),
            "node_pools": pools,
            "vms": len(inventory.vms),
            "scale_sets": len(inventory.scale_sets),
            "retirements": len(retirements),
            "skus": len(skus),
            # rows of resource types the scanner does not read (named in the log); only when there are some
            **({"unread_rows": sum(n for _, n in inventory.unread_types)} if inventory.unread_types else {}),
        },
        conflicts=tuple(getattr(catalog, "conflicts", ())),
        timings=timings,
        # File inputs list no subscriptions read: the inventory's own subscriptions were.
        subscriptions_seen=frozenset(inventory.subscriptions_seen)
        or frozenset(sub for sub, _ in _resource_regions(inventory) if sub),
    )

    # 5. store: lifecycle (status, first_seen) and the changes worth telling
    changes: tuple[Change, ...] = ()
    if deps.store is not None and not options.no_store:
        t = time.perf_counter()
        stored, changed = deps.store.sync(report, now=now, dry_run=options.dry_run)
        changes = tuple(changed)
        report = _replace(report, findings=tuple(judge.sort_findings(stored)), changes=changes,
                          stored=not options.dry_run)
        log.info("store: %d changes", len(changes))
        timings["store"] = _lap(t)

    # 6. notify (a stored run with nothing new still retries what earlier runs failed to send)
    notifying = deps.notifier is not None and not options.no_notify
    if notifying and (changes or report.stored):
        t = time.perf_counter()
        messages = deps.notifier.send(changes, report, now=now, dry_run=options.dry_run)
        report = _replace(report, messages=tuple(messages or ()))
        log.info("notify: %d messages%s", len(report.messages), " (dry run)" if options.dry_run else "")
        timings["notify"] = _lap(t)

    # 7. messages still undeliverable (kept and retried, never dropped) are errors of this run
    if notifying and not options.dry_run and hasattr(deps.notifier, "delivery_errors"):
        undelivered = tuple(deps.notifier.delivery_errors())
        if undelivered:
            for e in undelivered:
                log.warning("notify: %s: %s", e.scope, e.error)
            report = _replace(report, errors=(*report.errors, *undelivered))
            if report.stored and hasattr(deps.store, "add_errors"):
                deps.store.add_errors(undelivered)

    return report


def _replace(report: ScanReport, **changes) -> ScanReport:
    from dataclasses import replace

    return replace(report, **changes)


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 4)
