"""Ad-hoc scan runs (POST /api/scan): their records, the queue that carries them, and what the
queue trigger `run_scan_request` does with one.

Why a queue: on Flex Consumption an instance can be recycled once it has answered an HTTP
request, killing any thread it left running. So the HTTP trigger only records the run ("queued")
and enqueues it; the queue trigger runs it, and the host re-delivers the message if that
instance dies. Any instance answers GET /api/scan/{run_id} from the record.

    Runs table, PartitionKey "http-scan", RowKey <run id> (32 hex):
        Status      queued -> running -> done | failed   (each change ETag-guarded)
        Queued      when POST /api/scan recorded it       Started   when a worker took it
        Finished    Attempt  (workers that took it)      Owner     the worker holding it
        LeaseUntil  renewed by the running worker (heartbeat); a re-delivered message takes
                    over a run whose lease has lapsed (its instance died), never a live one
        Scope, DryRun, Notify   the validated options     Result    scan JSON (compressed)
        Error       why it failed (safe to show)

    Queue message (SCAN_QUEUE, base64 like every Functions queue message): only the run id and
    the validated options, never a secret:
        {"run_id": "<32 hex>", "scope": "tenant" | "sub:ID,..." | "mg:NAME,..." | null,
         "dry_run": false, "notify": false}

    execute(runs, body, run_scan, ...) -> "done" | "failed" | "skipped" | "busy"
        the queue trigger's job. A second delivery of a message whose run finished is
        "skipped" (the scan never runs twice); one whose run another live worker holds is "busy".
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.config import Scope, parse_scope
from scanner.errors import ConfigError, InputError, ScannerError, StoreError

log = logging.getLogger("scanner.tables.scan_runs")

SCAN_PARTITION = "http-scan"
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
LEASE = timedelta(minutes=5)  # a running worker renews it every LEASE / 5
# A run queued or last alive this long ago died with its instance and no worker took it over.
STALE_AFTER = timedelta(minutes=45)
MESSAGE_KEYS = frozenset({"run_id", "scope", "dry_run", "notify"})


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


@dataclass(frozen=True)
class ScanRequest:
    scope: Scope | None = None
    dry_run: bool = False
    notify: bool = False


def safe_error(exc: BaseException) -> str:
    """An error for a client: ScannerErrors are written to be shown (no secrets); others by type."""
    if isinstance(exc, ScannerError):
        return str(exc)
    return f"unexpected {type(exc).__name__} (details are in the function log)"


# --------------------------------------------------------------------------- queue message


def encode_request(run_id: str, request: ScanRequest) -> str:
    if not RUN_ID.match(run_id):
        raise ValueError(f"scan run id {run_id!r} is not 32 hex characters")
    return json.dumps({"run_id": run_id, "scope": str(request.scope) if request.scope else None,
                       "dry_run": bool(request.dry_run), "notify": bool(request.notify)}, separators=(",", ":"))


def parse_request(body: str | bytes) -> tuple[str, ScanRequest]:
    """(run id, request) from a queue message body; InputError naming what is wrong."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    text = (body or "").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"scan request message: not JSON ({text[:60]!r})") from None
    if not isinstance(data, dict):
        raise InputError(f"scan request message: not a JSON object ({text[:60]!r})")
    unknown = sorted(set(data) - MESSAGE_KEYS)
    if unknown:
        raise InputError(f"scan request message: unknown field(s) {', '.join(unknown)}")
    run_id = data.get("run_id")
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise InputError(f"scan request message: field 'run_id' is missing or not a run id ({text[:80]!r})")
    for key in ("dry_run", "notify"):
        if not isinstance(data.get(key, False), bool):
            raise InputError(f"scan request message {run_id}: field {key!r} is not true or false")
    scope = None
    if data.get("scope") is not None:
        if not isinstance(data["scope"], str):
            raise InputError(f"scan request message {run_id}: field 'scope' is not text")
        try:
            scope = parse_scope(data["scope"], f"scan request message {run_id}: scope")
        except ConfigError as exc:
            raise InputError(str(exc)) from None
    return run_id, ScanRequest(scope=scope, dry_run=data.get("dry_run", False), notify=data.get("notify", False))


class ScanRequestQueue:
    """The SCAN_QUEUE storage queue (base64 text, as the Functions queue trigger reads it)."""

    def __init__(self, queue_client) -> None:
        self.client = queue_client

    @classmethod
    def from_settings(cls, settings, credential=None) -> ScanRequestQueue:
        from scanner.bootstrap import storage_queue

        return cls(storage_queue(settings, settings.scan_queue, "scan request queue", credential))

    def enqueue(self, run_id: str, request: ScanRequest) -> None:
        from azure.core.exceptions import AzureError

        try:
            self.client.send_message(encode_request(run_id, request))
        except AzureError as exc:
            raise StoreError(f"scan request queue {self.client.queue_name}: enqueue failed "
                             f"({type(exc).__name__})") from None


def queue_configured(settings) -> bool:
    return bool(settings.storage_connection_string) or bool(settings.storage_queue_endpoint)


# --------------------------------------------------------------------------- run records


@dataclass(frozen=True)
class Claim:
    run_id: str
    owner: str
    attempt: int
    took_over: bool  # a worker before this one died holding the run


