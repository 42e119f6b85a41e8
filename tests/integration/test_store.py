"""The table adapters (tables/) + service.apply_scan against a real Azurite (tests/fakes/azurite.py)."""

import threading
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from azure.core.credentials import AzureNamedKeyCredential

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.lifecycle import RESOLVED
from scanner.core.model import ScopeError, ScopeKind, Severity, Status
from scanner.errors import ConfigError, StoreError
from scanner.service import apply_scan
from scanner.tables import open_storage
from scanner.tables.findings import TableFindings
from scanner.tables.kit import Tables
from tests import factories

pytestmark = pytest.mark.integration

SUB_A = "aaaaaaaa-1111-1111-1111-111111111111"
SUB_B = "bbbbbbbb-2222-2222-2222-222222222222"
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
RET = factories.retirement(title="Dv2")


def finding(name, sub=SUB_A, sev=Severity.MEDIUM, pool="np1", tags=None):
    return factories.finding(name, pool, sub=sub, severity=sev, tags=tags, retirement=RET,
                             commands=(f"az aks nodepool add --cluster-name {name} -n {pool}v5 -s Standard_D2s_v5",))


@pytest.fixture
def store(azurite_env):
    return bootstrap.storage(Settings.from_env(azurite_env))


def entity_versions(store):
    return {e["RowKey"]: (e.metadata["etag"], e.metadata["timestamp"]) for e in store.tables.table("findings").list_entities()}


def kinds(outcome):
    return {c.finding.resource.name: c.kind for c in outcome.changes}


def test_open_store_creates_all_tables(azurite_env, azurite_server):
    s = bootstrap.storage(Settings.from_env(azurite_env))
    names = {t.name for t in s.tables.service.list_tables()}
    prefix = azurite_env["TABLE_PREFIX"]
    assert {prefix + n for n in ("Findings", "Runs", "Catalog", "Suppressions", "Notifications")} <= names
    assert s.tables.table("notifications").table_name == prefix + "Notifications"


def test_open_store_with_endpoint_and_credential(azurite_server, azurite_env):
    env = {"STORAGE_TABLE_ENDPOINT": azurite_server.table_endpoint, "TABLE_PREFIX": azurite_env["TABLE_PREFIX"]}
    cred = AzureNamedKeyCredential(azurite_server.account_name, azurite_server.account_key)
    s = open_storage(Settings.from_env(env), lambda: cred)
    apply_scan(s.findings, s.runs, [finding("a")], now=T0)
    assert len(s.findings.load_records()) == 1


def test_no_store_configured_says_what_to_set():
    with pytest.raises(ConfigError, match="no store configured: set AzureWebJobsStorage .* STORAGE_TABLE_ENDPOINT"):
        bootstrap.storage(Settings.from_env({}))


def test_unreachable_store_error_names_table_but_no_key(azurite_server):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = azurite_server.connection_string.replace(str(azurite_server.table_port), str(port))
    settings = Settings.from_env({"AzureWebJobsStorage": conn})
    with pytest.raises(StoreError) as err:
        bootstrap.storage(settings, retry_total=0)
    text = str(err.value)
    assert "retirementsFindings" in text
    assert azurite_server.account_key not in text and "AccountKey" not in text


