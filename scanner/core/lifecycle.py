"""The life of a finding across runs: diff(previous, current) -> Diff. Pure: no I/O, no clock.

A finding's stored life is a `Record`: the finding as last written, whether it is open or
resolved, and when it was first seen, last changed and resolved. `diff` compares the stored
records with tonight's findings and says, per finding, what happened:

    new         first time seen (no record)
    unchanged   still there, severity not higher than stored
    escalated   still there, severity rose (previous_severity says from what)
    resolved    not found tonight in a scope the run did read; a scope the run failed to read
                resolves nothing
    reopened    found again after it was resolved, or back after its suppression ended

and which records must be written (`Diff.writes`). Only transitions and real content changes
(severity down, size, retirement date, suggested replacement, suppression) are written: a quiet
night writes nothing. `days_left`, messages and commands changing with the calendar are not
"content" (they are re-derived from the retirement date when a stored finding is shown).

Suppression: an `ack` (a `Suppression` from the store) or a tag on the cluster, VM or scale set,
`retirement-scanner:ignore-until=YYYY-MM-DD` (as tag name `retirement-scanner:ignore-until` with
the date as value, or tag name `retirement-scanner` with value `ignore-until=YYYY-MM-DD`), hides
a finding from notifications until that date (inclusive). Suppressed findings keep their life
(first_seen, escalation) and are listed with status "suppressed"; the day after the date they
come back ("reopened").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from scanner.core.model import Change, Finding, Rule, ScopeError, ScopeKind, Severity, Status

OPEN = "open"
RESOLVED = "resolved"

NEW, UNCHANGED, ESCALATED, RESOLVED_KIND, REOPENED = "new", "unchanged", "escalated", "resolved", "reopened"
NOTIFIED_KINDS = frozenset({NEW, ESCALATED, RESOLVED_KIND, REOPENED})

IGNORE_TAG = "retirement-scanner:ignore-until"
_TAG_PREFIX = "retirement-scanner"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Suppression:
    """Hide one finding from notifications until `until` (inclusive)."""

    finding_id: str
    until: date
    reason: str
    source: str = "ack"  # "ack" | "tag"
    created_at: datetime | None = None


@dataclass(frozen=True)
class Record:
    """One finding's stored life. `etag` is the store's version of it ("" when not stored)."""

    finding: Finding
    state: str  # OPEN | RESOLVED
    first_seen: datetime
    last_changed: datetime
    resolved_at: datetime | None = None
    suppressed_until: date | None = None
    suppression_reason: str = ""
    etag: str = ""
    # A resolution written but not yet recorded as told (the outbox): a later run tells it.
    tell_pending: bool = False

    @property
    def id(self) -> str:
        return self.finding.id

    @property
    def scope(self) -> str:
        return scope_of(self.finding)


@dataclass(frozen=True)
class Diff:
    """What `diff` found. `changes` has one entry per current finding and per resolved one."""

    changes: tuple[Change, ...]
    # Records to write, each with the etag of the version it replaces ("" = create).
    writes: tuple[Record, ...]
    # Tonight's findings with status, first_seen and suppression filled in.
    findings: tuple[Finding, ...]
    # Findings resolved tonight (status RESOLVED).
    resolved: tuple[Finding, ...]
    # Records open after this run: current ones plus open ones in scopes that could not be read.
    open_after: tuple[Record, ...]
    # Problems with inputs that did not stop the diff (a malformed ignore tag), each naming it.
    warnings: tuple[str, ...] = ()

    @property
    def notify(self) -> tuple[Change, ...]:
        """Transitions worth telling someone about: not 'unchanged', not suppressed."""
        return tuple(
            c for c in self.changes
            if c.kind in NOTIFIED_KINDS and c.finding.status is not Status.SUPPRESSED
        )

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in (NEW, UNCHANGED, ESCALATED, RESOLVED_KIND, REOPENED)}
        for c in self.changes:
            out[c.kind] += 1
        return out


def scope_of(finding: Finding) -> str:
    """The scope a finding lives in: its subscription id, lower-case ("" if unknown)."""
    sub = finding.resource.subscription_id or ""
    if not sub:
        m = _GUID.search(finding.resource.id or "")
        sub = m.group(0) if m else ""
    return sub.lower()


def fingerprint(finding: Finding, suppressed_until: date | None, suppression_reason: str) -> tuple:
    """What, if it changes, is worth writing even without a transition."""
    ret = finding.retirement
    return (
        finding.severity.value,
        finding.vm_size.lower(),
        ret.id if ret else "",
        ret.retires_on.isoformat() if ret else "",
        finding.replacement.vm_size if finding.replacement else "",
        bool(finding.restricted),
        suppressed_until.isoformat() if suppressed_until else "",
        suppression_reason,
    )


def parse_ignore_tag(tags: Mapping[str, str] | None, where: str = "") -> tuple[date | None, str | None]:
    """(until, None) from a resource's tags, (None, None) without the tag, (None, warning) if malformed.

    Accepted (names case-insensitive): `retirement-scanner:ignore-until` = `YYYY-MM-DD`;
    `retirement-scanner` = `ignore-until=YYYY-MM-DD`; or the whole text as a tag name with an
    empty value (`retirement-scanner:ignore-until=YYYY-MM-DD`).
    """
    for name, value in (tags or {}).items():
        key = str(name).strip().lower()
        val = "" if value is None else str(value).strip()
        text = None
        if key == IGNORE_TAG:
            text = val
        elif key == _TAG_PREFIX and val.lower().startswith("ignore-until="):
            text = val.split("=", 1)[1].strip()
        elif key.startswith(IGNORE_TAG + "=") and not val:
            text = str(name).strip().split("=", 1)[1].strip()
        if text is None:
            continue
        if _DATE.match(text):
            try:
                return date.fromisoformat(text), None
            except ValueError:
                pass
        return None, (
            f"{where or 'resource'}: tag {str(name)!r} value {text!r} is not a date YYYY-MM-DD; "
            "the finding is not suppressed"
        )
    return None, None


def active_suppression(
    finding: Finding, today: date, acks: Mapping[str, Suppression]
) -> tuple[Suppression | None, str | None]:
    """The suppression in force today for a finding (the later of ack and tag), and any tag warning."""
    candidates = []
    ack = acks.get(finding.id)
    if ack is not None and ack.until >= today:
        candidates.append(ack)
    until, warning = parse_ignore_tag(finding.resource.tags, finding.resource.id)
    if until is not None and until >= today:
        candidates.append(Suppression(finding.id, until, f"tag {IGNORE_TAG} on the resource", "tag"))
    if not candidates:
        return None, warning
    return max(candidates, key=lambda s: s.until), warning


@dataclass(frozen=True)
class _Unread:
    """What the run's scope errors leave unread."""

    subscriptions: frozenset[str] = frozenset()
    # SKU facts missing for (subscription, region); subscription None: the region for everyone
    regions: frozenset[tuple[str | None, str]] = frozenset()
    feed: bool = False  # the feed was not read whole: feed-derived retirements may be missing
    extra: bool = False  # an extra catalogue file was not read: its retirements may be missing
    unknown: bool = False  # a failure naming no subscription, region or catalogue source: resolve nothing
    # (subscription or None for all, region) whose vCPU quota was not read: capacity-restricted
    # findings there (they exist only through quota facts) are not resolved.
    quota: frozenset[tuple[str | None, str]] = frozenset()


