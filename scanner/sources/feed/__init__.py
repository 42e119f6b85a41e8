"""Azure Updates: fetch announcements (JSON API or RSS) and read VM-size retirements out of them.

Four rooms, as ARCHITECTURE.md draws them:

* ``fetch``   (I/O) one source, URL or local file: paging, conditional GET, retries with backoff
  honouring Retry-After (scanner.sources.http), watermark; ``fetch_with_fallback`` (primary,
  then fallback). ``build_api_url`` builds the OData query.
* ``records`` (pure) a body -> ``Announcement`` values (``parse_json``, ``parse_rss``,
  ``parse_feed``); a malformed record is kept with its ``problems``, never raised.
* ``reading`` (pure) one ``Announcement`` -> ``Reading`` (entry / review / ignore, with the reason).
* ``derive``  (pure) all readings -> ``Retirement`` values, repeated announcements of the same
  retirement merged into one that keeps every source link.

This module wires them for a scan: ``load_catalog`` reads the feed and hands the derived
retirements to ``scanner.core.catalog.compose`` (built-in + feed + extra file), never losing the
built-in catalogue when the feed fails. Every public name of the four rooms is importable from
here.

Reading rules (what turns an announcement into a retirement):

1. Only retirement notices are read: tag/category ``Retirements`` or a ``Retirement:`` title.
2. Explicit ``Standard_*`` size names in retiring context come first; otherwise series names
   written as ``X-series``, ``X series``, ``X, Y and Z series VMs`` or ``X, Y SKUs`` (title first,
   then the description's retirement sentences). Names met in "recommended / migrate to"
   context are replacements, never retiring sizes.
3. The date comes from the title, then from the description's retirement sentences
   (reserved-instance cut-off sentences are skipped); the record's ``availabilities`` month is
   only a cross-check, because it can be wrong. A text that gives only a month, or several
   different retirement dates, is not guessed: it goes to review.
4. Notices that retire no size (reservations, Batch low-priority, AVS nodes, VM features)
   produce nothing; a notice whose title speaks of VM series/sizes but whose names cannot be
   read goes to review with the reason.
5. A notice about something else *on* sizes ("GRID driver 13.x for NVv4 series VMs", "Ubuntu
   18.04 images on Dv2 VMs", "Azure Linux 2.0 node pools") retires nothing; so do sentences of
   that kind, and sentences saying a size is "not affected".
6. People decide, with the reason in the review item: a size list that looks cut off
   ("Standard_E8s_", "…"), a range of sizes ("Standard_E2_v3 through Standard_E16_v3"),
   exceptions ("all ... except Standard_D2s_v3"), a numeric date that reads both ways
   (03/04/2031), and items without id, title or description. A date written as the one being
   replaced ("(previously June 30, 2031)") is not the retirement date. Table cells are read as
   "Header: cell", so a "Recommended replacement" column stays a replacement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from scanner.core.model import ScopeError, ScopeKind
from scanner.errors import StoreError
from scanner.sources.feed.derive import ID_PREFIX, Derived, derive_retirements, merge_items
from scanner.sources.feed.fetch import FeedResult, build_api_url, fetch, fetch_with_fallback
from scanner.sources.feed.reading import Reading, read_announcement
from scanner.sources.feed.records import (
    RETIREMENTS_TAG,
    UPDATE_URL,
    Announcement,
    _parse_dt,
    announcement_from_dict,
    announcement_from_record,
    announcement_to_dict,
    html_to_text,
    parse_feed,
    parse_json,
    parse_rss,
)
from scanner.sources.http import safe_url

log = logging.getLogger("scanner.feed")


def load_catalog(
    settings: Any = None,
    today: date | None = None,
    *,
    feed: Sequence[str] | str | None = None,
    catalogs: Sequence[str] = ("builtin",),
    extra_file: str | None = None,
    session: Any = None,
    fetch_options: dict[str, Any] | None = None,
    previous: Callable[[], Sequence[Announcement]] | Sequence[Announcement] = (),
    on_items: Callable[[Sequence[Announcement]], Any] | None = None,
) -> tuple[Any, list[ScopeError]]:
    """Built-in catalogue + feed-derived retirements + extra file -> (Catalog, errors).

    Called by the scan command and the Functions timer as `load_catalog(settings, today)`:
    the feed is `settings.feed_url` with `settings.feed_fallback_url` as fallback, the extra
    file `settings.catalog_extra_file`. The CLI passes `feed=` (a URL/file, a list of them, or
    "" for none) and `catalogs=` ("builtin", "none" or file paths) explicitly.

    A feed that cannot be read never loses the rest: the failure is returned as a ScopeError
    (scope "feed:<url>") and the catalogue is built from what could be read. An unreadable
    built-in or extra catalogue is a CatalogError (bad input the operator must fix).
    `today` is accepted for symmetry with the other loaders; dates are kept whether past or not.

    `previous`: the announcements a store kept from earlier reads (the feed snapshot), or a
    callable returning them. The catalogue never shrinks below them silently: when the feed
    answers (200) without some of them, or cannot be read at all, they are used as well and a
    ScopeError(kind=FEED) names what the feed no longer lists, so the lifecycle keeps the findings
    they produced open rather than telling a false "resolved". `on_items` is called with what a
    successful read returned (the CLI keeps it in the snapshot); its StoreError is logged, not raised.
    """
    from scanner.core import catalog as cat

    if feed is None:
        feed = [settings.feed_url, settings.feed_fallback_url] if settings is not None else []
    sources = [feed] if isinstance(feed, str) else list(feed)
    sources = [s for s in sources if s]
    if extra_file is None and settings is not None:
        extra_file = getattr(settings, "catalog_extra_file", "") or ""
    builtin, extra = cat.load_sources(catalogs, extra_file or "")

    errors: list[ScopeError] = []
    derived = Derived()
    if sources:
        result, errors = fetch_with_fallback(sources, session=session, **(fetch_options or {}))
        kept, kept_errors = _previous(previous)
        errors += kept_errors
        if result is not None:
            items = list(result.items)
            missing = _missing(kept, items)
            if missing:
                errors.append(_shrunk(result.url, len(items), missing, len(kept)))
                items = merge_items(kept, items)
            derived = derive_retirements(items)
            if on_items is not None:
                try:
                    on_items(result.items)
                except StoreError as exc:
                    log.warning("feed: could not keep the announcements in the snapshot: %s", exc)
            log.info("feed: %d retirement(s), %d to review, %d conflict(s) from %d item(s)",
                     len(derived.retirements), len(derived.needs_review), len(derived.conflicts),
                     len(result.items))
        elif kept:
            log.warning("feed: no source could be read; using the %d stored announcements", len(kept))
            derived = derive_retirements(kept)
        else:
            log.warning("feed: no source could be read; using the catalogue without the feed")
    catalog = cat.compose(builtin, extra, feed=derived.retirements, needs_review=derived.needs_review,
                          feed_conflicts=derived.conflicts)
    return catalog, errors


def _previous(previous: Callable[[], Sequence[Announcement]] | Sequence[Announcement]
              ) -> tuple[list[Announcement], list[ScopeError]]:
    if not callable(previous):
        return list(previous), []
    try:
        return list(previous()), []
    except StoreError as exc:
        # Without the snapshot nobody can tell whether the feed shrank: findings the feed produced
        # stay open tonight (kind FEED), and the reason is the real one.
        return [], [ScopeError(ScopeKind.FEED, name="snapshot", detail=f"feed snapshot: {exc}; cannot tell "
                               "whether the feed still lists every retirement it listed before")]


def _missing(kept: Sequence[Announcement], fresh: Sequence[Announcement]) -> list[Announcement]:
    """Stored announcements that retire VM sizes (or need review) and that the feed no longer lists."""
    if not kept:
        return []
    fresh_ids = {a.id for a in fresh}
    return [a for a in merge_items(kept, ()) if a.id not in fresh_ids]


def _shrunk(url: str, answered: int, missing: Sequence[Announcement], stored: int) -> ScopeError:
    ids = ", ".join(a.id for a in missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    return ScopeError(ScopeKind.FEED, name=safe_url(url), detail=(
        f"{safe_url(url)} answered {answered} record(s) but no longer lists {len(missing)} of the {stored} stored "
        f"announcement(s) that retire VM sizes ({ids}); they are kept from the stored snapshot, and findings "
        "the feed produced stay open until it lists them again"))


__all__ = [
    "ID_PREFIX", "RETIREMENTS_TAG", "UPDATE_URL",
    "Announcement", "Derived", "FeedResult", "Reading", "_parse_dt", "announcement_from_dict",
    "announcement_from_record", "announcement_to_dict", "build_api_url", "derive_retirements", "fetch",
    "fetch_with_fallback", "html_to_text", "load_catalog", "merge_items", "parse_feed", "parse_json", "parse_rss",
    "read_announcement",
]
