"""The store's lifecycle feeding ScanNotifier (what run_scan calls), on Azurite, night after night."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.notify import ScanNotifier, Transports
from scanner.service import ScanStore
from tests import factories
from tests.fakes.azurite import unique_name
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration

SUB = factories.SUB
RET = factories.retirement(retires_on=date(2026, 6, 1))
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)  # 92 days before the retirement


def findings_on(day: datetime, pools=("np1", "np2")) -> tuple:
    return tuple(factories.finding("aks-a", pool, size="Standard_D4_v2", retirement=RET,
                                   days_left=RET.days_left(day.date()), replacement="Standard_D4s_v5",
                                   commands=("az aks nodepool add ...",)) for pool in pools)


def report(day: datetime, pools=("np1", "np2")):
    return SimpleNamespace(findings=findings_on(day, pools), errors=(), subscriptions_seen=frozenset({SUB}),
                           timings={}, generated_at=day, today=day.date())


def test_nights_through_the_store(azurite_env):
    with webhook_receiver() as hook:
        env = {**azurite_env, "TEAMS_WEBHOOK_URL": hook.url, "NOTIFY_QUEUE": unique_name("q")}
        settings = Settings.from_env(env)
        table_store = bootstrap.storage(settings)
        store = ScanStore(table_store.findings, table_store.runs)
        notifier = ScanNotifier(settings, outbox=table_store.outbox,
                                transports=Transports(settings, teams_options={"backoff": 0.01}))

        def night(i: int, pools=("np1", "np2"), dry_run=False):
            day = T0 + timedelta(days=i)
            _findings, changes = store.sync(report(day, pools), now=day, dry_run=dry_run)
            return notifier.send(changes, None, now=day, dry_run=dry_run)

        preview = night(0, dry_run=True)
        assert preview[0]["teams_posts"] and hook.posts == []  # dry run: shown, not sent
        assert len(night(0)) == 1 and len(hook.posts) == 1
        assert "2 new" in json.dumps(hook.posts[0])
        assert night(1) == [] and len(hook.posts) == 1  # identical next night: nothing
        assert len(night(2)) == 1  # 90 days left: one reminder for both pools, in one digest
        text = json.dumps(hook.posts[1])
        assert "2 reminders" in text and "REMINDER: 90 days" in text
        assert night(3) == []
        assert len(night(4, pools=("np1",))) == 1  # np2 fixed
        assert "1 resolved" in json.dumps(hook.posts[2]) and "np2" in json.dumps(hook.posts[2])
        assert night(5, pools=("np1",)) == [] and len(hook.posts) == 3
        assert notifier.last.failed == []
