"""vCPU usage and limits per family and region (Microsoft.Compute/locations/{location}/usages).

Pure part: `parse_usages`. I/O part: reading `az vm list-usage` exports, or the live REST list.

    parse_usages(doc, where) -> (list[QuotaUsage], skipped: list[str])
        Pure. `{"value": [...], "nextLink"}` from the REST API (numbers) or the JSON array that
        `az vm list-usage --location X -o json` prints (currentValue/limit as strings, plus
        localName). A row without a name is skipped and named in `skipped`; a count that is not
        a whole number raises InputError naming `where`, the row and the field.
    load_quota_dir(path) -> QuotaBook
        `--quotas DIR`: DIR/<subscription-id>/<region>.json, or DIR/<region>.json for every
        subscription (filed under ANY_SUBSCRIPTION). Errors name the file.
    fetch_quotas(settings, pairs, client=None, *, workers=8, cache=None) -> (QuotaBook, [ScopeError])
        Live. One listing per distinct (subscription, region), concurrently, as raw JSON through
        the ARM JSON client every other ARM read uses (sources.arm.arm_json: one credential,
        endpoint, connection pool, retries and bounded paging), following nextLink on the ARM host
        only. A pair that fails becomes a ScopeError(QUOTA) for that subscription and region; the
        others are read. `client`: an ArmJson (tests, or to share request counts). `cache`
        (tables.cache.QuotaCache, QUOTA_CACHE_HOURS) answers fresh pairs without a request and keeps
        what was read live; its own failures are ScopeError(STORE) and the pairs are read live.

Facts: response shape and the CLI's string transform in
/work/shared/reference/arm/usages-notes.md (Azure/azure-rest-api-specs Usage_List examples;
Azure/azure-cli vm `list-usage` output transform). api-version 2024-11-01 is the one the Azure CLI
calls (azure-cli vm aaz `_list_usage.py`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scanner.core.headroom import ANY_SUBSCRIPTION, QuotaBook
from scanner.core.model import QuotaUsage, ScopeError, ScopeKind, region_key
from scanner.errors import InputError

USAGES_API_VERSION = "2024-11-01"
MAX_PAGES = 50  # a region has a few hundred rows; a longer chain is a loop

log = logging.getLogger("scanner.quotas")


def _count(value: Any, where: str, field: str) -> int:
    if isinstance(value, bool):
        raise InputError(f"{where}: {field} {value!r} is not a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise InputError(f"{where}: {field} {value!r} is not a whole number")


def parse_usages(doc: Any, where: str = "usages") -> tuple[list[QuotaUsage], list[str]]:
    """Usage rows of one region (see the module docstring)."""
    if isinstance(doc, Mapping):
        items = doc.get("value")
        if not isinstance(items, list):
            raise InputError(f"{where}: expected a JSON array (az vm list-usage -o json) or an object "
                             "with a 'value' array (REST), got an object without 'value'")
    elif isinstance(doc, list):
        items = doc
    else:
        raise InputError(f"{where}: expected a JSON array or an object with 'value', got {type(doc).__name__}")
    rows: list[QuotaUsage] = []
    skipped: list[str] = []
    for i, item in enumerate(items):
        at = f"{where} row {i}"
        if not isinstance(item, Mapping):
            raise InputError(f"{at}: expected an object, got {type(item).__name__}")
        name = item.get("name")
        value = name.get("value") if isinstance(name, Mapping) else name if isinstance(name, str) else None
        label = (name.get("localizedValue") if isinstance(name, Mapping) else None) or item.get("localName") or ""
        if not isinstance(value, str) or not value.strip():
            skipped.append(f"{at}: no name.value ({str(label) or 'unnamed'})")
            continue
        at = f"{at} ({value})"
        if "currentValue" not in item or "limit" not in item:
            raise InputError(f"{at}: missing field {'currentValue' if 'currentValue' not in item else 'limit'}")
        rows.append(QuotaUsage(
            name=value.strip(),
            current=_count(item.get("currentValue"), at, "currentValue"),
            limit=_count(item.get("limit"), at, "limit"),
            label=str(label),
        ))
    return rows, skipped


# --------------------------------------------------------------------------- files


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise InputError(f"--quotas {str(path)!r}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"--quotas {str(path)!r}: not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:
        raise InputError(f"--quotas {str(path)!r}: not JSON ({exc})") from None


def load_quota_dir(path: str) -> QuotaBook:
    """Usages exported with `az vm list-usage --location REGION -o json` (see the module docstring)."""
    root = Path(path)
    if not root.is_dir():
        raise InputError(f"--quotas {path!r}: not a folder (expected DIR/<subscription-id>/<region>.json "
                         "or DIR/<region>.json)")
    book = QuotaBook()
    files = 0
    skipped: list[str] = []
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            for f in sorted(entry.glob("*.json")):
                rows, skip = parse_usages(_read(f), f"--quotas {str(f)!r}")
                book.add(entry.name, f.stem, rows)
                skipped += skip
                files += 1
        elif entry.suffix.lower() == ".json":
            rows, skip = parse_usages(_read(entry), f"--quotas {str(entry)!r}")
            book.add(ANY_SUBSCRIPTION, entry.stem, rows)
            skipped += skip
            files += 1
    if files == 0:
        raise InputError(f"--quotas {path!r}: no <region>.json files in it or in its subscription folders")
    for s in skipped:
        log.warning("quotas: skipped %s", s)
    log.info("quotas: %d subscription/region lists from %d files, %d rows skipped", len(book), files, len(skipped))
    return book


# --------------------------------------------------------------------------- live (I/O)


def _scope_error(sub: str, loc: str, detail: str) -> ScopeError:
    return ScopeError(kind=ScopeKind.QUOTA, subscription=sub, region=loc, detail=detail)


def _fetch_one(client: Any, sub: str, loc: str) -> tuple[list[QuotaUsage], list[str]]:
    url = f"/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/usages?api-version={USAGES_API_VERSION}"
    host = urlsplit(client.pipeline.format_url(url)).netloc.lower()
    rows: list[QuotaUsage] = []
    skipped: list[str] = []
    for doc in client.pages(url, "usages", scope=f"usages {sub}/{loc}", max_pages=MAX_PAGES):
        got, skip = parse_usages(doc, f"usages of {loc}")
        rows += got
        skipped += skip
        nxt = doc.get("nextLink")
        if nxt and urlsplit(str(nxt)).netloc.lower() != host:
            # Never send the ARM token anywhere else: stop before the client follows the link.
            raise InputError(f"usages of {loc}: nextLink points to another host ({urlsplit(str(nxt)).netloc})")
    return rows, skipped


def fetch_quotas(settings: Any, pairs: Iterable[tuple[str, str]], client: Any = None, *,
                 workers: int = 8, cache: Any = None) -> tuple[QuotaBook, list[ScopeError]]:
    """Usages of each distinct (subscription, region), read once (see the module docstring)."""
    from azure.core.exceptions import AzureError

    from scanner.sources.arm import ArmReadError

    if client is None:
        from scanner.sources.arm import arm_json

        client = arm_json(settings)
    start = client.counts.get("usages", 0)
    wanted = sorted({(s.lower(), region_key(loc)) for s, loc in pairs if s and loc})
    book = QuotaBook()
    errors: list[ScopeError] = []

    def job(pair: tuple[str, str]):
        sub, loc = pair
        try:
            rows, skipped = _fetch_one(client, sub, loc)
            return pair, rows, skipped, ""
        except ArmReadError as exc:  # a 200 that is not JSON, a body cut short, a repeated nextLink, ...
            return pair, None, [], exc.reason
        except AzureError as exc:
            from scanner.sources.resource_graph import _http_error_text

            return pair, None, [], _http_error_text(exc)
        except InputError as exc:
            return pair, None, [], str(exc)

    cached: dict[tuple[str, str], list[QuotaUsage]] = cache.load(wanted) if cache is not None else {}
    for (sub, loc), rows in cached.items():
        book.add(sub, loc, rows)
    missing = [p for p in wanted if p not in cached]
    if missing:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
            results = list(pool.map(job, missing))
    else:
        results = []
    for (sub, loc), rows, skipped, err in results:
        for s in skipped:
            log.warning("quotas: %s/%s: skipped %s", sub, loc, s)
        if rows is None:
            errors.append(_scope_error(sub, loc, f"vCPU quota not read ({err}): quota checks skipped there"))
            continue
        book.add(sub, loc, rows)
    if cache is not None:
        fetched = {(sub, loc): rows for (sub, loc), rows, _, _ in results if rows is not None}
        if fetched:
            cache.save(fetched)
        errors.extend(cache.errors)  # kind STORE: named, never a reason to keep or resolve a finding
    book.requests = client.counts.get("usages", 0) - start
    book.cached_pairs = len(cached)
    log.info("quotas: %d subscription/region pairs, %d requests, %d from the cache, %d errors",
             len(wanted) - len(errors), book.requests, len(cached), len(errors))
    return book, errors
