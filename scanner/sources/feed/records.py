"""Feed records: a body (Azure Updates JSON API page, RSS v2, legacy RSS) -> ``Announcement`` values.

Pure: no I/O, no clock. One bad record never sinks the page: a record whose fields are missing or
malformed (``availabilities: 5``, a ``modified`` with a +24:00 offset, a title that is a number)
still becomes an ``Announcement`` with the problems listed in ``problems``; the reader sends such a
retirement notice to needs-review with its id. Only a body that is not a feed at all (not JSON,
not RSS, not UTF-8, no ``value`` list) is a ``FeedError`` naming the source, which the fetcher turns
into a scope error and the fallback URL.

    parse_feed(body, source, content_type="") -> (announcements, next link or None)
    parse_json(body, source, charset="")      -> (announcements, next link or None)
    parse_rss(body, source)                   -> announcements
    announcement_from_record(record, source, index) -> Announcement
    announcement_to_dict / announcement_from_dict      the stored form (feed snapshot)
    html_to_text(html) -> str                 one block per line; linear in the length
"""

from __future__ import annotations

import email.utils
import json
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import unescape
from typing import Any
from xml.etree import ElementTree as ET

from scanner.errors import FeedError

RETIREMENTS_TAG = "Retirements"
UPDATE_URL = "https://azure.microsoft.com/updates?id={id}"
MAX_ID = 128  # an item id longer than this is not an Azure Updates id (they are digits or a slug)
# A title that says VMs retire, tagged or not: "Nested confidential (cc_v5) VMs will be retired on
# September 1, 2026" (the Learn retirements table lists DCas_cc_v5/DCads_cc_v5 and ECas_cc_v5/ECads_cc_v5
# as retiring 09/01/26: /work/shared/reference/docs/azure-compute-docs__sizes_lifecycle_retirements-and-capacity-restrictions.md).
TITLE_SAYS_VMS_RETIRE = re.compile(
    r"\b(?:VMs?|virtual machines?|VM sizes?|VM SKUs?|VM series)\b[^.:;]{0,80}?\b(?:retir\w{0,10}|end of life|deprecat\w{0,10})\b"
    r"|\bretir(?:e|es|ed|ing)\b[^.:;]{0,80}?\b(?:VMs?|virtual machines?|VM sizes?|VM SKUs?)\b", re.I)
_RETIREMENT_TITLE = re.compile(r"^\s{0,8}(\[retire\w{0,40}\]|retire\w{0,40}\s{0,8}:)", re.I)


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
        return bool(_RETIREMENT_TITLE.match(self.title) or TITLE_SAYS_VMS_RETIRE.search(self.title))


# --------------------------------------------------------------------------- HTML -> text

# Regular expressions rather than html.parser: descriptions are written by an editor (spans with
# inline styles around every word), and a 10,000-item feed must read in seconds.
_SKIP_OPEN = re.compile(r"<!--|<(script|style)\b", re.I)
_SKIP_CLOSE = {"": re.compile(r"-->"), "script": re.compile(r"</script\s{0,64}>", re.I),
               "style": re.compile(r"</style\s{0,64}>", re.I)}
# A tag never runs past the next "<" (not even inside quotes): a body of unclosed tags ("<a <a <a")
# is then read in one pass instead of one pass per "<" (tests/unit/test_feed_linear.py).
_ATTRS = r"""(?:[^<>"']|"[^"<]{0,4000}"|'[^'<]{0,4000}'){0,4000}"""
_LI_RE = re.compile(rf"<li\b{_ATTRS}>", re.I)
_BLOCK_RE = re.compile(
    rf"</?(?:p|div|li|ul|ol|br|tr|table|h[1-6]|section|article|blockquote|dd|dt|hr)\b{_ATTRS}/?>", re.I)
_TAG_RE = re.compile(rf"</?[A-Za-z][\w:-]{{0,64}}{_ATTRS}/?>")


_TABLE_OPEN = re.compile(r"<table\b", re.I)
_TABLE_CLOSE = re.compile(r"</table\s{0,64}>", re.I)
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


def _strip_skipped(html: str) -> str:
    """Comments, scripts and styles out, in one pass: each opening is searched for once and its close
    once (a regex with `.*?` would rescan the rest of the body for every unclosed "<!--"). An
    unclosed one is left as it is, and nothing after it is skipped."""
    out, pos = [], 0
    while True:
        m = _SKIP_OPEN.search(html, pos)
        if not m:
            break
        end = _SKIP_CLOSE[(m.group(1) or "").lower()].search(html, m.end())
        if not end:
            break
        out.append(html[pos:m.start()])
        pos = end.end()
    out.append(html[pos:])
    return "".join(out)


def html_to_text(html: str) -> str:
    """Plain text of an HTML fragment: one block (paragraph, list item, line) per line.

    List items start with a bullet so that readers can tie them to their lead-in line; table
    cells never run together (see _table_to_text)."""
    if not html:
        return ""
    if "<" in html:
        html = _strip_skipped(html)
        if "<t" in html or "<T" in html:
            html = _tables_to_text(html)
        html = _LI_RE.sub("\n\u2022 ", html)
        html = _BLOCK_RE.sub("\n", html)
        html = _TAG_RE.sub("", html)
    if "&" in html:
        html = unescape(html)
    return _tidy(html)