# Kinds that say nothing about what was read: a channel that could not be told, the store's own
# trouble, quota or price facts (they shape guidance, never whether a finding exists).
_NOT_ABOUT_READING = frozenset({ScopeKind.NOTIFY, ScopeKind.STORE, ScopeKind.QUOTA, ScopeKind.PRICES})


def _unread(errors: Iterable[ScopeError]) -> _Unread:
    subs: set[str] = set()
    regions: set[tuple[str | None, str]] = set()
    feed = extra = unknown = False
    quota: set[tuple[str | None, str]] = set()
    for e in errors:
        k = e.kind
        if k is ScopeKind.QUOTA and e.region:
            quota.add(((e.subscription or "").lower() or None, e.region.lower()))
        if k in _NOT_ABOUT_READING:
            continue
        if k is ScopeKind.REGION_SKUS and e.region:
            regions.add(((e.subscription or "").lower() or None, e.region.lower()))
        elif k is ScopeKind.FEED:
            feed = True
        elif k is ScopeKind.CATALOG:
            feed = extra = True
        elif k in (ScopeKind.SUBSCRIPTION, ScopeKind.ROW) and e.subscription:
            subs.add(e.subscription.lower())
        else:
            unknown = True
    return _Unread(frozenset(subs), frozenset(regions), feed, extra, unknown, frozenset(quota))


