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

import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from scanner.core import costs, judge, lifecycle, node_os
from scanner.core.bulk import paused_gc
from scanner.core.lifecycle import Record
from scanner.core.model import Change, Finding, Inventory, ReviewItem, ScopeError, ScopeKind, Severity, Status
from scanner.errors import StoreError
from scanner.ports import (
    CatalogSource,
    FindingRepo,
    InventorySource,
    Notifier,
    RunLog,
    SkuSource,
    WriteResult,
)

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
    load_catalog: CatalogSource
    load_inventory: InventorySource
    load_skus: SkuSource
    store: ScanStore | None = None  # None: nothing stored (--no-store, no storage configured)
    # vCPU usages for the (subscription, region) pairs that have findings -> (QuotaBook, [ScopeError]);
    # None: no quota checks (capacity-restricted needs them; retiring-size still names restrictions).
    load_quotas: Callable[[list[tuple[str, str]]], tuple[object, Sequence[ScopeError]]] | None = None
    # pay-as-you-go prices for {(size, region, os)} the findings need -> (PriceBook, [ScopeError]);
    # None: findings carry no cost.
    load_prices: Callable[[set], tuple[object, Sequence[ScopeError]]] | None = None
    notifier: Notifier | None = None  # None: nobody to tell (--no-notify, nothing configured)


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
    quota_checked: bool = True  # False: no quota checks ran, so capacity-restricted cannot be judged

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


def missing_quota_regions(pairs, quotas, errors: Sequence[ScopeError] = ()) -> list[ScopeError]:
    """One error per (subscription, region) with findings whose usages were neither read nor given
    (a region missing from --quotas DIR); pairs that failed to read already have their error."""
    if quotas is None:
        return []
    failed = {(e.subscription, e.region) for e in errors}
    out = []
    for sub, loc in pairs:
        if not quotas.has_region(sub, loc) and (sub, loc) not in failed:
            out.append(ScopeError(ScopeKind.QUOTA, subscription=sub, region=loc,
                                  detail=f"no vCPU usages for {loc}: quota checks skipped there"))
    return out


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
    with paused_gc():  # hundreds of thousands of acyclic values: see paused_gc
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

    # 3b. vCPU quota, only where there is something to judge (a first pass without guidance says where)
    quotas, quota_errors = None, ()
    if deps.load_quotas is not None:
        t = time.perf_counter()
        # Only the pairs: no finding is kept, and a resource in a pair that already has one is skipped.
        pairs = sorted(judge.finding_regions(inventory, catalog, skus, options.today, options.thresholds))
        quotas, quota_errors = deps.load_quotas(pairs) if pairs else (None, ())
        quota_errors = (*quota_errors, *missing_quota_regions(pairs, quotas, quota_errors))
        log.info("quotas: %d subscription/region pairs with findings, %d read, %d errors",
                 len(pairs), len(quotas) if quotas is not None else 0, len(quota_errors))
        timings["quotas"] = _lap(t)

    # What the report says of the inventory, taken now: the judge then has the only reference to
    # it and lets go of each resource once judged (judge.Handover), so the peak is not the whole
    # inventory beside every finding.
    scanned = {
        "clusters": len(inventory.clusters),
        "node_pools": pools,
        "vms": len(inventory.vms),
        "scale_sets": len(inventory.scale_sets),
        "retirements": len(retirements),
        "skus": len(skus),
        # rows of resource types the scanner does not read (named in the log); only when there are some
        **({"unread_rows": sum(n for _, n in inventory.unread_types)} if inventory.unread_types else {}),
    }
    # File inputs list no subscriptions read: the inventory's own subscriptions were.
    seen = (frozenset(inventory.subscriptions_seen)
            or frozenset(sub for sub, _ in _resource_regions(inventory) if sub))
    inventory_errors = inventory.errors
    handover = judge.Handover(inventory)
    del inventory

    # 4. judge (pure)
    t = time.perf_counter()
    findings = judge.evaluate(handover, catalog, skus, options.today, options.thresholds, quotas=quotas,
                              node_os=node_os.load_builtin(), costed=deps.load_prices is not None)
    del handover
    log.info("judge: %d findings", len(findings))
    timings["judge"] = _lap(t)

    # 4b. what the moves cost (a price that cannot be found says so; it never removes a finding)
    book, price_errors = None, ()
    if deps.load_prices is not None:
        t = time.perf_counter()
        needs = costs.needed_prices(findings)
        book, price_errors = deps.load_prices(needs) if needs else (None, ())
        log.info("prices: %d size/region/OS prices needed, %d found, %d errors", len(needs),
                 len(book) if book is not None else 0, len(price_errors))
        timings["prices"] = _lap(t)
    findings = costs.price_findings(findings, book)

    errors = (*catalog_errors, *inventory_errors, *sku_errors, *missing, *quota_errors, *price_errors)
    report = ScanReport(
        generated_at=now,
        today=options.today,
        findings=tuple(findings),
        needs_review=needs_review,
        errors=tuple(errors),
        quota_checked=deps.load_quotas is not None,
        scanned=scanned,
        conflicts=tuple(getattr(catalog, "conflicts", ())),
        timings=timings,
        subscriptions_seen=seen,
    )

    # 5. store: the plan (status, first_seen, what to tell) written with the duty to tell
    notifying = deps.notifier is not None and not options.no_notify
    changes: tuple[Change, ...] = ()
    tell: tuple[Change, ...] = ()
    if deps.store is not None and not options.no_store:
        t = time.perf_counter()
        stored, changed = deps.store.sync(report, now=now, dry_run=options.dry_run, tell=notifying)
        changes = tuple(changed)
        tell = deps.store.last.tell if deps.store.last is not None else changes
        report = _replace(report, findings=tuple(judge.sort_findings(stored)), changes=changes,
                          stored=not options.dry_run)
        log.info("store: %d changes", len(changes))
        timings["store"] = _lap(t)

    # 6. notify (a stored run with nothing new still retries what earlier runs failed to send);
    #    once the outbox holds what is due, the store's duty to tell is done
    if notifying and (tell or report.stored):
        t = time.perf_counter()
        messages = deps.notifier.send(tell, report, now=now, dry_run=options.dry_run)
        report = _replace(report, messages=tuple(messages or ()))
        if report.stored and deps.notifier.recorded:
            deps.store.mark_told()
        log.info("notify: %d messages%s", len(report.messages), " (dry run)" if options.dry_run else "")
        timings["notify"] = _lap(t)

    # 7. messages still undeliverable (kept and retried, never dropped) are errors of this run
    if notifying and not options.dry_run:
        undelivered = tuple(deps.notifier.delivery_errors())
        if undelivered:
            for e in undelivered:
                log.warning("notify: %s: %s", e.scope, e.error)
            report = _replace(report, errors=(*report.errors, *undelivered))
            if report.stored:
                deps.store.add_errors(undelivered)

    return report


