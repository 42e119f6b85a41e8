"""Glue between a scan and the alert channels: changes -> messages -> outbox -> queue -> send.

    notify(changes, settings, now=..., outbox=..., queue=..., transports=...) -> NotifyReport
        1. under the notifications lock: finish half-recorded messages, read what each
           recipient set was told, render what is due now (notifiers.render), record each
           message before anything is sent (scanner.tables.outbox);
        2. enqueue every unsent message id (this run's and earlier failures);
        3. `drain=True` (command line, no Functions host): send what it enqueued itself.
    send_from_queue_message(body, settings, ...)   the queue trigger's whole job
    deliver(message_id, outbox, transports)        send one recorded message (claim, send, mark)
    delivery_errors(outbox)                        messages still undeliverable, as ScopeErrors
                                                   ("notify:<setting or addresses>") for the report

A failed message is never dropped: it stays "failed" in the table, every later run retries it,
and every scan report names it in "errors" until a send succeeds.

`dry_run=True` renders and returns the messages without sending or recording anything.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from notifiers import DeliveryError, Message, Recipient, channel_class
from notifiers.render import build_messages
from scanner.config import Settings
from scanner.core.model import Change, ScopeError, ScopeKind
from scanner.errors import ConfigError, InputError

log = logging.getLogger("scanner.notify")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Transports:
    """Builds (once) the sender for a recipient set from the settings.

    `file_dir` sends every message to a folder instead (demo, rehearsals). The option dicts go
    to the transport constructors (tests pass `verify=`, `connection_verify=`, `ssl_context=`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        file_dir: str | os.PathLike | None = None,
        teams_options: dict[str, Any] | None = None,
        acs_options: dict[str, Any] | None = None,
        smtp_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.file_dir = file_dir
        self.teams_options = teams_options or {}
        self.acs_options = acs_options or {}
        self.smtp_options = smtp_options or {}
        self._cache: dict[str, Any] = {}

    @property
    def email_transport(self) -> str:
        s = self.settings
        if self.file_dir:
            return "file"
        if s.acs_connection_string or s.acs_endpoint:
            return "acs"
        if s.smtp_host:
            return "smtp"
        return ""

    def channels(self) -> tuple[str, ...]:
        return ("teams", "email") if self.email_transport else ("teams",)

    def for_recipient(self, recipient: Recipient):
        key = "file" if self.file_dir else recipient.key if recipient.channel == "teams" else "email"
        if key not in self._cache:
            self._cache[key] = self._build(recipient)
        return self._cache[key]

    def _build(self, recipient: Recipient):
        s = self.settings
        if self.file_dir:
            return channel_class("file")(self.file_dir, sender=s.email_from)
        if recipient.channel == "teams":
            url = s.webhook(recipient.target)
            if not url:
                raise DeliveryError(f"Teams webhook setting {recipient.target} is not set", retryable=False)
            return channel_class("teams")(url, recipient.target, **self.teams_options)
        kind = self.email_transport
        try:
            if kind == "acs":
                options = dict(self.acs_options)
                if not s.acs_connection_string and "credential" not in options:
                    from scanner.sources.clients import credential

                    options["credential"] = credential(s)  # managed identity (AZURE_CLIENT_ID)
                return channel_class("acs")(s.email_from, connection_string=s.acs_connection_string or None,
                                            endpoint=s.acs_endpoint, **options)
            if kind == "smtp":
                return channel_class("smtp")(s.smtp_host, s.smtp_port, sender=s.email_from,
                                             username=s.smtp_username, password=s.smtp_password,
                                             starttls=s.smtp_starttls, **self.smtp_options)
        except ValueError as exc:
            raise DeliveryError(f"email: {exc}", retryable=False) from None
        raise DeliveryError("email: no transport configured (ACS_CONNECTION_STRING, ACS_ENDPOINT or SMTP_HOST)",
                            retryable=False)


@dataclass
class NotifyReport:
    messages: list[Message] = field(default_factory=list)  # rendered this run
    recorded: int = 0
    enqueued: int = 0
    sent: int = 0
    failed: list[str] = field(default_factory=list)  # "<id>: <error>" (no secret)
    notes: list[str] = field(default_factory=list)
    dry_run: bool = False
    all_recorded: bool = False  # everything due was recorded in the outbox (not a dry run, lock held)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "messages": [m.to_dict() for m in self.messages] if self.dry_run else
                        [{"id": m.id, "channel": m.recipient.channel, "recipient": m.recipient.target,
                          "subject": m.subject, "counts": m.counts, "findings": len(m.stages)}
                         for m in self.messages],
            "recorded": self.recorded,
            "enqueued": self.enqueued,
            "sent": self.sent,
            "failed": list(self.failed),
            "notes": list(self.notes),
        }


