"""Reading one announcement: ``Announcement`` -> ``Reading`` (entry / review / ignore, with the reason).

Pure. The reading rules are in this package's docstring (scanner/sources/feed/__init__.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from scanner.core import sizes
from scanner.errors import SizeNameError
from scanner.sources.feed.records import _RETIREMENT_TITLE, TITLE_SAYS_VMS_RETIRE, Announcement


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


_MONTHS = {m: i for i, m in enumerate(
    ["january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"], start=1)}
_MONTH_RE = (r"(Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
             r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?")
_DATE_MDY = re.compile(_MONTH_RE + r"\s{1,8}(\d{1,2})(?:st|nd|rd|th)?\s{0,8},?\s{0,8}(\d{4})\b", re.I)
_DATE_DMY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th)?(?:\s{1,8}(?:of\s{1,8})?|-)" + _MONTH_RE + r"(?:\s{0,8},?\s{0,8}|-)(\d{4})\b", re.I)
_DATE_ISO = re.compile(r"(?<![\w/-])(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?![\w/-])")
# A date written as the one being replaced: "(previously May 1, 2028)", "originally planned for ...".
_SUPERSEDED = re.compile(r"\b(?:previously|originally|formerly|initially|instead of|rather than"
                         r"|(?:postponed|moved|extended|delayed|pushed back|changed|shifted) from)\b[^.;:()]{0,30}$", re.I)
_DATE_NUM = re.compile(r"(?<![\w/.])(\d{1,2})/(\d{1,2})/(\d{4})(?![\w/])")
_DATE_MY = re.compile(r"\b" + _MONTH_RE + r"\s{1,8}(?:of\s{1,8})?(\d{4})\b", re.I)

_STRONG = re.compile(r"\bretir(?:e|es|ed|ing|ement|ements)\b|\bend[- ]of[- ](?:life|support|sale)\b"
                     r"|\bdeprecat\w{0,40}|\bdecommission\w{0,40}|\bsunset\w{0,40}|\bphas(?:e|ed|ing) out\b", re.I)
_WEAK = re.compile(r"\bstop\w{0,40}|\bno longer\b|\bdeallocat\w{0,40}|\bwill end\b|\bdisabled?\b|\bunavailable\b"
                   r"|\bcannot be (?:created|used|deployed)\b", re.I)
_RESERVATION = re.compile(r"\breserv(?:ed|ation|ations)\b|\bRIs?\b|\bsavings plans?\b", re.I)
_REPLACEMENT = re.compile(r"\brecommend\w{0,40}|\breplace\w{0,40}|\bmigrat\w{0,40}\s{1,8}(?:\w{1,40}\s{1,8}){0,6}?to\b|\bsucceeded by\b"
                          r"|\bsuccessor\w{0,40}|\bnewer\b|\binstead\b|\balternative\w{0,40}|\btransition\w{0,40} to\b"
                          r"|\bupgrad\w{0,40}\s{1,8}(?:[\w.-]{1,40}\s{1,8}){0,6}?to\b|\bmov(?:e|ing)\s{1,8}(?:[\w.-]{1,40}\s{1,8}){0,6}?to\b|\bswitch to\b"
                          r"|\bresiz\w{0,40}\s{1,8}(?:[\w.-]{1,40}\s{1,8}){0,6}?to\b|\bchange \w{1,40} (?:\w{1,40} ){0,4}to\b", re.I)
_EXTENDED = re.compile(r"\bextend\w{0,40}|\bpostpone\w{0,40}|\bdelay\w{0,40}|\bmoved\b|\bnew (?:retirement )?date\b|\bnow\b", re.I)
_OTHER_SUBJECT = re.compile(
    r"\bdrivers?\b|\bextensions?\b|\bagents?\b|\b(?:marketplace |OS |node |VM )?images?\b|\bOS\b|\boperating systems?\b"
    r"|\bKubernetes\b|\bAKS \d{1,4}(?:\.\d{1,4}){0,6}|\bversions?\b|\b\d{1,4}\.(?:\d{1,4}|x)\b|\b(?:un)?managed disks?\b|\bdisks?\b"
    r"|\bpublic IPs?\b|\bIP address\w{0,40}|\bclassic\b|\bHPC Pack\b|\bWindows Server\b|\bWindows \d{1,4}\b|\bUbuntu\b"
    r"|\bRHEL\b|\bCentOS\b|\bSUSE\b|\bDebian\b|\bLinux\b|\bSQL Server\b|\bruntimes?\b|\bSDKs?\b|\bAPIs?\b"
    r"|\blow[- ]priority\b|\bSpot\b|\bhosts?\b|\bnodes?\b(?!\s{1,8}pools?)|\bCloud Services\b|\bLab Services\b"
    r"|\bExtended Security Updates\b|\bESU\b|\bcertificates?\b|\bTLS\b|\bprotocols?\b|\blicen[cs]\w{0,40}|\bfeatures?\b",
    re.I)
_LINK_WORD = re.compile(r"\b(?:for|on|in|with|using|running|of|across|from|supported)\b", re.I)
_NOT_AFFECTED = re.compile(
    r"\bnot (?:be )?(?:affected|impacted|retir\w{0,40}|included|in scope|part of this)\b|\bunaffected\b"
    r"|\b(?:remain|remains|continue|continues) (?:to be )?(?:available|supported|unaffected)\b", re.I)
_EXCEPT = re.compile(r"\bexcept\b|\bexcluding\b|\bother than\b|\bwith the exception of\b|\bapart from\b", re.I)
_TRUNCATED_SIZE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9]{0,40}(?:[-_][A-Za-z0-9]{1,40}){0,8}[-_](?![A-Za-z0-9])")
_SIZE_RANGE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9_-]{1,40}\s{1,8}(?:through|thru|to|until|\u2013|\u2014|-)\s{1,8}"
                         r"(?:Standard|Basic)_[A-Za-z0-9_-]{1,40}", re.I)
_TRUNCATED_LIST = re.compile(r"\b(?:Standard|Basic)_[A-Za-z0-9_-]{1,40}\s{0,8},?\s{0,8}(?:\u2026|\.\.\.|\betc\b)")
_LIST_LEAD = re.compile(r"\bseries\b|\bsizes\b|\bSKUs\b", re.I)
_BARE_ITEM = re.compile(r"^[A-Z][A-Za-z0-9_]{0,23}(?:\s{0,8}(?:,|/|\band\b|\bor\b)\s{0,8}[A-Z][A-Za-z0-9_]{0,23}){0,9}\.?$")
_SIZE_TITLE = re.compile(r"\bseries\b|\bVM sizes?\b|\bvirtual machine sizes?\b|\bVM SKUs?\b|\bStandard_\w{1,40}", re.I)

# A VM size name: Standard_ + letters/digits/underscores/hyphens (constrained vCPU: DS11-1_v2).
_SIZE = re.compile(r"\b(?:Standard|Basic)_[A-Za-z][A-Za-z0-9]{0,40}(?:[-_][A-Za-z0-9]{1,40}){0,8}\b")
# A series token: starts with a family capital; may be "Basic A".
_TOKEN = r"(?:Basic[ _])?[A-Z][A-Za-z0-9]{0,40}(?:_[A-Za-z0-9]{1,40}){0,8}(?: [A-Z]{1,3}\d{1,4}[A-Za-z]?)?(?: v\d{1,4})?"
_SEP = r"(?:\s{0,8},\s{0,8}(?:and\s{1,8}|or\s{1,8}|&\s{1,8})?|\s{0,8}/\s{0,8}|\s{1,8}(?:and|or|&)\s{1,8})"
# Words written between series names and "series": "Msv2/Mdsv2 Medium Memory series".
_DESCRIPTOR = (r"(?:\s{1,8}(?i:(?:very\s{1,8})?high\s{1,8}memory|medium\s{1,8}memory|(?:memory|storage|compute)[\s-]optimi[sz]ed"
               r"|general[\s-]purpose|gpu(?:[\s-]accelerated)?|confidential|azure))?")
_LIST_RE = re.compile(
    rf"(?<![\w-])((?:{_TOKEN}(?i:-\s?series)?{_SEP}){{0,39}}{_TOKEN}){_DESCRIPTOR}\s{{0,8}}((?i:-\s?series\b|\s{{1,8}}series\b)|\s{{1,8}}SKUs?\b|\s{{1,8}}VMs?\b"
    rf"|\s{{1,8}}sizes\b|\s{{1,8}}virtual machines?\b)",
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
_VERSIONED = re.compile(r"(?<![\w-])([A-Z]{1,3}[a-z]{0,40}(?:[A-Z]\d{1,4}[a-z]{0,40}|_[A-Z]\d{1,4}[a-z]{0,40})?_?v\d{1,4})(?![\w-])")


# "M-series Medium Memory v2 (Msv2) VMs": the name in brackets is the series meant, not the family
# before it (reading "M" would date every M-series size).
_BRACKETED = re.compile(r"(?<![\w-])([A-Z][A-Za-z0-9]{0,10})-series\b([^.()\n]{0,40}?)\s?\(([A-Z][A-Za-z0-9_]{1,24})\)")


def _bracketed_series(line: str) -> str:
    def one(m: re.Match) -> str:
        family, words, name = m.group(1), m.group(2), m.group(3)
        if name != family and name.startswith(family) and _parse_series_ok(name):
            return f"{name}-series{words}"
        return m.group(0)

    return _BRACKETED.sub(one, line) if "(" in line else line


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
        line = _bracketed_series(line)
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


_HOST_AFTER = re.compile(r"[A-Za-z0-9_]{1,24}(?:-?\s?series)?\s(?:dedicated\s)?(hosts?|host groups?|host SKUs?)\b", re.I)


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
    after = _HOST_AFTER.match(body, first)
    if after:  # "Dv4-series dedicated hosts": the hosts retire, not the size
        return after.group(1)
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


_DANGLING = re.compile(r"(?<![\u2022])\b(?:on|by|before|after|until|from|effective)\s{0,8}$", re.I)


def _sentences(text: str) -> list[tuple[str, str]]:
    """(context, sentence) pairs. Context of a list item is its lead-in block ("...:")."""
    out: list[tuple[str, str]] = []
    lead = ""
    blocks: list[str] = []
    for block in text.split("\n"):
        # "will be retired on<br>September 30, 2027": a line cut after a preposition goes on.
        if blocks and block.strip() and not block.startswith("\u2022") and _DANGLING.search(blocks[-1]):
            blocks[-1] = f"{blocks[-1].rstrip()} {block.strip()}"
        else:
            blocks.append(block)
    for block in blocks:
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

    def take(m: re.Match, year: int, month: int, day: int) -> None:
        """A date match read as (year, month, day): an impossible one is unreadable; a date
        that a lead-in marks as superseded ("postponed from") is read but not kept."""
        try:
            d = date(year, month, day)
        except ValueError:
            bad.append(m.group(0))
            return
        spans.append(m.span())
        if not _SUPERSEDED.search(text, max(0, m.start() - 45), m.start()):
            found.append((m.start(), d))

    for rx, month_group, day_group in ((_DATE_MDY, 1, 2), (_DATE_DMY, 2, 1)):
        for m in rx.finditer(text):
            try:
                month = _month_num(m.group(month_group))
            except ValueError:
                bad.append(m.group(0))
                continue
            take(m, int(m.group(3)), month, int(m.group(day_group)))
    for m in _DATE_ISO.finditer(text):
        before = text[max(0, m.start() - 24):m.start()].lower()
        if "api" in before or "version" in before:
            continue  # "Batch API (2024-07-01 or later)" is a version, not a date
        take(m, int(m.group(1)), int(m.group(3)), int(m.group(4)))
    for m in _DATE_NUM.finditer(text) if "/" in text else ():
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first <= 12 and second <= 12 and first != second:
            bad.append(m.group(0))  # 03/04/2031: March 4 or 3 April? Not guessed.
            continue
        month, day = (first, second) if first <= 12 else (second, first)
        take(m, year, month, day)
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


_VM_PRODUCTS = frozenset({"virtual machines", "virtual machine scale sets"})
# Azure region display names as notices write them ("West Europe", "East US 2", "UK South",
# "Germany West Central", "US Gov Virginia"): a direction word and a geography, either order.
_DIRECTION = r"(?:North|South|East|West|Central|Southeast|Southwest|Northeast|Northwest|West Central|North Central|South Central)"
_GEOGRAPHY = (r"(?:US|Europe|Asia|India|Japan|Australia|Brazil|Canada|France|Germany|Korea|Norway|Switzerland|UAE|UK"
              r"|South Africa|Africa|Sweden|Italy|Poland|Qatar|Israel|Spain|Mexico|New Zealand|Taiwan|Indonesia"
              r"|Malaysia|Chile|Austria|Belgium|Denmark|Greece|Finland|China)")
_REGION = re.compile(
    rf"\b(?:in|within|across|for)\s(?:the\s)?((?:{_DIRECTION}\s{_GEOGRAPHY}|{_GEOGRAPHY}\s{_DIRECTION}|US Gov\s[A-Z][a-z]{{2,20}}"
    rf"|US DoD\s[A-Z][a-z]{{2,20}})(?:\s\d)?)\b(?:\s(?:and|or|,)\s(?:the\s)?(?:{_DIRECTION}\s{_GEOGRAPHY}|{_GEOGRAPHY}\s{_DIRECTION})(?:\s\d)?\b)?"
    rf"(?!\s(?:and\s)?(?:Azure\s)?Government)")


# A sovereign cloud a notice limits itself to ("VMs in Azure Government regions", "in Azure operated
# by 21Vianet"): the public-cloud catalogue must not date it everywhere. Not when the sentence goes
# on to public / global / all regions as well.
_CLOUD = re.compile(
    r"\b(?:in|within|for)\s(?:the\s)?(?:Microsoft\s)?(Azure (?:US\s)?Government|Azure China"
    r"|Azure (?:in China\s)?operated by\s21\s?Vianet)\b(?![^.]{0,60}\b(?:public|global|all)\b)", re.I)
# A notice that withdraws a retirement ("has been cancelled", "will no longer be retired"): never an entry.
_CANCELLED = re.compile(
    r"\bretire\w{0,4}\b[^.]{0,80}\b(?:has|have|is|was|were|been)\s(?:been\s)?(?:cancell?ed|withdrawn|rescinded|revoked)\b"
    r"|\b(?:cancell?ed|withdrawn|rescinded)\b[^.]{0,20}\bretirement\b|\bwill no longer (?:be )?retire\w{0,6}\b"
    r"|\bno longer (?:planned|scheduled) (?:for|to) retire", re.I)


def _about_vms(a: Announcement) -> str:
    """Why a retirement notice is about Virtual Machines ("" when nothing says so)."""
    if any(p.strip().lower() in _VM_PRODUCTS for p in (*a.products, *a.tags)):
        return "a retirement notice tagged Virtual Machines"
    if TITLE_SAYS_VMS_RETIRE.search(a.title):
        return "a notice whose title says VMs retire"
    return ""


def _regions(a: Announcement) -> list[str]:
    """Regions a notice limits its retirement to ("... VMs in West Europe will be retired")."""
    found: list[str] = []
    texts = [a.title] + [s for _, s in _sentences(a.text) if _STRONG.search(s) or _WEAK.search(s)]
    for text in texts:
        for m in _REGION.finditer(text):
            for name in re.split(r"\s(?:and|or|,)\s(?:the\s)?", m.group(0).split(" ", 1)[1].removeprefix("the ")):
                if name not in found:
                    found.append(name)
        for m in _CLOUD.finditer(text):
            if re.search(r"\b(?:all|public|global|including)\b", text[max(0, m.start() - 60):m.start()], re.I):
                continue  # "in all public regions and in Azure Government": everywhere
            if m.group(1) not in found:
                found.append(m.group(1))
    return found


def read_announcement(a: Announcement) -> Reading:
    """What one announcement retires, read from its title and text (pure).

    Nothing about a VM retirement is dropped: a notice tagged Virtual Machines, or whose title says
    VMs retire, that reads as nothing is sent to review with the reason; a notice limited to some
    regions ("in West Europe") goes to review naming them, as a catalogue entry cannot say "only
    there"."""
    if a.is_retirement:
        os_notice = _node_os_reading(a)
        if os_notice is not None:
            return os_notice
    r = _read(a)
    if r.kind == "ignore" and a.is_retirement:
        why = _about_vms(a)
        if why:
            return Reading("review", f"{why}, but {r.reason}: check whether it retires a size")
    if r.kind == "entry":
        withdrawn = _CANCELLED.search(f"{a.title}. {a.text}")
        if withdrawn:
            return Reading("review", f"the notice says the retirement is withdrawn ({withdrawn.group(0)!r}): "
                           f"check whether {', '.join(r.sizes or r.series)} still retire", series=r.series,
                           sizes=r.sizes, retires_on=r.retires_on)
        regions = _regions(a)
        if regions:
            names = ", ".join(r.sizes or r.series)
            when = r.retires_on.isoformat() if r.retires_on else "?"
            return Reading("review", f"the retirement of {names} on {when} is limited to {', '.join(regions)}; "
                           "a catalogue entry would date it everywhere", series=r.series, sizes=r.sizes,
                           retires_on=r.retires_on)
    return r


def _node_os_reading(a: Announcement) -> Reading | None:
    """An AKS node OS retirement (issue 13): mapped to its node OS entry, or to review when the
    node OS catalogue (scanner/data/node_os.toml) has none. Never read as a VM size retirement."""
    from scanner.core import node_os

    hit = node_os.notice_subject(node_os.load_builtin(), a.title, a.text)
    if hit is None:
        return None
    name, entry = hit
    if entry is not None:
        return Reading("ignore", f"an AKS node OS retirement ({name}): node OS entry {entry.id!r} "
                                 f"(end of support {entry.end_of_support.isoformat()}) judges it")
    return Reading("review", f"an AKS node OS retirement ({name}) that the node OS catalogue "
                             "(scanner/data/node_os.toml) has no entry for")


def _read(a: Announcement) -> Reading:
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


