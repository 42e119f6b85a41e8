"""The Storage queues: the only code importing azure.storage.queue.

    notification queue (NOTIFY_QUEUE)   {"id": "<32 hex>"}: a notification to send. Never a secret,
        never content: the content is in the notifications table. The Functions host retries a
        failing trigger and moves the message to `<queue>-poison` after its maxDequeueCount; the
        next scan re-enqueues whatever the table still shows unsent.
    scan request queue (SCAN_QUEUE)     only the run id and the validated options of POST /api/scan:
        {"run_id": "<32 hex>", "scope": "tenant" | "sub:ID,..." | "mg:NAME,..." | null,
         "dry_run": false, "notify": false}

Why a queue for scans: on Flex Consumption an instance can be recycled once it has answered an
HTTP request, killing any thread it left running. So the HTTP trigger only records the run
("queued", tables.runs) and enqueues it; the queue trigger runs it (jobs.run_scan_request), and
the host re-delivers the message if that instance dies.

Messages are base64 text, as the Functions queue trigger reads them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import AzureError, ResourceExistsError

from scanner.config import Scope, parse_scope
from scanner.errors import ConfigError, InputError, StoreError

if TYPE_CHECKING:  # the SDK loads on first use, not at import (import function_app stays fast)
    from azure.storage.queue import QueueClient

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
MESSAGE_KEYS = frozenset({"run_id", "scope", "dry_run", "notify"})


def queue_configured(settings: Any) -> bool:
    return bool(settings.storage_connection_string) or bool(settings.storage_queue_endpoint)


def open_queue(settings: Any, name: str, what: str, credential: Callable[[], Any] | None = None) -> QueueClient:
    """The queue `name` from AzureWebJobsStorage, else STORAGE_QUEUE_ENDPOINT with the token
    credential `credential()` builds (managed identity); created if missing. Errors (StoreError)
    name `what` and the queue, never the connection string."""
    from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

    policies = {"message_encode_policy": TextBase64EncodePolicy(),
                "message_decode_policy": TextBase64DecodePolicy()}
    if settings.storage_connection_string:
        client = QueueClient.from_connection_string(settings.storage_connection_string.reveal(), name, **policies)
    elif settings.storage_queue_endpoint and credential is not None:
        client = QueueClient(settings.storage_queue_endpoint, name, credential=credential(), **policies)
    else:
        raise StoreError(f"{what}: set AzureWebJobsStorage or STORAGE_QUEUE_ENDPOINT")
    try:
        client.create_queue()
    except ResourceExistsError:
        pass
    except AzureError as exc:
        raise StoreError(f"{what} {name}: {type(exc).__name__}") from None
    return client


def _send(client: QueueClient, body: str, what: str) -> Any:
    try:
        return client.send_message(body)
    except AzureError as exc:
        raise StoreError(f"{what} {client.queue_name}: enqueue failed ({type(exc).__name__})") from None


# --------------------------------------------------------------------------- notifications


_ID = re.compile(r"^[0-9a-f]{32}$")


def encode_body(message_id: str) -> str:
    if not _ID.match(message_id):
        raise ValueError(f"notification id {message_id!r} is not 32 hex characters")
    return json.dumps({"id": message_id}, separators=(",", ":"))


def _json_message(body: str | bytes, what: str) -> tuple[Any, str]:
    """(parsed JSON, text) of a queue message body; InputError naming `what` when it is not JSON."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    text = (body or "").strip()
    try:
        return json.loads(text), text
    except json.JSONDecodeError:
        raise InputError(f"{what}: not JSON ({text[:60]!r})") from None


def parse_body(body: str | bytes) -> str:
    """The notification id in a queue message body; InputError naming what is wrong."""
    data, text = _json_message(body, "notification queue message")
    mid = data.get("id") if isinstance(data, dict) else None
    if not isinstance(mid, str) or not _ID.match(mid):
        raise InputError(f"notification queue message: field 'id' is missing or not a notification id "
                         f"({text[:80]!r})")
    return mid


@dataclass(frozen=True)
class Receipt:
    message_id: str
    queue_message_id: str
    pop_receipt: str


class NotifyQueue:
    def __init__(self, queue_client) -> None:
        """`queue_client`: azure.storage.queue QueueClient with a base64 text encode policy."""
        self.client = queue_client

    def enqueue(self, message_id: str) -> Receipt:
        qm = _send(self.client, encode_body(message_id), "notification queue")
        return Receipt(message_id, qm.id, qm.pop_receipt)

    def delete(self, receipt: Receipt) -> bool:
        """Remove a message we enqueued (False if a queue trigger already took it)."""
        try:
            self.client.delete_message(receipt.queue_message_id, receipt.pop_receipt)
            return True
        except AzureError:
            return False

    def peek_ids(self, max_messages: int = 32) -> list[str]:
        return [parse_body(m.content) for m in self.client.peek_messages(max_messages=max_messages)]


# --------------------------------------------------------------------------- scan requests


@dataclass(frozen=True)
class ScanRequest:
    scope: Scope | None = None
    dry_run: bool = False
    notify: bool = False


def encode_request(run_id: str, request: ScanRequest) -> str:
    if not RUN_ID.match(run_id):
        raise ValueError(f"scan run id {run_id!r} is not 32 hex characters")
    return json.dumps({"run_id": run_id, "scope": str(request.scope) if request.scope else None,
                       "dry_run": bool(request.dry_run), "notify": bool(request.notify)}, separators=(",", ":"))


def parse_request(body: str | bytes) -> tuple[str, ScanRequest]:
    """(run id, request) from a queue message body; InputError naming what is wrong."""
    data, text = _json_message(body, "scan request message")
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

    def enqueue(self, run_id: str, request: ScanRequest) -> None:
        _send(self.client, encode_request(run_id, request), "scan request queue")
