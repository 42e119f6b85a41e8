"""diff(previous, current): the life of a finding across runs (pure)."""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest

from scanner.core.lifecycle import (
    OPEN,
    RESOLVED,
    Record,
    Suppression,
    diff,
    parse_ignore_tag,
    severity_counts,
)
from scanner.core.model import ScopeError, ScopeKind, Severity, Status
from tests import factories

SUB_A = "11111111-1111-1111-1111-111111111111"
SUB_B = "22222222-2222-2222-2222-222222222222"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)
RET = factories.retirement(title="Dv2 retires")


def finding(name="aks1", pool="np1", sub=SUB_A, sev=Severity.MEDIUM, size="Standard_D2_v2", tags=None,
            replacement="Standard_D2s_v5"):
    return factories.finding(name, pool, sub=sub, severity=sev, size=size, tags=tags, retirement=RET,
                             replacement=replacement, why="same family, Gen2", commands=("az aks nodepool add ...",))


def stored(f, state=OPEN, first=T0, until=None, reason="", etag="W/1"):
    return Record(replace(f, status=Status.OPEN), state, first, first,
                  resolved_at=first if state == RESOLVED else None,
                  suppressed_until=until, suppression_reason=reason, etag=etag)


def kinds(d):
    return {c.finding.resource.name: c.kind for c in d.changes}


def test_first_run_everything_is_new_and_written():
    d = diff({}, [finding("a"), finding("b")], now=T0)
    assert kinds(d) == {"a": "new", "b": "new"}
    assert {f.status for f in d.findings} == {Status.NEW}
    assert all(f.first_seen == T0 for f in d.findings)
    assert [r.etag for r in d.writes] == ["", ""]  # creates
    assert len(d.notify) == 2


def test_identical_second_run_writes_nothing_and_keeps_first_seen():
    f = finding()
    d = diff([stored(f)], [replace(f, days_left=699, message="one day later")], now=T1)
    assert kinds(d) == {"aks1": "unchanged"}
    assert d.writes == ()
    assert d.findings[0].status is Status.OPEN
    assert d.findings[0].first_seen == T0
    assert d.notify == ()


@pytest.mark.parametrize(
    "before,after,kind,written",
    [
        pytest.param(Severity.MEDIUM, Severity.HIGH, "escalated", True, id="medium-to-high-escalates"),
        pytest.param(Severity.LOW, Severity.CRITICAL, "escalated", True, id="low-to-critical-escalates"),
        pytest.param(Severity.HIGH, Severity.MEDIUM, "unchanged", True, id="lower-is-written-silently"),
        pytest.param(Severity.HIGH, Severity.HIGH, "unchanged", False, id="same-is-quiet"),
    ],
)
def test_severity_moves(before, after, kind, written):
    f = finding(sev=before)
    d = diff([stored(f)], [replace(f, severity=after)], now=T1)
    (change,) = d.changes
    assert change.kind == kind
    assert bool(d.writes) is written
    if kind == "escalated":
        assert change.previous_severity is before
        assert change.finding.status is Status.ESCALATED
        assert d.writes[0].last_changed == T1
        assert d.writes[0].etag == "W/1"  # conditional on what was read
    if written and kind == "unchanged":
        assert d.writes[0].last_changed == T0  # a refresh, not a transition
        assert d.writes[0].finding.severity is after


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(dict(size="Standard_D3_v2"), id="size-changed"),
        pytest.param(dict(replacement="Standard_D2as_v5"), id="replacement-changed"),
    ],
)
def test_content_change_is_written_without_a_transition(change):
    f = finding()
    d = diff([stored(f)], [finding(**change)], now=T1)
    assert kinds(d) == {"aks1": "unchanged"}
    assert len(d.writes) == 1


