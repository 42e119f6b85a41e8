"""The HTTP API's logic as plain functions: (method, route params, query, body, deps) -> Response.

The Functions blueprint (triggers/http_api.py) only turns an HttpRequest into these arguments and
the Response into an HttpResponse, so everything here runs and is tested without the host.

    POST /api/scan              scan_start    ad-hoc scan; JSON body or query: scope, dry_run, notify
    GET  /api/scan/{run_id}     scan_status   200 result | 202 queued/running | 404 unknown | 500 failed
    GET  /api/findings          findings      stored findings; filters, json|csv, paging
    GET  /api/catalog           catalog       schema retirement-catalog/v1 (as `scanner catalog`)
    GET  /api/report            report        the HTML report page

Errors answer JSON `{"error": {"code", "message", "parameter"}}`: 400 for bad input (the
parameter named), 404, 405, 503 when no store is configured, 500 when a scan failed. The function
key (`code` query parameter) is accepted and never echoed into a link.

`POST /api/scan` records the run as "queued" in the store's Runs table (partition "http-scan")
and puts a request on the SCAN_QUEUE storage queue; the queue trigger `run_scan_request` runs it
(scanner.jobs.execute: at most once per run id, taken over by a re-delivery if its instance dies)
and keeps the result on the record. The HTTP call polls the record for up to
HTTP_SCAN_TIMEOUT_SECONDS: a scan done by then answers 200 with the scan JSON (schema
retirement-scan/v1); otherwise 202 with `Location: <base>/api/scan/<run_id>`, which any instance
answers from the record. Nothing outlives the HTTP response on the instance that answered it, so
an instance recycled after answering (Flex Consumption) loses nothing.
Without a queue (no AzureWebJobsStorage / STORAGE_QUEUE_ENDPOINT) the scan runs in a worker
thread of this instance instead.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, NamedTuple
from urllib.parse import urlencode

from scanner.config import Settings, parse_scope
from scanner.core.model import Finding, Rule, Severity, Status
from scanner.errors import ConfigError, ScannerError, StoreError, client_message
from scanner.tables.queues import ScanRequest
from scanner.tables.runs import RunClaim, stale

log = logging.getLogger("scanner.api")

MAX_BODY_BYTES = 64 * 1024
MAX_PARAM_CHARS = 8192  # one query parameter's value (a list of 50 resource ids fits)
MAX_LIST_ITEMS = 50  # values in one comma-separated filter parameter
MAX_ITEM_CHARS = 1024  # one value of a list: an ARM id, a Table key (at most 1 KiB)
MAX_CONTINUATION_CHARS = 2048  # our tokens are about 200 characters
MAX_SHOWN = 80  # characters of a bad value echoed back in an error
# Azure Table Storage: "no more than 15 discrete comparisons are permitted within a $filter string"
# (https://learn.microsoft.com/en-us/rest/api/storageservices/Querying-Tables-and-Entities). The
# findings query sends what fits and filters the rest in memory (FindingQuery.server_filter).
MAX_FILTER_COMPARISONS = 15
MAX_TOP = 1000
DEFAULT_TOP = 100
RETRY_AFTER_SECONDS = 15
POLL_SECONDS = (0.2, 2.0)  # POST /api/scan reads the run record this often (first, at most)
RESERVED_QUERY = frozenset({"code"})  # the function key; never a filter, never echoed
FINDINGS_SCHEMA = "retirement-findings/v1"
_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ACTIVE_STATUSES = ("new", "open", "escalated", "suppressed")


class Response(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, parameter: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.parameter = status, code, message, parameter

    def response(self) -> Response:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.parameter is not None:
            err["parameter"] = self.parameter
        return _json(self.status, {"error": err})


@dataclass
class ApiDeps:
    """What the handlers need. `store` opens the tables.Storage (None: no store configured);
    `enqueue(run_id, request)` puts a scan request on SCAN_QUEUE (None: no queue; then
    `run_scan(request, now)` runs the scan in a thread of `executor` and returns its ScanReport)."""

    settings: Settings
    store: Callable[[], Any] | None
    run_scan: Callable[[ScanRequest, datetime], Any]
    executor: Executor | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    base_url: str = ""  # scheme://host[:port] of this request, for status URLs and nextLink
    timeout: float | None = None  # seconds to wait for a scan; default settings.http_scan_timeout_seconds
    enqueue: Callable[[str, ScanRequest], None] | None = None
    sleep: Callable[[float], None] = time.sleep

    def with_base(self, base_url: str) -> ApiDeps:
        return replace(self, base_url=base_url.rstrip("/"))


# --------------------------------------------------------------------------- small helpers


def _json(status: int, doc: Any, headers: Mapping[str, str] | None = None) -> Response:
    # "replace": a lone surrogate that got this far becomes "?" rather than a 500
    body = json.dumps(doc, ensure_ascii=False, indent=None, separators=(",", ":")).encode("utf-8", "replace")
    return Response(status, {"Content-Type": "application/json; charset=utf-8", **(headers or {})}, body)


def _method(method: str, allowed: str) -> None:
    if (method or "").upper() != allowed:
        raise ApiError(405, "method_not_allowed", f"{(method or '').upper() or '?'} is not allowed here; use {allowed}")


def _shown(value: Any) -> str:
    """A caller's value for an error message: short, printable, never a lone surrogate."""
    text = value if isinstance(value, str) else type(value).__name__
    text = text.encode("utf-8", "replace").decode("utf-8")
    return repr(text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "...")


