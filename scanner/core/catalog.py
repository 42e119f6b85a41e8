"""The retirement catalogue: parse the bundled TOML, merge sources, answer "is this size retiring?".

Pure: no I/O besides reading package data through importlib.resources (and `load_extra`, which
reads the one file an operator names in CATALOG_EXTRA_FILE). CONTRACT:

    @dataclass(frozen=True) class Catalog:
        retirements: tuple[Retirement, ...]
        needs_review: tuple[ReviewItem, ...] = ()
        conflicts: tuple[str, ...] = ()          # human-readable date disagreements between sources
        def retirements_for(self, vm_size: str) -> list[Retirement]   # soonest first; [] if none
        def get(self, retirement_id: str) -> Retirement | None

    parse_catalog(text: str, source: str = "builtin", origin: str = "<text>") -> list[Retirement]
    load_builtin() -> list[Retirement]
    merge(builtin, feed_derived, extra, needs_review=()) -> Catalog

Also provided:

    load_extra(path: str) -> list[Retirement]                 source="extra"; errors name the file
    load_catalog(extra_file="", feed_derived=(), needs_review=()) -> Catalog   the three, merged
    load_sources(catalogs=("builtin",), extra_file="") -> (builtin, extra)   the reviewed files a scan names
    compose(builtin, extra, feed=, needs_review=, feed_conflicts=) -> Catalog   the one place a scan's
                                                              catalogue is put together (CLI, Functions, demo)
    retirement_to_dict(r: Retirement) -> dict                 JSON-ready (CLI listing, GET /api/catalog)

File format (scanner/data/retirements.toml; an extra file uses the same format)::

    [[retirement]]
    id = "d-ds-dv2-dsv2-2028-05-01"          # stable, unique: [A-Za-z0-9][A-Za-z0-9._-]*
    title = "D, Ds, Dv2 and DSv2 series retire"
    series = ["D", "Ds", "Dv2", "DSv2"]      # as announcements write them (scanner.core.sizes.parse_series)
    sizes = []                               # explicit size names, when an announcement lists sizes
    retires_on = 2028-05-01                  # required
    announced_on = 2025-03-31                # optional
    modified = 2026-09-24                    # when the source was last checked/changed (merge precedence)
    urls = ["https://azure.microsoft.com/updates?id=485569"]
    replacement_series = ["Dsv5", "Dasv5"]
    region_exceptions = []                   # clouds/regions where it does not apply: "usgov", "china"
    region_dates = { usgovvirginia = 2026-06-30, chinanorth3 = 2027-06-30 }
                                             # regions (or clouds) retiring on another date
    notes = ""
    capacity_restricted_from = 2026-07-01    # optional: capacity growth restrictions (no more quota,
    capacity_source = "https://learn..."     # no new subscriptions) from this day; the page saying so

Region names are ARM location names and are stored lower-case without spaces ("US Gov Virginia"
is read as "usgovvirginia"); a cloud name ("usgov": Azure Government including usdod*, "china":
Azure operated by 21Vianet) stands for every region of that cloud, and a region's own date wins
over its cloud's. A region may not be both an exception and have a date of its own.

Unknown keys, duplicate ids, unreadable series/sizes, bad region names and bad dates are refused
with a CatalogError that names the origin (file), the entry and the offending value.

Merge rules (merge): built-in entries first; an extra-file entry with the id of a built-in entry
replaces it (reported in `conflicts` only when the dates differ) and keeps the built-in regional
dates of regions it does not date itself; then each feed-derived
retirement, oldest `modified` first, is folded into every entry that already covers any of its
series or sizes (the same retirement announced again: VM page, Batch pools, reminders): the entry
keeps its id, its regional dates and gains the feed's links. When the dates disagree the most recently modified
source wins, except that an extra-file entry is the operator's word and always keeps its date,
and an announcement naming only part of an entry (two of its series, one size) never re-dates
the rest: its part becomes an entry of its own. Every disagreement becomes a sentence in
`conflicts`. Series or sizes of a feed retirement that no
entry covers stay in a catalogue entry of their own (the feed id), so nothing announced is lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from importlib import resources

from scanner.core.model import Retirement, ReviewItem, cloud_of, region_key
from scanner.core.sizes import Series, parse_series, parse_size
from scanner.errors import CatalogError, SizeNameError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = [
    "Catalog",
    "compose",
    "load_builtin",
    "load_catalog",
    "load_extra",
    "load_sources",
    "merge",
    "parse_catalog",
    "retirement_to_dict",
]

ALLOWED_KEYS = (
    "id", "title", "series", "sizes", "retires_on", "announced_on", "modified", "urls",
    "replacement_series", "region_exceptions", "region_dates", "notes",
    "capacity_restricted_from", "capacity_source",
)
_REQUIRED_KEYS = ("id", "title", "retires_on")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_REGION_RE = re.compile(r"^[a-z][a-z0-9]{1,63}$")  # ARM location names: "westeurope", "usgovvirginia"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_CACHE_LIMIT = 200_000


# --------------------------------------------------------------------------- parsing


def _date(value, where: str, key: str) -> date:
    if isinstance(value, datetime):
        raise CatalogError(f"{where}: {key} = {value.isoformat()!r} must be a date (YYYY-MM-DD), not a date-time")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CatalogError(f"{where}: {key} = {value!r} is not a date (YYYY-MM-DD)")


def _datetime(value, where: str, key: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if isinstance(value, str):
        try:
            return _datetime(datetime.fromisoformat(value.strip().replace("Z", "+00:00")), where, key)
        except ValueError:
            pass
    raise CatalogError(f"{where}: {key} = {value!r} is not a date or date-time")


def _strings(value, where: str, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"{where}: {key} must be a list of strings, got {value!r}")
    return tuple(v.strip() for v in value if v.strip())


def _region(text: str, where: str, key: str) -> str:
    name = region_key(text)
    if not _REGION_RE.match(name):
        raise CatalogError(f"{where}: {key} {text!r} is not an Azure region or cloud name "
                           "(letters and digits, e.g. 'usgovvirginia' or 'usgov')")
    return name


def _region_dates(value, where: str) -> tuple[tuple[str, date], ...]:
    if not isinstance(value, dict):
        raise CatalogError(f"{where}: region_dates must be a table of region = date "
                           f"(e.g. {{ usgovvirginia = 2026-06-30 }}), got {value!r}")
    out: dict[str, date] = {}
    for text, when in value.items():
        name = _region(text, where, "region_dates region")
        if name in out:
            raise CatalogError(f"{where}: region_dates names region {name!r} twice")
        out[name] = _date(when, where, f"region_dates.{name}")
    return tuple(sorted(out.items()))


def _entry(raw: dict, source: str, origin: str, index: int) -> Retirement:
    rid = raw.get("id")
    where = f"{origin}: retirement #{index}" + (f" (id {rid!r})" if isinstance(rid, str) else "")
    unknown = [k for k in raw if k not in ALLOWED_KEYS]
    if unknown:
        raise CatalogError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(repr(k) for k in unknown)} (allowed: {', '.join(ALLOWED_KEYS)})"
        )
    missing = [k for k in _REQUIRED_KEYS if k not in raw]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(repr(k) for k in missing)}")
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise CatalogError(f"{where}: id {rid!r} must be letters, digits, '.', '_' or '-' (at most 128)")
    title = raw["title"]
    if not isinstance(title, str) or not title.strip():
        raise CatalogError(f"{where}: title must be a non-empty string")

    series = _strings(raw.get("series", []), where, "series")
    sizes = _strings(raw.get("sizes", []), where, "sizes")
    if not series and not sizes:
        raise CatalogError(f"{where}: names no series and no sizes")
    for text in series:
        try:
            parse_series(text)
        except SizeNameError as exc:
            raise CatalogError(f"{where}: series {text!r} cannot be read: {exc}") from None
    canon_sizes = []
    for text in sizes:
        try:
            canon_sizes.append(parse_size(text).name)
        except SizeNameError as exc:
            raise CatalogError(f"{where}: size {text!r} cannot be read: {exc}") from None
    replacements = _strings(raw.get("replacement_series", []), where, "replacement_series")
    for text in replacements:
        try:
            parse_series(text)
        except SizeNameError as exc:
            raise CatalogError(f"{where}: replacement_series {text!r} cannot be read: {exc}") from None
    urls = _strings(raw.get("urls", []), where, "urls")
    for url in urls:
        if not re.match(r"^https?://\S+$", url):
            raise CatalogError(f"{where}: url {url!r} is not an http(s) URL")
    notes = raw.get("notes", "")
    if not isinstance(notes, str):
        raise CatalogError(f"{where}: notes must be a string")
    exceptions = tuple(_region(r, where, "region_exceptions entry")
                       for r in _strings(raw.get("region_exceptions", []), where, "region_exceptions"))
    region_dates = _region_dates(raw.get("region_dates", {}), where)
    both = sorted(name for name, _ in region_dates if name in exceptions or cloud_of(name) in exceptions)
    if both:
        raise CatalogError(f"{where}: {', '.join(repr(b) for b in both)} is both in region_exceptions "
                           "(does not apply there, itself or its cloud) and in region_dates (applies on another date)")

    capacity_from = (_date(raw["capacity_restricted_from"], where, "capacity_restricted_from")
                     if "capacity_restricted_from" in raw else None)
    capacity_source = raw.get("capacity_source", "")
    if not isinstance(capacity_source, str) or (capacity_source and not re.match(r"^https?://\S+$", capacity_source)):
        raise CatalogError(f"{where}: capacity_source {capacity_source!r} is not an http(s) URL")
    if capacity_source and capacity_from is None:
        raise CatalogError(f"{where}: capacity_source is set but capacity_restricted_from is not")

    return Retirement(
        id=rid,
        title=title.strip(),
        retires_on=_date(raw["retires_on"], where, "retires_on"),
        series=series,
        sizes=tuple(canon_sizes),
        announced_on=_date(raw["announced_on"], where, "announced_on") if "announced_on" in raw else None,
        source=source,
        urls=urls,
        replacement_series=replacements,
        region_exceptions=exceptions,
        notes=notes.strip(),
        modified=_datetime(raw["modified"], where, "modified") if "modified" in raw else None,
        region_dates=region_dates,
        capacity_restricted_from=capacity_from,
        capacity_source=capacity_source.strip(),
    )


def parse_catalog(text: str, source: str = "builtin", origin: str = "<text>") -> list[Retirement]:
    """Parse catalogue TOML into Retirement values (in file order). Raises CatalogError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{origin}: not valid TOML ({exc})") from None
    extra_top = [k for k in data if k != "retirement"]
    if extra_top:
        raise CatalogError(
            f"{origin}: unknown top-level key{'s' if len(extra_top) > 1 else ''} "
            f"{', '.join(repr(k) for k in extra_top)} (expected only [[retirement]] tables)"
        )
    entries = data.get("retirement", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CatalogError(f"{origin}: 'retirement' must be an array of tables ([[retirement]])")
    out: list[Retirement] = []
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(entries, start=1):
        r = _entry(raw, source, origin, index)
        if r.id in first_seen:
            raise CatalogError(
                f"{origin}: duplicate retirement id {r.id!r} (entries #{first_seen[r.id]} and #{index})"
            )
        first_seen[r.id] = index
        out.append(r)
    return out


def load_builtin() -> list[Retirement]:
    """The catalogue shipped in the package (scanner/data/retirements.toml)."""
    text = resources.files("scanner.data").joinpath("retirements.toml").read_text(encoding="utf-8")
    return parse_catalog(text, source="builtin", origin="scanner/data/retirements.toml")


def load_extra(path: str) -> list[Retirement]:
    """An operator's extra catalogue file (CATALOG_EXTRA_FILE). Errors name the file."""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise CatalogError(f"CATALOG_EXTRA_FILE {path!r}: cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(f"CATALOG_EXTRA_FILE {path!r}: not UTF-8 text ({exc.reason})") from None
    return parse_catalog(text, source="extra", origin=str(path))


# --------------------------------------------------------------------------- the catalogue value


def _compile(r: Retirement) -> tuple[tuple[Series, ...], tuple[str, ...]]:
    """Series values of a retirement's series and sizes, and the texts that could not be read."""
    out, bad = [], []
    for text in (*r.series, *r.sizes):
        try:
            out.append(parse_series(text))
        except SizeNameError:
            bad.append(text)
    return tuple(out), tuple(bad)


@dataclass(frozen=True)
class Catalog:
    retirements: tuple[Retirement, ...]
    needs_review: tuple[ReviewItem, ...] = ()
    conflicts: tuple[str, ...] = ()
    _compiled: tuple = field(default=(), init=False, repr=False, compare=False)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_id: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = sorted(self.retirements, key=lambda r: (r.retires_on, r.id))
        object.__setattr__(self, "_compiled", tuple((r, _compile(r)[0]) for r in ordered))
        object.__setattr__(self, "_by_id", {r.id: r for r in self.retirements})

    def retirements_for(self, vm_size: str) -> list[Retirement]:
        """Retirements covering `vm_size`, soonest first; [] when none or not a VM size name."""
        hit = self._cache.get(vm_size)
        if hit is None:
            try:
                size = parse_size(vm_size)
            except (SizeNameError, TypeError):
                hit = ()
            else:
                hit = tuple(r for r, series in self._compiled if any(s.matches(size) for s in series))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[vm_size] = hit
        return list(hit)

    def get(self, retirement_id: str) -> Retirement | None:
        return self._by_id.get(retirement_id)

    def __len__(self) -> int:
        return len(self.retirements)


# --------------------------------------------------------------------------- merge


def _mod(r: Retirement) -> datetime:
    m = r.modified
    if m is None:
        return _EPOCH
    return m if m.tzinfo else m.replace(tzinfo=timezone.utc)


def _describe(r: Retirement) -> str:
    when = f"modified {r.modified.date().isoformat()}" if r.modified else "no modified date"
    if r.source == "feed":
        link = f" {r.urls[0]}" if r.urls else ""
        return f"Azure Updates announcement {r.id!r}{link} ({when})"
    if r.source == "extra":
        return f"extra catalogue entry {r.id!r} ({when})"
    return f"built-in catalogue entry {r.id!r} ({when})"


def _label(r: Retirement) -> str:
    return ", ".join((*r.series, *r.sizes))


def _absorb(entry: Retirement, feed: Retirement, conflicts: list[str]) -> Retirement:
    urls = entry.urls + tuple(u for u in feed.urls if u not in entry.urls)
    retires_on, modified = entry.retires_on, entry.modified
    if feed.retires_on != entry.retires_on:
        if entry.source == "extra":
            verdict = f"keeping {entry.retires_on.isoformat()} from the extra catalogue file (operator's entry)"
        elif _mod(feed) > _mod(entry):
            retires_on, modified = feed.retires_on, feed.modified
            verdict = f"using {feed.retires_on.isoformat()} from the more recently modified announcement"
        else:
            verdict = f"keeping {entry.retires_on.isoformat()} from the more recently modified source"
        conflicts.append(
            f"Sources disagree on when {_label(entry)} retire: {_describe(entry)} says "
            f"{entry.retires_on.isoformat()}, {_describe(feed)} says {feed.retires_on.isoformat()}; {verdict}."
        )
    elif _mod(feed) > _mod(entry):
        modified = feed.modified
    return replace(
        entry,
        retires_on=retires_on,
        modified=modified,
        urls=urls,
        announced_on=entry.announced_on or feed.announced_on,
        replacement_series=entry.replacement_series or feed.replacement_series,
        region_dates=_union_dates(entry, feed),
    )


def _union_dates(first: Retirement, second: Retirement) -> tuple[tuple[str, date], ...]:
    """`first`'s regional dates, plus `second`'s for regions `first` neither dates nor excludes."""
    dates = dict(first.region_dates)
    for name, when in second.region_dates:
        if name not in dates and name not in first.region_exceptions:
            dates[name] = when
    return tuple(sorted(dates.items()))


def merge(
    builtin: Iterable[Retirement],
    feed_derived: Iterable[Retirement],
    extra: Iterable[Retirement],
    needs_review: Iterable[ReviewItem] = (),
) -> Catalog:
    """One catalogue from the three sources (rules in the module docstring)."""
    entries: dict[str, Retirement] = {}
    conflicts: list[str] = []
    review: list[ReviewItem] = list(needs_review)

    for r in builtin:
        entries[r.id] = r
    for r in extra:
        old = entries.get(r.id)
        if old is not None:
            if old.retires_on != r.retires_on:
                conflicts.append(
                    f"Extra catalogue entry {r.id!r} overrides the built-in date of {_label(old)}: "
                    f"{old.retires_on.isoformat()} becomes {r.retires_on.isoformat()}."
                )
            r = replace(r, urls=r.urls + tuple(u for u in old.urls if u not in r.urls),
                        region_dates=_union_dates(r, old))
            if r.capacity_restricted_from is None:  # the operator's entry keeps the built-in restriction
                r = replace(r, capacity_restricted_from=old.capacity_restricted_from,
                            capacity_source=old.capacity_source)
        entries[r.id] = r

    for f in sorted(feed_derived, key=_mod):
        readable: list[tuple[str, Series]] = []
        for text in (*f.series, *f.sizes):
            try:
                readable.append((text, parse_series(text)))
            except SizeNameError:
                review.append(ReviewItem(
                    id=f.id, title=f.title, url=f.urls[0] if f.urls else "",
                    reason=f"{text!r} is not a VM size series or size name this scanner can read",
                ))
        if not readable:
            continue
        covered: set[str] = set()
        touched: list[str] = []
        for e in list(entries.values()):
            e_series = _compile(e)[0]
            hit = {s.name for _, s in readable if _covers(e_series, s)}
            if hit and e.id != f.id and f.retires_on != e.retires_on and not all(
                    _covers(tuple(s for _, s in readable), es) for es in e_series):
                # The announcement dates only part of the entry (two sizes of a series, one series of
                # five): re-dating the whole entry would move sizes nobody announced. Both are kept.
                conflicts.append(
                    f"Sources disagree on when {', '.join(sorted(hit))} retire: {_describe(e)} says "
                    f"{e.retires_on.isoformat()} for {_label(e)}, {_describe(f)} says {f.retires_on.isoformat()} "
                    f"for {_label(f)}; both kept, as the announcement names only part of the entry.")
                continue
            if hit or e.id == f.id:
                touched.append(e.id)
                covered |= hit
        for eid in touched:
            entries[eid] = _absorb(entries[eid], f, conflicts)
        rest = [(t, s) for t, s in readable if s.name not in covered]
        if rest:
            base = entries.get(f.id, replace(f, series=(), sizes=()))
            entries[f.id] = replace(
                base,
                series=base.series + tuple(t for t, s in rest if s.patterns[0].size_key is None),
                sizes=base.sizes + tuple(s.name for t, s in rest if s.patterns[0].size_key is not None),
            )
    return Catalog(tuple(entries.values()), tuple(review), tuple(conflicts))


def _covers(entry_series: tuple[Series, ...], s: Series) -> bool:
    """Does an entry (its Series values) already cover series/size `s`?"""
    if any(es.name == s.name for es in entry_series):
        return True
    if s.patterns[0].size_key is not None:
        return any(es.matches(s.name) for es in entry_series)
    return False


def load_catalog(extra_file: str = "", feed_derived: Iterable[Retirement] = (),
                 needs_review: Iterable[ReviewItem] = ()) -> Catalog:
    """Built-in + feed-derived + the extra file (when a path is given), merged."""
    extra = load_extra(extra_file) if extra_file else []
    return merge(load_builtin(), feed_derived, extra, needs_review)


def load_sources(catalogs: Iterable[str] = ("builtin",), extra_file: str = "") -> tuple[list[Retirement], list[Retirement]]:
    """The reviewed catalogues a scan names -> (built-in entries, extra entries).

    `catalogs`: "builtin", "none" (or "") for nothing, or paths of extra catalogue files (the
    CLI's --catalog); `extra_file`: CATALOG_EXTRA_FILE. CatalogError names a file it cannot read."""
    builtin: list[Retirement] = []
    extra: list[Retirement] = []
    for c in catalogs:
        if c == "builtin":
            builtin += load_builtin()
        elif c not in ("none", ""):
            extra += load_extra(c)
    if extra_file:
        extra += load_extra(extra_file)
    return builtin, extra


def compose(
    builtin: Iterable[Retirement],
    extra: Iterable[Retirement] = (),
    *,
    feed: Iterable[Retirement] = (),
    needs_review: Iterable[ReviewItem] = (),
    feed_conflicts: Iterable[str] = (),
) -> Catalog:
    """The one place a scan's catalogue is put together: built-in + feed-derived + extra (merge
    rules in the module docstring), with the feed reader's own date disagreements listed first."""
    merged = merge(builtin, feed, extra, needs_review=needs_review)
    feed_conflicts = tuple(feed_conflicts)
    if feed_conflicts:
        merged = replace(merged, conflicts=feed_conflicts + tuple(merged.conflicts))
    return merged


def retirement_to_dict(r: Retirement) -> dict:
    """JSON-ready form of one retirement (dates as ISO strings)."""
    return {
        "id": r.id,
        "title": r.title,
        "series": list(r.series),
        "sizes": list(r.sizes),
        "retires_on": r.retires_on.isoformat(),
        "announced_on": r.announced_on.isoformat() if r.announced_on else None,
        "source": r.source,
        "urls": list(r.urls),
        "replacement_series": list(r.replacement_series),
        "region_exceptions": list(r.region_exceptions),
        "region_dates": {name: when.isoformat() for name, when in r.region_dates},
        "notes": r.notes,
        "modified": r.modified.isoformat() if r.modified else None,
        "capacity_restricted_from": r.capacity_restricted_from.isoformat() if r.capacity_restricted_from else None,
        "capacity_source": r.capacity_source,
    }
