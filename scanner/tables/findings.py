"""Findings and suppressions in Azure Table Storage.

    Findings       one entity per finding ever seen. PartitionKey = subscription id (lower-case,
                   "none" if unknown), RowKey = model.finding_id (hex). One scan's writes for a
                   subscription go in entity-group transactions of up to 100.
    Suppressions   acks: PartitionKey "ack", RowKey = finding id, Until, Reason.

Writes are ETag-conditional (create = fails if it exists, update = If-Match): `write_records`
reports the records someone else changed first as `lost`, and the service decides what to do
about them (service.store_plan). A finding's JSON is packed by kit.pack_text; an entity that
would exceed Table limits is refused with StoreError naming it, never truncated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from scanner.core import lifecycle
from scanner.core.lifecycle import Record, Suppression
from scanner.core.model import Finding
from scanner.errors import StoreError
from scanner.ports import WriteResult
from scanner.tables.kit import (
    BATCH_SIZE,
    Tables,
    from_jsonable,
    pack_text,
    resend_on_dropped_connection,
    to_jsonable,
    unpack_text,
    utc,
)

if TYPE_CHECKING:  # the SDK loads on first use, not at import (import function_app stays fast)
    from azure.data.tables import TableClient

ACK_PARTITION = "ack"
FORMAT_VERSION = 1


def finding_to_json(finding: Finding) -> str:
    return json.dumps(to_jsonable(finding), separators=(",", ":"), sort_keys=True)


def finding_from_json(text: str, where: str = "finding") -> Finding:
    try:
        return from_jsonable(Finding, json.loads(text), where)
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"{where}: stored finding is not readable ({exc})") from None


def partition_key(finding: Finding) -> str:
    return lifecycle.scope_of(finding) or "none"


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
        "FirstSeen": utc(record.first_seen),
        "LastChanged": utc(record.last_changed),
        "SuppressedUntil": record.suppressed_until.isoformat() if record.suppressed_until else "",
        "SuppressionReason": record.suppression_reason,
        "TellPending": bool(record.tell_pending),
    }
    if record.resolved_at is not None:
        entity["ResolvedAt"] = utc(record.resolved_at)
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
        first_seen=utc(entity.get("FirstSeen")) or utc(finding.first_seen) or datetime(1970, 1, 1, tzinfo=timezone.utc),
        last_changed=utc(entity.get("LastChanged")) or datetime(1970, 1, 1, tzinfo=timezone.utc),
        resolved_at=utc(entity.get("ResolvedAt")),
        suppressed_until=date.fromisoformat(until) if until else None,
        suppression_reason=entity.get("SuppressionReason") or "",
        tell_pending=bool(entity.get("TellPending", False)),
        etag=metadata.get("etag", "") or "",
    )


def suppression_to_entity(s: Suppression) -> dict[str, Any]:
    return {
        "PartitionKey": ACK_PARTITION,
        "RowKey": s.finding_id,
        "Until": s.until.isoformat(),
        "Reason": s.reason,
        "CreatedAt": utc(s.created_at),
    }


def suppression_from_entity(e: Mapping[str, Any]) -> Suppression:
    try:
        until = date.fromisoformat(e["Until"])
    except (KeyError, ValueError, TypeError):
        raise StoreError(f"suppression {e.get('RowKey', '?')}: Until {e.get('Until')!r} is not a date") from None
    return Suppression(e["RowKey"], until, e.get("Reason") or "", "ack", utc(e.get("CreatedAt")))


class TableFindings:
    """The FindingRepo port on Azure Table Storage (tables "findings" and "suppressions")."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables


    def load_records(self) -> dict[str, Record]:
        out: dict[str, Record] = {}
        try:
            self.tables.requests["query"] += 1
            for entity in self.tables.table("findings").list_entities(results_per_page=1000):
                rec = from_entity(entity)
                out[rec.id] = rec
        except AzureError as exc:
            raise self.tables.fail("reading findings", "findings", exc) from None
        return out

    def get_record(self, finding_id: str, partition: str | None = None) -> Record | None:
        """One finding by id (a point read when its partition, the subscription id, is known)."""
        if not re.match(r"^[0-9A-Za-z_-]{1,200}$", finding_id or ""):
            return None
        if partition:
            return self._read_one(partition, finding_id)
        try:
            self.tables.requests["query"] += 1
            hits = list(self.tables.table("findings").query_entities(
                "RowKey eq @id", parameters={"id": finding_id}, results_per_page=10))
        except AzureError as exc:
            raise self.tables.fail(f"reading finding {finding_id}", "findings", exc) from None
        return from_entity(hits[0]) if hits else None

    def _read_one(self, pk: str, rk: str) -> Record | None:
        try:
            self.tables.requests["read"] += 1
            return from_entity(self.tables.table("findings").get_entity(pk, rk))
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self.tables.fail(f"reading finding {rk}", "findings", exc) from None

    @staticmethod
    def _operation(record: Record) -> tuple:
        from azure.data.tables import UpdateMode

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
        table = self.tables.table("findings")
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
        self.tables.requests["transaction"] += result.transactions
        self.tables.requests["write"] += result.single_writes
        return result

    def _write_chunk(self, table: TableClient, chunk: list[tuple]) -> WriteResult:
        """One partition's chunk (<= 100): a transaction, or one by one if someone got there first."""
        from azure.data.tables import TableTransactionError

        result = WriteResult(transactions=1)
        try:
            resend_on_dropped_connection(lambda: table.submit_transaction(chunk))
            result.written.update(op[1]["RowKey"] for op in chunk)
            return result
        except TableTransactionError as exc:
            if exc.status_code not in (409, 412, 404):
                raise self.tables.fail("writing findings (transaction)", "findings", exc) from None
        except AzureError as exc:
            raise self.tables.fail("writing findings (transaction)", "findings", exc) from None
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
                    raise self.tables.fail(f"writing finding {rk}", "findings", exc) from None
            except AzureError as exc:
                raise self.tables.fail(f"writing finding {rk}", "findings", exc) from None
        return result

    # -- suppressions

    def load_suppressions(self) -> dict[str, Suppression]:
        try:
            self.tables.requests["query"] += 1
            return {
                e["RowKey"]: suppression_from_entity(e)
                for e in self.tables.table("suppressions").query_entities(
                    "PartitionKey eq @pk", parameters={"pk": ACK_PARTITION})
            }
        except AzureError as exc:
            raise self.tables.fail("reading suppressions", "suppressions", exc) from None

    def put_suppression(self, suppression: Suppression) -> None:
        from azure.data.tables import UpdateMode

        try:
            self.tables.requests["write"] += 1
            self.tables.table("suppressions").upsert_entity(suppression_to_entity(suppression), mode=UpdateMode.REPLACE)
        except AzureError as exc:
            raise self.tables.fail(f"writing suppression {suppression.finding_id}", "suppressions", exc) from None

    def delete_suppression(self, finding_id: str) -> bool:
        table = self.tables.table("suppressions")
        try:
            self.tables.requests["read"] += 1
            table.get_entity(ACK_PARTITION, finding_id)
        except ResourceNotFoundError:
            return False
        except AzureError as exc:
            raise self.tables.fail(f"reading suppression {finding_id}", "suppressions", exc) from None
        try:
            self.tables.requests["write"] += 1
            table.delete_entity(ACK_PARTITION, finding_id)
        except AzureError as exc:
            raise self.tables.fail(f"deleting suppression {finding_id}", "suppressions", exc) from None
        return True

    def mark_told(self, records: Sequence[Record]) -> None:
        """Clear the duty to tell on these records (the notifier recorded what was due): a MERGE of
        TellPending=false (an update: never creates a row), batched per subscription."""
        from azure.data.tables import UpdateMode

        by_partition: dict[str, list[tuple]] = {}
        for r in records:
            pk = partition_key(r.finding)
            by_partition.setdefault(pk, []).append(
                ("update", {"PartitionKey": pk, "RowKey": r.id, "TellPending": False}, {"mode": UpdateMode.MERGE}))
        table = self.tables.table("findings")
        for ops in by_partition.values():
            for i in range(0, len(ops), BATCH_SIZE):
                try:
                    self.tables.requests["transaction"] += 1
                    resend_on_dropped_connection(lambda i=i, ops=ops: table.submit_transaction(ops[i:i + BATCH_SIZE]))
                except AzureError as exc:
                    raise self.tables.fail("recording resolutions as told", "findings", exc) from None

    def query(self, flt: str, parameters: Mapping[str, Any], page_size: int):
        """(PartitionKey, RowKey, Record) of the findings a server-side filter keeps ("" = all),
        in table order, read page by page as the caller iterates."""
        table = self.tables.table("findings")
        try:
            self.tables.requests["query"] += 1
            rows = table.query_entities(flt, parameters=dict(parameters), results_per_page=page_size) \
                if flt else table.list_entities(results_per_page=page_size)
            for entity in rows:
                yield entity["PartitionKey"], entity["RowKey"], from_entity(entity)
        except AzureError as exc:
            raise self.tables.fail("reading findings", "findings", exc) from None