def _text(value: Any, name: str, limit: int = MAX_PARAM_CHARS) -> str:
    """A parameter's text, checked: a string, at most `limit` characters, valid Unicode (a lone
    surrogate cannot be stored or sent anywhere), no control characters. 400 naming `name`."""
    if not isinstance(value, str):
        raise ApiError(400, "bad_parameter", f"{name}: must be text, not {type(value).__name__}", name)
    if len(value) > limit:
        raise ApiError(400, "bad_parameter", f"{name}: {len(value)} characters; at most {limit}", name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "bad_parameter", f"{name}: not valid Unicode text (a lone surrogate)", name) from None
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ApiError(400, "bad_parameter", f"{name}: contains control characters", name)
    return value


def _params(query: Mapping[str, str] | None, allowed: set[str] | frozenset[str]) -> dict[str, str]:
    out = {}
    for key, value in (query or {}).items():
        if key in RESERVED_QUERY:
            continue
        if key not in allowed:
            name = key if isinstance(key, str) and len(key) <= MAX_SHOWN and _printable(key) else _shown(key)
            raise ApiError(400, "unknown_parameter",
                           f"unknown parameter {_shown(key)}; allowed: {', '.join(sorted(allowed)) or 'none'}", name)
        out[key] = _text(value, key, MAX_CONTINUATION_CHARS if key == "continuation" else MAX_PARAM_CHARS)
    return out


def _printable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ApiError(400, "bad_parameter", f"{name}: {_shown(value) if isinstance(value, str) else repr(value)} is not true or false", name)


def _store(deps: ApiDeps) -> Any:
    if deps.store is None:
        raise ApiError(503, "store_not_configured",
                       "no store configured: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT")
    return deps.store()


def _status_url(deps: ApiDeps, run_id: str) -> str:
    return f"{deps.base_url}/api/scan/{run_id}"


def handle(handler: Callable[..., Response], method: str, route_params: Mapping[str, str] | None,
           query: Mapping[str, str] | None, body: bytes | None, deps: ApiDeps) -> Response:
    """Call a handler; ApiError and unexpected errors become JSON error answers."""
    try:
        return handler(method, dict(route_params or {}), dict(query or {}), body or b"", deps)
    except ApiError as exc:
        return exc.response()
    except StoreError as exc:
        log.error("api: store error: %s", exc)
        return ApiError(503, "store_unavailable", str(exc)).response()
    except ScannerError as exc:
        log.error("api: %s", exc)
        return ApiError(500, "failed", str(exc)).response()
    except Exception as exc:  # noqa: BLE001 - last line of defence: JSON 500, details in the log
        log.exception("api: unexpected error")
        return ApiError(500, "internal", client_message(exc)).response()


