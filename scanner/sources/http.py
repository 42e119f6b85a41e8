"""What every HTTP client we own shares: reading a Retry-After header, and a URL fit for messages.

    retry_after(value, now=None) -> float | None
        Seconds to wait from a Retry-After header: delta-seconds ("120", leniently "1.5") or an
        HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"; a date in the past is 0). None when absent or
        unreadable ("soon", "nan", "inf", "-5", a 40-digit number): the caller then uses its own
        backoff. Never raises. Callers cap the value with their own maximum wait.
    safe_url(url) -> str
        scheme://host[:port]/path: no query string, no user info (they may carry a SAS token or key).

Pure apart from reading the clock when `now` is not given; no imports of requests or azure.*, so
the feed reader, the ARM clients, the SKU/price/quota sources and the notifier transports can all
use it without pulling anything else in.

The header's two forms are those of RFC 9110, section 10.2.3 (Retry-After = HTTP-date /
delay-seconds): https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
"""

from __future__ import annotations

import email.utils
import math
import time
import urllib.parse
from datetime import timezone

# Longer than any wait a client of ours would honour (they cap far lower); also keeps float()
# away from 10,000-digit strings.
_MAX_TEXT = 64


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """See the module docstring."""
    if not value or not isinstance(value, str) or len(value) > _MAX_TEXT:
        return None
    text = value.strip()
    if not text:
        return None
    if text[0].isdigit():
        try:
            seconds = float(text)
        except ValueError:
            seconds = None
        if seconds is not None:
            return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        stamp = when.timestamp()
    except (OverflowError, OSError, ValueError):
        return None
    return max(0.0, stamp - (time.time() if now is None else now))


def safe_url(url: str) -> str:
    """A URL fit for messages and logs: no query string or user info. Files and paths pass as they are."""
    try:
        parts = urllib.parse.urlsplit(url)
        if not parts.scheme or parts.scheme == "file" or len(parts.scheme) == 1:  # "C:\\feed.json"
            return url
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "<unreadable URL>"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


__all__ = ["retry_after", "safe_url"]
