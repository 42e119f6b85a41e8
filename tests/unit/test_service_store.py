"""service.apply_scan over the in-memory ports (tests/fakes/ports.py): suppression and history,
which need "a store" but nothing of Table Storage (the adapters' own tests stay on Azurite)."""

from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from scanner.core.lifecycle import Suppression
from scanner.core.model import Severity, Status
from scanner.service import apply_scan
from tests import factories
from tests.fakes.ports import MemoryFindingRepo, MemoryRunLog

SUB_A = "aaaaaaaa-1111-1111-1111-111111111111"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
RET = factories.retirement(title="Dv2")


def finding(name, sub=SUB_A, sev=Severity.MEDIUM, pool="np1", tags=None):
    return factories.finding(name, pool, sub=sub, severity=sev, tags=tags, retirement=RET,
                             commands=(f"az aks nodepool add --cluster-name {name} -n {pool}v5 -s Standard_D2s_v5",))


@pytest.fixture
def store():
    return SimpleNamespace(findings=MemoryFindingRepo(), runs=MemoryRunLog())


def test_suppression_by_ack_then_expiry(store):
    a = finding("a")
    apply_scan(store.findings, store.runs, [a], now=T0)
    store.findings.put_suppression(Suppression(a.id, date(2026, 3, 5), "waiting for quota"))
    out = apply_scan(store.findings, store.runs, [a], now=T0 + timedelta(days=1))
    (f,) = out.findings
    assert f.status is Status.SUPPRESSED and f.suppressed_until == date(2026, 3, 5)
    assert f.suppression_reason == "waiting for quota" and out.notify == ()
    assert out.run["open"]["suppressed"] == 1
    quiet = apply_scan(store.findings, store.runs, [a], now=T0 + timedelta(days=2))
    assert quiet.run["writes"] == 0
    back = apply_scan(store.findings, store.runs, [a], now=datetime(2026, 3, 6, 2, tzinfo=timezone.utc))
    assert [c.kind for c in back.notify] == ["reopened"] and back.findings[0].status is Status.OPEN
    assert store.findings.delete_suppression(a.id) is True and store.findings.delete_suppression(a.id) is False


def test_suppression_by_tag(store):
    tagged = finding("t", tags={"retirement-scanner:ignore-until": "2026-03-02"})
    out = apply_scan(store.findings, store.runs, [tagged], now=T0)
    assert out.findings[0].status is Status.SUPPRESSED and out.notify == ()
    later = apply_scan(store.findings, store.runs, [tagged], now=datetime(2026, 3, 3, tzinfo=timezone.utc))
    assert later.findings[0].status is Status.OPEN
    assert [c.kind for c in later.notify] == ["reopened"]


def test_history_from_stored_runs(store):
    a, b, c = finding("a", sev=Severity.HIGH), finding("b"), finding("c")
    apply_scan(store.findings, store.runs, [a, b, c], now=T0)
    apply_scan(store.findings, store.runs, [a, b], now=T0 + timedelta(days=1))
    apply_scan(store.findings, store.runs, [a], now=T0 + timedelta(days=1, hours=6))
    rows = store.runs.history(4, date(2026, 3, 3))
    assert [r["date"] for r in rows] == ["2026-02-28", "2026-03-01", "2026-03-02", "2026-03-03"]
    assert rows[0]["open"] is None
    assert [r["open_total"] for r in rows[1:]] == [3, 1, 1]
    assert [r["resolved"] for r in rows] == [0, 0, 2, 0]
    assert rows[2]["open"]["high"] == 1