# --------------------------------------------------------------------------- POST /api/scan

SCAN_PARAMS = frozenset({"scope", "dry_run", "notify"})


def parse_scan_request(query: Mapping[str, str], body: bytes, settings: Settings) -> ScanRequest:
    """Query and JSON body merged (a key given in both must agree); errors name the parameter."""
    if len(body) > MAX_BODY_BYTES:
        raise ApiError(400, "body_too_large", f"request body is {len(body)} bytes; at most {MAX_BODY_BYTES}", "body")
    values: dict[str, Any] = dict(_params(query, SCAN_PARAMS))
    if body.strip():
        if _nesting(body) > MAX_BODY_NESTING:
            raise ApiError(400, "malformed_json", f"request body nests deeper than {MAX_BODY_NESTING} levels; "
                           "it is one flat JSON object such as {\"scope\": \"sub:ID\", \"dry_run\": true}", "body")
        try:
            doc = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            where = f" ({exc.msg} at position {exc.pos})" if isinstance(exc, json.JSONDecodeError) else " (not UTF-8)"
            raise ApiError(400, "malformed_json", f"request body is not valid JSON{where}", "body") from None
        except (RecursionError, ValueError) as exc:  # a 5000-digit number
            raise ApiError(400, "malformed_json", f"request body is not valid JSON ({type(exc).__name__})",
                           "body") from None
        if not isinstance(doc, dict):
            raise ApiError(400, "malformed_json", "request body must be a JSON object", "body")
        for key, value in doc.items():
            if key not in SCAN_PARAMS:
                name = key if _printable(key) and len(key) <= MAX_SHOWN else "body"
                raise ApiError(400, "unknown_parameter",
                               f"unknown parameter {_shown(key)}; allowed: {', '.join(sorted(SCAN_PARAMS))}", name)
            if isinstance(value, str):
                _text(value, key)
            elif not isinstance(value, (bool, int, float)) and value is not None:
                raise ApiError(400, "bad_parameter", f"{key}: must be text or true/false, not "
                               f"{'an object' if isinstance(value, dict) else 'a list'}", key)
            if key in values and str(values[key]).strip().lower() != str(value).strip().lower():
                raise ApiError(400, "bad_parameter", f"{key}: given differently in the query and the body", key)
            values[key] = value
    scope = None
    if values.get("scope") not in (None, ""):
        raw = values["scope"]
        if not isinstance(raw, str):
            raise ApiError(400, "bad_parameter", "scope: must be a string such as 'tenant' or 'sub:ID'", "scope")
        try:
            scope = parse_scope(raw, "scope")
        except ConfigError as exc:
            raise ApiError(400, "bad_parameter", str(exc), "scope") from None
        if settings.inventory_files and scope.kind == "mg":
            raise ApiError(400, "bad_parameter",
                           f"scope: {raw!r} names management groups, which need a live Azure read "
                           "(this app reads SCAN_INVENTORY_FILES); use 'tenant' or 'sub:ID[,ID...]'", "scope")
    return ScanRequest(scope=scope, dry_run=_bool(values.get("dry_run", False), "dry_run"),
                       notify=_bool(values.get("notify", False), "notify"))


MAX_BODY_NESTING = 4


