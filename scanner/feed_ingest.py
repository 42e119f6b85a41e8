"""The feed between runs: a stored snapshot of the announcements that matter, refreshed incrementally.

    refresh(snapshots, settings, now) -> IngestResult
        Read the snapshot (Catalog table, row "feed"), ask the feed only for what changed since
        its watermark (`modified ge <watermark>`, If-None-Match with the stored ETag), merge the
        answer into the snapshot, store it (ETag-conditional: two instances never lose each
        other's items) and say which retirement ids are new to the merged catalogue.
    catalog_for_scan(snapshots, settings, now) -> (Catalog, [ScopeError])
        The catalogue a Functions scan uses: built-in + snapshot + extra file, refreshing first
        when no snapshot exists yet.
    stored_items(snapshots) -> [Announcement]                       the snapshot's announcements ([] if none)
    remember(snapshots, items, now) -> bool                      merge a full read (CLI scan) into it
    build_catalog(settings, items) -> Catalog                   pure apart from reading the
        built-in catalogue and CATALOG_EXTRA_FILE.

Only announcements that say something about VM sizes (a retirement entry or an item to review)
are kept: the rest retire nothing this scanner reads, and an edited announcement comes back
through the watermark anyway. A feed that cannot be read keeps the snapshot as it is; the
failure is returned as a ScopeError (scope "feed:<url>") like everywhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from scanner.core.model import ScopeError
from scanner.errors import StoreError
from scanner.tables.snapshots import TableSnapshots, snapshot_from_text, snapshot_to_text

log = logging.getLogger("scanner.feed_ingest")

SNAPSHOT = "feed"
MAX_CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class IngestResult:
    catalog: Any  # scanner.core.catalog.Catalog after this refresh
    errors: tuple[ScopeError, ...] = ()
    new_retirements: tuple[str, ...] = ()  # ids in the merged catalogue that were not there before
    fetched: int = 0  # announcements the feed answered with (0 on 304)
    kept: int = 0  # announcements in the snapshot after the refresh
    not_modified: bool = False
    stored: bool = False  # the snapshot was written
    first: bool = False  # there was no snapshot before




def merge_items(old: Iterable[Any], new: Iterable[Any]) -> list[Any]:
    """Announcements by id, newest winning, only those worth keeping (scanner.sources.feed.derive)."""
    from scanner.sources.feed.derive import merge_items as merge

    return merge(old, new)


def build_catalog(settings: Any, items: Sequence[Any]) -> Any:
    """Built-in catalogue + what the announcements say + the extra file (CATALOG_EXTRA_FILE),
    composed by scanner.core.catalog.compose like every other catalogue."""
    from scanner.core import catalog as cat
    from scanner.sources.feed import derive_retirements

    derived = derive_retirements(items)
    builtin, extra = cat.load_sources(("builtin",), getattr(settings, "catalog_extra_file", "") or "")
    return cat.compose(builtin, extra, feed=derived.retirements, needs_review=derived.needs_review,
                       feed_conflicts=derived.conflicts)


def _ids(catalog: Any) -> set[str]:
    return {r.id for r in catalog.retirements}


# --------------------------------------------------------------------------- I/O


def _read(snapshots: TableSnapshots) -> tuple[dict | None, list[Any]]:
    from scanner.sources.feed import Announcement

    snap = snapshots.get_snapshot(SNAPSHOT)
    if snap is None:
        return None, []
    return snap, snapshot_from_text(snap["body"], Announcement, f"feed snapshot ({snapshots.table_name})")


def _watermark(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None  # unreadable: fetch everything again rather than guess
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _store(snapshots: TableSnapshots, snap: dict | None, items: list[Any], watermark: str, feed_etag: str,
           now: datetime) -> tuple[bool, list[Any]]:
    """Write the snapshot (ETag-conditional); on a race, merge ours into theirs and retry.
    -> (written, the items now stored)."""
    for _attempt in range(MAX_CONFLICT_RETRIES):
        body = snapshot_to_text(items)
        unchanged = snap is not None and snap["body"] == body and snap["watermark"] == watermark \
            and (snap.get("feed_etag") or "") == feed_etag
        if unchanged:
            return False, items
        if snapshots.put_snapshot(SNAPSHOT, body, watermark=watermark, feed_etag=feed_etag, now=now,
                              if_match=snap["etag"] if snap else ""):
            return True, items
        # Another instance stored a snapshot since we read it: merge ours into theirs and retry.
        snap, theirs = _read(snapshots)
        items = merge_items(theirs, items)
    raise StoreError(f"feed snapshot: kept changing under this refresh after {MAX_CONFLICT_RETRIES} attempts")


def remember(snapshots: TableSnapshots, items: Sequence[Any], now: datetime) -> bool:
    """Merge announcements read in full (the CLI's scan) into the stored snapshot, keeping its
    watermark and ETag (they belong to the incremental refresh). -> whether it was written."""
    snap, old = _read(snapshots)
    if snap is not None:
        watermark, etag = snap["watermark"], snap.get("feed_etag") or ""
    else:
        from scanner.sources.feed.derive import _stamp

        stamps = [_stamp(a) for a in items if (a.modified or a.created) is not None]
        watermark, etag = (max(stamps).isoformat() if stamps else ""), ""
    return _store(snapshots, snap, merge_items(old, items), watermark, etag, now)[0]


def stored_items(snapshots: TableSnapshots) -> list[Any]:
    """The announcements of the stored feed snapshot ([] when there is none); StoreError when it
    cannot be read. The CLI passes them to load_catalog so a feed that answers with fewer records
    never shrinks the catalogue silently."""
    return _read(snapshots)[1]


def refresh(snapshots: TableSnapshots, settings: Any, now: datetime, *, session: Any = None,
            fetch_options: dict[str, Any] | None = None) -> IngestResult:
    """See the module docstring."""
    from scanner.sources.feed import fetch_with_fallback

    snap, old_items = _read(snapshots)
    first = snap is None
    before = build_catalog(settings, old_items)
    sources = [s for s in (settings.feed_url, settings.feed_fallback_url) if s]
    if not sources:
        return IngestResult(before, kept=len(old_items), first=first)
    watermark = _watermark(snap["watermark"]) if snap else None
    etag = (snap or {}).get("feed_etag") or None
    result, errors = fetch_with_fallback(sources, watermark=watermark, etag=etag, session=session,
                                         **(fetch_options or {}))
    if result is None:
        log.warning("feed: no source could be read; keeping the stored snapshot (%d announcements)", len(old_items))
        return IngestResult(before, tuple(errors), kept=len(old_items), first=first)
    if result.not_modified:
        log.info("feed: not modified since the last refresh; %d announcements kept", len(old_items))
        return IngestResult(before, tuple(errors), kept=len(old_items), not_modified=True, first=first)

    new_etag = (result.etag or "") if result.url == sources[0] else ""
    new_wm = result.watermark.isoformat() if result.watermark is not None else (snap or {}).get("watermark", "")
    stored, items = _store(snapshots, snap, merge_items(old_items, result.items), new_wm, new_etag, now)

    after = build_catalog(settings, items)
    new_ids = tuple(sorted(_ids(after) - _ids(before)))
    log.info("feed: %d announcement(s) fetched from %s, %d kept, %d new retirement(s)%s",
             len(result.items), result.url if "://" not in result.url else result.url.split("?")[0],
             len(items), len(new_ids), f": {', '.join(new_ids)}" if new_ids else "")
    return IngestResult(after, tuple(errors), new_ids, fetched=len(result.items), kept=len(items),
                        stored=stored, first=first)


def catalog_for_scan(snapshots: TableSnapshots, settings: Any, now: datetime, *, refresh_first: bool = False,
                     session: Any = None, fetch_options: dict[str, Any] | None = None) -> tuple[Any, list[ScopeError]]:
    """The catalogue from the stored snapshot; refreshed first when asked or when there is none."""
    if not refresh_first:
        snap, items = _read(snapshots)
        if snap is not None:
            return build_catalog(settings, items), []
    result = refresh(snapshots, settings, now, session=session, fetch_options=fetch_options)
    return result.catalog, list(result.errors)