def failure_reason(exc: DeliveryError, recipient: Recipient, transports: Transports) -> str:
    """A short reason for the report: "HTTP 404", "SMTP 535", else the error after its "where: "."""
    if exc.status:
        smtp = recipient.channel == "email" and transports.email_transport == "smtp"
        return f"{'SMTP' if smtp else 'HTTP'} {exc.status}"
    text = str(exc)
    return (text.split(": ", 1)[1] if ": " in text else text)[:160]


def delivery_errors(outbox) -> list[ScopeError]:
    """One error per recipient set with messages whose last send failed, e.g.
    ScopeError(ScopeKind.NOTIFY, name="TEAMS_WEBHOOK_OPS", detail="3 message(s) undeliverable since 2026-11-18: HTTP 404
    (last tried 2026-11-21)"). Teams sets are named by their setting, email sets by their
    addresses ("notify:email:a@x.com,b@y.com"): never a URL."""
    out = []
    for u in outbox.undeliverable():
        name = u.recipient if u.channel == "teams" else f"{u.channel}:{u.recipient}"
        out.append(ScopeError(ScopeKind.NOTIFY, name=name, detail=f"{u.messages} message(s) undeliverable since {u.since.date().isoformat()}: "
                                     f"{u.last_reason} (last tried {u.last_tried.date().isoformat()})"))
    return out


def deliver(message_id: str, outbox, transports: Transports, clock: Callable[[], datetime] = _utcnow) -> str:
    """Send one recorded message: "sent", "skipped" (already sent / another sender holds it),
    "failed" (will not succeed in this run) or "retry" (429/5xx/network: try again later)."""
    claim = outbox.claim(message_id, clock())
    if claim is None:
        return "skipped"
    msg = claim.message
    done = claim.parts_sent

    def progress(n: int) -> None:
        nonlocal done
        done = n
        if n < msg.parts:
            outbox.progress(message_id, n)

    try:
        unconfirmed = transports.for_recipient(msg.recipient).send(msg, start_part=claim.parts_sent,
                                                                   progress=progress) or 0
    except DeliveryError as exc:
        outbox.mark_failed(message_id, clock(), str(exc), exc.status, exc.retryable, done,
                           reason=failure_reason(exc, msg.recipient, transports))
        log.warning("notification %s to %s failed (attempt %d): %s", message_id, msg.recipient.channel,
                    claim.attempts, exc)
        return "retry" if exc.retryable else "failed"
    outbox.mark_sent(message_id, clock(), msg.parts, unconfirmed)
    if unconfirmed:
        log.warning("notification %s to %s: %d part(s) sent without an answer in time; not sent again "
                    "(at most once), recorded as unconfirmed", message_id, msg.recipient.channel, unconfirmed)
    log.info("notification %s sent to %s (%d finding(s), %d part(s))", message_id, msg.recipient.channel,
             len(msg.stages), msg.parts)
    return "sent"


def notify(
    changes: Iterable[Change],
    settings: Settings,
    *,
    now: datetime,
    outbox=None,
    queue=None,
    transports: Transports | None = None,
    dry_run: bool = False,
    drain: bool = True,
    lock_wait: float = 60.0,
    clock: Callable[[], datetime] = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
) -> NotifyReport:
    """Tell owners what this run's changes make due; see the module docstring."""
    transports = transports or Transports(settings)
    changes = list(changes)
    report = NotifyReport(dry_run=dry_run)
    channels = transports.channels()
    if settings.email_to and "email" not in channels:
        report.notes.append("EMAIL_TO is set but no email transport is (ACS_CONNECTION_STRING, ACS_ENDPOINT "
                            "or SMTP_HOST): email skipped")

    if dry_run:
        told = outbox.told() if outbox is not None else {}
        rendered = build_messages(changes, told, settings, now, channels)
        report.messages = rendered.messages
        report.notes += rendered.notes
        for m in report.notes:  # a dry run is where people check their alert setup: same warnings
            log.warning("notify: %s", m)
        return report
    if outbox is None:
        raise InputError("notify: a notifications table is needed to send (or use --dry-run / --no-notify)")

    owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    deadline = time.monotonic() + lock_wait
    locked = outbox.acquire(owner, clock())
    while not locked and time.monotonic() < deadline:
        sleep(1.0)
        locked = outbox.acquire(owner, clock())
    if locked:
        try:
            repaired = outbox.repair(clock())
            if repaired:
                report.notes.append(f"finished recording {repaired} message(s) left by an interrupted run")
            rendered = build_messages(changes, outbox.told(), settings, now, channels)
            report.notes += rendered.notes
            for msg in rendered.messages:
                outbox.acquire(owner, clock())  # renewed per message: a crash leaves it to expire soon
                outbox.record(msg, clock())
                report.recorded += 1
            report.messages = rendered.messages
            report.all_recorded = True
        finally:
            outbox.release(owner)
    else:
        report.notes.append("another run holds the notifications lock: what is due now is told by the next run")

    pending = outbox.unsent()
    receipts = []
    if queue is not None:
        for mid in pending:
            receipts.append(queue.enqueue(mid))
        report.enqueued = len(receipts)
    if drain or queue is None:
        for mid in pending:
            outcome = deliver(mid, outbox, transports, clock)
            if outcome == "sent":
                report.sent += 1
            elif outcome in ("failed", "retry"):
                h = outbox.header(mid) or {}
                report.failed.append(f"{mid}: {h.get('last_error', outcome)}")
        for r in receipts:
            queue.delete(r)
    for m in report.notes:
        log.warning("notify: %s", m)
    log.info("notify: %d message(s) rendered, %d recorded, %d enqueued, %d sent, %d failed",
             len(report.messages), report.recorded, report.enqueued, report.sent, len(report.failed))
    return report