class ScanRuns:
    """Ad-hoc scan runs and their results in the store's Runs table (partition "http-scan")."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self.table = store.table("runs")

    # -- reads

    def _entity(self, run_id: str):
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            return self.table.get_entity(SCAN_PARTITION, run_id)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise StoreError(f"store: cannot read scan run {run_id} ({type(exc).__name__})") from None

    def get(self, run_id: str) -> dict[str, Any] | None:
        from scanner.tables.store import unpack_text

        e = self._entity(run_id)
        if e is None:
            return None
        queued = _utc(e.get("Queued")) or _utc(e.get("Started"))
        out = {"run_id": run_id, "status": e.get("Status", ""), "queued": queued,
               "started": _utc(e.get("Started")) or queued, "finished": _utc(e.get("Finished")),
               "lease_until": _utc(e.get("LeaseUntil")), "attempt": int(e.get("Attempt", 0) or 0),
               "error": e.get("Error", "")}
        if out["status"] == "done":
            out["result"] = unpack_text(e, "Result", f"scan run {run_id}")
        return out

    # -- state changes (each guarded by the ETag read just before)

    def begin(self, run_id: str, request: ScanRequest, now: datetime, status: str = "queued") -> None:
        from azure.core.exceptions import AzureError

        entity = {"PartitionKey": SCAN_PARTITION, "RowKey": run_id, "Status": status, "Queued": now,
                  "Started": now, "Attempt": 0, "Owner": "",
                  "Scope": str(request.scope) if request.scope else "", "DryRun": request.dry_run,
                  "Notify": request.notify}
        from scanner.tables.store import resend_on_dropped_connection

        try:
            resend_on_dropped_connection(lambda: self.table.create_entity(entity))
        except AzureError as exc:
            raise StoreError(f"store: cannot record scan run {run_id} ({type(exc).__name__})") from None

    def _guarded(self, e, props: dict[str, Any], what: str) -> bool:
        """MERGE `props` if the entity is unchanged since `e` was read; False if it changed."""
        from azure.core import MatchConditions
        from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError
        from azure.data.tables import UpdateMode

        try:
            self.table.update_entity({"PartitionKey": SCAN_PARTITION, "RowKey": e["RowKey"], **props},
                                     mode=UpdateMode.MERGE, etag=e.metadata["etag"],
                                     match_condition=MatchConditions.IfNotModified)
            return True
        except ResourceNotFoundError:
            return False
        except HttpResponseError as exc:
            if exc.status_code == 412:
                return False
            raise StoreError(f"store: cannot {what} scan run {e['RowKey']} ({type(exc).__name__})") from None
        except AzureError as exc:
            raise StoreError(f"store: cannot {what} scan run {e['RowKey']} ({type(exc).__name__})") from None

    def claim(self, run_id: str, owner: str, now: datetime, lease: timedelta = LEASE) -> Claim | str:
        """queued -> running (or take over a running run whose lease lapsed). Returns the Claim,
        or why not: "unknown", "done", "failed", "busy" (a live worker holds it)."""
        for _ in range(5):
            e = self._entity(run_id)
            if e is None:
                return "unknown"
            status = e.get("Status", "")
            if status in ("done", "failed"):
                return status
            lease_until = _utc(e.get("LeaseUntil"))
            took_over = status == "running"
            if took_over and lease_until is not None and lease_until > now:
                return "busy"
            attempt = int(e.get("Attempt", 0) or 0) + 1
            if self._guarded(e, {"Status": "running", "Started": now, "Owner": owner, "Attempt": attempt,
                                 "LeaseUntil": now + lease}, "start"):
                return Claim(run_id, owner, attempt, took_over)
        return "busy"  # it kept changing under us: someone else is at it

    def _owned(self, claim: Claim):
        e = self._entity(claim.run_id)
        if e is None or e.get("Status") != "running" or e.get("Owner") != claim.owner:
            return None
        return e

    def renew(self, claim: Claim, until: datetime) -> bool:
        e = self._owned(claim)
        return e is not None and self._guarded(e, {"LeaseUntil": until}, "renew")

    def _end(self, claim: Claim, props: dict[str, Any]) -> bool:
        for _ in range(5):
            e = self._owned(claim)
            if e is None:
                log.warning("scan run %s: another worker took it over; this worker's outcome is not kept",
                            claim.run_id)
                return False
            if self._guarded(e, props, "finish"):
                return True
        return False

    def finish(self, claim: Claim, doc: dict, now: datetime) -> bool:
        from scanner.tables.store import pack_text

        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        try:
            props = pack_text("Result", text, f"scan run {claim.run_id}")
        except StoreError:
            count = len(doc.get("findings", []))
            return self.fail(claim, f"the result ({count} findings) is too large to keep; the findings are "
                                    "stored: GET /api/findings lists them", now)
        return self._end(claim, {"Status": "done", "Finished": now, "Owner": "", **props})

    def fail(self, claim: Claim, message: str, now: datetime) -> bool:
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


# --------------------------------------------------------------------------- the queue trigger's job


class _Heartbeat:
    """Renews the run's lease while the scan runs, so a re-delivery never takes a live run."""

    def __init__(self, runs: ScanRuns, claim: Claim, clock: Callable[[], datetime], lease: timedelta) -> None:
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
    from scanner.core.schema import report_to_json

    run_id, request = parse_request(body)
    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    claim = runs.claim(run_id, owner, clock(), lease)
    if not isinstance(claim, Claim):
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
        runs.fail(claim, safe_error(exc), clock())
        return "failed"
    runs.finish(claim, doc, clock())
    log.info("scan run %s done: %d findings", run_id, len(doc.get("findings", [])))
    return "done"