def _replace(report: ScanReport, **changes) -> ScanReport:
    from dataclasses import replace

    return replace(report, **changes)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 4)


# --------------------------------------------------------------------------- one scan, stored


@dataclass(frozen=True)
class ScanOutcome:
    """What storing one scan produced."""

    findings: tuple[Finding, ...]  # tonight's, with status / first_seen / suppression
    resolved: tuple[Finding, ...]  # resolved by this run (status RESOLVED)
    changes: tuple[Change, ...]  # every finding's change; a transition another run claimed first
    #                              comes back here as "unchanged"
    run: dict[str, Any]  # the run record as stored
    warnings: tuple[str, ...] = ()
    tell: tuple[Change, ...] = ()  # what the notifier renders from (changes + resolutions left untold)
    pending: tuple[Record, ...] = ()  # records whose duty to tell is done once the outbox has it

    @property
    def notify(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes
                     if c.kind in lifecycle.NOTIFIED_KINDS and c.finding.status is not Status.SUPPRESSED)

    def summary(self) -> dict[str, int]:
        out = {k: 0 for k in ("new", "unchanged", "escalated", "resolved", "reopened")}
        for c in self.changes:
            out[c.kind] += 1
        out["suppressed"] = sum(1 for f in self.findings if f.status is Status.SUPPRESSED)
        return out


@dataclass
class _Stored:
    """The plan as it stands while store_plan writes it (a lost record is re-planned)."""

    changes: dict[str, Change]
    findings: dict[str, Finding]
    resolved: dict[str, Finding]
    open_after: dict[str, Record]
    pending: dict[str, Record]
    retell: dict[str, Change] = field(default_factory=dict)  # resolutions left untold, to tell now
    result: WriteResult = field(default_factory=WriteResult)
    lost: int = 0


