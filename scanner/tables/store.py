"""Findings with a life: Azure Table Storage (azure-data-tables), Azurite in tests and the demo.

Tables (all named `<TABLE_PREFIX><Name>`, created if missing):

    Findings       one entity per finding ever seen. PartitionKey = subscription id (lower-case,
                   "none" if unknown), RowKey = model.finding_id (hex). One scan's writes for a
                   subscription go in entity-group transactions of up to 100.
    Runs           one entity per scan run: counts, duration, scopes seen and failed, errors.
                   PartitionKey "run", RowKey "<UTC start ISO>Z-<run id>" (sorts by time).
    Catalog        named snapshots (the feed-derived catalogue) with a watermark and the ETag.
    Suppressions   acks: PartitionKey "ack", RowKey = finding id, Until, Reason.
    Notifications  created here; its content belongs to the notifiers (`store.table("notifications")`).

A quiet night writes only the run record. Writes are ETag-conditional (create = fails if it
exists, update = If-Match), so two overlapping runs never both claim one transition: the loser
re-reads the record, re-diffs that finding and moves on (`apply_scan`).

Large text (a finding's JSON with long commands, a run's scope lists) is compressed (zlib,
base64) above one property's size and split across numbered properties; an entity that would
still exceed Table limits is refused with StoreError naming it, never truncated.
Errors are StoreError with the operation, table and status; never a connection string or key.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import json
import logging
import re
import time
import types
import typing
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.data.tables import TableClient, TableServiceClient, TableTransactionError, UpdateMode

from scanner.core import lifecycle
from scanner.core.lifecycle import Record, Suppression
from scanner.core.model import Change, Finding, ScopeError, Severity, Status
from scanner.errors import ConfigError, StoreError

log = logging.getLogger("scanner.tables.store")

TABLES = {
    "findings": "Findings",
    "runs": "Runs",
    "catalog": "Catalog",
    "suppressions": "Suppressions",
    "notifications": "Notifications",
}
BATCH_SIZE = 100  # Table Storage: at most 100 operations per entity-group transaction
PART_CHARS = 30_000  # a String property holds 64 KiB of UTF-16: 32K characters; keep headroom
MAX_PARTS = 14  # 14 x 60 KB + the small properties stays under the 1 MiB entity limit
RUN_PARTITION = "run"
ACK_PARTITION = "ack"
FORMAT_VERSION = 1

# --------------------------------------------------------------------------- JSON codec (pure)


def to_jsonable(obj: Any) -> Any:
    """A dataclass value (Finding, Retirement, ...) as plain JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime):
        if obj.tzinfo is None:
            obj = obj.replace(tzinfo=timezone.utc)
        return obj.isoformat()
    if isinstance(obj, date):
        return obj.isoformat()
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [to_jsonable(x) for x in obj]
        return sorted(items) if isinstance(obj, (set, frozenset)) else items
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    return obj


_DECODERS: dict[Any, Callable[[Any, str], Any]] = {}


def _identity(data: Any, where: str) -> Any:
    return data


