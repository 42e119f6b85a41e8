"""What every Table and Queue adapter shares, in one copy.

    to_jsonable(value) / from_jsonable(type, data)   model values <-> plain JSON types
    pack_text(name, text) / unpack_text(entity, name) big text across numbered properties
    utc(value) -> datetime | None                     the one UTC reader (datetime or ISO text)
    mask_secrets(text)                                URLs cut to scheme://host/***, SAS/keys masked
    describe(exc) -> str                              an Azure error as safe text (type, status, code)
    resend_on_dropped_connection(send)                a POST sent again when the connection dropped
    storage_configured(settings) / table_service(settings, credential)   the Table service factory
    Tables(service, prefix)                           the scanner's tables under one prefix
    update_if_unchanged(table, entity, etag)          the one ETag-guarded write (False: lost the race)
    Lease(table, partition, row)                      a named lock row with an owner and an expiry

Errors are StoreError naming the operation and the table; never a connection string or key.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import logging
import re
import time
import types
import typing
import zlib
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from scanner.errors import ConfigError, StoreError

if TYPE_CHECKING:  # the SDK loads on first use, not at import (import function_app stays fast)
    from azure.data.tables import TableClient, TableServiceClient, UpdateMode

log = logging.getLogger("scanner.tables")

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
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

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

    def none_or(data: Any, where: str, inner: Any = inner) -> Any:
        return None if data is None else inner(data, where)

    _DECODERS[tp] = none_or
    return none_or


def from_jsonable(tp: Any, data: Any, where: str = "value") -> Any:
    """Inverse of to_jsonable for the model's types (dataclasses, enums, dates, tuples, dicts)."""
    return _decoder(tp)(data, where)


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


# --------------------------------------------------------------------------- time, secrets (pure)


def utc(value: Any) -> datetime | None:
    """A stored time as an aware UTC datetime: a datetime (naive = UTC) or ISO text; None for
    None, "" and anything else."""
    if isinstance(value, str):
        if not value:
            return None
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(value.timestamp(), tz=timezone.utc)


_URL = re.compile(r"(?i)\b(https?://[^/\s?#]+)[/?#][^\s)\"']*")
_SECRETISH = re.compile(r"(?i)\b(sig|accountkey|sharedaccesssignature|se|sp|sv|skoid|sktid)=[^&;\s'\"]+")


def mask_secrets(text: str) -> str:
    """`text` with every URL cut to scheme://host/*** (a webhook's path and query are its secret)
    and SAS / account-key values masked."""
    text = _URL.sub(lambda m: f"{m.group(1)}/***", text or "")
    return _SECRETISH.sub(lambda m: m.group(1) + "=***", text)


def describe(exc: BaseException) -> str:
    """An Azure error as text safe to show and log: "Type, HTTP status, code: first line" (masked)."""
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    text = str(getattr(exc, "message", "") or exc).splitlines()[0] if str(exc) else type(exc).__name__
    bits = [type(exc).__name__]
    if status:
        bits.append(f"HTTP {status}")
    if code:
        bits.append(str(code))
    return f"{', '.join(bits)}: {mask_secrets(text)[:300]}"


# --------------------------------------------------------------------------- sending


CONNECTION_RESENDS = 3


def resend_on_dropped_connection(send: Callable[[], Any], attempts: int = CONNECTION_RESENDS, pause: float = 0.5):
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


def update_if_unchanged(table: TableClient, entity: Mapping[str, Any], etag: str,
                        mode: UpdateMode | None = None) -> bool:
    """Write `entity` only if the row still has `etag` (`mode`: UpdateMode.MERGE by default); False
    when someone changed (or deleted) it since it was read. Other failures raise (AzureError)."""
    from azure.data.tables import UpdateMode

    mode = UpdateMode.MERGE if mode is None else mode
    try:
        table.update_entity(dict(entity), mode=mode, etag=etag, match_condition=MatchConditions.IfNotModified)
        return True
    except ResourceNotFoundError:
        return False
    except HttpResponseError as exc:
        if exc.status_code == 412:
            return False
        raise


# --------------------------------------------------------------------------- the Table service


def storage_configured(settings: Any) -> bool:
    return bool(settings.storage_connection_string) or bool(settings.storage_table_endpoint)