def _planned(plan: lifecycle.Plan) -> _Stored:
    return _Stored({c.finding.id: c for c in plan.changes}, {f.id: f for f in plan.findings},
                   {f.id: f for f in plan.resolved}, {r.id: r for r in plan.open_after},
                   {r.id: r for r in plan.pending}, {c.finding.id: c for c in plan.tell[len(plan.changes):]})


def store_plan(repo: FindingRepo, plan: lifecycle.Plan, current: Sequence[Finding], coverage: lifecycle.Coverage,
               *, now: datetime, suppressions: Mapping[str, Any], tell: bool, max_retries: int = 3) -> _Stored:
    """Write the plan's records, ETag-conditional. A record another run changed first is not
    claimed twice: it is read again and this finding re-planned against it (the other run's
    write wins; ours becomes what is still needed), up to `max_retries` rounds."""
    state = _planned(plan)
    current_by_id = {f.id: f for f in current}
    writes = list(plan.writes)
    for _attempt in range(max_retries + 1):
        if not writes:
            return state
        res = repo.write_records(writes)
        state.result.written |= res.written
        state.result.transactions += res.transactions
        state.result.single_writes += res.single_writes
        if not res.lost:
            return state
        state.lost += len(res.lost)
        partitions = {r.id: lifecycle.scope_of(r.finding) or "none" for r in writes}
        # Many lost (another full run raced this one): one read of everything beats point reads.
        reread = repo.load_records() if len(res.lost) > 50 else None
        retry: list[Record] = []
        for fid in sorted(res.lost):
            fresh = reread.get(fid) if reread is not None else repo.get_record(fid, partitions[fid])
            cur = [current_by_id[fid]] if fid in current_by_id else []
            sub = lifecycle.plan({fid: fresh} if fresh is not None else {}, cur, coverage, now=now,
                                 suppressions=suppressions, tell=tell)
            for table in (state.changes, state.findings, state.resolved, state.open_after, state.pending,
                          state.retell):
                table.pop(fid, None)
            state.changes.update((fid, c) for c in sub.changes)
            state.findings.update((fid, f) for f in sub.findings)
            state.resolved.update((fid, f) for f in sub.resolved)
            state.open_after.update((fid, r) for r in sub.open_after)
            state.pending.update((fid, r) for r in sub.pending)
            state.retell.update((fid, c) for c in sub.tell[len(sub.changes):])
            retry.extend(sub.writes)
        writes = retry
    raise StoreError(f"store: {len(writes)} finding(s) kept changing under this run after "
                     f"{max_retries} retries (e.g. {writes[0].id}); run the scan again")