def _nesting(body: bytes) -> int:
    """The deepest nesting of [ and { in a JSON body, outside strings (one pass; json.loads would
    recurse once per level and fail with RecursionError on a deep enough body)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_BODY_NESTING:
                    return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def scan_start(method: str, route_params: dict, query: dict, body: bytes, deps: ApiDeps) -> Response:
    _method(method, "POST")
    request = parse_scan_request(query, body, deps.settings)
    run_id = uuid.uuid4().hex
    timeout = deps.timeout if deps.timeout is not None else deps.settings.http_scan_timeout_seconds
    if deps.store is not None and deps.enqueue is not None:
        return _scan_queued(run_id, request, timeout, deps)
    return _scan_in_thread(run_id, request, timeout, deps)


def _accepted(deps: ApiDeps, run_id: str, status: str) -> Response:
    link = _status_url(deps, run_id)
    return _json(202, {"run_id": run_id, "status": status, "status_url": link},
                 {"Location": link, "Retry-After": str(RETRY_AFTER_SECONDS)})


def _done(deps: ApiDeps, run_id: str, result: str) -> Response:
    return Response(200, {"Content-Type": "application/json; charset=utf-8", "X-Scan-Run-Id": run_id,
                          "Content-Location": _status_url(deps, run_id)}, result.encode("utf-8"))


def _scan_queued(run_id: str, request: ScanRequest, timeout: float, deps: ApiDeps) -> Response:
    """Record the run (queued), enqueue it, and poll its record until done, failed or `timeout`."""
    runs = _store(deps).scan_runs
    started = deps.clock()
    runs.begin(run_id, request, started)
    try:
        deps.enqueue(run_id, request)
    except StoreError as exc:
        log.error("api: scan run %s not queued: %s", run_id, exc)
        runs.abandon(run_id, str(exc), deps.clock())
        raise ApiError(503, "queue_unavailable", f"scan run {run_id} could not be queued: {exc}") from None
    log.info("api: scan run %s queued (scope %s%s%s)", run_id, request.scope or "default",
             ", dry run" if request.dry_run else "", ", notify" if request.notify else "")
    deadline = time.monotonic() + timeout
    wait = POLL_SECONDS[0]
    while True:
        run = runs.get(run_id) or {"status": "queued"}
        if run["status"] == "done":
            return _done(deps, run_id, run["result"])
        if run["status"] == "failed":
            raise ApiError(500, "scan_failed", f"scan run {run_id} failed: {run['error']}")
        left = deadline - time.monotonic()
        if left <= 0:
            return _accepted(deps, run_id, run["status"])
        deps.sleep(min(wait, left))
        wait = min(wait * 1.5, POLL_SECONDS[1])


def _scan_in_thread(run_id: str, request: ScanRequest, timeout: float, deps: ApiDeps) -> Response:
    """No queue configured: run the scan in a worker thread of this instance."""
    from concurrent.futures import ThreadPoolExecutor

    from scanner.core.schema import report_to_json
    started = deps.clock()
    runs = _store(deps).scan_runs if deps.store is not None else None
    claim = RunClaim(run_id, f"thread-{run_id[:8]}", 1, False)
    if runs is not None:
        runs.begin(run_id, request, started)
        runs.claim(run_id, claim.owner, started)
    log.info("api: scan run %s started in this instance (scope %s%s%s)", run_id, request.scope or "default",
             ", dry run" if request.dry_run else "", ", notify" if request.notify else "")

    def work() -> dict:
        try:
            doc = report_to_json(deps.run_scan(request, started))
        except Exception as exc:
            log.exception("api: scan run %s failed", run_id)
            if runs is not None:
                runs.fail(claim, client_message(exc), deps.clock())
            raise
        if runs is not None:
            runs.finish(claim, doc, deps.clock())
        log.info("api: scan run %s done: %d findings", run_id, len(doc.get("findings", [])))
        return doc

    executor = deps.executor or ThreadPoolExecutor(max_workers=1, thread_name_prefix="http-scan")
    future = executor.submit(work)
    try:
        doc = future.result(timeout=timeout)
    except FutureTimeout:
        if runs is None:
            raise ApiError(503, "store_not_configured",
                           f"the scan did not finish within {timeout} seconds and without a store its result "
                           "cannot be kept: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT") from None
        return _accepted(deps, run_id, "running")
    except Exception as exc:  # noqa: BLE001 - the worker logged it
        raise ApiError(500, "scan_failed", f"scan run {run_id} failed: {client_message(exc)}") from None
    return _json(200, doc, {"X-Scan-Run-Id": run_id, "Content-Location": _status_url(deps, run_id)})


# --------------------------------------------------------------------------- GET /api/scan/{run_id}


def scan_status(method: str, route_params: dict, query: dict, body: bytes, deps: ApiDeps) -> Response:
    _method(method, "GET")
    _params(query, frozenset())
    run_id = (route_params.get("run_id") or "").strip().lower()
    if not _RUN_ID.match(run_id):
        raise ApiError(404, "not_found", f"no scan run {_shown(route_params.get('run_id', ''))} (run ids are 32 hex "
                                         "characters, from POST /api/scan)", "run_id")
    run = _store(deps).scan_runs.get(run_id)
    if run is None:
        raise ApiError(404, "not_found", f"no scan run {run_id}", "run_id")
    if run["status"] == "done":
        return Response(200, {"Content-Type": "application/json; charset=utf-8", "X-Scan-Run-Id": run_id},
                        run["result"].encode("utf-8"))
    if run["status"] == "failed":
        raise ApiError(500, "scan_failed", f"scan run {run_id} failed: {run['error']}")
    if stale(run, deps.clock()):
        raise ApiError(500, "scan_failed", f"scan run {run_id} {run['status']} since {run['started'].isoformat()} "
                                           "and never finished (no worker ran it to the end); start a new one")
    return _accepted(deps, run_id, run["status"] or "running")


# --------------------------------------------------------------------------- stored findings (shown as of today)


def _latest_run_start(store: Any, now: datetime) -> datetime | None:
    runs = store.runs.list_runs(now - timedelta(days=8))
    return runs[-1]["started"] if runs else None


def show_record(record: Any, acks: Mapping[str, Any], today: date, latest_run: datetime | None) -> Finding:
    """A stored record as a finding today: status, suppression, days left (and the message's count) re-derived.

    resolved (state) > suppressed (ack or tag until today or later) > new (first seen by the latest
    run) > escalated (changed by the latest run) > open."""
    from scanner.core.judge import restate_days
    from scanner.core.lifecycle import RESOLVED

    f = record.finding
    days_left = f.retirement.days_left(today) if f.retirement is not None else f.days_left
    if f.retirement is not None and f.message:
        f = replace(f, message=restate_days(f.message, today))  # "(in N days)" as of today, not first_seen
    if record.state == RESOLVED:
        return replace(f, status=Status.RESOLVED, days_left=days_left, first_seen=record.first_seen)
    until, reason = record.suppressed_until, record.suppression_reason
    ack = acks.get(f.id)
    if ack is not None and ack.until >= today and (until is None or ack.until > until):
        until, reason = ack.until, ack.reason
    if until is not None and until >= today:
        status = Status.SUPPRESSED
    elif latest_run is not None and record.first_seen >= latest_run:
        status = Status.NEW
    elif latest_run is not None and record.last_changed >= latest_run and record.last_changed > record.first_seen:
        status = Status.ESCALATED
    else:
        status = Status.OPEN
    if status is not Status.SUPPRESSED:
        until, reason = None, ""
    return replace(f, status=status, days_left=days_left, first_seen=record.first_seen,
                   suppressed_until=until, suppression_reason=reason)


FINDING_PARAMS = frozenset({"severity", "rule", "status", "subscription", "cluster", "size", "format", "top",
                            "continuation"})


@dataclass(frozen=True)
class FindingQuery:
    severities: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset(ACTIVE_STATUSES)
    subscriptions: frozenset[str] = frozenset()
    clusters: frozenset[str] = frozenset()
    sizes: frozenset[str] = frozenset()
    fmt: str = "json"
    top: int = DEFAULT_TOP
    after: tuple[str, str] | None = None  # (PartitionKey, RowKey) of the last finding already listed

    def fingerprint(self) -> str:
        key = json.dumps([sorted(self.severities), sorted(self.rules), sorted(self.statuses),
                          sorted(self.subscriptions), sorted(self.clusters), sorted(self.sizes)])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def server_filter(self) -> tuple[str, dict[str, Any]]:
        """OData filter over the Findings table's columns, with its parameters: at most
        MAX_FILTER_COMPARISONS comparisons. The paging key (3) and the state (1) always go to the
        server; each list filter goes there while it fits, smallest first, and `matches` checks
        every filter again in memory, so any accepted query answers the same either way."""
        parts: list[str] = []
        params: dict[str, Any] = {}
        budget = MAX_FILTER_COMPARISONS

        def any_of(column: str, values, prefix: str) -> None:
            names = []
            for i, v in enumerate(sorted(values)):
                params[f"{prefix}{i}"] = v
                names.append(f"{column} eq @{prefix}{i}")
            parts.append("( " + " or ".join(names) + " )")  # the SDK finds @names between spaces

        if self.after is not None:
            params["apk"], params["ark"] = self.after
            parts.append("( PartitionKey gt @apk or ( PartitionKey eq @apk and RowKey gt @ark ) )")
            budget -= 3
        wants_resolved = "resolved" in self.statuses
        wants_open = bool(self.statuses - {"resolved"})
        if wants_resolved and not wants_open:
            parts.append("State eq 'resolved'")
            budget -= 1
        elif wants_open and not wants_resolved:
            parts.append("State eq 'open'")
            budget -= 1
        ids = {c for c in self.clusters if c.startswith("/subscriptions/")}
        lists = [("Severity", self.severities, "sev"), ("Rule", self.rules, "rule"),
                 ("PartitionKey", self.subscriptions, "sub"),
                 ("ResourceId", ids if ids and ids == set(self.clusters) else frozenset(), "rid")]
        for column, values, prefix in sorted(lists, key=lambda x: len(x[1])):
            if values and len(values) <= budget:
                any_of(column, values, prefix)
                budget -= len(values)
        return " and ".join(parts), params

    def matches(self, f: Finding) -> bool:
        """Every filter, in memory (the server filter may have left some out, see server_filter)."""
        if f.status.value not in self.statuses:
            return False
        if self.severities and f.severity.value not in self.severities:
            return False
        if self.rules and f.rule.value not in self.rules:
            return False
        if self.subscriptions and (f.resource.subscription_id or "").lower() not in self.subscriptions:
            return False
        if self.sizes and f.vm_size.lower() not in self.sizes:
            return False
        if self.clusters:
            r = f.resource
            if not ({r.id.lower(), r.name.lower()} & self.clusters):
                return False
        return True


def _list(value: str, name: str, allowed: tuple[str, ...] | None = None, lower: bool = True) -> frozenset[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    if not items:
        raise ApiError(400, "bad_parameter", f"{name}: empty; give one or more comma-separated values", name)
    if len(items) > MAX_LIST_ITEMS:
        raise ApiError(400, "bad_parameter", f"{name}: {len(items)} values; at most {MAX_LIST_ITEMS}", name)
    for v in items:
        if len(v) > MAX_ITEM_CHARS:
            raise ApiError(400, "bad_parameter", f"{name}: a value of {len(v)} characters; at most {MAX_ITEM_CHARS}",
                           name)
    items = [v.lower() for v in items] if lower else items
    if allowed is not None:
        for v in items:
            if v not in allowed:
                raise ApiError(400, "bad_parameter", f"{name}: {_shown(v)} is not one of {', '.join(allowed)}", name)
    return frozenset(items)


def encode_continuation(q: FindingQuery, pk: str, rk: str) -> str:
    raw = json.dumps({"v": 1, "q": q.fingerprint(), "pk": pk, "rk": rk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_continuation(token: str, q: FindingQuery) -> tuple[str, str]:
    bad = ApiError(400, "bad_parameter", "continuation: not a token from a previous page of this query "
                                         "(take it from 'continuation' or 'nextLink')", "continuation")
    try:
        doc = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise bad from None
    if not isinstance(doc, dict) or doc.get("v") != 1 or not isinstance(doc.get("pk"), str) \
            or not isinstance(doc.get("rk"), str):
        raise bad
    if len(doc["pk"]) > MAX_ITEM_CHARS or len(doc["rk"]) > MAX_ITEM_CHARS:
        raise bad
    try:
        (doc["pk"] + doc["rk"]).encode("utf-8")
    except UnicodeEncodeError:
        raise bad from None
    if doc.get("q") != q.fingerprint():
        raise ApiError(400, "bad_parameter", "continuation: the token belongs to a query with other filters; "
                                             "keep the filters of the first page", "continuation")
    return doc["pk"], doc["rk"]


def parse_findings_query(query: Mapping[str, str]) -> FindingQuery:
    p = _params(query, FINDING_PARAMS)
    kw: dict[str, Any] = {}
    if "severity" in p:
        kw["severities"] = _list(p["severity"], "severity", tuple(s.value for s in Severity))
    if "rule" in p:
        kw["rules"] = _list(p["rule"], "rule", tuple(r.value for r in Rule))
    if "status" in p:
        statuses = _list(p["status"], "status", (*(s.value for s in Status), "all", "active"))
        expanded: set[str] = set()
        for s in statuses:
            if s == "all":
                expanded.update(ACTIVE_STATUSES, ["resolved"])
            elif s == "active":
                expanded.update(ACTIVE_STATUSES)
            else:
                expanded.add(s)
        kw["statuses"] = frozenset(expanded)
    if "subscription" in p:
        subs = _list(p["subscription"], "subscription")
        for s in subs:
            if not _GUID.match(s):
                raise ApiError(400, "bad_parameter", f"subscription: {_shown(s)} is not a subscription id (a GUID)",
                               "subscription")
        kw["subscriptions"] = subs
    if "cluster" in p:
        kw["clusters"] = _list(p["cluster"], "cluster")
    if "size" in p:
        kw["sizes"] = _list(p["size"], "size")
    if "format" in p:
        fmt = p["format"].strip().lower()
        if fmt not in ("json", "csv"):
            raise ApiError(400, "bad_parameter", f"format: {_shown(p['format'])} is not json or csv", "format")
        kw["fmt"] = fmt
    if "top" in p:
        try:
            top = int(p["top"])
        except ValueError:
            raise ApiError(400, "bad_parameter", f"top: {_shown(p['top'])} is not a whole number", "top") from None
        if not 1 <= top <= MAX_TOP:
            raise ApiError(400, "bad_parameter", f"top: {top} is not between 1 and {MAX_TOP}", "top")
        kw["top"] = top
    q = FindingQuery(**kw)
    if "continuation" in p:
        q = replace(q, after=_decode_continuation(p["continuation"].strip(), q))
    return q


def query_findings(store: Any, q: FindingQuery, now: datetime) -> tuple[list[Finding], tuple[str, str] | None]:
    """One page: up to q.top findings in table order after q.after, and the key to continue from
    (None when nothing more matches)."""
    today = now.date()
    acks = store.findings.load_suppressions()
    latest = _latest_run_start(store, now)
    flt, params = q.server_filter()
    page_size = min(MAX_TOP, max(q.top + 1, 50))
    out: list[Finding] = []
    last: tuple[str, str] | None = None
    for pk, rk, record in store.findings.query(flt, params or {}, page_size):
        shown = show_record(record, acks, today, latest)
        if not q.matches(shown):
            continue
        if len(out) == q.top:
            return out, last  # one more matches: there is a next page
        out.append(shown)
        last = (pk, rk)
    return out, None


def _link(deps: ApiDeps, path: str, params: Mapping[str, str]) -> str:
    clean = {k: v for k, v in params.items() if k not in RESERVED_QUERY}
    return f"{deps.base_url}{path}?{urlencode(clean)}"


def findings(method: str, route_params: dict, query: dict, body: bytes, deps: ApiDeps) -> Response:
    from scanner.core.schema import finding_to_json, findings_csv

    _method(method, "GET")
    q = parse_findings_query(query)
    now = deps.clock()
    items, after = query_findings(_store(deps), q, now)
    token = encode_continuation(q, *after) if after else None
    next_link = _link(deps, "/api/findings", {**query, "continuation": token}) if token else None
    if q.fmt == "csv":
        text = findings_csv(items)  # the one CSV layout (scanner.core.schema)
        headers = {"Content-Type": "text/csv; charset=utf-8"}
        if token:
            headers["X-Continuation"] = token
            headers["Link"] = f'<{next_link}>; rel="next"'
        return Response(200, headers, text.encode("utf-8"))
    doc = {"schema": FINDINGS_SCHEMA, "generated_at": now.isoformat(), "today": now.date().isoformat(),
           "count": len(items), "findings": [finding_to_json(f) for f in items],
           "continuation": token, "nextLink": next_link}
    return _json(200, doc)


# --------------------------------------------------------------------------- GET /api/catalog


def catalog(method: str, route_params: dict, query: dict, body: bytes, deps: ApiDeps) -> Response:
    from scanner.core.schema import catalog_to_json as to_json

    _method(method, "GET")
    _params(query, frozenset())
    now = deps.clock()
    if deps.store is not None:
        from scanner.feed_ingest import catalog_for_scan

        cat, errors = catalog_for_scan(deps.store().snapshots, deps.settings, now)
    else:
        from scanner.sources.feed import load_catalog

        cat, errors = load_catalog(deps.settings, None, feed=None, catalogs=["builtin"], extra_file=None,
                                   previous=())
    return _json(200, to_json(cat, now.date(), list(errors)))


# --------------------------------------------------------------------------- GET /api/report

REPORT_PARAMS = frozenset({"days"})


def report_page(store: Any, settings: Settings, now: datetime, days: int = 30) -> str:
    """The HTML report of the stored findings (open, suppressed, and resolved within `days`) with
    `days` of history: what GET /api/report answers and `make demo` writes."""
    from scanner.core.lifecycle import RESOLVED
    from scanner.core.report import render_report
    from scanner.core.schema import finding_to_json

    today = now.date()
    records = store.findings.load_records()
    acks = store.findings.load_suppressions()
    latest = _latest_run_start(store, now)
    since = now - timedelta(days=days)
    shown = [show_record(r, acks, today, latest) for r in records.values()
             if r.state != RESOLVED or (r.resolved_at is not None and r.resolved_at >= since)]
    history = store.runs.history(days, today)
    return render_report([finding_to_json(f) for f in shown], history, now, portal_url=settings.portal_url,
                         delivery_problems=_delivery_problems(store))


def _delivery_problems(store: Any) -> list[dict[str, str]]:
    """Alerts still undeliverable (the notifications table), for the report page's box."""
    from scanner.notify import delivery_errors

    return [{"scope": e.scope, "error": e.error} for e in delivery_errors(store.outbox)]


def report(method: str, route_params: dict, query: dict, body: bytes, deps: ApiDeps) -> Response:
    from scanner.core.report import CSP

    _method(method, "GET")
    p = _params(query, REPORT_PARAMS)
    days = 30
    if "days" in p:
        try:
            days = int(p["days"])
        except ValueError:
            raise ApiError(400, "bad_parameter", f"days: {_shown(p['days'])} is not a whole number", "days") from None
        if not 1 <= days <= 366:
            raise ApiError(400, "bad_parameter", f"days: {days} is not between 1 and 366", "days")
    html = report_page(_store(deps), deps.settings, deps.clock(), days)
    return Response(200, {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": CSP,
                          "X-Content-Type-Options": "nosniff"}, html.encode("utf-8"))