def test_missing_finding_in_a_read_scope_resolves():
    a, b = finding("a"), finding("b")
    d = diff([stored(a), stored(b)], [a], now=T1, scopes_seen={SUB_A})
    assert kinds(d) == {"a": "unchanged", "b": "resolved"}
    (w,) = d.writes
    assert (w.id, w.state, w.resolved_at, w.first_seen) == (b.id, RESOLVED, T1, T0)
    assert [f.status for f in d.resolved] == [Status.RESOLVED]


@pytest.mark.parametrize(
    "seen,failed",
    [
        pytest.param({SUB_A}, [], id="scope-not-in-seen"),
        pytest.param(None, [ScopeError(ScopeKind.ROW, name=f"/subscriptions/{SUB_B}/resourceGroups/x", subscription=SUB_B,
                                       detail="x")], id="row-of-its-subscription-unreadable"),
        pytest.param({SUB_B}, [ScopeError(ScopeKind.TENANT, detail="x")], id="tenant-failure-resolves-nothing"),
        pytest.param({SUB_A, SUB_B}, [ScopeError(ScopeKind.SUBSCRIPTION, subscription=SUB_B, detail="timed out")],
                     id="failed-wins-over-seen"),
        pytest.param(None, [ScopeError(ScopeKind.MANAGEMENT_GROUP, name="platform", detail="x")], id="unattributed-failure-resolves-nothing"),
        pytest.param({SUB_B}, [ScopeError(ScopeKind.ROW, name="file.json: item 3", detail="x")], id="unreadable-row-resolves-nothing"),
        pytest.param({SUB_B}, [ScopeError(ScopeKind.REGION_SKUS, subscription=SUB_B, region="westeurope", detail="x")], id="sku-list-of-its-subscription-failed"),
        pytest.param({SUB_B}, [ScopeError(ScopeKind.REGION_SKUS, region="westeurope", detail="x")], id="no-sku-facts-for-its-region"),
        pytest.param({SUB_B}, [ScopeError(ScopeKind.FEED, name="https://example.invalid/feed", detail="x")], id="feed-failed-and-retirement-from-feed"),
    ],
)
def test_unread_scope_resolves_nothing(seen, failed):
    b = finding("b", sub=SUB_B)
    b = replace(b, retirement=replace(RET, source="feed"))
    d = diff([stored(b)], [], now=T1, scopes_seen=seen, scopes_failed=failed)
    assert d.changes == () and d.writes == ()
    assert [r.id for r in d.open_after] == [b.id]
    assert d.warnings == ("1 finding(s) not seen tonight were kept open: their scope was not read",)


@pytest.mark.parametrize(
    "failed",
    [
        pytest.param([ScopeError(ScopeKind.SUBSCRIPTION, subscription=SUB_A, detail="x")], id="other-subscription-failed"),
        pytest.param([ScopeError(ScopeKind.REGION_SKUS, region="eastus", detail="x")], id="other-region-without-sku-facts"),
        pytest.param([ScopeError(ScopeKind.REGION_SKUS, subscription=SUB_A, region="westeurope", detail="x")],
                     id="same-region-other-subscription-without-sku-facts"),
        pytest.param([ScopeError(ScopeKind.NOTIFY, name="TEAMS_WEBHOOK_OPS", detail="HTTP 404")],
                     id="undeliverable-channel"),
        pytest.param([ScopeError(ScopeKind.FEED, name="https://example.invalid/feed", detail="x")], id="feed-failed-but-builtin-retirement"),
    ],
)
def test_unrelated_failures_do_not_block_resolution(failed):
    b = finding("b", sub=SUB_B)
    d = diff([stored(b)], [], now=T1, scopes_seen={SUB_A, SUB_B}, scopes_failed=failed)
    assert kinds(d) == {"b": "resolved"}


def test_all_scopes_read_by_default():
    b = finding("b", sub=SUB_B)
    d = diff([stored(b)], [], now=T1)
    assert kinds(d) == {"b": "resolved"}