def _decoder(tp: Any) -> Callable[[Any, str], Any]:
    """A decoder for one type, built once: `(data, where) -> value` (None stays None)."""
    found = _DECODERS.get(tp)
    if found is not None:
        return found
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    fn: Callable[[Any, str], Any]
    if origin in (typing.Union, types.UnionType):
        fn = _decoder(next(a for a in args if a is not type(None)))
    elif dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        fields = [(f.name, _decoder(hints[f.name])) for f in dataclasses.fields(tp)]

        def fn(data: Any, where: str, tp: Any = tp, fields: list = fields) -> Any:
            if not isinstance(data, Mapping):
                raise ValueError(f"{where}: expected an object for {tp.__name__}")
            return tp(**{name: dec(data[name], f"{where}.{name}") for name, dec in fields if name in data})
    elif isinstance(tp, type) and issubclass(tp, enum.Enum):
        def fn(data: Any, where: str, tp: Any = tp) -> Any:
            return tp(data)
    elif tp is datetime:
        def fn(data: Any, where: str) -> Any:
            value = datetime.fromisoformat(data)
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif tp is date:
        def fn(data: Any, where: str) -> Any:
            return date.fromisoformat(data)
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        if item is _identity:
            def fn(data: Any, where: str) -> Any:
                return tuple(data)
        else:
            def fn(data: Any, where: str, item: Any = item) -> Any:
                return tuple(item(x, where) for x in data)
    elif origin is tuple:
        items = [_decoder(a) for a in args]

        def fn(data: Any, where: str, items: list = items) -> Any:
            return tuple(dec(x, where) for dec, x in zip(items, data, strict=False))
    elif origin in (frozenset, set):
        item = _decoder(args[0])

        def fn(data: Any, where: str, item: Any = item, origin: Any = origin) -> Any:
            return origin(item(x, where) for x in data)
    elif origin in (dict, Mapping):
        value = _decoder(args[1])

        def fn(data: Any, where: str, value: Any = value) -> Any:
            return {k: value(v, where) for k, v in data.items()}
    elif tp is float:
        def fn(data: Any, where: str) -> Any:
            return float(data) if isinstance(data, int) and not isinstance(data, bool) else data
    else:
        fn = _identity
    if fn is _identity:
        _DECODERS[tp] = fn
        return fn
    inner = fn

    def safe(data: Any, where: str, inner: Any = inner) -> Any:
        return None if data is None else inner(data, where)

    _DECODERS[tp] = safe
    return safe


def from_jsonable(tp: Any, data: Any, where: str = "value") -> Any:
    """Inverse of to_jsonable for the model's types (dataclasses, enums, dates, tuples, dicts)."""
    return _decoder(tp)(data, where)


def finding_to_json(finding: Finding) -> str:
    return json.dumps(to_jsonable(finding), separators=(",", ":"), sort_keys=True)


def finding_from_json(text: str, where: str = "finding") -> Finding:
    try:
        return from_jsonable(Finding, json.loads(text), where)
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"{where}: stored finding is not readable ({exc})") from None


# --------------------------------------------------------------------------- big text (pure)


def pack_text(name: str, text: str, where: str = "entity") -> dict[str, Any]:
    """Properties holding `text`: plain if it fits one property, else zlib+base64 split in parts."""
    if len(text) <= PART_CHARS:
        return {name: text, f"{name}Encoding": "plain", f"{name}Parts": 1}
    packed = base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    parts = [packed[i:i + PART_CHARS] for i in range(0, len(packed), PART_CHARS)]
    if len(parts) > MAX_PARTS:
        raise StoreError(
            f"{where}: {name} is {len(text)} characters ({len(packed)} compressed), over the "
            f"{MAX_PARTS * PART_CHARS} a table entity can hold; not stored (nothing was cut)"
        )
    out: dict[str, Any] = {f"{name}Encoding": "zlib+base64", f"{name}Parts": len(parts)}
    for i, part in enumerate(parts):
        out[name if i == 0 else f"{name}{i}"] = part
    return out


def unpack_text(entity: Mapping[str, Any], name: str, where: str = "entity") -> str:
    encoding = entity.get(f"{name}Encoding", "plain")
    count = int(entity.get(f"{name}Parts", 1) or 1)
    chunks = []
    for i in range(count):
        key = name if i == 0 else f"{name}{i}"
        if key not in entity:
            raise StoreError(f"{where}: property {key} is missing ({count} parts expected)")
        chunks.append(entity[key] or "")
    joined = "".join(chunks)
    if encoding == "plain":
        return joined
    if encoding == "zlib+base64":
        try:
            return zlib.decompress(base64.b64decode(joined)).decode("utf-8")
        except (ValueError, zlib.error) as exc:
            raise StoreError(f"{where}: property {name} does not decompress ({exc})") from None
    raise StoreError(f"{where}: property {name} has unknown encoding {encoding!r}")


# --------------------------------------------------------------------------- entities (pure)


def partition_key(finding: Finding) -> str:
    return lifecycle.scope_of(finding) or "none"


