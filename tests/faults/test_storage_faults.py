"""Faults at the storage and telling boundaries: the store, the outbox, the webhook.

Rows driven through the service over in-memory ports (tests/fakes/ports.py) inject the fault
as a value (a crash, a ScopeError of each kind); the Azurite and webhook rows stop or stall the
real peer. Each row measures what a user would notice and records it in the fault ledger."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from scanner.config import Settings
from scanner.core.lifecycle import RESOLVED
from scanner.core.model import ScopeError, ScopeKind
from tests import factories
from tests.fakes.nights import CATALOG, INVENTORY, Tenant, without_cluster
from tests.fakes.ports import Crash

GONE = "aks-ml-weu"


def _gone(report) -> set[str]:
    return {f.id for f in report.findings if f.resource.name == GONE}


def test_a_run_failing_after_the_store_write_loses_no_message(fault_ledger):
    t = Tenant()
    ids = _gone(t.night())
    t.notifier.fail_before_record = True
    exits = 0
    try:
        t.night(inventory=without_cluster(INVENTORY, GONE))
    except Crash:
        exits = 0  # the injected crash itself, not a failure of the code under test
    for _ in range(2):  # the next nights tell it, once
        t.night(inventory=without_cluster(INVENTORY, GONE))
    told = t.told("resolved")
    lost = len(ids - set(told))
    duplicated = len(told) - len(set(told))
    fault_ledger.record("service: run fails after the store write, before the notification is recorded",
                        messages_lost=lost, messages_duplicated=duplicated, unexpected_exits=exits)
    assert ids and lost == 0 and duplicated == 0


def _feed_catalog():
    """The built-in catalogue as if every entry came from the feed."""
    return replace(CATALOG, retirements=tuple(replace(r, source="feed") for r in CATALOG.retirements))


def _sub_region():
    c = next(c for c in INVENTORY.clusters if c.name == GONE)
    return c.subscription_id.lower(), c.location.lower()


@pytest.mark.parametrize(("row", "night2"), [
    pytest.param("resource graph: resultTruncated without $skipToken (half the rows)",
                 lambda sub, loc, cat: {"inventory": without_cluster(INVENTORY, GONE),
                                        "sku_errors": (ScopeError(ScopeKind.SUBSCRIPTION, subscription=sub,
                                                                  detail="resultTruncated: rows missing"),)},
                 id="truncated-arg"),
    pytest.param("feed: answers 200 with fewer records (the retirement is gone)",
                 lambda sub, loc, cat: {"catalog": replace(cat, retirements=()),
                                        "catalog_errors": (ScopeError(ScopeKind.FEED, name="feed",
                                                                      detail="the feed shrank"),)},
                 id="shrunken-feed"),
    pytest.param("skus: no facts for the region",
                 lambda sub, loc, cat: {"inventory": without_cluster(INVENTORY, GONE),
                                        "sku_errors": (ScopeError(ScopeKind.REGION_SKUS, subscription=sub, region=loc,
                                                                  detail="no SKU facts"),)},
                 id="missing-region-skus"),
])
def test_a_scope_not_read_whole_never_resolves_a_finding(row, night2, fault_ledger):
    t = Tenant()
    cat = _feed_catalog()
    ids = _gone(t.night(catalog=cat))
    kw = night2(*_sub_region(), cat)
    kw.setdefault("catalog", cat)
    report = t.night(**kw)
    false = {c.finding.id for c in report.changes if c.kind == "resolved"}
    false |= {r.id for r in t.repo.records.values() if r.state == RESOLVED}
    fault_ledger.record(f"service: {row}", false_resolutions=len(false), messages_duplicated=len(t.told("resolved")))
    assert ids and false == set() and t.told("resolved") == []


# --------------------------------------------------------------------------- real peers


def _azurite_env(az, prefix: str) -> dict[str, str]:
    return {"AzureWebJobsStorage": az.connection_string, "TABLE_PREFIX": prefix}


def test_azurite_stopping_between_a_message_header_and_its_rows(tmp_path, fault_ledger):
    """The outbox writes body, header, told rows, recorded flag. Azurite stops after the header:
    the user sees a StoreError naming the table (not a raw SDK error), the lock expires within
    seconds, and the next run (storage back) finishes the message and sends it exactly once."""
    from scanner import bootstrap
    from scanner.devtools.azurite import azurite
    from scanner.errors import StoreError
    from scanner.notify import Transports, notify
    from scanner.tables.outbox import LOCK_TTL
    from tests.fakes.webhook_receiver import webhook_receiver

    data = tmp_path / "azurite"
    now = datetime(2026, 3, 1, 2, tzinfo=timezone.utc)
    changes = [factories.change("new", "aks1"), factories.change("new", "aks2")]
    with webhook_receiver() as hook:
        with azurite(location=data) as az:
            settings = Settings.from_env({**_azurite_env(az, "outage"), "TEAMS_WEBHOOK_URL": hook.url})
            outbox = bootstrap.storage(settings, retry_total=1).outbox
            real_submit = outbox.table.submit_transaction

            def stop_then_submit(ops):  # the told rows: Azurite goes away just before them
                os.killpg(az.pid, signal.SIGTERM)
                return real_submit(ops)

            outbox.table.submit_transaction = stop_then_submit
            shown, unexpected = "", 0
            try:
                notify(changes, settings, now=now, outbox=outbox, transports=Transports(settings), lock_wait=0,
                       clock=lambda: now)
            except StoreError as exc:
                shown = str(exc)
            except Exception:  # noqa: BLE001 - a raw SDK error reaching the user is what this row counts
                unexpected = 1
        with azurite(location=data) as az2:  # storage is back (same data, new ports)
            settings2 = Settings.from_env({**_azurite_env(az2, "outage"), "TEAMS_WEBHOOK_URL": hook.url})
            outbox2 = bootstrap.storage(settings2).outbox
            lock = outbox2.table.get_entity("lock", "notify")
            held_for = (lock["expires"] - now).total_seconds()
            later = now + timedelta(seconds=LOCK_TTL + 1)
            report = notify(changes, settings2, now=later, outbox=outbox2,
                            transports=Transports(settings2, teams_options={"backoff": 0.01}),
                            lock_wait=0, clock=lambda: later)
    secrets = int(az.account_key in shown or "AccountKey" in shown)
    fault_ledger.record("tables: Azurite stops between a notification's header and its rows",
                        messages_lost=max(0, 1 - len(hook.posts)), messages_duplicated=max(0, len(hook.posts) - 1),
                        unexpected_exits=unexpected, secrets_leaked=secrets)
    assert unexpected == 0 and "notifications table" in shown and secrets == 0
    assert 0 < held_for <= LOCK_TTL <= 60
    assert report.sent == 1 and len(hook.posts) == 1


def test_a_webhook_answering_after_the_client_timeout_is_posted_once(azurite_env, fault_ledger):
    """At most once: the post went out and no answer came in time; it is not posted again, on
    this run or any later one, and the outbox records it as sent, unconfirmed."""
    from scanner import bootstrap
    from scanner.notify import Transports, notify
    from tests.fakes.webhook_receiver import webhook_receiver

    now = datetime(2026, 3, 1, 2, tzinfo=timezone.utc)
    with webhook_receiver() as hook:
        hook.answer_delay = 1.0
        settings = Settings.from_env({**azurite_env, "TEAMS_WEBHOOK_URL": hook.url})
        outbox = bootstrap.storage(settings).outbox
        transports = Transports(settings, teams_options={"timeout": 0.3, "backoff": 0.01})
        first = notify([factories.change("new", "aks1")], settings, now=now, outbox=outbox, transports=transports)
        again = notify([factories.change("new", "aks1")], settings, now=now + timedelta(days=1), outbox=outbox,
                       transports=transports)
        header = outbox.header(first.messages[0].id)
        hook.answer_delay = 0.0
        posts = len(hook.posts)
    fault_ledger.record("teams: the webhook takes the post and answers after the client timeout",
                        messages_duplicated=max(0, posts - 1), messages_lost=max(0, 1 - posts))
    assert posts == 1 and first.sent == 1 and again.messages == [] and again.sent == 0
    assert header["status"] == "sent" and header["unconfirmed"] == 1