def test_resolved_finding_found_again_reopens_keeping_first_seen():
    f = finding()
    d = diff([stored(f, state=RESOLVED)], [f], now=T1)
    (c,) = d.changes
    assert c.kind == "reopened" and c.finding.first_seen == T0 and c.finding.status is Status.OPEN
    (w,) = d.writes
    assert (w.state, w.resolved_at, w.last_changed) == (OPEN, None, T1)


def test_already_resolved_and_still_gone_is_quiet():
    f = finding()
    d = diff([stored(f, state=RESOLVED)], [], now=T1)
    assert d.changes == () and d.writes == () and d.open_after == ()


def test_duplicate_current_findings_keep_the_most_severe():
    f = finding()
    d = diff({}, [f, replace(f, severity=Severity.CRITICAL)], now=T0)
    assert [x.severity for x in d.findings] == [Severity.CRITICAL]


# --------------------------------------------------------------------------- suppressions


@pytest.mark.parametrize(
    "tags,until,warns",
    [
        pytest.param({"retirement-scanner:ignore-until": "2026-06-30"}, date(2026, 6, 30), False, id="name-and-value"),
        pytest.param({"Retirement-Scanner:Ignore-Until": " 2026-06-30 "}, date(2026, 6, 30), False, id="any-case"),
        pytest.param({"retirement-scanner": "ignore-until=2026-06-30"}, date(2026, 6, 30), False, id="value-form"),
        pytest.param({"retirement-scanner:ignore-until=2026-06-30": ""}, date(2026, 6, 30), False, id="whole-in-name"),
        pytest.param({"retirement-scanner:ignore-until": "30/06/2026"}, None, True, id="bad-date-warns"),
        pytest.param({"retirement-scanner:ignore-until": "2026-02-30"}, None, True, id="impossible-date-warns"),
        pytest.param({"owner": "team-a"}, None, False, id="no-tag"),
    ],
)
def test_parse_ignore_tag(tags, until, warns):
    got, warning = parse_ignore_tag(tags, "/subscriptions/x/vm1")
    assert got == until
    assert bool(warning) is warns
    if warns:
        assert "/subscriptions/x/vm1" in warning and "retirement-scanner:ignore-until" in warning.lower()


def test_ack_suppresses_until_the_date_inclusive_then_it_comes_back():
    f = finding()
    ack = {f.id: Suppression(f.id, date(2026, 3, 10), "migration booked")}
    d1 = diff({}, [f], now=T0, suppressions=ack)
    (c,) = d1.changes
    assert c.kind == "new" and c.finding.status is Status.SUPPRESSED
    assert c.finding.suppressed_until == date(2026, 3, 10) and c.finding.suppression_reason == "migration booked"
    assert d1.notify == ()  # listed, not hidden, not notified
    rec = replace(d1.writes[0], etag="W/1")
    last_day = datetime(2026, 3, 10, 23, 0, tzinfo=timezone.utc)
    d2 = diff([rec], [f], now=last_day, suppressions=ack)
    assert d2.writes == () and d2.findings[0].status is Status.SUPPRESSED
    day_after = datetime(2026, 3, 11, 2, 0, tzinfo=timezone.utc)
    d3 = diff([rec], [f], now=day_after, suppressions=ack)
    (c3,) = d3.changes
    assert c3.kind == "reopened" and c3.finding.status is Status.OPEN
    assert d3.writes[0].suppressed_until is None
    assert len(d3.notify) == 1


def test_tag_suppresses_and_the_later_of_tag_and_ack_wins():
    f = finding(tags={"retirement-scanner:ignore-until": "2026-04-01"})
    ack = {f.id: Suppression(f.id, date(2026, 3, 5), "short")}
    d = diff({}, [f], now=T0, suppressions=ack)
    assert d.findings[0].status is Status.SUPPRESSED
    assert d.findings[0].suppressed_until == date(2026, 4, 1)
    assert "tag" in d.findings[0].suppression_reason