def _utc(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(value.timestamp(), tz=timezone.utc)


def to_entity(record: Record) -> dict[str, Any]:
    """A Record as a Table entity (without the etag, which travels as a write condition)."""
    f = record.finding
    where = f"finding {f.id}"
    entity: dict[str, Any] = {
        "PartitionKey": partition_key(f),
        "RowKey": f.id,
        "FormatVersion": FORMAT_VERSION,
        "State": record.state,
        "Severity": f.severity.value,
        "Rule": f.rule.value,
        "Kind": f.resource.kind.value,
        "ResourceId": f.resource.id.lower(),
        "Pool": f.resource.pool,
        "VmSize": f.vm_size,
        "RetirementId": f.retirement.id if f.retirement else "",
        "RetiresOn": f.retirement.retires_on.isoformat() if f.retirement else "",
        "FirstSeen": _utc(record.first_seen),
        "LastChanged": _utc(record.last_changed),
        "SuppressedUntil": record.suppressed_until.isoformat() if record.suppressed_until else "",
        "SuppressionReason": record.suppression_reason,
    }
    if record.resolved_at is not None:
        entity["ResolvedAt"] = _utc(record.resolved_at)
    entity.update(pack_text("Body", finding_to_json(f), where))
    return entity


def from_entity(entity: Mapping[str, Any]) -> Record:
    """A Findings entity back to a Record (etag from the entity's metadata when present)."""
    where = f"finding {entity.get('RowKey', '?')} (table entity)"
    finding = finding_from_json(unpack_text(entity, "Body", where), where)
    until = entity.get("SuppressedUntil") or ""
    metadata = getattr(entity, "metadata", None) or {}
    state = entity.get("State", lifecycle.OPEN)
    if state not in (lifecycle.OPEN, lifecycle.RESOLVED):
        raise StoreError(f"{where}: State {state!r} is not open or resolved")
    return Record(
        finding=finding,
        state=state,
        first_seen=_utc(entity.get("FirstSeen")) or _utc(finding.first_seen) or datetime(1970, 1, 1, tzinfo=timezone.utc),
        last_changed=_utc(entity.get("LastChanged")) or datetime(1970, 1, 1, tzinfo=timezone.utc),
        resolved_at=_utc(entity.get("ResolvedAt")),
        suppressed_until=date.fromisoformat(until) if until else None,
        suppression_reason=entity.get("SuppressionReason") or "",
        etag=metadata.get("etag", "") or "",
    )


def suppression_to_entity(s: Suppression) -> dict[str, Any]:
    return {
        "PartitionKey": ACK_PARTITION,
        "RowKey": s.finding_id,
        "Until": s.until.isoformat(),
        "Reason": s.reason,
        "CreatedAt": _utc(s.created_at),
    }


def suppression_from_entity(e: Mapping[str, Any]) -> Suppression:
    try:
        until = date.fromisoformat(e["Until"])
    except (KeyError, ValueError, TypeError):
        raise StoreError(f"suppression {e.get('RowKey', '?')}: Until {e.get('Until')!r} is not a date") from None
    return Suppression(e["RowKey"], until, e.get("Reason") or "", "ack", _utc(e.get("CreatedAt")))


# --------------------------------------------------------------------------- protocol


class FindingStore(Protocol):
    def load_records(self) -> dict[str, Record]: ...
    def get_record(self, finding_id: str, partition: str | None = None) -> Record | None: ...
    def write_records(self, records: Sequence[Record]) -> WriteResult: ...
    def load_suppressions(self) -> dict[str, Suppression]: ...
    def put_suppression(self, suppression: Suppression) -> None: ...
    def delete_suppression(self, finding_id: str) -> bool: ...
    def put_run(self, run: Mapping[str, Any]) -> None: ...
    def list_runs(self, since: datetime) -> list[dict[str, Any]]: ...
    def history(self, days: int, today: date) -> list[dict[str, Any]]: ...


@dataclass
class WriteResult:
    written: set[str] = field(default_factory=set)  # finding ids this writer stored
    lost: set[str] = field(default_factory=set)  # someone else changed them first
    transactions: int = 0
    single_writes: int = 0


# --------------------------------------------------------------------------- errors


_SECRETISH = re.compile(r"(?i)\b(sig|accountkey|sharedaccesssignature|se|sp|sv|skoid|sktid)=[^&;\s'\"]+")


def _safe(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    text = str(getattr(exc, "message", "") or exc).splitlines()[0] if str(exc) else type(exc).__name__
    text = _SECRETISH.sub(lambda m: m.group(1) + "=***", text)[:300]
    bits = [type(exc).__name__]
    if status:
        bits.append(f"HTTP {status}")
    if code:
        bits.append(str(code))
    return f"{', '.join(bits)}: {text}"


# --------------------------------------------------------------------------- Table store


CONNECTION_RESENDS = 3


def resend_on_dropped_connection(send, attempts: int = CONNECTION_RESENDS, pause: float = 0.5):
    """Send a POST again when the connection dropped (a server closing an idle keep-alive
    connection, a reset under load). The SDK retries only idempotent methods on such errors.

    Safe for our writes: a transaction or a create that did reach the table before the connection
    dropped answers 409/412 when sent again, which the caller already treats as "written by
    someone else" (it re-reads; notifications keep their own record of what was told).
    """
    for attempt in range(1, attempts + 1):
        try:
            return send()
        except (ServiceRequestError, ServiceResponseError) as exc:
            if attempt == attempts:
                raise
            log.warning("store: connection dropped (%s); sending again (%d of %d)",
                        type(exc).__name__, attempt + 1, attempts)
            time.sleep(pause * attempt)


class TableFindingStore:
    """FindingStore on Azure Table Storage. Build it with `open_store(settings)`."""

    def __init__(self, service: TableServiceClient, prefix: str = "retirements", create: bool = True):
        if not re.match(r"^[A-Za-z][A-Za-z0-9]{0,49}$", prefix):
            raise ConfigError(f"TABLE_PREFIX: {prefix!r} must be letters and digits, starting with a letter")
        self.service = service
        self.prefix = prefix
        self.requests: Counter[str] = Counter()  # SDK calls made, by kind (reads, writes, ...)
        self._clients: dict[str, TableClient] = {}
        if create:
            self.ensure_tables()

    # -- tables

    def table_name(self, name: str) -> str:
        if name not in TABLES:
            raise ValueError(f"unknown table {name!r}; one of {', '.join(TABLES)}")
        return self.prefix + TABLES[name]

    def table(self, name: str) -> TableClient:
        """TableClient for one of: findings, runs, catalog, suppressions, notifications."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = self.service.get_table_client(self.table_name(name))
        return client

    def ensure_tables(self) -> None:
        for name in TABLES:
            try:
                self.service.create_table_if_not_exists(self.table_name(name))
                self.requests["create_table"] += 1
            except AzureError as exc:
                raise StoreError(f"store: cannot create table {self.table_name(name)} ({_safe(exc)})") from None

    def _fail(self, what: str, table: str, exc: BaseException) -> StoreError:
        return StoreError(f"store: {what} in table {self.table_name(table)} failed ({_safe(exc)})")

    # -- findings

    def load_records(self) -> dict[str, Record]:
        out: dict[str, Record] = {}
        try:
            self.requests["query"] += 1
            for entity in self.table("findings").list_entities(results_per_page=1000):
                rec = from_entity(entity)
                out[rec.id] = rec
        except AzureError as exc:
            raise self._fail("reading findings", "findings", exc) from None
        return out

    def get_record(self, finding_id: str, partition: str | None = None) -> Record | None:
        """One finding by id (a point read when its partition, the subscription id, is known)."""
        if not re.match(r"^[0-9A-Za-z_-]{1,200}$", finding_id or ""):
            return None
        if partition:
            return self._read_one(partition, finding_id)
        try:
            self.requests["query"] += 1
            hits = list(self.table("findings").query_entities(
                "RowKey eq @id", parameters={"id": finding_id}, results_per_page=10))
        except AzureError as exc:
            raise self._fail(f"reading finding {finding_id}", "findings", exc) from None
        return from_entity(hits[0]) if hits else None

    def _read_one(self, pk: str, rk: str) -> Record | None:
        try:
            self.requests["read"] += 1
            return from_entity(self.table("findings").get_entity(pk, rk))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._fail(f"reading finding {rk}", "findings", exc) from None

    @staticmethod
    def _operation(record: Record) -> tuple:
        entity = to_entity(record)
        if not record.etag:
            return ("create", entity)
        return ("update", entity, {"mode": UpdateMode.REPLACE, "etag": record.etag,
                                   "match_condition": MatchConditions.IfNotModified})

    def write_records(self, records: Sequence[Record], max_workers: int = 4) -> WriteResult:
        """Create (new) or replace-if-unchanged (etag) each record, batched per partition by 100
        (transactions sent `max_workers` at a time).

        A batch that hits a conflict is retried one record at a time; records someone else
        changed first are reported in `lost` (not written).
        """
        by_partition: dict[str, list[tuple]] = {}
        for rec in records:
            op = self._operation(rec)
            by_partition.setdefault(op[1]["PartitionKey"], []).append(op)
        chunks = [ops[i:i + BATCH_SIZE] for ops in by_partition.values() for i in range(0, len(ops), BATCH_SIZE)]
        result = WriteResult()
        if not chunks:
            return result
        table = self.table("findings")
        if max_workers <= 1 or len(chunks) == 1:
            parts = [self._write_chunk(table, c) for c in chunks]
        else:
            with ThreadPoolExecutor(max_workers=min(max_workers, len(chunks))) as pool:
                parts = list(pool.map(lambda c: self._write_chunk(table, c), chunks))
        for part in parts:
            result.written |= part.written
            result.lost |= part.lost
            result.transactions += part.transactions
            result.single_writes += part.single_writes
        self.requests["transaction"] += result.transactions
        self.requests["write"] += result.single_writes
        return result

    def _write_chunk(self, table: TableClient, chunk: list[tuple]) -> WriteResult:
        """One partition's chunk (<= 100): a transaction, or one by one if someone got there first."""
        result = WriteResult(transactions=1)
        try:
            resend_on_dropped_connection(lambda: table.submit_transaction(chunk))
            result.written.update(op[1]["RowKey"] for op in chunk)
            return result
        except TableTransactionError as exc:
            if exc.status_code not in (409, 412, 404):
                raise self._fail("writing findings (transaction)", "findings", exc) from None
        except AzureError as exc:
            raise self._fail("writing findings (transaction)", "findings", exc) from None
        for op in chunk:
            result.single_writes += 1
            rk = op[1]["RowKey"]
            try:
                if op[0] == "create":
                    resend_on_dropped_connection(lambda op=op: table.create_entity(op[1]))
                else:
                    table.update_entity(op[1], **op[2])
                result.written.add(rk)
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                result.lost.add(rk)
            except HttpResponseError as exc:
                if exc.status_code in (409, 412):
                    result.lost.add(rk)
                else:
                    raise self._fail(f"writing finding {rk}", "findings", exc) from None
            except AzureError as exc:
                raise self._fail(f"writing finding {rk}", "findings", exc) from None
        return result

    # -- suppressions

    def load_suppressions(self) -> dict[str, Suppression]:
        try:
            self.requests["query"] += 1
            return {
                e["RowKey"]: suppression_from_entity(e)
                for e in self.table("suppressions").query_entities(
                    "PartitionKey eq @pk", parameters={"pk": ACK_PARTITION})
            }
        except AzureError as exc:
            raise self._fail("reading suppressions", "suppressions", exc) from None

    def put_suppression(self, suppression: Suppression) -> None:
        try:
            self.requests["write"] += 1
            self.table("suppressions").upsert_entity(suppression_to_entity(suppression), mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise self._fail(f"writing suppression {suppression.finding_id}", "suppressions", exc) from None

    def delete_suppression(self, finding_id: str) -> bool:
        table = self.table("suppressions")
        try:
            self.requests["read"] += 1
            table.get_entity(ACK_PARTITION, finding_id)
        except ResourceNotFoundError:
            return False
        except AzureError as exc:
            raise self._fail(f"reading suppression {finding_id}", "suppressions", exc) from None
        try:
            self.requests["write"] += 1
            table.delete_entity(ACK_PARTITION, finding_id)
        except AzureError as exc:
            raise self._fail(f"deleting suppression {finding_id}", "suppressions", exc) from None
        return True

    # -- runs and history

    def put_run(self, run: Mapping[str, Any]) -> None:
        entity = run_to_entity(run)
        try:
            self.requests["write"] += 1
            self.table("runs").upsert_entity(entity, mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise self._fail(f"writing run {run.get('run_id')}", "runs", exc) from None

    def list_runs(self, since: datetime) -> list[dict[str, Any]]:
        since = _utc(since)
        try:
            self.requests["query"] += 1
            rows = self.table("runs").query_entities(
                "PartitionKey eq @pk and RowKey ge @since",
                parameters={"pk": RUN_PARTITION, "since": _run_key_time(since)},
                results_per_page=1000,
            )
            # Ties on the start time (runs in the same second) go by the server's write time.
            keyed = [((getattr(e, "metadata", None) or {}).get("timestamp"), run_from_entity(e)) for e in rows]
        except AzureError as exc:
            raise self._fail("reading runs", "runs", exc) from None
        keyed.sort(key=lambda kr: (kr[1]["started"], _utc(kr[0]) or kr[1]["started"]))
        return [run for _, run in keyed]

    def history(self, days: int, today: date, lookback_days: int = 90) -> list[dict[str, Any]]:
        """Per day (UTC), oldest first: open findings by severity and the day's transitions."""
        if days < 1:
            raise ValueError(f"history: days must be at least 1 (got {days})")
        start = today - timedelta(days=days - 1)
        since = datetime.combine(start - timedelta(days=lookback_days), datetime.min.time(), timezone.utc)
        return history_from_runs(self.list_runs(since), days, today)

    # -- catalogue snapshots (feed watermark + ETag)

    def get_snapshot(self, name: str) -> dict[str, Any] | None:
        """{"name", "body", "watermark", "feed_etag", "updated", "etag"} or None."""
        try:
            self.requests["read"] += 1
            e = self.table("catalog").get_entity("snapshot", name)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._fail(f"reading snapshot {name}", "catalog", exc) from None
        return {
            "name": name,
            "body": unpack_text(e, "Body", f"snapshot {name}"),
            "watermark": e.get("Watermark", ""),
            "feed_etag": e.get("FeedETag", ""),
            "updated": _utc(e.get("Updated")),
            "etag": (getattr(e, "metadata", None) or {}).get("etag", ""),
        }

    def put_snapshot(self, name: str, body: str, *, watermark: str = "", feed_etag: str = "",
                     now: datetime, if_match: str | None = None) -> bool:
        """Store a snapshot. With `if_match` (the etag read), only if nobody wrote it since:
        returns False when someone did (or, with if_match="", when it already exists)."""
        entity = {"PartitionKey": "snapshot", "RowKey": name, "Watermark": watermark,
                  "FeedETag": feed_etag, "Updated": _utc(now)}
        entity.update(pack_text("Body", body, f"snapshot {name}"))
        table = self.table("catalog")
        try:
            self.requests["write"] += 1
            if if_match is None:
                table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            elif if_match == "":
                table.create_entity(entity)
            else:
                table.update_entity(entity, mode=UpdateMode.REPLACE, etag=if_match,
                                    match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            return False
        except AzureError as exc:
            raise self._fail(f"writing snapshot {name}", "catalog", exc) from None
        return True


# --------------------------------------------------------------------------- runs (pure)


def _run_key_time(ts: datetime) -> str:
    return _utc(ts).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def run_to_entity(run: Mapping[str, Any]) -> dict[str, Any]:
    started = _utc(run["started"])
    rid = run["run_id"]
    entity: dict[str, Any] = {
        "PartitionKey": RUN_PARTITION,
        "RowKey": f"{_run_key_time(started)}-{rid}",
        "RunId": rid,
        "Source": run.get("source", ""),
        "Started": started,
        "Finished": _utc(run.get("finished")),
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
        "started": _utc(e.get("Started")),
        "finished": _utc(e.get("Finished")),
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


def apply_scan(
    store: FindingStore,
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
    max_retries: int = 3,
    clock: Callable[[], float] = time.monotonic,
) -> ScanOutcome:
    """Diff tonight's findings against the store, write the transitions, record the run.

    Only transitions (and real content changes) are written, ETag-conditional. A transition that
    another run wrote first is not claimed twice: this run re-reads that record, re-diffs the
    finding against it and writes only what is still needed. `dry_run`: read and diff, write
    nothing (not even the run record). `duration_seconds` defaults to finished - started when
    both are given, else the time this call took.
    """
    t0 = clock()
    current = list(findings)
    seen = None if scopes_seen is None else sorted({s.lower() for s in scopes_seen})
    failed = list(scopes_failed)
    previous = store.load_records()
    acks = store.load_suppressions()
    d = lifecycle.diff(previous, current, now=now, scopes_seen=seen, scopes_failed=failed, suppressions=acks)

    by_id_change = {c.finding.id: c for c in d.changes}
    by_id_finding = {f.id: f for f in d.findings}
    resolved = {f.id: f for f in d.resolved}
    open_after = {r.id: r for r in d.open_after}
    current_by_id = {f.id: f for f in current}
    writes, lost_total = list(d.writes), 0
    result_total = WriteResult()
    for _attempt in range(max_retries + 1):
        if not writes or dry_run:
            break
        res = store.write_records(writes)
        result_total.written |= res.written
        result_total.transactions += res.transactions
        result_total.single_writes += res.single_writes
        if not res.lost:
            break
        lost_total += len(res.lost)
        retry: list[Record] = []
        partitions = {r.id: partition_key(r.finding) for r in writes}
        # Many lost (another full run raced this one): one read of everything beats point reads.
        reread = store.load_records() if len(res.lost) > 50 else None
        for fid in sorted(res.lost):
            fresh = reread.get(fid) if reread is not None else store.get_record(fid, partitions[fid])
            cur = [current_by_id[fid]] if fid in current_by_id else []
            prev = {fid: fresh} if fresh is not None else {}
            sub = lifecycle.diff(prev, cur, now=now, scopes_seen=seen, scopes_failed=failed, suppressions=acks)
            # The other run's view wins for what it already wrote: ours becomes this re-diff.
            for c in sub.changes:
                by_id_change[fid] = c
            for f in sub.findings:
                by_id_finding[fid] = f
            resolved.pop(fid, None)
            for f in sub.resolved:
                resolved[fid] = f
            open_after.pop(fid, None)
            for r in sub.open_after:
                open_after[fid] = r
            if not sub.changes and fresh is not None and fid not in current_by_id:
                by_id_change.pop(fid, None)  # already resolved by the other run
            retry.extend(sub.writes)
        writes = retry
    else:
        if writes and not dry_run:
            raise StoreError(f"store: {len(writes)} finding(s) kept changing under this run after "
                             f"{max_retries} retries (e.g. {writes[0].id}); run the scan again")

    today = now.date()
    changes = tuple(by_id_change.values())
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
        "findings": len(by_id_finding),
        "changes": counts,
        "open": lifecycle.severity_counts(open_after.values(), today),
        "writes": len(result_total.written),
        "lost": lost_total,
        "transactions": result_total.transactions,
        "scopes_seen": seen,
        "scopes_failed": [e.scope for e in failed],
        "errors": list(errors),
        "warnings": list(d.warnings),
    }
    if dry_run:
        log.info("store (dry run): %s; nothing written", ", ".join(f"{v} {k}" for k, v in counts.items() if v))
        return ScanOutcome(tuple(by_id_finding.values()), tuple(resolved.values()), changes, run, d.warnings)
    store.put_run(run)
    log.info("store: %d findings, %s, %d written in %d transactions, %d taken by another run",
             len(by_id_finding), ", ".join(f"{v} {k}" for k, v in counts.items() if v),
             len(result_total.written), result_total.transactions, lost_total)
    return ScanOutcome(tuple(by_id_finding.values()), tuple(resolved.values()), changes, run, d.warnings)


class ScanStore:
    """What service.run_scan calls as `deps.store`: sync(report, *, now, dry_run) -> (findings, changes).

    `findings`: tonight's, with status (new/open/escalated/suppressed) and first_seen.
    `changes`: one per finding (unchanged included, which reminders need) plus one "resolved"
    per finding resolved tonight (its finding has status "resolved"). `last` keeps the outcome
    (run record, warnings) of the latest sync.
    """

    def __init__(self, store: FindingStore, source: str = "scan") -> None:
        self.store = store
        self.source = source
        self.last: ScanOutcome | None = None

    def sync(self, report: Any, *, now: datetime, dry_run: bool = False) -> tuple[list[Finding], list[Change]]:
        t0 = time.perf_counter()
        errors = tuple(getattr(report, "errors", ()))
        seen = getattr(report, "subscriptions_seen", None)
        before = sum(float(v) for v in (getattr(report, "timings", None) or {}).values())
        outcome = apply_scan(
            self.store, report.findings, now=now,
            scopes_seen=frozenset(seen or ()),
            scopes_failed=errors,
            errors=[f"{e.scope}: {e.error}" for e in errors],
            started=getattr(report, "generated_at", None) or now,
            source=self.source, dry_run=dry_run,
            duration_seconds=before + (time.perf_counter() - t0),
        )
        for w in outcome.warnings:
            log.warning("store: %s", w)
        self.last = outcome
        return list(outcome.findings), list(outcome.changes)

    def add_errors(self, errors: Sequence[Any]) -> None:
        """Add errors found after the sync (undeliverable notifications: ScopeErrors) to the run
        record the latest sync stored. Not scopes that failed: the lifecycle never sees them."""
        if self.last is None or not errors:
            return
        added = [f"{e.scope}: {e.error}" for e in errors]
        run = {**self.last.run, "errors": [*self.last.run.get("errors", []), *added]}
        self.store.put_run(run)
        self.last = dataclasses.replace(self.last, run=run)


# --------------------------------------------------------------------------- opening


def store_configured(settings: Any) -> bool:
    return bool(settings.storage_connection_string) or bool(settings.storage_table_endpoint)


def open_store(settings: Any, credential_factory: Callable[[], Any] | None = None,
               create: bool = True, **client_kwargs: Any) -> TableFindingStore:
    """The store named by settings: AzureWebJobsStorage (connection string, or
    UseDevelopmentStorage=true for Azurite on its default ports), else STORAGE_TABLE_ENDPOINT with
    DefaultAzureCredential (managed identity; AZURE_CLIENT_ID picks a user-assigned one)."""
    service = table_service(settings, credential_factory, **client_kwargs)
    return TableFindingStore(service, settings.table_prefix, create=create)


def table_service(settings: Any, credential_factory: Callable[[], Any] | None = None,
                  **client_kwargs: Any) -> TableServiceClient:
    """The Table service named by settings (see open_store); ConfigError when none is set."""
    conn = settings.storage_connection_string.reveal() if settings.storage_connection_string else ""
    try:
        if conn:
            return TableServiceClient.from_connection_string(conn, **client_kwargs)
        if settings.storage_table_endpoint:
            if credential_factory is not None:
                credential = credential_factory()
            else:
                from scanner.bootstrap import credential as default_credential

                credential = default_credential(settings)  # DefaultAzureCredential, cached per process
            return TableServiceClient(settings.storage_table_endpoint, credential=credential, **client_kwargs)
    except ValueError as exc:
        raise ConfigError(f"AzureWebJobsStorage: not a usable storage connection string ({type(exc).__name__})") from None
    raise ConfigError(
        "no store configured: set AzureWebJobsStorage (a connection string, or "
        "UseDevelopmentStorage=true for Azurite) or STORAGE_TABLE_ENDPOINT (managed identity)"
    )
