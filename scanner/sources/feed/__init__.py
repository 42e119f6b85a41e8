"""Azure Updates: fetch announcements (JSON API or RSS) and read VM-size retirements out of them.

Two halves, as ARCHITECTURE.md asks:

* Pure (no I/O, no clock, no environment): ``parse_json``, ``parse_rss``, ``parse_feed`` turn a
  body into ``Announcement`` values; ``read_announcement`` reads one announcement into a
  ``Reading`` (entry / review / ignore, with the reason); ``derive_retirements`` reads them all
  and merges repeated announcements of the same retirement into one ``Retirement`` that keeps
  every source link. ``build_api_url`` builds the OData query.
* I/O: ``fetch`` (one source: URL or local file; paging, conditional GET, retries with backoff
  honouring Retry-After, watermark), ``fetch_with_fallback`` (primary, then fallback) and
  ``load_catalog`` (built-in + feed + extra file -> Catalog, never losing the built-in catalogue
  when the feed fails).

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

import email.utils
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from scanner.core import sizes
from scanner.core.model import Retirement, ReviewItem, ScopeError
from scanner.errors import FeedError, SizeNameError

log = logging.getLogger("scanner.feed")

RETIREMENTS_TAG = "Retirements"
UPDATE_URL = "https://azure.microsoft.com/updates?id={id}"
ID_PREFIX = "azure-updates-"

# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Announcement:
    """One Azure Updates item, whatever shape it came in (JSON API, RSS v2, legacy RSS)."""

    id: str
    title: str
    text: str  # description as plain text; blocks (paragraphs, list items) one per line
    url: str
    source: str  # where it was read from (URL or file), for messages
    created: datetime | None = None
    modified: datetime | None = None
    tags: tuple[str, ...] = ()  # JSON tags, or RSS categories
    products: tuple[str, ...] = ()
    availabilities: tuple[tuple[int, str], ...] = ()  # (year, "October")
    problems: tuple[str, ...] = ()  # fields that were missing or malformed

    @property
    def is_retirement(self) -> bool:
        if any(t.strip().lower() == RETIREMENTS_TAG.lower() for t in self.tags):
            return True
        return bool(_RETIREMENT_TITLE.match(self.title))


@dataclass(frozen=True)
class Reading:
    """What one announcement says about VM sizes."""

    kind: str  # "entry" | "review" | "ignore"
    reason: str = ""
    series: tuple[str, ...] = ()
    sizes: tuple[str, ...] = ()
    retires_on: date | None = None
    replacement_series: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class Derived:
    """The feed's contribution to the catalogue."""

    retirements: tuple[Retirement, ...] = ()
    needs_review: tuple[ReviewItem, ...] = ()
    conflicts: tuple[str, ...] = ()
    readings: dict[str, Reading] = field(default_factory=dict)  # announcement id -> reading


@dataclass(frozen=True)
class FeedResult:
    """What one fetch returned, plus what to keep for the next (incremental) fetch."""

    url: str
    items: tuple[Announcement, ...] = ()
    watermark: datetime | None = None  # newest `modified` seen (or the one passed in)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False  # the server answered 304: `items` are the previous ones
    pages: int = 0
    requests: int = 0


# --------------------------------------------------------------------------- HTML -> text

# Regular expressions rather than html.parser: descriptions are written by an editor (spans with
# inline styles around every word), and a 10,000-item feed must read in seconds.
_SKIP_RE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<!--.*?-->", re.S | re.I)
_ATTRS = r"""(?:[^>"']|"[^"]*"|'[^']*')*"""
_LI_RE = re.compile(rf"<li\b{_ATTRS}>", re.I)
_BLOCK_RE = re.compile(
    rf"</?(?:p|div|li|ul|ol|br|tr|table|h[1-6]|section|article|blockquote|dd|dt|hr)\b{_ATTRS}/?>", re.I)
_TAG_RE = re.compile(rf"</?[A-Za-z][\w:-]*{_ATTRS}/?>")


_TABLE_OPEN = re.compile(r"<table\b", re.I)
_TABLE_CLOSE = re.compile(r"</table\s*>", re.I)
_CELL_EDGE = re.compile(rf"</?t[dh]\b{_ATTRS}/?>", re.I)
_ROW_RE = re.compile(r"<tr\b.*?(?:</tr\s*>|(?=<tr\b)|$)", re.S | re.I)
_CELL_RE = re.compile(rf"<t([dh])\b{_ATTRS}>(.*?)(?=</t[dh]\s*>|<t[dh]\b|</tr|$)", re.S | re.I)


def _tables_to_text(html: str) -> str:
    """Every closed <table>...</table> through _table_to_text; one pass, linear in the length."""
    out, pos = [], 0
    while True:
        m = _TABLE_OPEN.search(html, pos)
        if not m:
            break
        end = _TABLE_CLOSE.search(html, m.end())
        if not end:
            break  # an unclosed table: its cells are kept apart by _CELL_EDGE below
        out += [html[pos:m.start()], _table_to_text(html[m.start():end.end()])]
        pos = end.end()
    out.append(html[pos:])
    return _CELL_EDGE.sub(" | ", "".join(out))


