"""Red-team fault rows (issue 12, beyond its table): throttling past the wait budget, a usages
page that is not JSON.

ARG rows reuse the tenant and the replay of test_arg_faults (collect_inventory through the real
azure-core pipeline against the fake ARM over HTTPS); they count findings lost, false resolutions
and unexpected exits, and the seconds the run would have slept.
"""

from __future__ import annotations

import pytest

from scanner import bootstrap
from scanner.config import Settings, parse_scope
from scanner.core.model import ScopeKind
from scanner.sources.arm import MAX_TOTAL_WAIT_SECONDS, MAX_WAIT_SECONDS
from scanner.sources.quotas import fetch_quotas
from tests.fakes.arm_server import FakeArm, sub_id, usage_row
from tests.faults.test_arg_faults import SUBS, replay, tenant
from tests.faults.test_arg_faults import clean as clean  # noqa: F401 - module fixtures reused
from tests.faults.test_arg_faults import judged as judged  # noqa: F401


def collect_sleeping(fake, tmp_path, sleeps: list):
    from scanner.sources.resource_graph import collect_inventory

    bootstrap.reset()
    with fake.running(tmp_path) as env:
        try:
            return collect_inventory(Settings.from_env(env), parse_scope("tenant"),
                                     sleep=sleeps.append)
        finally:
            bootstrap.reset()


@pytest.mark.parametrize("row, retry_after, reported", [
    ("arg: 429 with a Retry-After longer than a scan waits (3600 s)", "3600", "asks to wait 3600 s"),
    ("arg: 429 again and again, 100 s each (past the run's wait budget)", "100", "Retry-After"),
], ids=["retry-after-3600", "wait-budget"])
def test_throttling_past_the_budget_ends_in_time_and_resolves_nothing(tmp_path, clean, judged,  # noqa: F811
                                                                      fault_ledger, row, retry_after, reported):
    _, clean_findings = clean
    fake = tenant()
    fake.failures = [(429, {"Retry-After": retry_after})] * 60
    sleeps: list[float] = []
    exits = 0
    try:
        inv = collect_sleeping(fake, tmp_path, sleeps)
    except Exception:  # noqa: BLE001 - an exception out of the collector is what this row counts
        exits = 1
        raise
    finally:
        lost, false_res, _ = (0, 0, 0) if exits else replay(clean_findings, inv, judged)
        fault_ledger.record(row, findings_lost=lost, false_resolutions=false_res, unexpected_exits=exits)
    assert (lost, false_res, exits) == (0, 0, 0)
    # Before: 6 waits of 120 s for one request (720 s) whatever the server asked, per request.
    assert sum(sleeps) <= MAX_TOTAL_WAIT_SECONDS and all(s <= MAX_WAIT_SECONDS for s in sleeps)
    if retry_after == "3600":
        assert sleeps == [] and len(fake.arg_requests) == 1
    failed = {e.subscription for e in inv.errors if e.kind is ScopeKind.SUBSCRIPTION}
    assert failed == {sub_id(i) for i in range(SUBS)}
    assert all("429" in e.detail for e in inv.errors), inv.errors
    if reported != "Retry-After":
        assert all(reported in e.detail for e in inv.errors)


@pytest.mark.parametrize("fault", ["html", "cut"])  # a reset is retried by azure-core itself
def test_a_usages_page_that_cannot_be_read_is_a_quota_error_not_an_exit(tmp_path, fault_ledger, fault, monkeypatch):
    """Before: an HTML 200 (or a body cut short past retries) on usages raised ArmReadError out of
    fetch_quotas, and the whole scan exited 1."""
    monkeypatch.setattr("scanner.sources.arm.retry_wait", lambda headers, attempt, base=1.0: 0.0)
    fake = FakeArm()
    sub = sub_id(0)
    fake.add_subscription(sub)
    fake.usages[(sub, "westeurope")] = [usage_row("standardDSv2Family", 10, 100)]
    fake.wire_faults.extend([("usages", fault)] * 40)
    exits, errors = 0, []
    bootstrap.reset()
    try:
        with fake.running(tmp_path) as env:
            _, errors = fetch_quotas(Settings.from_env(env), [(sub, "westeurope")])
    except Exception:  # noqa: BLE001
        exits = 1
        raise
    finally:
        bootstrap.reset()
        leaked = int(any(fake.token in str(e) or fake.identity_header in str(e) for e in errors))
        fault_ledger.record(f"usages: {fault} on every page", unexpected_exits=exits, secrets_leaked=leaked)
    assert (exits, leaked) == (0, 0)
    assert [(e.kind, e.subscription, e.region) for e in errors] == [(ScopeKind.QUOTA, sub, "westeurope")]
    assert "quota checks skipped" in errors[0].detail


