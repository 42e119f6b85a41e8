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
        "ignored" for a malformed message). See `execute` below and scanner.tables.runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.core.model import ScopeKind
from scanner.core.schema import report_to_json
from scanner.errors import ConfigError, InputError, StoreError, client_message
from scanner.tables.queues import ScanRequest, parse_request
from scanner.tables.runs import LEASE, RunClaim, ScanRuns

log = logging.getLogger("scanner.jobs")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


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
    result = refresh(ctx.store().snapshots, ctx.settings, now)
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
        outcome = send_from_queue_message(body, ctx.settings, outbox=ctx.store().outbox, transports=ctx.transports())
    except InputError as exc:
        # Retrying cannot fix a malformed message; the table still holds every real notification.
        log.error("send_notifications: dropped a malformed queue message: %s", exc)
        return "ignored"
    log.info("send_notifications: %s", outcome)
    return outcome


def run_scan_request(ctx: Any, body: str | bytes) -> str:
    if not ctx.has_store:
        raise ConfigError("run_scan_request: no store configured: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT "
                          "(scan runs and their results live there)")
    try:
        outcome = execute(ctx.store().scan_runs, body, ctx.run_scan_request)
    except InputError as exc:
        # Retrying cannot fix a malformed message; POST /api/scan only enqueues well-formed ones.
        log.error("run_scan_request: dropped a malformed queue message: %s", exc)
        return "ignored"
    log.info("run_scan_request: %s", outcome)
    return outcome


# --------------------------------------------------------------------------- one ad-hoc scan, once


class _Heartbeat:
    """Renews the run's lease while the scan runs, so a re-delivery never takes a live run."""

    def __init__(self, runs: ScanRuns, claim: RunClaim, clock: Callable[[], datetime], lease: timedelta) -> None:
        self.runs, self.claim, self.clock, self.lease = runs, claim, clock, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"scan-lease-{claim.run_id[:8]}", daemon=True)

    def _beat(self) -> None:
        interval = max(0.05, self.lease.total_seconds() / 5)
        while not self._stop.wait(interval):
            try:
                if not self.runs.renew(self.claim, self.clock() + self.lease):
                    log.warning("scan run %s: lease lost to another worker", self.claim.run_id)
                    return
            except StoreError as exc:
                log.warning("scan run %s: lease not renewed (%s)", self.claim.run_id, exc)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def execute(runs: ScanRuns, body: str | bytes, run_scan: Callable[[ScanRequest, datetime], Any], *,
            clock: Callable[[], datetime] = _utcnow, lease: timedelta = LEASE) -> str:
    """Run the scan a queue message asks for, once. "done" / "failed" (kept on the run record),
    "skipped" (already finished, or no such run), "busy" (a live worker has it). InputError for a
    malformed message; StoreError when the record cannot be read or written (the host retries)."""
    run_id, request = parse_request(body)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    claim = runs.claim(run_id, owner, clock(), lease)
    if not isinstance(claim, RunClaim):
        log.info("scan run %s: %s; not run again", run_id,
                 {"unknown": "no such run", "done": "already done", "failed": "already failed",
                  "busy": "another worker is running it"}[claim])
        return "busy" if claim == "busy" else "skipped"
    if claim.took_over:
        log.warning("scan run %s: the worker running it stopped; attempt %d runs it again", run_id, claim.attempt)
    log.info("scan run %s started (scope %s%s%s)", run_id, request.scope or "default",
             ", dry run" if request.dry_run else "", ", notify" if request.notify else "")
    try:
        with _Heartbeat(runs, claim, clock, lease):
            doc = report_to_json(run_scan(request, clock()))
    except Exception as exc:  # noqa: BLE001 - kept on the record; details in the log
        log.exception("scan run %s failed", run_id)
        runs.fail(claim, client_message(exc), clock())
        return "failed"
    runs.finish(claim, doc, clock())
    log.info("scan run %s done: %d findings", run_id, len(doc.get("findings", [])))
    return "done"
