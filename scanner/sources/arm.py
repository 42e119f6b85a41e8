"""One JSON client for plain ARM requests: Resource Graph, subscriptions, Compute SKUs, usages.

    ArmJson(pipeline, *, sleep=time.sleep, clock=time.monotonic, max_retries=MAX_RETRIES)
        .get(url, kind, *, scope="") -> dict          GET, the body parsed once into a dict
        .post(url, body, kind, *, scope="") -> dict   POST a JSON body
        .pages(url, kind, *, scope="", max_pages=...) -> Iterator[dict]
                                                      GET and follow `nextLink`; a link seen before,
                                                      more pages than max_pages, or a link to another
                                                      host (the token stays with ARM) raises ArmPagingError
        .counts -> {kind: requests}                   what was sent, by kind (thread-safe)
        .requests -> int                              total
    arm_json(settings) -> ArmJson     a fresh counter over the process's one pipeline
                                      (sources.clients.arm_pipeline): one credential, one connection pool
                                      for every subscription and every kind of request
    retry_wait(headers, attempt) -> seconds           Retry-After / x-ms-retry-after-ms / backoff

Every response body is read once as bytes and parsed once (core.jsontext.loads: orjson; the request is sent with
stream=True, so azure-core's ContentDecodePolicy does not parse it a second time, and no SDK model
is built). Retries (at most max_retries, waits bounded by MAX_WAIT_SECONDS):
  - 429 and 5xx, waiting what the server asks (Retry-After, x-ms-retry-after-ms, the ARG quota
    reset header) or backing off;
  - a connection reset or a body cut short (IncompleteRead, a JSON document that ends early),
    like a 5xx.
A 200 whose body is not JSON (an HTML page from a proxy) is retried once, then raised as
ArmReadError naming what came back; a final non-200 status raises azure.core's HttpResponseError
(ARM error format). Callers that isolate a failing scope (resource_graph, skus) catch both; the
text never carries the token or request headers. Importing this module imports no Azure SDK.

A `throttle` object (optional, per call) lets Resource Graph wait for its per-user quota before a
request (`before()`) and read the quota headers after it (`after(headers)`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from scanner.core import jsontext
from scanner.sources.http import retry_after

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRIES = 6
MAX_WAIT_SECONDS = 120.0
# All the retry waits of one ArmJson (one run) together: a timer run has 30 minutes (host.json
# functionTimeout) and a throttled tenant must end with errors naming the scopes, not be killed.
MAX_TOTAL_WAIT_SECONDS = 600.0
MAX_PAGES = 10_000  # a listing longer than this is a loop, not data
NOT_JSON_RETRIES = 1


class ArmReadError(Exception):
    """A response that could not be read: not JSON, cut short, or the connection dropped (past retries).
    (Not an azure.core class, so this module imports no Azure SDK until a request is sent.)"""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reason = message


class ArmPagingError(ArmReadError):
    """A listing that does not end: a repeated `nextLink` / `$skipToken`, or more pages than it could need."""


class Throttle(Protocol):
    def before(self) -> None: ...

    def after(self, headers: Mapping[str, str]) -> None: ...


def parse_duration(text: str) -> float | None:
    """'00:00:05' (hh:mm:ss) or '5' -> seconds."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if ":" in text:
            h, m, s = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        return float(text)
    except ValueError:
        return None


def retry_wait(headers: Mapping[str, str], attempt: int, base: float = 1.0) -> float:
    """Seconds to wait before retry `attempt` (0-based): the server's word, else backoff."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        val = parse_duration(h.get(name, ""))
        if val is not None:
            return min(max(val * scale, 0.0), MAX_WAIT_SECONDS)
    val = retry_after(h.get("retry-after"))  # the one Retry-After parser (scanner.sources.http)
    if val is None:
        val = parse_duration(h.get("x-ms-user-quota-resets-after", ""))
    if val is None:
        val = base * (2 ** attempt)
    return min(max(val, 0.0), MAX_WAIT_SECONDS)


def server_wait(headers: Mapping[str, str]) -> float | None:
    """The wait the server asked for (Retry-After, x-ms-retry-after-ms, the ARG quota reset), uncapped."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        val = parse_duration(h.get(name, ""))
        if val is not None:
            return max(val * 0.001, 0.0)
    val = retry_after(h.get("retry-after"))
    if val is None:
        val = parse_duration(h.get("x-ms-user-quota-resets-after", ""))
    return None if val is None else max(val, 0.0)


def _status_error(response: Any) -> Exception:
    from azure.core.exceptions import HttpResponseError
    from azure.mgmt.core.exceptions import ARMErrorFormat

    return HttpResponseError(response=response, error_format=ARMErrorFormat)


