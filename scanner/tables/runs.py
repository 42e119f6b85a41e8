"""Run records in the Runs table: what each scan did (and the history drawn from them), and the
ad-hoc scan runs POST /api/scan queues.

    PartitionKey "run", RowKey "<UTC start ISO>Z-<run id>" (sorts by time): one scan's record:
        counts, duration, scopes seen and failed, errors, warnings (TableRunLog: the RunLog port).
    PartitionKey "http-scan", RowKey <run id> (32 hex): one ad-hoc scan run (ScanRuns):
        Status      queued -> running -> done | failed   (each change ETag-guarded)
        Queued      when POST /api/scan recorded it       Started   when a worker took it
        Finished    Attempt  (workers that took it)      Owner     the worker holding it
        LeaseUntil  renewed by the running worker (heartbeat); a re-delivered message takes
                    over a run whose lease has lapsed (its instance died), never a live one
        Scope, DryRun, Notify   the validated options     Result    scan JSON (compressed)
        Error       why it failed (safe to show)
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from azure.core.exceptions import AzureError, ResourceNotFoundError

from scanner.core.model import Severity
from scanner.errors import StoreError
from scanner.tables.kit import (
    Tables,
    pack_text,
    resend_on_dropped_connection,
    unpack_text,
    update_if_unchanged,
    utc,
)
from scanner.tables.queues import ScanRequest

log = logging.getLogger("scanner.tables.runs")

RUN_PARTITION = "run"
SCAN_PARTITION = "http-scan"
LEASE = timedelta(minutes=5)  # a running worker renews it every LEASE / 5
# A run queued or last alive this long ago died with its instance and no worker took it over.
STALE_AFTER = timedelta(minutes=45)


def _run_key_time(ts: datetime) -> str:
    return utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_to_entity(run: Mapping[str, Any]) -> dict[str, Any]:
    started = utc(run["started"])
    rid = run["run_id"]
    entity: dict[str, Any] = {
        "PartitionKey": RUN_PARTITION,
        "RowKey": f"{_run_key_time(started)}-{rid}",
        "RunId": rid,
        "Source": run.get("source", ""),
        "Started": started,
        "Finished": utc(run.get("finished")),
        "DurationSeconds": float(run.get("duration_seconds", 0.0)),
        "FindingCount": int(run.get("findings", 0)),
        "Counts": json.dumps(run.get("changes", {}), sort_keys=True),
        "Open": json.dumps(run.get("open", {}), sort_keys=True),
        "Writes": int(run.get("writes", 0)),
        "Lost": int(run.get("lost", 0)),
        "Transactions": int(run.get("transactions", 0)),
    }
    where = f"run {rid}"
    entity.update(pack_text("ScopesSeen", json.dumps(run.get("scopes_seen")), where))
    entity.update(pack_text("ScopesFailed", json.dumps(list(run.get("scopes_failed", []))), where))
    entity.update(pack_text("Errors", json.dumps(list(run.get("errors", []))), where))
    entity.update(pack_text("Warnings", json.dumps(list(run.get("warnings", []))), where))
    return entity


def run_from_entity(e: Mapping[str, Any]) -> dict[str, Any]:
    where = f"run {e.get('RunId', e.get('RowKey', '?'))}"

    def j(text: Any, default: Any) -> Any:
        try:
            return json.loads(text) if text else default
        except ValueError:
            raise StoreError(f"{where}: stored JSON is not readable") from None

    return {
        "run_id": e.get("RunId", ""),
        "source": e.get("Source", ""),
        "started": utc(e.get("Started")),
        "finished": utc(e.get("Finished")),
        "duration_seconds": float(e.get("DurationSeconds") or 0.0),
        "findings": int(e.get("FindingCount") or 0),
        "changes": j(e.get("Counts"), {}),
        "open": j(e.get("Open"), {}),
        "writes": int(e.get("Writes") or 0),
        "lost": int(e.get("Lost") or 0),
        "transactions": int(e.get("Transactions") or 0),
        "scopes_seen": j(unpack_text(e, "ScopesSeen", where), None),
        "scopes_failed": j(unpack_text(e, "ScopesFailed", where), []),
        "errors": j(unpack_text(e, "Errors", where), []),
        "warnings": j(unpack_text(e, "Warnings", where), []),
    }


SEVERITY_KEYS = tuple(s.value for s in Severity)
CHANGE_KEYS = ("new", "escalated", "resolved", "reopened")


def history_from_runs(runs: Iterable[Mapping[str, Any]], days: int, today: date) -> list[dict[str, Any]]:
    """Burn-down data: for each of the `days` days ending `today` (UTC), oldest first,
    {"date", "runs", "open": {severity: n} | None, "open_total", "suppressed", "new", "escalated",
    "resolved", "reopened"}. Open counts are those after the day's last run, carried forward over
    days without a run; None before the first run known."""
    start = today - timedelta(days=days - 1)
    ordered = sorted(runs, key=lambda r: r["started"])  # stable: list_runs' tie order is kept
    by_day: dict[date, list[Mapping[str, Any]]] = {}
    carry: Mapping[str, Any] | None = None
    for r in ordered:
        d = r["started"].date()
        if d < start:
            carry = r
        elif d <= today:
            by_day.setdefault(d, []).append(r)
    out = []
    for i in range(days):
        d = start + timedelta(days=i)
        todays = by_day.get(d, [])
        if todays:
            carry = todays[-1]
        row: dict[str, Any] = {"date": d.isoformat(), "runs": len(todays)}
        if carry is None:
            row.update({"open": None, "open_total": None, "suppressed": None})
        else:
            opened = carry.get("open", {})
            row["open"] = {k: int(opened.get(k, 0)) for k in SEVERITY_KEYS}
            row["open_total"] = sum(row["open"].values())
            row["suppressed"] = int(opened.get("suppressed", 0))
        for k in CHANGE_KEYS:
            row[k] = sum(int(r.get("changes", {}).get(k, 0)) for r in todays)
        out.append(row)
    return out




class TableRunLog:
    """The RunLog port on Azure Table Storage (table "runs", partition "run")."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables


    def put_run(self, run: Mapping[str, Any]) -> None:
        from azure.data.tables import UpdateMode

        entity = run_to_entity(run)
        try:
            self.tables.requests["write"] += 1
            self.tables.table("runs").upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise self.tables.fail(f"writing run {run.get('run_id')}", "runs", exc) from None

    def list_runs(self, since: datetime) -> list[dict[str, Any]]:
        since = utc(since)
        try:
            self.tables.requests["query"] += 1
            rows = self.tables.table("runs").query_entities(
                "PartitionKey eq @pk and RowKey ge @since",
                parameters={"pk": RUN_PARTITION, "since": _run_key_time(since)},
                results_per_page=1000,
            )
            # Ties on the start time (runs in the same second) go by the server's write time.
            keyed = [((getattr(e, "metadata", None) or {}).get("timestamp"), run_from_entity(e)) for e in rows]
        except AzureError as exc:
            raise self.tables.fail("reading runs", "runs", exc) from None
        keyed.sort(key=lambda kr: (kr[1]["started"], utc(kr[0]) or kr[1]["started"]))
        return [run for _, run in keyed]

    def history(self, days: int, today: date, lookback_days: int = 90) -> list[dict[str, Any]]:
        """Per day (UTC), oldest first: open findings by severity and the day's transitions."""
        if days < 1:
            raise ValueError(f"history: days must be at least 1 (got {days})")
        start = today - timedelta(days=days - 1)
        since = datetime.combine(start - timedelta(days=lookback_days), datetime.min.time(), timezone.utc)
        return history_from_runs(self.list_runs(since), days, today)