def table_service(settings: Any, credential: Callable[[], Any] | None = None,
                  **client_kwargs: Any) -> TableServiceClient:
    """The Table service named by settings: AzureWebJobsStorage (a connection string, or
    UseDevelopmentStorage=true for Azurite on its default ports), else STORAGE_TABLE_ENDPOINT with
    the token credential `credential()` builds (managed identity; built only on that path).
    ConfigError when neither is set."""
    from azure.data.tables import TableServiceClient

    conn = settings.storage_connection_string.reveal() if settings.storage_connection_string else ""
    try:
        if conn:
            return TableServiceClient.from_connection_string(conn, **client_kwargs)
        if settings.storage_table_endpoint:
            if credential is None:
                raise ConfigError("STORAGE_TABLE_ENDPOINT: no credential to reach it with")
            return TableServiceClient(settings.storage_table_endpoint, credential=credential(), **client_kwargs)
    except ValueError as exc:
        raise ConfigError(f"AzureWebJobsStorage: not a usable storage connection string ({type(exc).__name__})") from None
    raise ConfigError(
        "no store configured: set AzureWebJobsStorage (a connection string, or "
        "UseDevelopmentStorage=true for Azurite) or STORAGE_TABLE_ENDPOINT (managed identity)"
    )


class Tables:
    """The scanner's tables, all named `<prefix><Name>` and created if missing (`create`).
    `requests` counts the SDK calls the adapters made, by kind (reads, writes, ...)."""

    def __init__(self, service: TableServiceClient, prefix: str = "retirements", create: bool = True) -> None:
        if not re.match(r"^[A-Za-z][A-Za-z0-9]{0,49}$", prefix):
            raise ConfigError(f"TABLE_PREFIX: {prefix!r} must be letters and digits, starting with a letter")
        self.service = service
        self.prefix = prefix
        self.requests: Counter[str] = Counter()
        self._clients: dict[str, TableClient] = {}
        if create:
            self.ensure_tables()

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
                raise StoreError(f"store: cannot create table {self.table_name(name)} ({describe(exc)})") from None

    def fail(self, what: str, table: str, exc: BaseException) -> StoreError:
        return StoreError(f"store: {what} in table {self.table_name(table)} failed ({describe(exc)})")


# --------------------------------------------------------------------------- one lease


class Lease:
    """A named lock row (`partition`/`row`: owner, expires). Taking it creates the row, or
    replaces it when its owner is this one or its expiry has passed (ETag-guarded, so two
    takers never both win). A holder that dies leaves it to expire after `ttl` seconds."""

    def __init__(self, table: TableClient, partition: str, row: str, what: str) -> None:
        self.table, self.partition, self.row, self.what = table, partition, row, what

    def acquire(self, owner: str, now: datetime, ttl: float) -> bool:
        from azure.data.tables import UpdateMode

        entity = {"PartitionKey": self.partition, "RowKey": self.row, "owner": owner,
                  "expires": now + timedelta(seconds=ttl)}
        try:
            for _ in range(3):
                try:
                    resend_on_dropped_connection(lambda: self.table.create_entity(entity))
                    return True
                except ResourceExistsError:
                    pass
                try:
                    current = self.table.get_entity(self.partition, self.row)
                except ResourceNotFoundError:
                    continue  # released meanwhile: try to create it again
                if current.get("owner") != owner and (utc(current.get("expires")) or EPOCH) > now:
                    return False
                return update_if_unchanged(self.table, entity, current.metadata["etag"], UpdateMode.REPLACE)
        except AzureError as exc:
            raise StoreError(f"{self.what}: taking the lock failed ({describe(exc)})") from None
        return False

    def release(self, owner: str) -> None:
        """Give the lock up if this owner holds it. Never raises: a lock that cannot be released
        (storage unreachable) expires on its own, and the caller's own error is the one to show."""
        try:
            current = self.table.get_entity(self.partition, self.row)
            if current.get("owner") == owner:
                self.table.delete_entity(self.partition, self.row, etag=current.metadata["etag"],
                                         match_condition=MatchConditions.IfNotModified)
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            log.warning("%s: lock not released (%s); it expires on its own", self.what, describe(exc))