def _dedupe(current: Iterable[Finding]) -> dict[str, Finding]:
    out: dict[str, Finding] = {}
    for f in current:
        have = out.get(f.id)
        if have is None or f.severity.rank > have.severity.rank:
            out[f.id] = f
    return out


def diff(
    previous: Mapping[str, Record] | Iterable[Record],
    current: Iterable[Finding],
    *,
    now: datetime,
    scopes_seen: Collection[str] | None = None,
    scopes_failed: Iterable[ScopeError] = (),
    suppressions: Mapping[str, Suppression] | None = None,
    quota_read: bool = True,
) -> Diff:
    """Compare stored records with tonight's findings.

    `scopes_seen`: subscription ids the run read (None: every scope was read). `scopes_failed`:
    the run's ScopeErrors. A finding missing tonight is resolved only when nothing says its scope
    went unread: not a failure of its subscription (or of a row in it), not missing SKU facts for
    its region (in its subscription or for everyone), not a feed or catalogue failure when its
    retirement came from there, and not a failure naming none of these (a management group, the
    tenant, a row with no subscription): then nothing is resolved. Delivery, store, quota and
    price errors say nothing about what was read. `quota_read=False` (a run with no quota checks
    at all): capacity-restricted findings, which only quota facts can show, are kept as they were.
    `suppressions`: acks by finding id.
    """
    prev = dict(previous) if isinstance(previous, Mapping) else {r.id: r for r in previous}
    cur = _dedupe(current)
    acks = suppressions or {}
    today = now.date()
    seen = None if scopes_seen is None else {s.lower() for s in scopes_seen}
    unread = _unread(scopes_failed)

    def can_resolve(rec: Record) -> bool:
        f = rec.finding
        if unread.unknown or rec.scope in unread.subscriptions:
            return False
        loc = (f.resource.location or "").lower()
        if (None, loc) in unread.regions or (rec.scope, loc) in unread.regions:
            return False
        if f.rule is Rule.CAPACITY_RESTRICTED and (not quota_read or (None, loc) in unread.quota
                                                    or (rec.scope, loc) in unread.quota):
            return False
        source = f.retirement.source if f.retirement is not None else None
        if (unread.feed and source == "feed") or (unread.extra and source not in (None, "builtin")):
            return False
        return seen is None or rec.scope in seen

    changes: list[Change] = []
    writes: list[Record] = []
    findings: list[Finding] = []
    resolved: list[Finding] = []
    open_after: list[Record] = []
    warnings: list[str] = []
    held = 0

    for fid, f in cur.items():
        rec = prev.get(fid)
        sup, warning = active_suppression(f, today, acks)
        if warning:
            warnings.append(warning)
        until = sup.until if sup else None
        reason = sup.reason if sup else ""
        prev_sev: Severity | None = None
        if rec is None:
            kind = NEW
        elif rec.state == RESOLVED:
            kind = REOPENED
        elif f.severity.rank > rec.finding.severity.rank:
            kind, prev_sev = ESCALATED, rec.finding.severity
        elif rec.suppressed_until is not None and until is None:
            kind = REOPENED  # back from suppression (expired or unacked)
        else:
            kind = UNCHANGED
        if sup is not None:
            status = Status.SUPPRESSED
        else:
            status = {NEW: Status.NEW, ESCALATED: Status.ESCALATED}.get(kind, Status.OPEN)
        first_seen = rec.first_seen if rec is not None else now
        shown = replace(
            f, status=status, first_seen=first_seen, suppressed_until=until, suppression_reason=reason
        )
        findings.append(shown)
        changes.append(Change(kind, shown, prev_sev))
        stored_status = Status.SUPPRESSED if sup is not None else Status.OPEN
        if kind == UNCHANGED:
            unchanged_fp = fingerprint(rec.finding, rec.suppressed_until, rec.suppression_reason)
            if fingerprint(f, until, reason) == unchanged_fp:
                open_after.append(rec)
                continue
            last_changed = rec.last_changed  # content refresh, not a transition
        else:
            last_changed = now
        new_rec = Record(
            finding=replace(shown, status=stored_status),
            state=OPEN,
            first_seen=first_seen,
            last_changed=last_changed,
            resolved_at=None,
            suppressed_until=until,
            suppression_reason=reason,
            etag=rec.etag if rec is not None else "",
        )
        writes.append(new_rec)
        open_after.append(new_rec)

    for fid, rec in prev.items():
        if fid in cur or rec.state != OPEN:
            continue
        if not can_resolve(rec):
            open_after.append(rec)
            held += 1
            continue
        gone = replace(rec.finding, status=Status.RESOLVED)
        resolved.append(gone)
        changes.append(Change(RESOLVED_KIND, gone, None))
        writes.append(replace(rec, finding=gone, state=RESOLVED, last_changed=now, resolved_at=now,
                              suppressed_until=None, suppression_reason=""))

    if held:
        warnings.append(f"{held} finding(s) not seen tonight were kept open: their scope was not read")
    return Diff(tuple(changes), tuple(writes), tuple(findings), tuple(resolved), tuple(open_after),
                tuple(warnings))