def _table_to_text(table: str) -> str:
    """A table as lines. With a header row, each cell is written "Header: cell" on its own line, so
    that a "Recommended replacement" column reads as replacement context and never runs into the
    retiring size beside it; without one, a row's cells are joined with " | "."""
    rows = []
    for row in _ROW_RE.findall(table):
        cells = [(kind.lower(), " ".join(html_to_text(c).split("\n"))) for kind, c in _CELL_RE.findall(row)]
        if cells:
            rows.append(cells)
    if not rows:
        return "\n"
    header: list[str] = []
    if all(kind == "h" for kind, _ in rows[0]):
        header = [text for _, text in rows.pop(0)]
    lines = []
    for cells in rows:
        if header and len(cells) == len(header):
            lines += [f"{h}: {text}" if h else text for h, (_, text) in zip(header, cells, strict=True) if text]
        else:
            lines.append(" | ".join(text for _, text in cells if text))
    return "\n" + "\n".join(lines) + "\n"


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one block (paragraph, list item, line) per line.

    List items start with a bullet so that readers can tie them to their lead-in line; table
    cells never run together (see _table_to_text)."""
    if not html:
        return ""
    if "<" in html:
        html = _SKIP_RE.sub("", html)
        if "<t" in html or "<T" in html:
            html = _tables_to_text(html)
        html = _LI_RE.sub("\n\u2022 ", html)
        html = _BLOCK_RE.sub("\n", html)
        html = _TAG_RE.sub("", html)
    if "&" in html:
        html = unescape(html)
    return _tidy(html)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u2060\u00ad\ufeff]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_HYPHENS = re.compile(r"[\u2010\u2011]")


def _tidy(text: str) -> str:
    # Lone surrogates ("\udcff" escapes in the JSON) cannot be encoded to UTF-8 later (store,
    # mail): replace them; non-breaking hyphens read as hyphens ("Fsv2\u2011series").
    if not text.isascii():
        text = _HYPHENS.sub("-", _SURROGATE.sub("\ufffd", _INVISIBLE.sub("", text)))
    text = _SPACES.sub(" ", text)
    return "\n".join(line for line in (x.strip() for x in text.split("\n")) if line and line != "\u2022")


def _title(raw: str) -> str:
    """A title as plain one-line text: entities decoded ("Dv5 &amp; Dsv5"), spaces tidied."""
    if "&" in raw:
        raw = unescape(raw)
    return " ".join(_tidy(raw).split())


# --------------------------------------------------------------------------- keeping items (pure)


def announcement_to_dict(a: Announcement) -> dict[str, Any]:
    """JSON-ready form, for a store that keeps feed items between incremental fetches."""
    return {
        "id": a.id, "title": a.title, "text": a.text, "url": a.url, "source": a.source,
        "created": a.created.isoformat() if a.created else None,
        "modified": a.modified.isoformat() if a.modified else None,
        "tags": list(a.tags), "products": list(a.products),
        "availabilities": [[y, m] for y, m in a.availabilities], "problems": list(a.problems),
    }


def announcement_from_dict(d: dict[str, Any], where: str = "stored item") -> Announcement:
    """Inverse of announcement_to_dict. Raises FeedError naming `where` and the field."""
    try:
        return Announcement(
            id=str(d["id"]), title=str(d["title"]), text=str(d["text"]), url=str(d.get("url", "")),
            source=str(d.get("source", "")),
            created=datetime.fromisoformat(d["created"]) if d.get("created") else None,
            modified=datetime.fromisoformat(d["modified"]) if d.get("modified") else None,
            tags=tuple(d.get("tags") or ()), products=tuple(d.get("products") or ()),
            availabilities=tuple((int(y), str(m)) for y, m in d.get("availabilities") or ()),
            problems=tuple(d.get("problems") or ()),
        )
    except KeyError as exc:
        raise FeedError(f"{where}: missing field {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise FeedError(f"{where} {d.get('id', '?')!r}: malformed ({exc})") from None


# --------------------------------------------------------------------------- parsing (pure)


def _decode(body: bytes | str, source: str, charset: str = "") -> str:
    if isinstance(body, str):
        return body
    for enc in filter(None, [charset.lower() if charset else "", "utf-8-sig"]):
        try:
            return body.decode(enc)
        except (UnicodeDecodeError, LookupError) as exc:
            if enc == "utf-8-sig":
                where = getattr(exc, "start", 0)
                raise FeedError(
                    f"{source}: body is not valid UTF-8 (byte 0x{body[where]:02x} at offset {where}); "
                    "the feed must be served as UTF-8"
                ) from None
    raise FeedError(f"{source}: body could not be decoded")  # pragma: no cover


def _parse_dt(value: Any) -> datetime | None:
    """ISO 8601 (JSON API, a10:updated) or RFC 822 (RSS pubDate, with 'Z' as zone), as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    raw = value.strip()
    m = _ISO_DT.match(raw)
    if m:
        try:
            dt = datetime.fromisoformat(m.group(1))
        except ValueError:
            return None
        frac = m.group(2) or ""
        if frac:  # .NET writes 7 fractional digits; keep microseconds
            dt = dt.replace(microsecond=int((frac[1:] + "000000")[:6]))
        zone = m.group(3) or "Z"
        if zone == "Z":
            return dt.replace(tzinfo=timezone.utc)
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:])) * sign
        return dt.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)
    try:
        dt = email.utils.parsedate_to_datetime(re.sub(r"\sZ$", " +0000", raw))
    except (TypeError, ValueError, IndexError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


_ISO_DT = re.compile(r"^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?)(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _strs(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v for v in value if v.strip())
    return None


def _url_for(item_id: str, link: str = "") -> str:
    if item_id.isdigit():
        return UPDATE_URL.format(id=item_id)
    return link or ""


def announcement_from_record(record: Any, source: str, index: int = 0) -> Announcement:
    """One JSON API record -> Announcement. Missing or malformed fields are kept as `problems`."""
    if not isinstance(record, dict):
        return Announcement(id=f"#{index}", title="", text="", url="", source=source,
                            problems=(f"item #{index} is a {type(record).__name__}, not an object",))
    problems: list[str] = []
    raw_id = record.get("id")
    if isinstance(raw_id, (str, int)) and str(raw_id).strip():
        item_id = str(raw_id).strip()
    else:
        item_id = f"#{index}"
        problems.append("missing field 'id'")
    title = record.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append("missing field 'title'")
        title = ""
    desc = record.get("description")
    if desc is None or (isinstance(desc, str) and not desc.strip()):
        problems.append("missing field 'description'")
        desc = ""
    elif not isinstance(desc, str):
        problems.append("field 'description' is not text")
        desc = ""
    tags = _strs(record.get("tags"))
    if tags is None:
        problems.append("field 'tags' is not a list of strings")
        tags = ()
    products = _strs(record.get("products")) or ()
    avail: list[tuple[int, str]] = []
    for a in record.get("availabilities") or []:
        if isinstance(a, dict) and isinstance(a.get("year"), int) and isinstance(a.get("month"), str):
            avail.append((a["year"], a["month"]))
    created = _parse_dt(record.get("created"))
    modified = _parse_dt(record.get("modified")) or created
    if record.get("modified") is not None and _parse_dt(record.get("modified")) is None:
        problems.append(f"field 'modified' is not a date: {str(record.get('modified'))[:40]!r}")
    return Announcement(
        id=item_id, title=_title(title), text=html_to_text(desc), url=_url_for(item_id),
        source=source, created=created, modified=modified, tags=tags, products=products,
        availabilities=tuple(avail), problems=tuple(problems),
    )


def parse_json(body: bytes | str, source: str = "<json>", charset: str = "") -> tuple[list[Announcement], str | None]:
    """OData page `{"value": [...], "@odata.nextLink": ...}` (or a bare list) -> (items, next link)."""
    text = _decode(body, source, charset)
    if not text.strip():
        raise FeedError(f"{source}: empty body (expected a JSON object with 'value')")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    next_link = None
    if isinstance(data, dict):
        if "value" not in data:
            raise FeedError(f"{source}: JSON object has no 'value' list (keys: {', '.join(sorted(data))[:200]})")
        records = data["value"]
        nl = data.get("@odata.nextLink")
        next_link = nl if isinstance(nl, str) and nl.strip() else None
    else:
        records = data
    if not isinstance(records, list):
        raise FeedError(f"{source}: 'value' is a {type(records).__name__}, not a list")
    return [announcement_from_record(r, source, i) for i, r in enumerate(records)], next_link


_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def parse_rss(body: bytes | str, source: str = "<rss>") -> list[Announcement]:
    """RSS 2.0: the v2 feed (numeric guid, categories, a10:updated) and the legacy
    azure.microsoft.com/updates/feed/ shape (slug guid, atom:content)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body.strip():
        raise FeedError(f"{source}: empty body (expected an RSS document)")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        line, col = exc.position
        raise FeedError(f"{source}: malformed XML ({exc.msg if hasattr(exc, 'msg') else exc}; "
                        f"line {line}, column {col})") from None
    if root.tag != "rss" or root.find("channel") is None:
        raise FeedError(f"{source}: XML root is <{root.tag}>, not an RSS <rss><channel> document")
    items = []
    for index, item in enumerate(root.iter("item")):
        problems = []
        guid = (item.findtext("guid") or "").strip()
        link = (item.findtext("link") or "").strip()
        link_id = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query)).get("id", "")
        item_id = guid or link_id or link.rstrip("/").rsplit("/", 1)[-1] or f"#{index}"
        if not guid:
            problems.append("missing field 'guid'")
        title = _title(item.findtext("title") or "")
        if not title:
            problems.append("missing field 'title'")
        desc = item.findtext("description") or ""
        if not desc.strip():
            desc = item.findtext(_CONTENT) or item.findtext(f"{_ATOM}content") or ""
        if not desc.strip():
            problems.append("missing field 'description'")
        cats = tuple((c.text or "").strip() for c in item.findall("category") if (c.text or "").strip())
        created = _parse_dt(item.findtext("pubDate"))
        modified = _parse_dt(item.findtext(f"{_ATOM}updated")) or created
        # "[Launched] Title" (v2 RSS) -> "Title"; the status stays a category.
        title = re.sub(r"^\[[^\]]{1,40}\]\s*", "", title) if not _RETIREMENT_TITLE.match(title) else title
        items.append(Announcement(
            id=item_id, title=title, text=html_to_text(desc), url=_url_for(item_id, link),
            source=source, created=created, modified=modified, tags=cats, problems=tuple(problems),
        ))
    return items


def parse_feed(body: bytes | str, source: str, content_type: str = "") -> tuple[list[Announcement], str | None]:
    """Either shape, told apart by the body itself (not by the URL)."""
    charset = ""
    m = re.search(r"charset=([\w-]+)", content_type or "", re.I)
    if m:
        charset = m.group(1)
    head = body[:512].lstrip() if isinstance(body, (bytes, str)) else b""
    if isinstance(head, bytes):
        head = head.lstrip(b"\xef\xbb\xbf")
        first = head[:1].decode("latin-1")
    else:
        head = head.lstrip("\ufeff")
        first = head[:1]
    if first in ("{", "["):
        return parse_json(body, source, charset)
    if first == "<":
        return parse_rss(body, source), None
    if not (body.strip() if isinstance(body, (bytes, str)) else body):
        raise FeedError(f"{source}: empty body (expected Azure Updates JSON or RSS)")
    raise FeedError(f"{source}: neither JSON nor XML (starts with {head[:20]!r})")


def build_api_url(base: str, *, tag: str | None = RETIREMENTS_TAG, watermark: datetime | None = None) -> str:
    """The JSON API URL with `$filter` on the tag and `modified ge <watermark>`.

    >>> build_api_url("https://x/api/v2/azure", watermark=datetime(2026, 1, 2, tzinfo=timezone.utc))
    "https://x/api/v2/azure?$filter=tags/any(t:%20t%20eq%20'Retirements')%20and%20modified%20ge%202026-01-02T00:00:00Z"
    """
    clauses = []
    if tag:
        clauses.append(f"tags/any(t: t eq '{tag.replace(chr(39), chr(39) * 2)}')")
    if watermark is not None:
        wm = watermark.astimezone(timezone.utc) if watermark.tzinfo else watermark
        clauses.append(f"modified ge {wm.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if not clauses:
        return base
    parts = urllib.parse.urlsplit(base)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True) if k != "$filter"]
    existing = dict(urllib.parse.parse_qsl(parts.query)).get("$filter")
    if existing:
        clauses.insert(0, f"({existing})")
    query.append(("$filter", " and ".join(clauses)))
    q = urllib.parse.urlencode(query, quote_via=urllib.parse.quote, safe="$/():',")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, q, parts.fragment))


def _looks_like_api(url: str) -> bool:
    path = urllib.parse.urlsplit(url).path.lower().rstrip("/")
    return path.endswith("/api/v2/azure")


# --------------------------------------------------------------------------- reading (pure)

_RETIREMENT_TITLE = re.compile(r"^\s*(\[retire\w*\]|retire\w*\s*:)", re.I)
_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_RE = (r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
             r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_MDY = re.compile(_MONTH_RE + r"\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})\b", re.I)
_DATE_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s+(?:of\s+)?|-)" + _MONTH_RE + r"(?:\s*,?\s*|-)(\d{4})\b", re.I)
_DATE_ISO = re.compile(r"(?<![\w/-])(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?![\w/-])")
# A date written as the one being replaced: "(previously May 1, 2028)", "originally planned for ...".
_SUPERSEDED = re.compile(r"\b(?:previously|originally|formerly|initially|instead of|rather than)\b[^.;:()]{0,30}$", re.I)
_DATE_NUM = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})/(\d{4})(?![\w/])")
_DATE_MY = re.compile(r"\b" + _MONTH_RE + r"\s+(?:of\s+)?(\d{4})\b", re.I)

_STRONG = re.compile(r"\bretir(?:e|es|ed|ing|ement|ements)\b|\bend[- ]of[- ](?:life|support|sale)\b"
                     r"|\bdeprecat\w*|\bdecommission\w*|\bsunset\w*|\bphas(?:e|ed|ing) out\b", re.I)
_WEAK = re.compile(r"\bstop\w*|\bno longer\b|\bdeallocat\w*|\bwill end\b|\bdisabled?\b|\bunavailable\b"
                   r"|\bcannot be (?:created|used|deployed)\b", re.I)
_RESERVATION = re.compile(r"\breserv(?:ed|ation|ations)\b|\bRIs?\b|\bsavings plans?\b", re.I)
_REPLACEMENT = re.compile(r"\brecommend\w*|\breplace\w*|\bmigrat\w*\s+(?:\w+\s+){0,6}?to\b|\bsucceeded by\b"
                          r"|\bsuccessor\w*|\bnewer\b|\binstead\b|\balternative\w*|\btransition\w* to\b"
                          r"|\bupgrad\w*\s+(?:[\w.-]+\s+){0,6}?to\b|\bmov(?:e|ing)\s+(?:[\w.-]+\s+){0,6}?to\b|\bswitch to\b"
                          r"|\bresiz\w*\s+(?:[\w.-]+\s+){0,6}?to\b|\bchange \w+ (?:\w+ ){0,4}to\b", re.I)
_EXTENDED = re.compile(r"\bextend\w*|\bpostpone\w*|\bdelay\w*|\bmoved\b|\bnew (?:retirement )?date\b|\bnow\b", re.I)
_OTHER_SUBJECT = re.compile(
    r"\bdrivers?\b|\bextensions?\b|\bagents?\b|\b(?:marketplace |OS |node |VM )?images?\b|\bOS\b|\boperating systems?\b"
    r"|\bKubernetes\b|\bAKS \d+(?:\.\d+)*|\bversions?\b|\b\d+\.(?:\d+|x)\b|\b(?:un)?managed disks?\b|\bdisks?\b"
    r"|\bpublic IPs?\b|\bIP address\w*|\bclassic\b|\bHPC Pack\b|\bWindows Server\b|\bWindows \d+\b|\bUbuntu\b"
    r"|\bRHEL\b|\bCentOS\b|\bSUSE\b|\bDebian\b|\bLinux\b|\bSQL Server\b|\bruntimes?\b|\bSDKs?\b|\bAPIs?\b"
    r"|\blow[- ]priority\b|\bSpot\b|\bhosts?\b|\bnodes?\b(?!\s+pools?)|\bCloud Services\b|\bLab Services\b"
    r"|\bExtended Security Updates\b|\bESU\b|\bcertificates?\b|\bTLS\b|\bprotocols?\b|\blicen[cs]\w*|\bfeatures?\b",
    re.I)
_LINK_WORD = re.compile(r"\b(?:for|on|in|with|using|running|of|across|from|supported)\b", re.I)
_NOT_AFFECTED = re.compile(
    r"\bnot (?:be )?(?:affected|impacted|retir\w*|included|in scope|part of this)\b|\bunaffected\b"
    r"|\b(?:remain|remains|continue|continues) (?:to be )?(?:available|supported|unaffected)\b", re.I)
_EXCEPT = re.compile(r"\bexcept\b|\bexcluding\b|\bother than\b|\bwith the exception of\b|\bapart from\b", re.I)
_TRUNCATED_SIZE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*[-_](?![A-Za-z0-9])")
_SIZE_RANGE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9_-]+\s+(?:through|thru|to|until|\u2013|\u2014|-)\s+"
                         r"(?:Standard|Basic)_[A-Za-z0-9_-]+", re.I)
_TRUNCATED_LIST = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9_-]+\s*,?\s*(?:\u2026|\.\.\.|\betc\b)")
_LIST_LEAD = re.compile(r"\bseries\b|\bsizes\b|\bSKUs\b", re.I)
_BARE_ITEM = re.compile(r"^[A-Z][A-Za-z0-9_]{0,23}(?:\s*(?:,|/|\band\b|\bor\b)\s*[A-Z][A-Za-z0-9_]{0,23}){0,9}\.?$")
_SIZE_TITLE = re.compile(r"\bseries\b|\bVM sizes?\b|\bvirtual machine sizes?\b|\bVM SKUs?\b|\bStandard_\w+", re.I)

# A VM size name: Standard_ + letters/digits/underscores/hyphens (constrained vCPU: DS11-1_v2).
_SIZE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*\b")
# A series token: starts with a family capital; may be "Basic A".
_TOKEN = r"(?:Basic[ _])?[A-Z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*(?: [A-Z]{1,3}\d+[A-Za-z]?)?(?: v\d+)?"
_SEP = r"(?:\s*,\s*(?:and\s+|or\s+|&\s+)?|\s*/\s*|\s+(?:and|or|&)\s+)"
# Words written between series names and "series": "Msv2/Mdsv2 Medium Memory series".
_DESCRIPTOR = (r"(?:\s+(?i:(?:very\s+)?high\s+memory|medium\s+memory|(?:memory|storage|compute)[\s-]optimi[sz]ed"
               r"|general[\s-]purpose|gpu(?:[\s-]accelerated)?|confidential|azure))?")
_LIST_RE = re.compile(
    rf"((?:{_TOKEN}(?i:-\s?series)?{_SEP})*{_TOKEN}){_DESCRIPTOR}\s*((?i:-\s?series\b|\s+series\b)|\s+SKUs?\b|\s+VMs?\b"
    rf"|\s+sizes\b|\s+virtual machines?\b)",
)
_FAMILY_START = set("ABDEFGHLMN")
_NOT_SERIES = {"VM", "VMS", "SKU", "SKUS", "AZURE", "THE", "AND", "OR", "GPU", "CPU", "AMD", "INTEL", "NVIDIA",
               "ARM", "HPC", "AI", "HDD", "SSD", "NVME", "OS", "API", "SLA", "RI", "RIS", "GA", "VMSS", "AKS",
               "AVS", "ML", "IAAS", "PAAS", "SAP", "BATCH", "LINUX", "WINDOWS", "NEW", "ALL", "ANY", "THESE",
               "THIS", "FOLLOWING", "OLDER", "LEGACY", "EXISTING", "SPOT", "LOW", "DEDICATED", "GENERAL"}


def _accepts(parse, *args) -> bool:
    """True when a sizes function reads `args` (and, for covers, answers yes); never raises."""
    try:
        return parse(*args) is not False
    except (SizeNameError, ValueError):
        return False


def _parse_series_ok(token: str) -> bool:
    return _accepts(sizes.parse_series, token)


def _normal_series(token: str) -> str:
    t = re.sub(r"-?\s*series$", "", token.strip(), flags=re.I).strip(" -")
    return t


def _split_list(chunk: str) -> list[str]:
    parts = re.split(_SEP, chunk)
    return [_normal_series(p) for p in parts if p and p.strip()]


_ANCHOR_WORD = re.compile(r"series|SKU|VM|sizes|virtual machine", re.I)
_VM_CONTEXT = re.compile(r"\bVMs?\b|\bvirtual machines?\b|\bStandard_", re.I)
_VERSIONED = re.compile(r"(?<![\w-])([A-Z]{1,3}[a-z]*(?:[A-Z]\d+[a-z]*|_[A-Z]\d+[a-z]*)?_?v\d+)(?![\w-])")


def _series_in(text: str, loose: bool = False) -> tuple[list[str], list[str]]:
    """Series named in `text` -> (accepted, rejected_by_sizes). Only anchored lists count:
    'X-series', 'X, Y and Z series', 'X VMs', and 'X, Y SKUs' in a line about VMs. With `loose`
    (replacement context), versioned names like 'Dsv5' count without an anchor."""
    accepted: list[str] = []
    rejected: list[str] = []
    for line in text.split("\n"):
        if not loose and not _ANCHOR_WORD.search(line):
            continue  # cheap test first: most lines name no series at all
        vm_line = bool(_VM_CONTEXT.search(line))
        candidates: list[tuple[str, bool]] = []
        for m in _LIST_RE.finditer(line):
            anchor = m.group(2).strip().lower()
            strong = "series" in anchor
            if anchor.startswith("sku") and not vm_line:
                continue  # "AV36 SKU", "Essential SKU": not a VM size
            candidates += [(t, strong) for t in _split_list(m.group(1))]
        if loose:
            candidates += [(m.group(1), False) for m in _VERSIONED.finditer(line)]
        for token, strong in candidates:
            if not token or token.upper() in _NOT_SERIES or token.split()[-1].upper() in _NOT_SERIES:
                continue
            first = token[6:] if token.lower().startswith("basic") else token
            if not first or first[0] not in _FAMILY_START or len(token) > 24:
                continue
            if not strong and not re.search(r"\d|^[A-Z]{1,3}s?$", first):
                continue  # weak anchors (SKUs/VMs) only take versioned or short family names
            if _parse_series_ok(token):
                if token not in accepted:
                    accepted.append(token)
            elif strong and token not in rejected:
                rejected.append(token)
    return accepted, rejected


def _is_size(name: str) -> bool:
    return _accepts(sizes.parse_size, name)


def _first_name(text: str) -> int | None:
    """Where the first VM size or series name in `text` starts (None when there is none)."""
    starts = [m.start() for m in (_SIZE.search(text), _VERSIONED.search(text)) if m]
    for m in _LIST_RE.finditer(text):
        if any(_parse_series_ok(t) for t in _split_list(m.group(1))):
            starts.append(m.start())
            break
    return min(starts) if starts else None


def _other_subject(text: str, whole: bool = False) -> str:
    """The thing a title or sentence retires when that is not a VM size: "driver" in "GRID driver
    13.x for NVv4 series VMs", "Ubuntu" in "Ubuntu 18.04 images on Dv2 VMs". Only what comes before
    the first size name counts, tied to it by "for/on/in/with/using..."; with `whole` (a title), a
    text naming no size at all counts too. "" when the text is about VM sizes."""
    if not _OTHER_SUBJECT.search(text):
        return ""
    body = _RETIREMENT_TITLE.sub("", text)
    first = _first_name(body)
    if first is None:
        if not whole:
            return ""
        m = _OTHER_SUBJECT.search(body)
        return m.group(0) if m else ""
    head = body[:first]
    m = _OTHER_SUBJECT.search(head)
    if not m or not _LINK_WORD.search(head, m.end()):
        return ""
    return m.group(0)


def _sizes_in(text: str) -> list[str]:
    out: list[str] = []
    for s in _SIZE.findall(text):
        if s.lower() not in {x.lower() for x in out}:
            out.append(s)
    return out


def _sentences(text: str) -> list[tuple[str, str]]:
    """(context, sentence) pairs. Context of a list item is its lead-in block ("...:")."""
    out: list[tuple[str, str]] = []
    lead = ""
    for block in text.split("\n"):
        is_item = block.startswith("\u2022")
        body = block.lstrip("\u2022 ").strip()
        if not body:
            continue
        if not is_item:
            lead = body if body.rstrip().endswith(":") else ""
        for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z(\"'])", body):
            out.append((lead if is_item else "", sentence))
    return out


def _month_num(name: str) -> int:
    key = name.lower().rstrip(".")
    for full, num in _MONTHS.items():
        if full.startswith(key[:3]):
            return num
    raise ValueError(name)


def _dates(text: str) -> tuple[list[date], list[tuple[int, int]], list[str]]:
    """Full dates, month-only dates and unreadable dates in `text`, in order."""
    found: list[tuple[int, date]] = []
    bad: list[str] = []
    spans: list[tuple[int, int]] = []
    for rx, order in ((_DATE_MDY, "mdy"), (_DATE_DMY, "dmy")):
        for m in rx.finditer(text):
            try:
                if order == "mdy":
                    d = date(int(m.group(3)), _month_num(m.group(1)), int(m.group(2)))
                else:
                    d = date(int(m.group(3)), _month_num(m.group(2)), int(m.group(1)))
            except ValueError:
                bad.append(m.group(0))
                continue
            spans.append(m.span())
            if not _SUPERSEDED.search(text, max(0, m.start() - 45), m.start()):
                found.append((m.start(), d))
    for m in _DATE_ISO.finditer(text):
        before = text[max(0, m.start() - 24):m.start()].lower()
        if "api" in before or "version" in before:
            continue  # "Batch API (2024-07-01 or later)" is a version, not a date
        try:
            d = date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
        except ValueError:
            bad.append(m.group(0))
            continue
        spans.append(m.span())
        if not _SUPERSEDED.search(text, max(0, m.start() - 45), m.start()):
            found.append((m.start(), d))
    for m in _DATE_NUM.finditer(text) if "/" in text else ():
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first <= 12 and second <= 12 and first != second:
            bad.append(m.group(0))  # 03/04/2031: March 4 or 3 April? Not guessed.
            continue
        month, day = (first, second) if first <= 12 else (second, first)
        try:
            d = date(year, month, day)
        except ValueError:
            bad.append(m.group(0))
            continue
        spans.append(m.span())
        if not _SUPERSEDED.search(text, max(0, m.start() - 45), m.start()):
            found.append((m.start(), d))
    months: list[tuple[int, int]] = []
    inside = {i for a, b in spans for i in range(a, b)}  # characters already read as a full date
    for m in _DATE_MY.finditer(text):
        if m.start() in inside or m.end() - 1 in inside:
            continue
        if re.search(r"\d\s*(?:st|nd|rd|th)?\s*(?:of\s*)?$", text[max(0, m.start() - 6):m.start()]):
            continue
        months.append((int(m.group(2)), _month_num(m.group(1))))
    found.sort()
    return [d for _, d in found], months, bad


def _pick_date(a: Announcement) -> tuple[date | None, str]:
    """(date, "") or (None, reason)."""
    title_dates, title_months, unread = _dates(a.title)
    distinct = sorted(set(title_dates))
    if len(distinct) == 1:
        return distinct[0], ""
    if len(distinct) > 1:
        return None, "the title names several dates: " + ", ".join(d.isoformat() for d in distinct)
    strong: list[tuple[date, bool]] = []
    weak: list[tuple[date, bool]] = []
    months: list[tuple[int, int]] = list(title_months)
    for lead, sentence in _sentences(a.text):
        ctx = f"{lead} {sentence}"
        if _RESERVATION.search(sentence):
            continue
        ds, ms, bad = _dates(sentence)
        if _STRONG.search(ctx) or _WEAK.search(ctx):
            unread += bad
        if not (ds or ms):
            continue
        cue = bool(_EXTENDED.search(sentence))  # once per sentence: a 1 MB "sentence" has many dates
        if _STRONG.search(ctx):
            strong += [(d, cue) for d in ds]
            months += ms
        elif _WEAK.search(ctx):
            weak += [(d, cue) for d in ds]
            months += ms
    for pool in (strong, weak):
        distinct = sorted({d for d, _ in pool})
        if len(distinct) == 1:
            return distinct[0], ""
        if len(distinct) > 1:
            cued = sorted({d for d, cue in pool if cue})
            if len(cued) == 1:
                return cued[0], ""
            return None, "the text gives several retirement dates: " + ", ".join(d.isoformat() for d in distinct)
    numeric = [x for x in unread if "/" in x]
    if numeric:
        return None, f"the date {numeric[0]} could be day/month or month/day; not guessed"
    if months:
        y, mo = months[0]
        return None, f"the text gives only a month ({date(y, mo, 1):%B %Y}), not a day"
    if a.availabilities:
        y, mo = a.availabilities[0]
        return None, f"no retirement date in the text; the record says only {mo} {y}"
    return None, "no retirement date in the title or description"


def _availability_note(a: Announcement, d: date) -> str:
    for y, month in a.availabilities:
        try:
            if (y, _month_num(month)) != (d.year, d.month):
                return f"record month {month} {y} differs from the date in the text ({d.isoformat()})"
        except ValueError:
            continue
    return ""


def read_announcement(a: Announcement) -> Reading:
    """What one announcement retires, read from its title and text (pure)."""
    if not a.is_retirement:
        return Reading("ignore", "not a retirement notice")
    if a.problems and (not a.title or not a.text or a.id.startswith("#")):
        # No title, no text or no id (a catalogue entry needs a stable id and a link): people read it.
        return Reading("review", f"{a.source} item {a.id}: " + "; ".join(a.problems))
    title = a.title
    if _RESERVATION.search(title) and not re.search(r"\bVMs?\b.{0,40}\bretir", title, re.I):
        return Reading("ignore", "reserved-instance notice: retires no size")
    other = _other_subject(title, whole=True)
    if other and _first_name(_RETIREMENT_TITLE.sub("", title)) is not None:
        return Reading("ignore", f"retires {other!r}, not a VM size")

    if not _ANCHOR_WORD.search(title) and not _ANCHOR_WORD.search(a.text) and "Standard_" not in a.text:
        return Reading("ignore", f"retires {other!r}, not a VM size" if other else "names no VM size or series")
    retiring_text: list[str] = [title]
    replacement_text: list[str] = []
    exceptions: list[str] = []
    for lead, sentence in _sentences(a.text):
        ctx = f"{lead} {sentence}"
        if _RESERVATION.search(sentence) and not _STRONG.search(sentence.split("reserv")[0]):
            continue
        if _NOT_AFFECTED.search(sentence) or _other_subject(sentence):
            continue  # "Standard_NC24rs_v3 is not affected"; "the GRID driver for NVv4 VMs retires"
        if lead and _LIST_LEAD.search(lead) and _BARE_ITEM.match(sentence) and not _ANCHOR_WORD.search(sentence):
            sentence += " series"  # "The following VM series will retire ...:" then "• Dv2", "• DSv2"
        if _REPLACEMENT.search(ctx) and not (_STRONG.search(sentence) and not _REPLACEMENT.search(sentence)):
            replacement_text.append(sentence)
        else:
            retiring_text.append(sentence)
            ex = _EXCEPT.search(sentence)
            if ex and (_SIZE.search(sentence, ex.end()) or _series_in(sentence[ex.end():], loose=True)[0]):
                exceptions.append(sentence[ex.start():][:80])

    sizes_found = _sizes_in("\n".join(retiring_text))
    title_series, title_rejected = _series_in(title)
    body_series, body_rejected = _series_in("\n".join(retiring_text[1:]))
    repl_series, _ = _series_in("\n".join(replacement_text), loose=True)
    repl_sizes = {s.lower() for s in _sizes_in("\n".join(replacement_text))}
    sizes_found = [s for s in sizes_found if s.lower() not in repl_sizes or s in _sizes_in(title)]

    cut = _TRUNCATED_SIZE.search("\n".join(retiring_text)) or _TRUNCATED_LIST.search("\n".join(retiring_text))
    sizes_found = [z for z in sizes_found if _is_size(z)]  # Standard_LRS, Standard_V2: not VM sizes

    series = title_series or body_series
    rejected = title_rejected if title_series or title_rejected else body_rejected
    replacement = tuple(s for s in repl_series if s.lower() not in {x.lower() for x in series + title_series})

    if other:
        # The title is about something else and names no size; sizes the text retires are odd.
        if sizes_found or series:
            return Reading("review", f"the title is about {other!r}, not VM sizes, but the text retires "
                           + ", ".join(sizes_found or series), series=tuple(series), sizes=tuple(sizes_found))
        return Reading("ignore", f"retires {other!r}, not a VM size")
    if not sizes_found and not series:
        if rejected:
            return Reading("review", "series name(s) not understood: " + ", ".join(rejected))
        if _SIZE_TITLE.search(title):
            return Reading("review", "the title speaks of VM series or sizes but names none that can be read")
        return Reading("ignore", "names no VM size or series")
    ranged = _SIZE_RANGE.search("\n".join(retiring_text))
    if ranged and sizes_found:
        return Reading("review", f"the text gives a range of sizes ({ranged.group(0)!r}); the sizes in between are "
                       "not named", series=tuple(series), sizes=tuple(sizes_found))
    if cut and (sizes_found or series):
        return Reading("review", f"the size list looks cut off at {cut.group(0)!r}",
                       series=tuple(series), sizes=tuple(sizes_found))
    if exceptions:
        return Reading("review", f"the text makes exceptions a catalogue entry cannot express: {exceptions[0]!r}",
                       series=tuple(series), sizes=tuple(sizes_found))
    when, why = _pick_date(a)
    if when is None:
        names = ", ".join(sizes_found or series)
        return Reading("review", f"{why} (sizes: {names})", series=tuple(series), sizes=tuple(sizes_found))
    note = _availability_note(a, when)
    if rejected and not sizes_found:
        return Reading("review", "series name(s) not understood: " + ", ".join(rejected),
                       series=tuple(series), retires_on=when)
    if sizes_found:
        return Reading("entry", series=(), sizes=tuple(sizes_found), retires_on=when,
                       replacement_series=replacement, notes=note)
    return Reading("entry", series=tuple(series), retires_on=when, replacement_series=replacement, notes=note)


# --------------------------------------------------------------------------- merging (pure)


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
    """Does reading `r` name everything entry `e` holds (so that its date may replace e's)?"""
    return all(_overlap([s], [], r.series, r.sizes) for s in e.series) and all(
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
        r = read_announcement(a)
        readings[a.id] = r
        conflicts += _version_conflicts(a, r, versions.get(a.id, ()))
        if r.kind == "review":
            review.append(ReviewItem(id=a.id, title=a.title or f"(untitled item {a.id})", url=a.url, reason=r.reason))
            continue
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


# --------------------------------------------------------------------------- fetching (I/O)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_BODY_BYTES = 64 * 1024 * 1024


def _retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, when.timestamp() - now())


def _safe(url: str) -> str:
    """A URL fit for messages: no query string (it may carry a SAS token or key)."""
    parts = urllib.parse.urlsplit(url)
    if not parts.scheme or parts.scheme == "file":
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _is_remote(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


def _read_file(location: str) -> bytes:
    path = Path(urllib.parse.urlsplit(location).path if location.startswith("file://") else location)
    try:
        size = path.stat().st_size
        if size > MAX_BODY_BYTES:
            raise FeedError(f"{path}: {size} bytes is more than the {MAX_BODY_BYTES} byte limit")
        return path.read_bytes()
    except FileNotFoundError:
        raise FeedError(f"{path}: no such file (give a feed URL or an existing JSON/RSS file)") from None
    except IsADirectoryError:
        raise FeedError(f"{path}: is a directory, not a feed file") from None
    except OSError as exc:
        raise FeedError(f"{path}: cannot read ({exc.strerror})") from None


class _Http:
    """GET with timeouts, retries on 429/5xx and connection errors (honouring Retry-After)."""

    def __init__(self, session: Any, timeout: float | tuple[float, float], retries: int, backoff: float,
                 max_wait: float, sleep: Callable[[float], None]) -> None:
        import requests  # I/O dependency: imported where I/O happens

        from scanner import USER_AGENT

        self.requests = requests
        self.session = session or requests.Session()
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.max_wait = max_wait
        self.sleep = sleep
        self.count = 0
        self.user_agent = USER_AGENT

    def get(self, url: str, headers: dict[str, str]) -> Any:
        headers = {"User-Agent": self.user_agent, "Accept": "application/json, application/rss+xml, text/xml;q=0.9",
                   **headers}
        last = ""
        for attempt in range(self.retries + 1):
            self.count += 1
            try:
                resp = self.session.get(url, headers=headers, timeout=self.timeout, stream=True,
                                        allow_redirects=True)
            except self.requests.RequestException as exc:
                last = f"{type(exc).__name__}"
                wait = self.backoff * (2 ** attempt)
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                last = f"HTTP {resp.status_code}"
                hinted = _retry_after(resp.headers.get("Retry-After"))
                wait = hinted if hinted is not None else self.backoff * (2 ** attempt)
                resp.close()
            if attempt == self.retries:
                break
            wait = min(wait, self.max_wait)
            log.info("feed: %s from %s; retry %d/%d in %.1fs", last, _safe(url), attempt + 1, self.retries, wait)
            self.sleep(wait)
        raise FeedError(f"{_safe(url)}: {last} after {self.retries + 1} attempt{'s' if self.retries else ''}")

    def body(self, resp: Any, url: str) -> bytes:
        chunks, total = [], 0
        try:
            for chunk in resp.iter_content(65536):
                total += len(chunk)
                if total > MAX_BODY_BYTES:
                    raise FeedError(f"{_safe(url)}: body exceeds the {MAX_BODY_BYTES} byte limit")
                chunks.append(chunk)
        except self.requests.RequestException as exc:
            raise FeedError(f"{_safe(url)}: connection failed while reading the body ({type(exc).__name__})") from None
        finally:
            resp.close()
        return b"".join(chunks)


def _after(items: Iterable[Announcement], watermark: datetime | None) -> list[Announcement]:
    if watermark is None:
        return list(items)
    wm = watermark if watermark.tzinfo else watermark.replace(tzinfo=timezone.utc)
    return [a for a in items if (a.modified or a.created) is None or (a.modified or a.created) >= wm]


def fetch(
    location: str,
    *,
    watermark: datetime | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    previous: Sequence[Announcement] = (),
    tag: str | None = RETIREMENTS_TAG,
    session: Any = None,
    timeout: float | tuple[float, float] = (10.0, 60.0),
    retries: int = 4,
    backoff: float = 1.0,
    max_wait: float = 120.0,
    max_pages: int = 200,
    sleep: Callable[[float], None] = time.sleep,
) -> FeedResult:
    """Fetch announcements from one source: an http(s) URL or a local JSON/RSS file.

    For the JSON API (a URL ending in /api/v2/azure) the `$filter` asks for `tag` and, with a
    watermark, for `modified ge <watermark>`; every `@odata.nextLink` page is followed. RSS has
    no server-side filter: items older than the watermark are dropped here. The ETag and
    Last-Modified of the first page are sent back as If-None-Match / If-Modified-Since; a 304
    returns `previous` with `not_modified=True`. Raises FeedError naming the source.
    """
    if not _is_remote(location):
        body = _read_file(location)
        items, _ = parse_feed(body, location)
        items = _after(items, watermark)
        return FeedResult(url=location, items=tuple(items), watermark=_newest(items, watermark), pages=1)

    http = _Http(session, timeout, retries, backoff, max_wait, sleep)
    url = build_api_url(location, tag=tag, watermark=watermark) if _looks_like_api(location) else location
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    items: list[Announcement] = []
    seen_links: set[str] = set()
    pages = 0
    new_etag, new_lm = etag, last_modified
    while url:
        if pages >= max_pages:
            raise FeedError(f"{_safe(location)}: more than {max_pages} pages; stopping (check @odata.nextLink)")
        if url in seen_links:
            raise FeedError(f"{_safe(location)}: @odata.nextLink repeats page {_safe(url)}; stopping")
        seen_links.add(url)
        resp = http.get(url, headers if pages == 0 else {})
        if resp.status_code == 304 and pages == 0:
            resp.close()
            log.info("feed: %s not modified (304); keeping %d previous items", _safe(location), len(previous))
            return FeedResult(url=location, items=tuple(previous), watermark=watermark, etag=etag,
                              last_modified=last_modified, not_modified=True, pages=0, requests=http.count)
        if resp.status_code != 200:
            resp.close()
            raise FeedError(f"{_safe(url)}: HTTP {resp.status_code} (expected 200)")
        if pages == 0:
            new_etag = resp.headers.get("ETag") or None
            new_lm = resp.headers.get("Last-Modified") or None
        body = http.body(resp, url)
        page_items, next_link = parse_feed(body, _safe(url), resp.headers.get("Content-Type", ""))
        items += page_items
        pages += 1
        url = urllib.parse.urljoin(url, next_link) if next_link else ""
    items = _after(items, watermark)
    log.info("feed: %d items from %s, %d page(s), %d request(s)", len(items), _safe(location), pages, http.count)
    return FeedResult(url=location, items=tuple(items), watermark=_newest(items, watermark), etag=new_etag,
                      last_modified=new_lm, pages=pages, requests=http.count)


def _newest(items: Iterable[Announcement], watermark: datetime | None) -> datetime | None:
    stamps = [a.modified or a.created for a in items if (a.modified or a.created) is not None]
    if watermark is not None:
        stamps.append(watermark if watermark.tzinfo else watermark.replace(tzinfo=timezone.utc))
    return max(stamps) if stamps else None


def fetch_with_fallback(locations: Sequence[str], **kwargs: Any) -> tuple[FeedResult | None, list[ScopeError]]:
    """Try each source in turn (primary JSON API, then RSS). Returns the first that worked (or
    None) and one ScopeError per source that failed. ETag/Last-Modified are only sent to the
    primary source (they belong to it)."""
    errors: list[ScopeError] = []
    for i, location in enumerate(loc for loc in locations if loc):
        args = dict(kwargs)
        if i > 0:
            args.pop("etag", None)
            args.pop("last_modified", None)
        try:
            result = fetch(location, **args)
        except FeedError as exc:
            log.warning("feed: %s", exc)
            errors.append(ScopeError(scope=f"feed:{_safe(location)}", error=str(exc)))
            continue
        return result, errors
    return None, errors


# --------------------------------------------------------------------------- the catalogue


def load_catalog(
    settings: Any = None,
    today: date | None = None,
    *,
    feed: Sequence[str] | str | None = None,
    catalogs: Sequence[str] = ("builtin",),
    extra_file: str | None = None,
    session: Any = None,
    fetch_options: dict[str, Any] | None = None,
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
    """
    from scanner.core import catalog as cat

    if feed is None:
        feed = [settings.feed_url, settings.feed_fallback_url] if settings is not None else []
    sources = [feed] if isinstance(feed, str) else list(feed)
    sources = [s for s in sources if s]
    if extra_file is None and settings is not None:
        extra_file = getattr(settings, "catalog_extra_file", "") or ""

    builtin: list[Retirement] = []
    extra: list[Retirement] = []
    for c in catalogs:
        if c == "builtin":
            builtin += cat.load_builtin()
        elif c in ("none", ""):
            continue
        else:
            extra += cat.load_extra(c)
    if extra_file:
        extra += cat.load_extra(extra_file)

    errors: list[ScopeError] = []
    derived = Derived()
    if sources:
        result, errors = fetch_with_fallback(sources, session=session, **(fetch_options or {}))
        if result is not None:
            derived = derive_retirements(result.items)
            log.info("feed: %d retirement(s), %d to review, %d conflict(s) from %d item(s)",
                     len(derived.retirements), len(derived.needs_review), len(derived.conflicts),
                     len(result.items))
        else:
            log.warning("feed: no source could be read; using the catalogue without the feed")
    catalog = cat.merge(builtin, list(derived.retirements), extra, needs_review=derived.needs_review)
    if derived.conflicts:
        catalog = replace(catalog, conflicts=tuple(derived.conflicts) + tuple(catalog.conflicts))
    return catalog, errors




__all__ = [
    "Announcement", "Derived", "FeedResult", "Reading", "announcement_from_dict", "announcement_to_dict",
    "build_api_url", "derive_retirements", "fetch",
    "fetch_with_fallback", "html_to_text", "load_catalog", "parse_feed", "parse_json", "parse_rss",
    "read_announcement",
]