# --------------------------------------------------------------------------- ad-hoc scan runs


@dataclass(frozen=True)
class RunClaim:
    run_id: str
    owner: str
    attempt: int
    took_over: bool  # a worker before this one died holding the run


class ScanRuns:
    """Ad-hoc scan runs and their results in the store's Runs table (partition "http-scan")."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.table = tables.table("runs")

    # -- reads

    def _entity(self, run_id: str):
        try:
            return self.table.get_entity(SCAN_PARTITION, run_id)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"store: cannot read scan run {run_id} ({type(exc).__name__})") from None

    def get(self, run_id: str) -> dict[str, Any] | None:
        e = self._entity(run_id)
        if e is None:
            return None
        queued = utc(e.get("Queued")) or utc(e.get("Started"))
        out = {"run_id": run_id, "status": e.get("Status", ""), "queued": queued,
               "started": utc(e.get("Started")) or queued, "finished": utc(e.get("Finished")),
               "lease_until": utc(e.get("LeaseUntil")), "attempt": int(e.get("Attempt", 0) or 0),
               "error": e.get("Error", "")}
        if out["status"] == "done":
            out["result"] = unpack_text(e, "Result", f"scan run {run_id}")
        return out

    # -- state changes (each guarded by the ETag read just before)

    def begin(self, run_id: str, request: ScanRequest, now: datetime, status: str = "queued") -> None:
        entity = {"PartitionKey": SCAN_PARTITION, "RowKey": run_id, "Status": status, "Queued": now,
                  "Started": now, "Attempt": 0, "Owner": "",
                  "Scope": str(request.scope) if request.scope else "", "DryRun": request.dry_run,
                  "Notify": request.notify}
        try:
            resend_on_dropped_connection(lambda: self.table.create_entity(entity))
        except AzureError as exc:
            raise StoreError(f"store: cannot record scan run {run_id} ({type(exc).__name__})") from None

    def _guarded(self, e, props: dict[str, Any], what: str) -> bool:
        """MERGE `props` if the entity is unchanged since `e` was read; False if it changed."""
        try:
            return update_if_unchanged(self.table, {"PartitionKey": SCAN_PARTITION, "RowKey": e["RowKey"], **props},
                                       e.metadata["etag"])
        except AzureError as exc:
            raise StoreError(f"store: cannot {what} scan run {e['RowKey']} ({type(exc).__name__})") from None

    def claim(self, run_id: str, owner: str, now: datetime, lease: timedelta = LEASE) -> RunClaim | str:
        """queued -> running (or take over a running run whose lease lapsed). Returns the Claim,
        or why not: "unknown", "done", "failed", "busy" (a live worker holds it)."""
        for _ in range(5):
            e = self._entity(run_id)
            if e is None:
                return "unknown"
            status = e.get("Status", "")
            if status in ("done", "failed"):
                return status
            lease_until = utc(e.get("LeaseUntil"))
            took_over = status == "running"
            if took_over and lease_until is not None and lease_until > now:
                return "busy"
            attempt = int(e.get("Attempt", 0) or 0) + 1
            if self._guarded(e, {"Status": "running", "Started": now, "Owner": owner, "Attempt": attempt,
                                 "LeaseUntil": now + lease}, "start"):
                return RunClaim(run_id, owner, attempt, took_over)
        return "busy"  # it kept changing under us: someone else is at it

    def _owned(self, claim: RunClaim):
        e = self._entity(claim.run_id)
        if e is None or e.get("Status") != "running" or e.get("Owner") != claim.owner:
            return None
        return e

    def renew(self, claim: RunClaim, until: datetime) -> bool:
        e = self._owned(claim)
        return e is not None and self._guarded(e, {"LeaseUntil": until}, "renew")

    def _end(self, claim: RunClaim, props: dict[str, Any]) -> bool:
        for _ in range(5):
            e = self._owned(claim)
            if e is None:
                log.warning("scan run %s: another worker took it over; this worker's outcome is not kept",
                            claim.run_id)
                return False
            if self._guarded(e, props, "finish"):
                return True
        return False

    def finish(self, claim: RunClaim, doc: dict, now: datetime) -> bool:
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        try:
            props = pack_text("Result", text, f"scan run {claim.run_id}")
        except StoreError:
            count = len(doc.get("findings", []))
            return self.fail(claim, f"the result ({count} findings) is too large to keep; the findings are "
                                    "stored: GET /api/findings lists them", now)
        return self._end(claim, {"Status": "done", "Finished": now, "Owner": "", **props})

    def fail(self, claim: RunClaim, message: str, now: datetime) -> bool:
        return self._end(claim, {"Status": "failed", "Finished": now, "Owner": "", "Error": message[:4000]})

    def abandon(self, run_id: str, message: str, now: datetime) -> None:
        """queued -> failed (the request could not be enqueued)."""
        e = self._entity(run_id)
        if e is not None and e.get("Status") == "queued":
            self._guarded(e, {"Status": "failed", "Finished": now, "Error": message[:4000]}, "fail")


def stale(run: dict[str, Any], now: datetime, after: timedelta = STALE_AFTER) -> bool:
    """Queued or running, and nothing alive has touched it for `after` (no worker took it, or
    its worker died and no re-delivery took it over)."""
    if run["status"] not in ("queued", "running"):
        return False
    alive = max(t for t in (run.get("queued"), run.get("started"), run.get("lease_until")) if t is not None)
    return now - alive > after
