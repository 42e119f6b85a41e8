"""The Storage queue between the scan and the sender.

A queue message carries only a notification id: `{"id": "<32 hex>"}` (base64-encoded, as the
Functions queue trigger expects). Never a secret, never content: the content is in the table.
The Functions host retries a failing trigger and moves the message to `<queue>-poison` after
its maxDequeueCount; the next scan re-enqueues whatever the table still shows unsent.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from scanner.errors import InputError, StoreError

_ID = re.compile(r"^[0-9a-f]{32}$")


def encode_body(message_id: str) -> str:
    if not _ID.match(message_id):
        raise ValueError(f"notification id {message_id!r} is not 32 hex characters")
    return json.dumps({"id": message_id}, separators=(",", ":"))


def parse_body(body: str | bytes) -> str:
    """The notification id in a queue message body; InputError naming what is wrong."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    text = (body or "").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise InputError(f"notification queue message: not JSON ({text[:60]!r})") from None
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

    @classmethod
    def from_settings(cls, settings, credential=None) -> NotifyQueue:
        from scanner.bootstrap import storage_queue

        return cls(storage_queue(settings, settings.notify_queue, "notification queue", credential))

    def enqueue(self, message_id: str) -> Receipt:
        from azure.core.exceptions import AzureError

        try:
            qm = self.client.send_message(encode_body(message_id))
        except AzureError as exc:
            raise StoreError(f"notification queue {self.client.queue_name}: enqueue failed "
                             f"({type(exc).__name__})") from None
        return Receipt(message_id, qm.id, qm.pop_receipt)

    def delete(self, receipt: Receipt) -> bool:
        """Remove a message we enqueued (False if a queue trigger already took it)."""
        from azure.core.exceptions import AzureError

        try:
            self.client.delete_message(receipt.queue_message_id, receipt.pop_receipt)
            return True
        except AzureError:
            return False

    def peek_ids(self, max_messages: int = 32) -> list[str]:
        return [parse_body(m.content) for m in self.client.peek_messages(max_messages=max_messages)]
