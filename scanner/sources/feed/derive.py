"""Deriving retirements: readings of many announcements -> ``Retirement`` values, merged.

Pure. ``derive_retirements`` reads every announcement (``reading.read_announcement``) and merges
repeated announcements of the same retirement (VM page, Batch pools, reminders) into one
``Retirement`` that keeps every source link; ``merge_items`` keeps the announcements worth storing
between incremental fetches (the feed snapshot).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from scanner.core import sizes
from scanner.core.model import Retirement, ReviewItem
from scanner.sources.feed.reading import Reading, _accepts, read_announcement
from scanner.sources.feed.records import Announcement

ID_PREFIX = "azure-updates-"


@dataclass(frozen=True)
class Derived:
    """The feed's contribution to the catalogue."""

    retirements: tuple[Retirement, ...] = ()
    needs_review: tuple[ReviewItem, ...] = ()
    conflicts: tuple[str, ...] = ()
    readings: dict[str, Reading] = field(default_factory=dict)  # announcement id -> reading


def _key(series: str) -> str:
    return re.sub(r"[\s_-]", "", series).lower()


def _covers(series: str, size: str) -> bool:
    return _accepts(sizes.covers, series, size)


def _overlap(a_series: Iterable[str], a_sizes: Iterable[str], b_series: Iterable[str], b_sizes: Iterable[str]) -> bool:
    a_series, a_sizes, b_series, b_sizes = list(a_series), list(a_sizes), list(b_series), list(b_sizes)
    if {_key(s) for s in a_series} & {_key(s) for s in b_series}:
        return True
    if {s.lower() for s in a_sizes} & {s.lower() for s in b_sizes}:
        return True
    return any(_covers(s, z) for s in a_series for z in b_sizes) or any(
        _covers(s, z) for s in b_series for z in a_sizes)


def _names_all(r: Reading, e: _Entry) -> bool:
    """Does reading `r` name everything entry `e` holds (so that its date may replace e's)?

    A series of `e` counts as named only when `r` names that series: a notice naming two sizes of
    a series (Standard_NC4as_T4_v3) does not re-date the other sizes of it."""
    named = {_key(x) for x in r.series}
    return all(_key(s) in named for s in e.series) and all(
        _overlap([], [z], r.series, r.sizes) for z in e.sizes)


def _version_conflicts(a: Announcement, r: Reading, versions: Iterable[Announcement]) -> list[str]:
    """Dates an item changed between the versions of it seen (same id, different `modified`)."""
    out = []
    for old in sorted(versions, key=lambda v: v.modified or v.created or datetime.min.replace(tzinfo=timezone.utc)):
        if old is a:
            continue
        o = read_announcement(old)
        if o.retires_on and r.retires_on and o.retires_on != r.retires_on:
            when = f" on {a.modified.date().isoformat()}" if a.modified else ""
            out.append(f"{', '.join(r.series or r.sizes)}: announcement {a.id} was updated{when} and now says "
                       f"{r.retires_on.isoformat()} (it said {o.retires_on.isoformat()}); using "
                       f"{r.retires_on.isoformat()} (most recently modified)")
    return out


@dataclass
class _Entry:
    first: Announcement
    series: list[str]
    sizes: list[str]
    retires_on: date
    date_from: Announcement
    urls: list[str]
    announced: list[Announcement]
    replacement: list[str]
    notes: list[str]


def _sort_key(a: Announcement) -> tuple:
    when = a.created or a.modified or datetime.min.replace(tzinfo=timezone.utc)
    return (when, a.id)


def _newer(a: Announcement, b: Announcement) -> bool:
    floor = datetime.min.replace(tzinfo=timezone.utc)
    return (a.modified or a.created or floor, a.id) > (b.modified or b.created or floor, b.id)


def _read_safely(a: Announcement) -> Reading:
    """read_announcement, except that a record it cannot read goes to review instead of sinking the
    feed (the fuzz tests found none left; this is the guard that keeps it so)."""
    try:
        return read_announcement(a)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError) as exc:
        return Reading("review", f"{a.source} item {a.id} could not be read ({type(exc).__name__}); read it")