@dataclass(frozen=True)
class Coverage:
    """What a run read: the subscriptions it read (None: every one in scope) and the scope errors
    saying what it could not read completely (sources report incompleteness as these)."""

    subscriptions_seen: frozenset[str] | None = None
    errors: tuple[ScopeError, ...] = ()
    quota_read: bool = True  # False: no quota checks ran at all (capacity-restricted stays as it was)


@dataclass(frozen=True)
class Plan:
    """The whole outcome of one run as a value: what changed, what to write, what to tell.

    `writes` carry `tell_pending` on every resolution this run must tell (`tell=True`), so the
    change and the duty to tell it are one write: a run that dies after storing and before the
    outbox recorded the message leaves the duty for the next run, which tells it (`retold`).
    `tell` is what the notifier renders from: every change (reminders need the unchanged ones)
    plus the resolutions left untold by an earlier run. `pending` lists the records whose duty
    is done once the notifier has recorded what is due (the service then clears their flag).
    """

    changes: tuple[Change, ...]
    writes: tuple[Record, ...]
    findings: tuple[Finding, ...]
    resolved: tuple[Finding, ...]
    open_after: tuple[Record, ...]
    warnings: tuple[str, ...]
    tell: tuple[Change, ...]
    pending: tuple[Record, ...]
    retold: int = 0

    def counts(self) -> dict[str, int]:
        out = {k: 0 for k in (NEW, UNCHANGED, ESCALATED, RESOLVED_KIND, REOPENED)}
        for c in self.changes:
            out[c.kind] += 1
        return out


def plan(
    previous: Mapping[str, Record],
    current: Iterable[Finding],
    coverage: Coverage,
    *,
    now: datetime,
    suppressions: Mapping[str, Suppression] | None = None,
    tell: bool = True,
) -> Plan:
    """diff() plus the duty to tell: see Plan. `tell=False` (nobody to tell, or a dry run that
    stores nothing) marks nothing and keeps the marks earlier runs left."""
    d = diff(previous, current, now=now, scopes_seen=coverage.subscriptions_seen,
             scopes_failed=coverage.errors, suppressions=suppressions, quota_read=coverage.quota_read)
    # A resolution written tonight carries the duty to tell it; a reopening clears an old one.
    writes = [replace(w, tell_pending=w.state == RESOLVED and tell) for w in d.writes]
    written = {w.id for w in writes}
    untold = [r for r in previous.values()
              if r.tell_pending and r.state == RESOLVED and r.id not in written] if tell else []
    retell = tuple(Change(RESOLVED_KIND, replace(r.finding, status=Status.RESOLVED), None) for r in untold)
    pending = tuple(w for w in writes if w.tell_pending) + tuple(untold) if tell else ()
    return Plan(d.changes, tuple(writes), d.findings, d.resolved, d.open_after, d.warnings,
                (*d.changes, *retell), pending, len(retell))


def severity_counts(records: Iterable[Record], today: date) -> dict[str, int]:
    """Open records by severity (suppressed ones counted apart under "suppressed")."""
    out = {s.value: 0 for s in Severity}
    out["suppressed"] = 0
    for r in records:
        if r.state != OPEN:
            continue
        if r.suppressed_until is not None and r.suppressed_until >= today:
            out["suppressed"] += 1
        else:
            out[r.finding.severity.value] += 1
    return out