def apply_scan(
    repo: FindingRepo,
    runs: RunLog,
    findings: Iterable[Finding],
    *,
    now: datetime,
    scopes_seen: Iterable[str] | None = None,
    scopes_failed: Iterable[ScopeError] = (),
    errors: Iterable[str] = (),
    started: datetime | None = None,
    finished: datetime | None = None,
    run_id: str | None = None,
    source: str = "scan",
    duration_seconds: float | None = None,
    dry_run: bool = False,
    tell: bool = False,
    max_retries: int = 3,
    clock: Callable[[], float] = time.monotonic,
    quota_read: bool = True,
) -> ScanOutcome:
    """Plan tonight's findings against the store (lifecycle.plan), write the plan (store_plan),
    record the run.

    Only transitions (and real content changes) are written. `tell`: someone will be told, so
    each resolution is written with the duty to tell it (see lifecycle.Plan). `dry_run`: read
    and plan, write nothing (not even the run record). `duration_seconds` defaults to
    finished - started when both are given, else the time this call took.
    """
    t0 = clock()
    current = list(findings)
    seen = None if scopes_seen is None else sorted({s.lower() for s in scopes_seen})
    failed = list(scopes_failed)
    coverage = lifecycle.Coverage(None if seen is None else frozenset(seen), tuple(failed), quota_read)
    previous = repo.load_records()
    acks = repo.load_suppressions()
    planned = lifecycle.plan(previous, current, coverage, now=now, suppressions=acks, tell=tell and not dry_run)
    if dry_run:
        state = _planned(planned)
    else:
        state = store_plan(repo, planned, current, coverage, now=now, suppressions=acks, tell=tell,
                           max_retries=max_retries)

    today = now.date()
    changes = tuple(state.changes.values())
    counts = {k: 0 for k in ("new", "unchanged", "escalated", "resolved", "reopened")}
    for c in changes:
        counts[c.kind] += 1
    if duration_seconds is None:
        if started is not None and finished is not None:
            duration_seconds = max(0.0, (_utc(finished) - _utc(started)).total_seconds())
        else:
            duration_seconds = clock() - t0
    started = started or now
    run = {
        "run_id": run_id or uuid.uuid4().hex[:12],
        "source": source,
        "started": _utc(started),
        "finished": _utc(finished or now),
        "duration_seconds": round(float(duration_seconds), 3),
        "findings": len(state.findings),
        "changes": counts,
        "open": lifecycle.severity_counts(state.open_after.values(), today),
        "writes": len(state.result.written),
        "lost": state.lost,
        "transactions": state.result.transactions,
        "scopes_seen": seen,
        "scopes_failed": [e.scope for e in failed],
        "errors": list(errors),
        "warnings": list(planned.warnings),
    }
    retold = tuple(state.retell.values())
    outcome = ScanOutcome(tuple(state.findings.values()), tuple(state.resolved.values()), changes, run,
                          planned.warnings, (*changes, *retold), tuple(state.pending.values()))
    if dry_run:
        log.info("store (dry run): %s; nothing written", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return outcome
    runs.put_run(run)
    log.info("store: %d findings, %s, %d written in %d transactions, %d taken by another run%s",
             len(state.findings), ", ".join(f"{v} {k}" for k, v in counts.items() if v),
             len(state.result.written), state.result.transactions, state.lost,
             f"; {len(retold)} resolution(s) an earlier run did not tell are told now" if retold else "")
    return outcome


class ScanStore:
    """The store as the service uses it (`deps.store`): the FindingRepo and RunLog ports.

    sync(report, *, now, dry_run, tell) -> (findings, changes)
        `findings`: tonight's, with status (new/open/escalated/suppressed) and first_seen.
        `changes`: one per finding (unchanged included, which reminders need) plus one "resolved"
        per finding resolved tonight (its finding has status "resolved"). `last` keeps the
        outcome (run record, warnings, what to tell) of the latest sync.
    mark_told()          the latest sync's duty to tell is done (the outbox recorded it)
    add_errors(errors)   errors found after the sync (undeliverable notifications) on its run record
    """

    def __init__(self, repo: FindingRepo, runs: RunLog, source: str = "scan") -> None:
        self.repo = repo
        self.runs = runs
        self.source = source
        self.last: ScanOutcome | None = None

    def sync(self, report: Any, *, now: datetime, dry_run: bool = False,
             tell: bool = False) -> tuple[list[Finding], list[Change]]:
        t0 = time.perf_counter()
        errors = tuple(getattr(report, "errors", ()))
        seen = getattr(report, "subscriptions_seen", None)
        before = sum(float(v) for v in (getattr(report, "timings", None) or {}).values())
        outcome = apply_scan(
            self.repo, self.runs, report.findings, now=now,
            scopes_seen=frozenset(seen or ()),
            scopes_failed=errors,
            errors=[f"{e.scope}: {e.error}" for e in errors],
            started=getattr(report, "generated_at", None) or now,
            source=self.source, dry_run=dry_run, tell=tell,
            quota_read=getattr(report, "quota_checked", True),
            duration_seconds=before + (time.perf_counter() - t0),
        )
        for w in outcome.warnings:
            log.warning("store: %s", w)
        self.last = outcome
        return list(outcome.findings), list(outcome.changes)

    def mark_told(self) -> None:
        if self.last is not None and self.last.pending:
            self.repo.mark_told(self.last.pending)
            self.last = dataclasses.replace(self.last, pending=())

    def add_errors(self, errors: Sequence[ScopeError]) -> None:
        """Add errors found after the sync (undeliverable notifications) to the run record the
        latest sync stored. Not scopes that failed: the lifecycle never sees them."""
        if self.last is None or not errors:
            return
        added = [f"{e.scope}: {e.error}" for e in errors]
        run = {**self.last.run, "errors": [*self.last.run.get("errors", []), *added]}
        self.runs.put_run(run)
        self.last = dataclasses.replace(self.last, run=run)