def test_expired_tag_does_not_suppress_and_bad_tag_is_reported():
    old = finding("a", tags={"retirement-scanner:ignore-until": "2026-01-01"})
    bad = finding("b", tags={"retirement-scanner:ignore-until": "soon"})
    d = diff({}, [old, bad], now=T0)
    assert {f.status for f in d.findings} == {Status.NEW}
    assert len(d.warnings) == 1 and "'soon'" in d.warnings[0] and bad.resource.id in d.warnings[0]


def test_new_suppression_on_an_open_finding_is_written_without_notifying():
    f = finding()
    ack = {f.id: Suppression(f.id, date(2026, 12, 31), "later")}
    d = diff([stored(f)], [f], now=T1, suppressions=ack)
    assert kinds(d) == {"aks1": "unchanged"} and d.notify == ()
    assert d.writes[0].suppressed_until == date(2026, 12, 31)


def test_escalation_while_suppressed_is_stored_not_notified():
    f = finding(sev=Severity.MEDIUM)
    ack = {f.id: Suppression(f.id, date(2026, 12, 31), "later")}
    rec = stored(f, until=date(2026, 12, 31), reason="later")
    d = diff([rec], [replace(f, severity=Severity.HIGH)], now=T1, suppressions=ack)
    assert kinds(d) == {"aks1": "escalated"} and d.notify == ()
    assert d.writes[0].finding.severity is Severity.HIGH


def test_severity_counts_split_suppressed():
    a, b, c = finding("a", sev=Severity.HIGH), finding("b"), finding("c")
    recs = [stored(a), stored(b, until=date(2026, 12, 1)), stored(c, state=RESOLVED)]
    counts = severity_counts(recs, date(2026, 3, 2))
    assert counts["high"] == 1 and counts["medium"] == 0 and counts["suppressed"] == 1


def test_lifecycle_is_pure_core():
    import subprocess
    import sys

    code = "import scanner.core.lifecycle, sys; print(','.join(sorted(m for m in sys.modules if m.startswith('azure'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize(("rule", "failed", "expected"), [
    pytest.param("capacity-restricted", ScopeError(ScopeKind.QUOTA, subscription=SUB_B, region="westeurope", detail="x"),
                 None, id="capacity-finding-kept-when-its-quota-was-not-read"),
    pytest.param("capacity-restricted", ScopeError(ScopeKind.QUOTA, region="westeurope", detail="x"),
                 None, id="capacity-finding-kept-when-the-region-quota-was-not-read"),
    pytest.param("capacity-restricted", ScopeError(ScopeKind.QUOTA, subscription=SUB_B, region="eastus", detail="x"),
                 "resolved", id="other-region-quota-failure-resolves"),
    pytest.param("retiring-size", ScopeError(ScopeKind.QUOTA, subscription=SUB_B, region="westeurope", detail="x"),
                 "resolved", id="quota-failure-never-blocks-other-rules"),
])
def test_quota_failures_hold_only_capacity_findings(rule, failed, expected):
    from scanner.core.model import Rule

    b = replace(finding("b", sub=SUB_B), rule=Rule(rule))
    d = diff([stored(b)], [], now=T1, scopes_seen={SUB_A, SUB_B}, scopes_failed=[failed])
    assert kinds(d) == ({"b": expected} if expected else {})


@pytest.mark.parametrize(("rule", "expected"), [
    pytest.param("capacity-restricted", None, id="capacity-finding-kept-when-no-quota-checks-ran"),
    pytest.param("retiring-size", "resolved", id="other-rules-resolve-without-quota-checks"),
])
def test_a_run_without_quota_checks_never_resolves_capacity_findings(rule, expected):
    from scanner.core.model import Rule

    b = replace(finding("b", sub=SUB_B), rule=Rule(rule))
    d = diff([stored(b)], [], now=T1, scopes_seen={SUB_A, SUB_B}, quota_read=False)
    assert kinds(d) == ({"b": expected} if expected else {})
    assert [r.id for r in d.open_after] == ([] if expected else [b.id])