def send_from_queue_message(
    body: str | bytes,
    settings: Settings,
    *,
    outbox=None,
    transports: Transports | None = None,
    clock: Callable[[], datetime] = _utcnow,
) -> str:
    """The queue trigger's job: send the notification the message names.

    Returns "sent" or "skipped" (already sent, or another sender holds it) or "failed" (a
    permanent failure, recorded in the table; the next scan re-enqueues it). Raises
    DeliveryError for a retryable failure, so the Functions host retries the message and, past
    its maxDequeueCount, moves it to the poison queue. Raises InputError for a malformed body.
    """
    from scanner.tables.queues import parse_body

    message_id = parse_body(body)
    if outbox is None:
        raise ConfigError("send_notifications: no notifications table: set AzureWebJobsStorage or "
                          "STORAGE_TABLE_ENDPOINT")
    transports = transports or Transports(settings)
    outcome = deliver(message_id, outbox, transports, clock)
    if outcome == "retry":
        h = outbox.header(message_id) or {}
        raise DeliveryError(f"notification {message_id}: {h.get('last_error', 'send failed')}", retryable=True)
    return outcome


def notifications_configured(settings: Settings) -> bool:
    """Anyone to tell: a Teams webhook, an email list, a route, or a folder to write to."""
    return bool(settings.teams_webhook_url or settings.webhooks or settings.email_to or settings.routes
                or settings.notify_dir)


class ScanNotifier:
    """What service.run_scan calls as `deps.notifier`: send(changes, report, *, now, dry_run).

    Returns the messages as JSON-able dicts: in a dry run the full rendered messages (Teams
    posts, email text/HTML/CSV), otherwise one line per message (id, channel, recipient set,
    subject, counts). `last` keeps the latest NotifyReport (sent, failed, notes).
    The composition root (bootstrap) gives it the outbox (None: no notifications table, so only
    a dry run can render) and `open_queue`, which opens the notification queue on the first real
    send (None: no queue). `drain=False` in a Functions host (the queue trigger sends), True
    from the command line.
    """

    def __init__(self, settings: Settings, *, outbox=None, open_queue: Callable[[], Any] | None = None,
                 transports: Transports | None = None, drain: bool = True,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.settings = settings
        self.clock = clock  # when sends happen (records attempts); tests move it night by night
        self._outbox = outbox
        self._open_queue = open_queue
        self._queue: Any = None
        self.transports = transports or Transports(settings, file_dir=settings.notify_dir or None)
        self.drain = drain
        self.last: NotifyReport | None = None

    def _outbox_for(self, dry_run: bool):
        if self._outbox is None and not dry_run:
            raise InputError("notify: no notifications table: set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT "
                             "(or use --no-notify / --dry-run)")
        return self._outbox

    def _queue_for_send(self):
        if self._queue is None and self._open_queue is not None:
            self._queue = self._open_queue()
        return self._queue

    @property
    def recorded(self) -> bool:
        """The latest send recorded everything due in the outbox."""
        return self.last is not None and self.last.all_recorded

    def delivery_errors(self) -> list[ScopeError]:
        """Messages still undeliverable after this run's sends (see `delivery_errors`); [] when
        there is no notifications table."""
        return delivery_errors(self._outbox) if self._outbox is not None else []

    def send(self, changes, report=None, *, now: datetime, dry_run: bool = False) -> list[dict[str, Any]]:
        outbox = self._outbox_for(dry_run)
        result = notify(changes, self.settings, now=now, outbox=outbox,
                        queue=None if dry_run else self._queue_for_send(), transports=self.transports,
                        dry_run=dry_run, drain=self.drain, clock=self.clock)
        self.last = result
        return result.to_dict()["messages"]