# --------------------------------------------------------------------------- telling (Azurite + webhook)


def test_a_webhook_answering_410_keeps_the_message_until_it_is_back(azurite_env, fault_ledger):
    """A Workflows trigger deleted (410 Gone) for two nights, then restored: the card is kept,
    named as undeliverable without the signature, and posted once when the webhook is back."""
    from datetime import datetime, timedelta, timezone

    from scanner.notify import Transports, notify
    from tests import factories
    from tests.fakes.webhook_receiver import webhook_receiver

    now = datetime(2026, 3, 1, 2, tzinfo=timezone.utc)
    with webhook_receiver() as hook:
        settings = Settings.from_env({**azurite_env, "TEAMS_WEBHOOK_URL": hook.url})
        outbox = bootstrap.storage(settings).outbox
        transports = Transports(settings, teams_options={"timeout": 2, "backoff": 0.01})
        hook.default = 410
        nights = [notify([factories.change("new", "aks1")], settings, now=now, outbox=outbox, transports=transports),
                  notify([], settings, now=now + timedelta(days=1), outbox=outbox, transports=transports)]
        stuck = outbox.undeliverable()
        hook.default = 202
        nights.append(notify([], settings, now=now + timedelta(days=2), outbox=outbox, transports=transports))
        nights.append(notify([], settings, now=now + timedelta(days=3), outbox=outbox, transports=transports))
        posts = len(hook.posts)
        shown = repr(nights) + repr(stuck)
        leaked = int(hook.sig in shown)
    fault_ledger.record("teams: the webhook answers 410 Gone for two nights, then is back",
                        messages_lost=max(0, 1 - posts), messages_duplicated=max(0, posts - 1), secrets_leaked=leaked)
    assert (posts, leaked) == (1, 0)
    assert nights[0].sent == 0 and nights[0].failed and "410" in nights[0].failed[0]
    assert [u.channel for u in stuck] == ["teams"] and stuck[0].messages == 1
    assert nights[2].sent == 1 and nights[3].sent == 0


def test_the_clock_going_back_a_day_tells_nothing_again(fault_ledger):
    """Night 1, night 2, then a run whose clock says the day before night 2 (a host with a bad
    clock, a re-run with --today of yesterday): nothing resolved, nothing told again."""
    from datetime import timedelta

    from scanner.service import ScanDeps, ScanOptions, ScanStore, run_scan
    from tests.fakes.nights import CATALOG, INVENTORY, SKUS, T0, Tenant

    t = Tenant()
    t.night()
    t.night()
    told_before = list(t.notifier.stages())
    opened = {i for i, r in t.repo.load_records().items() if r.state == "open"}
    assert opened
    back = T0 + timedelta(days=1) - timedelta(days=1, hours=1)
    deps = ScanDeps(load_catalog=lambda: (CATALOG, []), load_inventory=lambda: INVENTORY,
                    load_skus=lambda inv: (SKUS[0], []), store=ScanStore(t.repo, t.runs, source="test"),
                    notifier=t.notifier)
    exits = 0
    try:
        report = run_scan(deps, back, ScanOptions(today=back.date()))
    except Exception:  # noqa: BLE001
        exits = 1
        raise
    finally:
        told_after = list(t.notifier.stages())
        again = len(told_after) - len(told_before) if not exits else 0
        fault_ledger.record("clock: a run dated a day before the last one", messages_duplicated=max(0, again),
                            unexpected_exits=exits)
    assert exits == 0 and again == 0, told_after[len(told_before):]
    assert not [c for c in report.changes if c.kind == "resolved"]
    assert {i for i, r in t.repo.load_records().items() if r.state == "open"} == opened
