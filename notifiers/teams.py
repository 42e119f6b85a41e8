"""Teams through a Workflows webhook ("When a Teams webhook request is received").

Posts the bodies render built (`Message.teams_posts`, each an Adaptive Card 1.4 envelope under
the size limit). 200/202 is success; 429 and 5xx (and network errors) are retried with backoff
that honours Retry-After; any other 4xx fails at once (DeliveryError, not retryable in this run).

At most once per post: a post whose request went out but whose answer did not come within the
timeout (a read timeout) may have been taken, so it is never posted again; `send` returns how
many posts ended that way ("unconfirmed"), and the outbox records the message as sent with
that count. A failure before the request went out (connect error, refused) is retried.

The URL is a secret (it carries a signature): it is revealed only for the request itself and
never appears in an error or a log line; errors name the setting and the host.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from notifiers import DeliveryError, Message
from notifiers.render import encode_json
from scanner.config import Secret
from scanner.sources.http import retry_after

log = logging.getLogger("notifiers.teams")


_SECRET_PARTS: set[str] = set()
_SECRET_LOCK = threading.Lock()
_SIG = re.compile(r"(sig|code|token)=[^&\s\"']+", re.IGNORECASE)


class _RedactUrls(logging.Filter):
    """urllib3 logs request lines (path and query, so the webhook signature) at DEBUG: redact."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(_redact(a) if isinstance(a, str) else a for a in args)
        if isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def _redact(text: str) -> str:
    with _SECRET_LOCK:
        parts = sorted(_SECRET_PARTS, key=len, reverse=True)
    for part in parts:
        if part in text:
            text = text.replace(part, "/***")
    return _SIG.sub(lambda m: m.group(1) + "=***", text)


def _protect(url: str) -> None:
    """Keep this URL's path and query out of HTTP library logs."""
    parts = urlsplit(url)
    secret = parts.path + (f"?{parts.query}" if parts.query else "")
    if len(secret) > 1:
        with _SECRET_LOCK:
            _SECRET_PARTS.add(secret)
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactUrls) for f in logger.filters):
            logger.addFilter(_RedactUrls())


def mask_url(url: str) -> str:
    """scheme://host/*** : enough to tell which endpoint, never the path or signature."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}/***"
    except ValueError:
        return "***"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header; the one parser every HTTP client shares (scanner.sources.http)."""
    return retry_after(value, now)


class TeamsWebhook:
    def __init__(
        self,
        url: Secret,
        name: str = "TEAMS_WEBHOOK_URL",
        *,
        session: requests.Session | None = None,
        attempts: int = 4,
        backoff: float = 2.0,
        max_wait: float = 60.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        verify: bool | str = True,
    ) -> None:
        if not url:
            raise ValueError(f"{name} is not set")
        self._url = url
        _protect(url.reveal())
        self.name = name
        self._session = session or requests.Session()
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_wait = max_wait
        self.timeout = timeout
        self._sleep = sleep
        self._verify = verify

    def __repr__(self) -> str:
        return f"TeamsWebhook({self.name}, {mask_url(self._url.reveal())})"

    @property
    def where(self) -> str:
        return f"Teams webhook {self.name} ({mask_url(self._url.reveal())})"

    def send(self, message: Message, start_part: int = 0, progress: Callable[[int], None] | None = None) -> int:
        """Post the message's parts from `start_part`; the number of posts left unconfirmed."""
        posts = message.teams_posts
        unconfirmed = 0
        for index in range(start_part, len(posts)):
            try:
                unconfirmed += 0 if self._post(posts[index], index, len(posts)) else 1
            except DeliveryError as exc:
                exc.parts_done = index
                raise
            if progress is not None:
                progress(index + 1)
        return unconfirmed

    def _post(self, payload: dict, index: int, total: int) -> bool:
        """True when the webhook confirmed the post; False when it went out and no answer came
        in time (never posted again: at most once)."""
        body = encode_json(payload)
        what = f"post {index + 1} of {total} to {self.where}"
        last = ""
        for attempt in range(1, self.attempts + 1):
            wait = None
            try:
                resp = self._session.post(
                    self._url.reveal(), data=body, timeout=self.timeout, verify=self._verify,
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            except requests.ReadTimeout:
                log.warning("%s: sent, no answer within %.0fs; not posted again (at most once): unconfirmed",
                            what, self.timeout)
                return False
            except requests.RequestException as exc:  # the text may hold the URL: keep only the type
                last = f"{what}: network error ({type(exc).__name__})"
                status = None
            else:
                status = resp.status_code
                resp.close()
                if status in (200, 201, 202, 204):
                    return True
                if status != 429 and status < 500:
                    raise DeliveryError(f"{what} answered HTTP {status}; not retried in this run",
                                        retryable=False, status=status)
                last = f"{what} answered HTTP {status}"
                wait = retry_after_seconds(resp.headers.get("Retry-After"))
            if attempt == self.attempts:
                break
            if wait is None:
                wait = self.backoff * (2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            wait = min(wait, self.max_wait)
            log.info("%s; retry %d/%d in %.1fs", last, attempt, self.attempts - 1, wait)
            self._sleep(wait)
        raise DeliveryError(f"{last} after {self.attempts} attempt(s)", retryable=True, status=status)