def test_lifecycle_through_four_runs(store):
    a, b = finding("a"), finding("b")
    # Run 1: both new.
    r1 = apply_scan(store.findings, store.runs, [a, b], now=T0, scopes_seen=[SUB_A])
    assert kinds(r1) == {"a": "new", "b": "new"}
    assert {f.status for f in r1.findings} == {Status.NEW}
    assert r1.run["writes"] == 2 and r1.run["transactions"] == 1  # same subscription: one batch
    v1 = entity_versions(store)

    # Run 2: identical (a day later, days_left moved): zero finding entities written.
    writes_before = store.tables.requests["transaction"] + store.tables.requests["write"]
    r2 = apply_scan(store.findings, store.runs, [replace(a, days_left=699), replace(b, days_left=699)], now=T0 + timedelta(days=1),
                    scopes_seen=[SUB_A])
    assert kinds(r2) == {"a": "unchanged", "b": "unchanged"}
    assert {f.status for f in r2.findings} == {Status.OPEN}
    assert {f.first_seen for f in r2.findings} == {T0}
    assert entity_versions(store) == v1  # same etags and timestamps: nothing rewritten
    assert store.tables.requests["transaction"] + store.tables.requests["write"] - writes_before == 1  # the run record
    assert r2.run["writes"] == 0 and r2.run["transactions"] == 0

    # Run 3: a escalates, b is gone from a subscription the run read.
    t3 = T0 + timedelta(days=2)
    r3 = apply_scan(store.findings, store.runs, [replace(a, severity=Severity.HIGH)], now=t3, scopes_seen=[SUB_A])
    assert kinds(r3) == {"a": "escalated", "b": "resolved"}
    esc = next(c for c in r3.changes if c.kind == "escalated")
    assert esc.previous_severity is Severity.MEDIUM and esc.finding.status is Status.ESCALATED
    assert [f.status for f in r3.resolved] == [Status.RESOLVED]
    stored_b = store.findings.get_record(b.id)
    assert stored_b.state == RESOLVED and stored_b.resolved_at == t3 and stored_b.first_seen == T0

    # Run 4: b is back: reopened, first_seen kept.
    t4 = T0 + timedelta(days=3)
    r4 = apply_scan(store.findings, store.runs, [replace(a, severity=Severity.HIGH), b], now=t4, scopes_seen=[SUB_A])
    assert kinds(r4) == {"a": "unchanged", "b": "reopened"}
    back = next(f for f in r4.findings if f.id == b.id)
    assert back.first_seen == T0 and back.status is Status.OPEN
    rec = store.findings.get_record(b.id)
    assert rec.resolved_at is None and rec.last_changed == t4
    assert [c.kind for c in r4.notify] == ["reopened"]

    runs = store.runs.list_runs(T0 - timedelta(days=1))
    assert [r["changes"]["new"] for r in runs] == [2, 0, 0, 0]
    assert [r["open"]["high"] + r["open"]["medium"] for r in runs] == [2, 2, 1, 2]
    assert runs[2]["changes"]["resolved"] == 1 and runs[2]["scopes_seen"] == [SUB_A]


def test_a_subscription_the_run_could_not_read_resolves_nothing(store):
    a, b = finding("a", sub=SUB_A), finding("b", sub=SUB_B)
    apply_scan(store.findings, store.runs, [a, b], now=T0, scopes_seen=[SUB_A, SUB_B])
    before = entity_versions(store)
    out = apply_scan(store.findings, store.runs, [a], now=T0 + timedelta(days=1), scopes_seen=[SUB_A],
                     scopes_failed=[ScopeError(ScopeKind.SUBSCRIPTION, subscription=SUB_B, detail="403 Forbidden")], errors=[f"subscription {SUB_B}: 403 Forbidden"])
    assert kinds(out) == {"a": "unchanged"}
    assert entity_versions(store) == before
    assert store.findings.get_record(b.id).state == "open"
    assert out.run["open"]["medium"] == 2  # b is still counted open
    assert out.run["scopes_failed"] == [f"subscription {SUB_B}"]
    assert out.run["errors"] == [f"subscription {SUB_B}: 403 Forbidden"]


class RacingStore(TableFindings):
    """A second process's view: waits after reading until the other run has read too."""

    def __init__(self, *args, barrier, **kwargs):
        super().__init__(*args, **kwargs)
        self.barrier = barrier

    def load_records(self):
        out = super().load_records()
        if self.barrier is not None:  # only the run's first read races; re-reads go straight
            self.barrier.wait(timeout=30)
            self.barrier = None
        return out