class ArmJson:
    """Sends ARM requests through one pipeline client and returns parsed JSON (see the module docstring)."""

    def __init__(self, pipeline: Any, *, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, max_retries: int = MAX_RETRIES,
                 wait_budget: float = MAX_TOTAL_WAIT_SECONDS) -> None:
        self.pipeline = pipeline
        self.wait_budget = wait_budget
        self.sleep = sleep
        self.clock = clock
        self.max_retries = max_retries
        self.counts: dict[str, int] = {}
        self.waits: list[float] = []
        self._lock = threading.Lock()

    @property
    def requests(self) -> int:
        return sum(self.counts.values())

    def _count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waits.append(seconds)
            self.sleep(seconds)

    def get(self, url: str, kind: str, *, scope: str = "", throttle: Throttle | None = None,
            decode: Callable[[bytes], Any] = jsontext.loads) -> dict:
        return self.send("GET", url, kind, scope=scope, throttle=throttle, decode=decode)

    def post(self, url: str, body: Mapping, kind: str, *, scope: str = "", throttle: Throttle | None = None) -> dict:
        return self.send("POST", url, kind, body=body, scope=scope, throttle=throttle)

    def send(self, method: str, url: str, kind: str, *, body: Mapping | None = None, scope: str = "",
             throttle: Throttle | None = None, decode: Callable[[bytes], Any] = jsontext.loads) -> dict:
        """One request (with retries); the parsed JSON object of its 200 answer. `decode` parses the
        body (a caller that sees the same bytes again may answer from a memo: skus._Pages)."""
        from azure.core.exceptions import IncompleteReadError, ServiceRequestError, ServiceResponseError
        from azure.core.rest import HttpRequest

        where = f"{scope}: " if scope else ""
        payload = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        attempt = 0
        not_json = 0
        while True:
            if throttle is not None:
                throttle.before()
            self._count(kind)
            headers = {"Accept": "application/json"}
            if payload is not None:
                headers["Content-Type"] = "application/json"
            request = HttpRequest(method, self.pipeline.format_url(url) if url.startswith("/") else url,
                                  headers=headers, content=payload)
            try:
                response = self.pipeline.send_request(request, stream=True)
                try:
                    raw = response.read()
                finally:
                    response.close()
            except (ServiceRequestError, ServiceResponseError, IncompleteReadError) as exc:
                # A reset or a body cut short: the same request again, like a 5xx.
                if attempt < self.max_retries:
                    self._wait(retry_wait({}, attempt))
                    attempt += 1
                    continue
                raise ArmReadError(f"{where}{method} {kind}: connection failed {attempt + 1} times "
                                   f"({type(exc).__name__})") from None
            status = response.status_code
            if throttle is not None:
                throttle.after(response.headers)
            if status == 200:
                try:
                    doc = decode(raw)
                except ValueError:
                    doc = None
                if isinstance(doc, dict):
                    return doc
                ctype = str(response.headers.get("content-type", "")).split(";")[0].strip() or "no content type"
                cut_json = raw[:1] in (b"{", b"[") and doc is None
                if cut_json and attempt < self.max_retries:  # a truncated body: retry like a 5xx
                    self._wait(retry_wait({}, attempt))
                    attempt += 1
                    continue
                if not cut_json and not_json < NOT_JSON_RETRIES:
                    not_json += 1
                    self._wait(retry_wait({}, attempt))
                    continue
                what = "a JSON document cut short" if cut_json else f"not a JSON object ({ctype}, {len(raw)} bytes)"
                raise ArmReadError(f"{where}HTTP 200 for {kind} but the body is {what}", status_code=200)
            if status in RETRY_STATUSES and attempt < self.max_retries:
                # A server asking for longer than a scan waits is not retried after a shorter wait
                # (it would answer 429 again); past the run's wait budget nothing is retried either:
                # the scope fails now, named, and the run ends in time.
                asked = server_wait(response.headers)
                if asked is not None and asked > MAX_WAIT_SECONDS:
                    raise ArmReadError(f"{where}HTTP {status} for {kind}: the server asks to wait {asked:.0f} s, "
                                       f"more than the {MAX_WAIT_SECONDS:.0f} s a scan waits; not retried",
                                       status_code=status)
                wait = retry_wait(response.headers, attempt)
                if sum(self.waits) + wait > self.wait_budget:
                    raise ArmReadError(f"{where}HTTP {status} for {kind}: the run already waited "
                                       f"{sum(self.waits):.0f} s for retries (budget {self.wait_budget:.0f} s); "
                                       "not retried", status_code=status)
                self._wait(wait)
                attempt += 1
                continue
            raise _status_error(response)

    def pages(self, url: str, kind: str, *, scope: str = "", max_pages: int = MAX_PAGES,
              throttle: Throttle | None = None, decode: Callable[[bytes], Any] = jsontext.loads) -> Iterator[dict]:
        """GET `url`, then each `nextLink` in turn; yields each page. Bounded: a link seen before or
        more than max_pages pages raises ArmPagingError naming the scope."""
        from urllib.parse import urlsplit

        seen: set[str] = set()
        pages = 0
        next_url: str | None = url
        home = urlsplit(self.pipeline.format_url("/")).netloc.lower()
        while next_url:
            if urlsplit(next_url).netloc and urlsplit(next_url).netloc.lower() != home:
                raise ArmPagingError(f"{scope or kind}: a nextLink points to another host "
                                     f"({urlsplit(next_url).netloc}); not followed (the token is for {home} only)")
            if next_url in seen:
                raise ArmPagingError(f"{scope or kind}: the listing repeated a nextLink after {pages} pages "
                                     "(stopped: it would never end)")
            if pages >= max_pages:
                raise ArmPagingError(f"{scope or kind}: more than {max_pages} pages (stopped: more than "
                                     "the listing could need)")
            seen.add(next_url)
            page = self.get(next_url, kind, scope=scope, throttle=throttle, decode=decode)
            pages += 1
            yield page
            link = page.get("nextLink")
            next_url = str(link) if link else None


def arm_json(settings: Any, **kwargs: Any) -> ArmJson:
    """An ArmJson (its own request counts) over the process's one ARM pipeline (bootstrap)."""
    from scanner.sources.clients import arm_pipeline

    return ArmJson(arm_pipeline(settings), **kwargs)
