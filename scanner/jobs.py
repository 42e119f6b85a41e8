"""What each non-HTTP trigger does, as plain functions of an AppContext (triggers stay thin).

    nightly_scan(ctx, now, past_due=False) -> ScanReport
        refresh the feed snapshot, scan the configured scope, store, record and enqueue
        notifications (the queue trigger sends them).
    ingest_feed(ctx, now) -> (IngestResult, ScanReport | None)
        refresh the feed snapshot (watermark, conditional GET); when the merged catalogue gained
        retirements, scan the configured scope at once and log which retirement ids caused it.
    send_notification(ctx, body) -> str
        the queue trigger: send the notification the message names ("sent" | "skipped" | "failed"
        | "ignored" for a malformed message). A retryable failure raises, so the host retries and
        finally moves the message to the poison queue.
    run_scan_request(ctx, body) -> str
        the queue trigger for POST /api/scan: run the scan the message names, once per run id,
        and keep the result on its run record ("done" | "failed" | "skipped" | "busy" |
        "ignored" for a malformed message). See scanner.tables.scan_runs.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from scanner.core.model import ScopeKind
from scanner.errors import ConfigError, InputError

log = logging.getLogger("scanner.jobs")


def _summary(report: Any) -> str:
    from scanner.core.schema import summary

    s = summary(report)
    sev = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n) or "none"
    ch = ", ".join(f"{n} {k}" for k, n in s["changes"].items() if n and k != "unchanged") or "no changes"
    undelivered = sum(1 for e in report.errors if e.kind is ScopeKind.NOTIFY)
    return (f"{s['findings']} findings ({sev}); {ch}; {len(report.messages)} notification(s); "
            f"{s['errors'] - undelivered} scope error(s); {undelivered} recipient set(s) with undeliverable alerts")


def nightly_scan(ctx: Any, now: datetime, past_due: bool = False) -> Any:
    if past_due:
        log.warning("nightly_scan: the timer is past due (the host was down or busy at %s); scanning now",
                    ctx.settings.scan_schedule)
    if not ctx.has_store:
        raise ConfigError("nightly_scan: no store configured: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT "
                          "(findings, their history and notifications live there)")
    report = ctx.run_scan(now, refresh_feed=True, source="timer")
    for e in report.errors:
        what = "delivery problem" if e.kind is ScopeKind.NOTIFY else "not scanned"
        log.warning("nightly_scan: %s: %s: %s", what, e.scope, e.error)
    log.info("nightly_scan: %s", _summary(report))
    return report


def ingest_feed(ctx: Any, now: datetime) -> tuple[Any, Any]:
    from scanner.feed_ingest import refresh

    if not ctx.has_store:
        raise ConfigError("ingest_feed: no store configured: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT "
                          "(the feed snapshot, its watermark and ETag live there)")
    result = refresh(ctx.store(), ctx.settings, now)
    for e in result.errors:
        log.warning("ingest_feed: %s: %s", e.scope, e.error)
    if not result.new_retirements:
        log.info("ingest_feed: %d announcement(s) fetched, %d kept%s; no new retirement", result.fetched,
                 result.kept, " (not modified)" if result.not_modified else "")
        return result, None
    log.info("ingest_feed: new retirement(s) %s: scanning %s now", ", ".join(result.new_retirements),
             ctx.settings.scan_scope)
    report = ctx.run_scan(now, source="feed")
    log.info("ingest_feed: scan for %s: %s", ", ".join(result.new_retirements), _summary(report))
    return result, report


def send_notification(ctx: Any, body: str | bytes) -> str:
    from scanner.notify import send_from_queue_message

    try:
        outcome = send_from_queue_message(body, ctx.settings, outbox=_outbox(ctx), transports=ctx.transports())
    except InputError as exc:
        # Retrying cannot fix a malformed message; the table still holds every real notification.
        log.error("send_notifications: dropped a malformed queue message: %s", exc)
        return "ignored"
    log.info("send_notifications: %s", outcome)
    return outcome


def run_scan_request(ctx: Any, body: str | bytes) -> str:
    from scanner.tables.scan_runs import ScanRuns, execute

    if not ctx.has_store:
        raise ConfigError("run_scan_request: no store configured: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT "
                          "(scan runs and their results live there)")
    try:
        outcome = execute(ScanRuns(ctx.store()), body, ctx.run_scan_request)
    except InputError as exc:
        # Retrying cannot fix a malformed message; POST /api/scan only enqueues well-formed ones.
        log.error("run_scan_request: dropped a malformed queue message: %s", exc)
        return "ignored"
    log.info("run_scan_request: %s", outcome)
    return outcome


def _outbox(ctx: Any) -> Any:
    from scanner.tables.outbox import Outbox

    return Outbox.from_store(ctx.store())