def _race(azurite_env, findings_by_run, now):
    settings = Settings.from_env(azurite_env)
    barrier = threading.Barrier(len(findings_by_run))
    storage = bootstrap.storage(settings)
    runs = storage.runs
    stores = [RacingStore(Tables(storage.tables.service, settings.table_prefix), barrier=barrier)
              for _ in findings_by_run]
    results = [None] * len(stores)

    def go(i):
        results[i] = apply_scan(stores[i], runs, findings_by_run[i], now=now, scopes_seen=[SUB_A], run_id=f"run{i}")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.parametrize("n", [pytest.param(30, id="few-lost-point-reads"),
                               pytest.param(130, id="many-lost-one-reread")])
def test_two_racing_runs_produce_one_transition(azurite_env, n):
    many = [finding(f"c{i}") for i in range(n)]
    # Both runs see the same n new findings at the same moment: each finding is claimed "new"
    # by exactly one of them (batches may split between the runs), the other sees it "open".
    r = _race(azurite_env, [many, many], T0)
    claimed = [{c.finding.id for c in out.changes if c.kind == "new"} for out in r]
    assert not (claimed[0] & claimed[1])
    assert claimed[0] | claimed[1] == {f.id for f in many}
    assert sum(out.run["lost"] for out in r) == n
    for out, mine in zip(r, claimed, strict=True):
        assert {f.id for f in out.findings if f.status is Status.OPEN} == {f.id for f in many} - mine
    # Then both see them all gone: each is resolved by one run only.
    r2 = _race(azurite_env, [[], []], T0 + timedelta(days=1))
    resolved = [{c.finding.id for c in out.changes if c.kind == "resolved"} for out in r2]
    assert not (resolved[0] & resolved[1])
    assert resolved[0] | resolved[1] == {f.id for f in many}
    store = bootstrap.storage(Settings.from_env(azurite_env))
    assert {r.state for r in store.findings.load_records().values()} == {RESOLVED}


def test_findings_in_many_partitions_and_over_100_are_batched(store):
    subs = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(3)]
    fs = [finding(f"n{i}", sub=subs[i % 3], pool=f"p{i}") for i in range(450)]
    out = apply_scan(store.findings, store.runs, fs, now=T0)
    assert out.run["writes"] == 450
    assert out.run["transactions"] == 3 * 2  # 150 per subscription: 100 + 50
    assert len(store.findings.load_records()) == 450


def test_big_finding_round_trips_through_azurite(store):
    import random

    rnd = random.Random(3)
    cmds = tuple("az aks nodepool update " + "".join(rnd.choice("0123456789abcdef") for _ in range(900))
                 for _ in range(120))
    big = replace(finding("big"), commands=cmds)
    apply_scan(store.findings, store.runs, [big], now=T0)
    back = store.findings.get_record(big.id)
    assert back.finding.commands == cmds


def test_catalog_snapshot_is_etag_conditional(store):
    assert store.snapshots.get_snapshot("feed") is None
    assert store.snapshots.put_snapshot("feed", "{}", watermark="2026-03-01T00:00:00Z", feed_etag='"abc"', now=T0,
                              if_match="")
    snap = store.snapshots.get_snapshot("feed")
    assert (snap["body"], snap["watermark"], snap["feed_etag"]) == ("{}", "2026-03-01T00:00:00Z", '"abc"')
    assert store.snapshots.put_snapshot("feed", "{1}", now=T0, if_match=snap["etag"]) is True
    assert store.snapshots.put_snapshot("feed", "{2}", now=T0, if_match=snap["etag"]) is False  # stale etag
    assert store.snapshots.get_snapshot("feed")["body"] == "{1}"


@pytest.mark.slow
def test_ten_thousand_findings_in_one_run(store):
    subs = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(20)]
    fs = [finding(f"k{i}", sub=subs[i % 20], pool=f"p{i}") for i in range(10_000)]
    t = time.perf_counter()
    out = apply_scan(store.findings, store.runs, fs, now=T0)
    first = time.perf_counter() - t
    assert out.run["writes"] == 10_000 and out.run["transactions"] == 100
    again = apply_scan(store.findings, store.runs, fs, now=T0 + timedelta(days=1))
    assert again.run["writes"] == 0
    assert first < 120  # generous bound; bench/bench_store.py prints the real figures
