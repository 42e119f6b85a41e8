"""The notifications table: what each recipient set was told, every message, and a run lock.

Rows (PartitionKey / RowKey):
    lock    / notify                   one scan at a time decides what is due (owner, expires)
    told    / <recipient hash>-<fid>   last stage told to a recipient set about a finding
    message / <message id>             header: channel, recipient, subject, status, attempts, ...
    body    / <message id>-<nnnn>      the rendered message (zlib JSON in 60 KB chunks)

Order of writes when a message is recorded (a write-ahead log, so a crash loses nothing and
tells nothing twice): body chunks -> header (recorded=false) -> told rows -> header recorded=true.
`repair()` finishes any header left with recorded=false before the next plan reads told rows.
A message is marked sent only after its transport succeeded; sending claims the header with an
ETag-guarded lease so two senders (queue trigger and a draining scan) never send it twice.
A failed attempt keeps the message (status "failed", retried by every later run) and records on
its header: `failures` (count), `first_failed_at`, `failed_at`, `last_status` (HTTP or SMTP code,
0 when none), `last_reason` (short: "HTTP 404") and `last_error` (URLs masked).
`undeliverable()` groups those per recipient set for the scan report's "errors".
No secret is stored: Teams recipients are setting names, never URLs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from azure.core.exceptions import AzureError, HttpResponseError, ResourceNotFoundError

from scanner.core.messages import Message, Recipient, Told
from scanner.errors import StoreError
from scanner.tables.kit import (
    EPOCH,
    Lease,
    mask_secrets,
    resend_on_dropped_connection,
    update_if_unchanged,
    utc,
)

if TYPE_CHECKING:  # the SDK loads on first use, not at import (import function_app stays fast)
    from azure.data.tables import TableClient

log = logging.getLogger("scanner.tables.outbox")

CHUNK = 60_000
# The planning lock: held while one run records what is due, renewed before each message it
# records. A run that died (or lost its storage) leaves it to expire this soon, not in minutes.
LOCK_TTL = 15.0


@dataclass(frozen=True)
class Undeliverable:
    """Recorded messages to one recipient set whose last send attempt failed (not dropped)."""

    channel: str  # "teams" | "email"
    recipient: str  # the TEAMS_WEBHOOK_* setting name, or the sorted address list
    messages: int
    since: datetime  # first failed attempt of the oldest failing message
    last_tried: datetime
    last_reason: str  # "HTTP 404", "SMTP 535", or a short masked error
    retryable: bool  # the last failure was transient (429, 5xx, network)


def recipient_hash(recipient_key: str) -> str:
    return hashlib.sha256(recipient_key.encode("utf-8")).hexdigest()[:16]


def _when(value) -> datetime:
    """A stored time, EPOCH when missing (sorts first, never "in the future")."""
    return utc(value) if isinstance(value, datetime) else EPOCH


@dataclass(frozen=True)
class SendClaim:
    message: Message
    parts_sent: int
    attempts: int


class Outbox:
    def __init__(self, table: TableClient) -> None:
        """`table`: the notifications table (kit.Tables.table("notifications"))."""
        self.table = table
        self._lock = Lease(table, "lock", "notify", f"notifications table {table.table_name}")

    # ------------------------------------------------------------------ helpers

    def _err(self, what: str, exc: Exception) -> StoreError:
        status = getattr(exc, "status_code", None)
        return StoreError(f"notifications table {self.table.table_name}: {what} failed "
                          f"({type(exc).__name__}{f', HTTP {status}' if status else ''})")

    def _get(self, pk: str, rk: str):
        try:
            return self.table.get_entity(pk, rk)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._err(f"reading {pk} {rk}", exc) from None

    # ------------------------------------------------------------------ lock

    def acquire(self, owner: str, now: datetime, ttl: float = LOCK_TTL) -> bool:
        """Take (or, for its owner, renew) the planning lock; False if another live owner holds it."""
        return self._lock.acquire(owner, now, ttl)

    def release(self, owner: str) -> None:
        """Never raises: a lock that cannot be released expires after LOCK_TTL."""
        self._lock.release(owner)

    # ------------------------------------------------------------------ told

    def told(self) -> dict[str, dict[str, Told]]:
        """recipient key -> finding id -> Told."""
        out: dict[str, dict[str, Told]] = {}
        try:
            for e in self.table.query_entities("PartitionKey eq 'told'"):
                dl = e.get("days_left")
                out.setdefault(e["recipient"], {})[e["finding_id"]] = Told(
                    stage=e.get("stage", ""), severity=e.get("severity", ""),
                    days_left=int(dl) if dl is not None else None, message_id=e.get("message_id", ""))
        except AzureError as exc:
            raise self._err("reading told stages", exc) from None
        return out

    def _write_told(self, recipient: Recipient, message_id: str,
                    stages: Iterable[tuple[str, str, str, int | None]], now: datetime) -> None:
        from azure.data.tables import UpdateMode

        rh = recipient_hash(recipient.key)
        ops = []
        for fid, stage, severity, days_left in stages:
            e = {"PartitionKey": "told", "RowKey": f"{rh}-{fid}", "recipient": recipient.key,
                 "finding_id": fid, "stage": stage, "severity": severity, "message_id": message_id,
                 "told_at": now}
            if days_left is not None:
                e["days_left"] = int(days_left)
            ops.append(("upsert", e, {"mode": UpdateMode.REPLACE}))
        for i in range(0, len(ops), 100):
            resend_on_dropped_connection(lambda i=i: self.table.submit_transaction(ops[i:i + 100]))

    # ------------------------------------------------------------------ messages

    def record(self, message: Message, now: datetime) -> None:
        """Write the message and mark its stages told (see the module docstring for the order)."""
        from azure.data.tables import UpdateMode

        data = zlib.compress(message.to_json().encode("utf-8"), 6)
        chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
        try:
            for i, chunk in enumerate(chunks):
                self.table.upsert_entity({"PartitionKey": "body", "RowKey": f"{message.id}-{i:04d}", "data": chunk},
                                         mode=UpdateMode.REPLACE)
            header = {
                "PartitionKey": "message", "RowKey": message.id,
                "channel": message.recipient.channel, "recipient": message.recipient.target,
                "subject": message.subject[:1000], "status": "pending", "recorded": False,
                "chunks": len(chunks), "parts_total": message.parts, "parts_sent": 0, "attempts": 0,
                "findings": len(message.stages), "created_at": now, "lease_until": EPOCH,
                "last_error": "", "last_status": 0,
            }
            self.table.upsert_entity(header, mode=UpdateMode.REPLACE)
            self._write_told(message.recipient, message.id, message.stages, now)
            self.table.update_entity({"PartitionKey": "message", "RowKey": message.id, "recorded": True},
                                     mode=UpdateMode.MERGE)
        except AzureError as exc:
            raise self._err(f"recording message {message.id}", exc) from None

    def load(self, message_id: str) -> Message:
        try:
            header = self._get("message", message_id)
            if header is None:
                raise StoreError(f"notification {message_id!r} is not in table {self.table.table_name}")
            parts = []
            for i in range(int(header.get("chunks", 1))):
                e = self._get("body", f"{message_id}-{i:04d}")
                if e is None:
                    raise StoreError(f"notification {message_id!r}: body chunk {i} is missing")
                parts.append(bytes(e.get("data") or b""))
        except AzureError as exc:
            raise self._err(f"reading message {message_id}", exc) from None
        try:
            return Message.from_dict(json.loads(zlib.decompress(b"".join(parts)).decode("utf-8")))
        except (zlib.error, ValueError) as exc:
            raise StoreError(f"notification {message_id!r}: stored body is unreadable ({exc})") from None

    def repair(self, now: datetime) -> int:
        """Finish messages whose told rows were not all written (a crash mid-record)."""
        from azure.data.tables import UpdateMode

        fixed = 0
        try:
            for h in list(self.table.query_entities("PartitionKey eq 'message' and recorded eq false")):
                try:
                    msg = self.load(h["RowKey"])
                except StoreError as exc:  # body never fully written: the stages were never told
                    log.warning("dropping unrecorded notification %s: %s", h["RowKey"], exc)
                    self.table.delete_entity("message", h["RowKey"])
                    continue
                self._write_told(msg.recipient, msg.id, msg.stages, now)
                self.table.update_entity({"PartitionKey": "message", "RowKey": msg.id, "recorded": True},
                                         mode=UpdateMode.MERGE)
                fixed += 1
        except AzureError as exc:
            raise self._err("repairing unrecorded messages", exc) from None
        return fixed

    def unsent(self) -> list[str]:
        """Ids of recorded messages not yet sent (pending or failed), oldest first."""
        try:
            rows = list(self.table.query_entities(
                "PartitionKey eq 'message' and status ne 'sent' and recorded eq true",
                select=["RowKey", "created_at"]))
        except AzureError as exc:
            raise self._err("listing unsent messages", exc) from None
        rows.sort(key=lambda e: (_when(e.get("created_at")), e["RowKey"]))
        return [e["RowKey"] for e in rows]

    def header(self, message_id: str) -> dict | None:
        e = self._get("message", message_id)
        return dict(e) if e is not None else None

    def claim(self, message_id: str, now: datetime, lease: float = 300.0) -> SendClaim | None:
        """Take the right to send; None when already sent, unknown, or leased by another sender."""
        h = self._get("message", message_id)
        if h is None or h.get("status") == "sent" or not h.get("recorded", False):
            return None
        if _when(h.get("lease_until")) > now:
            return None
        attempts = int(h.get("attempts", 0)) + 1
        try:
            if not update_if_unchanged(self.table, {"PartitionKey": "message", "RowKey": message_id,
                                                    "attempts": attempts, "lease_until": now + timedelta(seconds=lease)},
                                       h.metadata["etag"]):
                return None
        except HttpResponseError as exc:
            raise self._err(f"claiming message {message_id}", exc) from None
        return SendClaim(self.load(message_id), int(h.get("parts_sent", 0)), attempts)

    def _merge(self, message_id: str, fields: dict, what: str) -> None:
        from azure.data.tables import UpdateMode

        try:
            self.table.update_entity({"PartitionKey": "message", "RowKey": message_id, **fields},
                                     mode=UpdateMode.MERGE)
        except AzureError as exc:
            raise self._err(f"{what} {message_id}", exc) from None

    def progress(self, message_id: str, parts_sent: int) -> None:
        self._merge(message_id, {"parts_sent": parts_sent}, "recording progress of")

    def mark_sent(self, message_id: str, now: datetime, parts_sent: int, unconfirmed: int = 0) -> None:
        """Sent (never sent again). `unconfirmed`: parts that went out without an answer in time."""
        note = f"{unconfirmed} part(s) sent without an answer in time (unconfirmed)" if unconfirmed else ""
        self._merge(message_id, {"status": "sent", "sent_at": now, "parts_sent": parts_sent,
                                 "lease_until": EPOCH, "last_error": note, "unconfirmed": unconfirmed},
                    "marking sent")

    def mark_failed(self, message_id: str, now: datetime, error: str, status: int | None,
                    retryable: bool, parts_sent: int, reason: str = "") -> None:
        """Keep the message for the next run and record this attempt's outcome (URLs masked)."""
        h = self._get("message", message_id) or {}
        error = mask_secrets(error)
        fields = {"status": "failed", "failed_at": now, "last_error": error[:2000],
                  "last_status": int(status or 0), "retryable": retryable,
                  "last_reason": mask_secrets(reason or error)[:200],
                  "failures": int(h.get("failures", 0) or 0) + 1,
                  "parts_sent": parts_sent, "lease_until": EPOCH}
        if not isinstance(h.get("first_failed_at"), datetime):
            fields["first_failed_at"] = now
        self._merge(message_id, fields, "marking failed")

    def undeliverable(self) -> list[Undeliverable]:
        """Per recipient set: the recorded messages whose last attempt failed, oldest set first."""
        try:
            rows = list(self.table.query_entities(
                "PartitionKey eq 'message' and status eq 'failed' and recorded eq true",
                select=["RowKey", "channel", "recipient", "created_at", "failed_at", "first_failed_at",
                        "last_reason", "last_error", "last_status", "retryable"]))
        except AzureError as exc:
            raise self._err("listing undeliverable messages", exc) from None
        groups: dict[tuple[str, str], list] = {}
        for e in rows:
            groups.setdefault((str(e.get("channel", "")), str(e.get("recipient", ""))), []).append(e)
        out = []
        for (channel, recipient), items in groups.items():
            last = max(items, key=lambda e: (_when(e.get("failed_at")), e["RowKey"]))
            since = min(_when(e.get("first_failed_at") if isinstance(e.get("first_failed_at"), datetime)
                             else e.get("failed_at")) for e in items)
            status = int(last.get("last_status") or 0)
            reason = str(last.get("last_reason") or "") or (f"status {status}" if status else "") \
                or mask_secrets(str(last.get("last_error") or ""))[:200] or "send failed"
            out.append(Undeliverable(channel, recipient, len(items), since, _when(last.get("failed_at")), reason,
                                     bool(last.get("retryable", False))))
        out.sort(key=lambda u: (u.since, u.channel, u.recipient))
        return out
