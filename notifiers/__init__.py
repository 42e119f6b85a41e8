"""Notification channels. Render builds messages as values; a notifier only transports them.

    notifiers.render      pure: Changes + what each recipient set was told -> [Message]
    notifiers.teams       Workflows webhook (Adaptive Card posts built by render)
    notifiers.mail        Azure Communication Services Email, or SMTP (STARTTLS + login)
    notifiers.filechannel writes messages to a folder (card JSON, .eml): demo and dry runs

The values they pass (Recipient, Told, Message) live in scanner.core.messages, so the outbox
(scanner.tables.outbox) stores them without importing a notifier.

A new channel is a new module with a class that has `send(message, start_part=0, progress=None)`
plus a line in CHANNELS. Nothing here imports a transport (or azure.*) at import time.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from scanner.core.messages import Message, Recipient, Told

__all__ = ["CHANNELS", "DeliveryError", "Message", "Transport", "Recipient", "Told", "channel_class"]

# channel name -> "module:Class" (imported lazily)
CHANNELS = {
    "teams": "notifiers.teams:TeamsWebhook",
    "acs": "notifiers.mail:AcsEmailSender",
    "smtp": "notifiers.mail:SmtpSender",
    "file": "notifiers.filechannel:FileChannel",
}


def channel_class(name: str) -> type:
    try:
        module, _, cls = CHANNELS[name].partition(":")
    except KeyError:
        raise ValueError(f"notification channel {name!r} is not one of {', '.join(CHANNELS)}") from None
    return getattr(importlib.import_module(module), cls)


class DeliveryError(Exception):
    """A send failed. `retryable` (429, 5xx, network) may succeed later; others will not in this run.

    The text never holds a webhook URL, connection string, token or password.
    """

    def __init__(self, text: str, *, retryable: bool, status: int | None = None, parts_done: int = 0) -> None:
        super().__init__(text)
        self.retryable = retryable
        self.status = status
        self.parts_done = parts_done


class Transport(Protocol):
    def send(self, message: Message, start_part: int = 0, progress=None) -> int | None:
        """Deliver `message` from part `start_part`; call progress(parts_done) after each part.
        Raise DeliveryError on failure. Returns how many parts went out unconfirmed (sent, no
        answer in time, not sent again: see notifiers.teams), or None when every part was."""