def derive_retirements(items: Iterable[Announcement]) -> Derived:
    """Read every announcement and merge repeated announcements of the same retirement.

    Oldest first: a later announcement whose sizes overlap an earlier entry adds its link to
    that entry (a Batch-pool notice, a reminder); sizes it names beyond every entry it overlaps
    become an entry of their own. When two announcements disagree on the date, the most
    recently modified wins and the disagreement is reported in `conflicts`; when the later one
    names only part of the earlier entry (two sizes of a series), neither is re-dated: the part
    gets an entry of its own and the disagreement is reported. An item seen in several versions
    (same id) is read in its most recently modified version; a date it changed is reported too.
    """
    unique: dict[str, Announcement] = {}
    versions: dict[str, list[Announcement]] = {}
    for a in items:
        prev = unique.get(a.id)
        if prev is not None and prev != a:
            versions.setdefault(a.id, [prev]).append(a)
        if prev is None or _newer(a, prev):
            unique[a.id] = a
    ordered = sorted(unique.values(), key=_sort_key)
    readings: dict[str, Reading] = {}
    review: list[ReviewItem] = []
    entries: list[_Entry] = []
    conflicts: list[str] = []
    for a in ordered:
        r = _read_safely(a)
        readings[a.id] = r
        conflicts += _version_conflicts(a, r, versions.get(a.id, ()))
        if r.kind == "review":
            review.append(ReviewItem(id=a.id, title=a.title or f"(untitled item {a.id})", url=a.url, reason=r.reason))
            continue
        if r.kind == "entry" and a.problems:
            # Read as an entry, but part of the record is malformed (a +24:00 offset in `modified`,
            # `availabilities: 5`): the entry stands and people are told which record to check.
            review.append(ReviewItem(id=a.id, title=a.title, url=a.url, reason=(
                f"{a.source} item {a.id} is malformed ({'; '.join(a.problems)}); read anyway as "
                f"{', '.join(r.sizes or r.series)} retiring {r.retires_on}: check the record")))
        if r.kind != "entry" or r.retires_on is None:
            continue
        touching = [e for e in entries if _overlap(e.series, e.sizes, r.series, r.sizes)]
        partial = [e for e in touching if e.retires_on != r.retires_on and not _names_all(r, e)]
        for e in partial:
            conflicts.append(
                f"{', '.join(r.series or r.sizes)}: announcement {a.id} says {r.retires_on.isoformat()}, "
                f"announcement {e.date_from.id} says {e.retires_on.isoformat()} for {', '.join(e.series or e.sizes)}; "
                "both kept (they name different sets of sizes)")
        touching = [e for e in touching if e not in partial]
        for e in touching:
            if a.url and a.url not in e.urls:
                e.urls.append(a.url)
            e.announced.append(a)
            if e.retires_on != r.retires_on:
                names = ", ".join(e.series or e.sizes)
                if _newer(a, e.date_from):
                    winner, loser, wd, ld = a, e.date_from, r.retires_on, e.retires_on
                    e.retires_on, e.date_from = r.retires_on, a
                else:
                    winner, loser, wd, ld = e.date_from, a, e.retires_on, r.retires_on
                conflicts.append(
                    f"{names}: announcement {winner.id} says {wd.isoformat()}, announcement {loser.id} "
                    f"says {ld.isoformat()}; using {wd.isoformat()} (most recently modified)"
                )
            for s in r.replacement_series:
                if s not in e.replacement:
                    e.replacement.append(s)
        left_series = [s for s in r.series if not any(_overlap(e.series, e.sizes, [s], []) for e in touching)]
        left_sizes = [z for z in r.sizes if not any(_overlap(e.series, e.sizes, [], [z]) for e in touching)]
        if touching and len(touching) == 1 and touching[0].retires_on == r.retires_on and (left_series or left_sizes):
            e = touching[0]
            e.series += left_series
            e.sizes += left_sizes
            continue
        if not (left_series or left_sizes):
            continue
        entries.append(_Entry(first=a, series=left_series, sizes=left_sizes, retires_on=r.retires_on,
                              date_from=a, urls=[a.url] if a.url else [], announced=[a],
                              replacement=list(r.replacement_series), notes=[r.notes] if r.notes else []))
    retirements = []
    for e in entries:
        created = [x.created for x in e.announced if x.created]
        modified = [x.modified for x in e.announced if x.modified]
        retirements.append(Retirement(
            id=f"{ID_PREFIX}{e.first.id}",
            title=e.first.title,
            retires_on=e.retires_on,
            series=tuple(e.series),
            sizes=tuple(e.sizes),
            announced_on=min(created).date() if created else None,
            source="feed",
            urls=tuple(e.urls),
            replacement_series=tuple(e.replacement),
            notes="; ".join(e.notes),
            modified=max(modified) if modified else None,
        ))
    return Derived(tuple(retirements), tuple(review), tuple(conflicts), readings)




def _stamp(a: Announcement) -> datetime:
    t = a.modified or a.created
    if t is None:
        return datetime.min.replace(tzinfo=timezone.utc)
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


def merge_items(old: Iterable[Announcement], new: Iterable[Announcement]) -> list[Announcement]:
    """Announcements by id, the most recently modified winning; only those that retire VM sizes
    or need review are kept (what the feed snapshot stores between incremental fetches)."""
    by_id: dict[str, Announcement] = {}
    for a in (*old, *new):
        prev = by_id.get(a.id)
        if prev is None or _stamp(a) >= _stamp(prev):
            by_id[a.id] = a
    return [a for a in by_id.values() if _read_safely(a).kind in ("entry", "review")]