_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")  # one run per match: linear
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
    """ISO 8601 (JSON API, a10:updated) or RFC 822 (RSS pubDate, with 'Z' as zone), as UTC; None
    when it is not a date this reader can place in time (a +24:00 offset, year 0, month 13)."""
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    try:
        return _parse_dt_text(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _parse_dt_text(raw: str) -> datetime | None:
    m = _ISO_DT.match(raw)
    if m:
        dt = datetime.fromisoformat(m.group(1))
        frac = m.group(2) or ""
        if frac:  # .NET writes 7 fractional digits; keep microseconds
            dt = dt.replace(microsecond=int((frac[1:] + "000000")[:6]))
        zone = m.group(3) or "Z"
        if zone == "Z":
            return dt.replace(tzinfo=timezone.utc)
        sign = 1 if zone[0] == "+" else -1
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:])) * sign
        return dt.replace(tzinfo=timezone(offset)).astimezone(timezone.utc)  # |offset| >= 24h: ValueError
    dt = email.utils.parsedate_to_datetime(re.sub(r"\sZ$", " +0000", raw))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def _show(value: Any) -> str:
    """A field's value for a problem message: short, never the whole of a big or nested value."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return repr(value if not isinstance(value, str) else value[:40])
    return f"a {type(value).__name__}"


_ISO_DT = re.compile(r"^(\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?)(\.\d{1,12})?(Z|[+-]\d{2}:?\d{2})?$")


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


def _printable_id(text: str) -> bool:
    """An id fit for keys and messages: printable, valid Unicode (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return text.isprintable()


def announcement_from_record(record: Any, source: str, index: int = 0) -> Announcement:
    """One JSON API record -> Announcement. Missing or malformed fields are kept as `problems`."""
    if not isinstance(record, dict):
        return Announcement(id=f"#{index}", title="", text="", url="", source=source,
                            problems=(f"item #{index} is a {type(record).__name__}, not an object",))
    problems: list[str] = []
    raw_id = record.get("id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool) and 0 <= raw_id < 10**18:
        raw_id = str(raw_id)
    if isinstance(raw_id, str) and raw_id.strip() and len(raw_id.strip()) <= MAX_ID and _printable_id(raw_id.strip()):
        item_id = raw_id.strip()
    else:
        item_id = f"#{index}"
        problems.append("missing field 'id'" if raw_id is None else f"field 'id' is {_show(raw_id)}, not an item id")
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
    raw_avail = record.get("availabilities")
    if raw_avail is not None and not isinstance(raw_avail, list):
        problems.append(f"field 'availabilities' is {_show(raw_avail)}, not a list")
    for a in raw_avail if isinstance(raw_avail, list) else ():
        if (isinstance(a, dict) and isinstance(a.get("year"), int) and not isinstance(a.get("year"), bool)
                and 1 <= a["year"] <= 9999 and isinstance(a.get("month"), str)):
            avail.append((a["year"], a["month"][:20]))
        else:
            problems.append(f"an entry of field 'availabilities' is not {{year, month}}: {_show(a)}")
            break
    created = _parse_dt(record.get("created"))
    if record.get("created") is not None and created is None:
        problems.append(f"field 'created' is not a date: {_show(record.get('created'))}")
    modified = _parse_dt(record.get("modified"))
    if record.get("modified") is not None and modified is None:
        problems.append(f"field 'modified' is not a date: {_show(record.get('modified'))}")
    modified = modified or created
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
    except RecursionError:
        raise FeedError(f"{source}: JSON nested too deeply to be an Azure Updates page") from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise FeedError(f"{source}: not valid JSON ({exc})") from None
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
    return [_record_safely(r, source, i) for i, r in enumerate(records)], next_link


_UNREADABLE = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, OverflowError,
               UnicodeError)


def _record_safely(record: Any, source: str, index: int) -> Announcement:
    """announcement_from_record, except that a record it trips over is kept as an item with the
    problem (people review it) instead of sinking the page. The property tests found none left."""
    try:
        return announcement_from_record(record, source, index)
    except _UNREADABLE as exc:
        raw_id = record.get("id") if isinstance(record, dict) else None
        item_id = raw_id.strip() if isinstance(raw_id, str) and 0 < len(raw_id.strip()) <= MAX_ID else f"#{index}"
        return Announcement(id=item_id, title="", text="", url=_url_for(item_id), source=source,
                            problems=(f"item #{index} could not be read ({type(exc).__name__})",))


_ATOM = "{http://www.w3.org/2005/Atom}"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"


def parse_rss(body: bytes | str, source: str = "<rss>") -> list[Announcement]:
    """RSS 2.0: the v2 feed (numeric guid, categories, a10:updated) and the legacy
    azure.microsoft.com/updates/feed/ shape (slug guid, atom:content)."""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")  # a lone surrogate reads as "?" rather than failing
    if not body.strip():
        raise FeedError(f"{source}: empty body (expected an RSS document)")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        line, col = exc.position
        raise FeedError(f"{source}: malformed XML ({exc.msg if hasattr(exc, 'msg') else exc}; "
                        f"line {line}, column {col})") from None
    except (LookupError, ValueError, RecursionError) as exc:  # <?xml encoding="..."?> naming no codec
        raise FeedError(f"{source}: XML that cannot be read ({type(exc).__name__}: {str(exc)[:80]})") from None
    if root.tag != "rss" or root.find("channel") is None:
        raise FeedError(f"{source}: XML root is <{root.tag}>, not an RSS <rss><channel> document")
    items = []
    for index, item in enumerate(root.iter("item")):
        problems = []
        guid = (item.findtext("guid") or "").strip()
        link = (item.findtext("link") or "").strip()
        try:
            link_id = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link).query)).get("id", "")
        except ValueError:  # "http://[" : not a URL
            link_id, link = "", ""
            problems.append("field 'link' is not a URL")
        item_id = guid or link_id or link.rstrip("/").rsplit("/", 1)[-1] or f"#{index}"
        if not guid:
            problems.append("missing field 'guid'")
        if len(item_id) > MAX_ID:
            problems.append(f"field 'guid' is {len(item_id)} characters long, not an item id")
            item_id = f"#{index}"
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

