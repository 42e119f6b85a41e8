"""Timer and queue triggers through the real function objects, on Azurite, the sample tenant and a
feed server on loopback: ingest (watermark, ETag, new retirement -> scan), nightly scan (store,
enqueue), send_notifications (queue -> channel)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from notifiers import DeliveryError
from scanner import bootstrap
from scanner.bootstrap import get_context
from scanner.config import Settings
from scanner.feed_ingest import SNAPSHOT
from scanner.notify import Transports
from scanner.sources.feed import Announcement
from scanner.tables.snapshots import snapshot_from_text
from tests.fakes.webhook_receiver import webhook_receiver
from tests.functions.conftest import apply_env, new_retirement_record

pytestmark = pytest.mark.integration


def timer(past_due: bool = False) -> TimerRequest:
    return TimerRequest(past_due=past_due)


def store():
    return get_context().store()


def queue_ids(env) -> list[str]:
    return bootstrap.notify_queue(Settings.from_env(env)).peek_ids(32)


def drain(fn, env) -> list[str]:
    """What the host does: hand each queue message to send_notifications, then delete it."""
    q = bootstrap.notify_queue(Settings.from_env(env))
    outcomes = []
    for m in q.client.receive_messages(max_messages=32):
        fn["send_notifications"](func.QueueMessage(id=m.id, body=m.content.encode()))
        q.client.delete_message(m)
        outcomes.append(m.content)
    return outcomes


def test_ingest_stores_a_snapshot_then_asks_only_for_changes(fn, app_env, feed):
    fn["ingest_feed"](timer())
    snap = store().snapshots.get_snapshot(SNAPSHOT)
    assert snap is not None and snap["feed_etag"] == feed.etag
    items = snapshot_from_text(snap["body"], Announcement)
    assert items and all(a.source.startswith(feed.base) for a in items)
    newest = max(a.modified for a in items)
    assert snap["watermark"] >= newest.isoformat()[:19]

    fn["ingest_feed"](timer())
    second = feed.requests[-1]
    assert second["headers"]["If-None-Match"] == feed.etag
    assert "modified ge " in second["query"]["$filter"]
    assert store().snapshots.get_snapshot(SNAPSHOT)["etag"] == snap["etag"]  # 304: nothing rewritten


def test_a_new_retirement_in_the_feed_triggers_a_scan_for_it(fn, app_env, feed, caplog):
    fn["ingest_feed"](timer())
    assert store().findings.load_records() == {}  # nothing new on the first refresh: the built-in catalogue has it all
    feed.add(new_retirement_record("990001", "Ddsv5"))
    with caplog.at_level(logging.INFO, logger="scanner.jobs"):
        fn["ingest_feed"](timer())
    assert "new retirement(s) azure-updates-990001: scanning tenant now" in caplog.text
    records = store().findings.load_records().values()
    hit = [r.finding for r in records if r.finding.retirement and r.finding.retirement.id == "azure-updates-990001"]
    assert hit and {f.vm_size for f in hit} == {"Standard_D4ds_v5"}
    assert get_context().store().snapshots.get_snapshot(SNAPSHOT)["watermark"].startswith("2026-09-01T10:00:00")

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="scanner.jobs"):
        fn["ingest_feed"](timer())
    assert "no new retirement" in caplog.text  # the same record again is not new


def test_feed_down_keeps_the_snapshot_and_says_so(fn, app_env, feed, caplog):
    fn["ingest_feed"](timer())
    before = store().snapshots.get_snapshot(SNAPSHOT)
    feed.down = True
    with caplog.at_level(logging.WARNING):
        fn["ingest_feed"](timer())
    assert store().snapshots.get_snapshot(SNAPSHOT)["body"] == before["body"]
    assert f"feed:{feed.base}" in caplog.text and "HTTP 503" in caplog.text


def test_nightly_scan_stores_findings_and_enqueues_notifications(fn, app_env, caplog):
    with caplog.at_level(logging.INFO):
        fn["nightly_scan"](timer(past_due=True))
    assert "nightly_scan: the timer is past due" in caplog.text
    records = store().findings.load_records()
    assert records, "the sample tenant has findings"
    runs = store().runs.list_runs(datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert [r["source"] for r in runs] == ["timer"]
    enqueued = queue_ids(app_env)
    assert enqueued, "new findings are told through the queue"
    outbox_dir = Path(app_env["NOTIFY_DIR"])
    assert not outbox_dir.exists() or not any(outbox_dir.rglob("*.*")), "the timer enqueues; it does not send"

    drain(fn, app_env)
    written = sorted(p.name for p in Path(app_env["NOTIFY_DIR"]).rglob("*") if p.is_file())
    assert written, "the queue trigger sent each message to the channel"
    assert queue_ids(app_env) == []

    # A quiet second night: same findings, nothing new to tell, nothing enqueued.
    fn["nightly_scan"](timer())
    assert queue_ids(app_env) == []
    assert set(store().findings.load_records()) == set(records)
    runs = store().runs.list_runs(datetime(2000, 1, 1, tzinfo=timezone.utc))
    assert len(runs) == 2 and runs[-1]["changes"]["new"] == 0


def test_queue_trigger_posts_to_teams_and_retries_a_failing_webhook(fn, app_env, monkeypatch, caplog):
    with webhook_receiver() as hook:
        apply_env(monkeypatch, {**app_env, "NOTIFY_DIR": "", "EMAIL_TO": "", "TEAMS_WEBHOOK_URL": hook.url})
        ctx = get_context()
        ctx.set_transports(Transports(ctx.settings, teams_options={"backoff": 0.01}))
        fn["nightly_scan"](timer())
        ids = queue_ids(app_env)
        assert ids
        hook.default = 500
        q = bootstrap.notify_queue(Settings.from_env(app_env))
        first = next(iter(q.client.receive_messages(max_messages=1)))
        with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryError):
            fn["send_notifications"](func.QueueMessage(id=first.id, body=first.content.encode()))
        hook.default = 202
        fn["send_notifications"](func.QueueMessage(id=first.id, body=first.content.encode()))
        assert hook.posts, "the retried message reached the webhook"
        assert hook.sig not in caplog.text  # the webhook URL is a secret


@pytest.mark.parametrize("body", [b"", b"not json", b'{"id": "../../etc"}', b'{"no": 1}'],
                         ids=["empty", "not-json", "bad-id", "no-id"])
def test_a_malformed_queue_message_is_dropped_with_a_log_line(fn, app_env, body, caplog):
    with caplog.at_level(logging.ERROR):
        fn["send_notifications"](func.QueueMessage(id="m1", body=body))
    assert "dropped a malformed queue message" in caplog.text


def test_a_webhook_answering_404_shows_in_the_next_nightly_scan_and_the_report(fn, app_env, monkeypatch, caplog):
    with webhook_receiver() as hook:
        apply_env(monkeypatch, {**app_env, "NOTIFY_DIR": "", "EMAIL_TO": "", "TEAMS_WEBHOOK_URL": hook.url})
        ctx = get_context()
        ctx.set_transports(Transports(ctx.settings, teams_options={"backoff": 0.01}))
        fn["nightly_scan"](timer())
        hook.default = 404
        drain(fn, app_env)  # permanent failure: kept in the table, the message leaves the queue
        with caplog.at_level(logging.WARNING, logger="scanner.jobs"):
            fn["nightly_scan"](timer())
        assert "nightly_scan: delivery problem: notify:TEAMS_WEBHOOK_URL: 1 message(s) undeliverable since" in caplog.text
        assert "HTTP 404 (last tried" in caplog.text
        runs = store().runs.list_runs(datetime(2000, 1, 1, tzinfo=timezone.utc))
        assert [e.split(": ")[0] for e in runs[-1]["errors"]] == ["notify:TEAMS_WEBHOOK_URL"]
        req = func.HttpRequest("GET", "https://scanner.example.net/api/report", params={}, body=b"")
        html = fn["api_report"](req).get_body().decode()
        assert 'id="delivery-problems"' in html and hook.sig not in html + caplog.text

        hook.default = 202
        drain(fn, app_env)  # the second night re-enqueued it: it goes out now, once (a long digest in parts)
        parts = [json.dumps(p) for p in hook.posts]
        assert parts and (len(parts) == 1 or all(f"of {len(parts)})" in p for p in parts))
        drain(fn, app_env)
        assert len(hook.posts) == len(parts)
        html = fn["api_report"](req).get_body().decode()
        assert 'id="delivery-problems"' not in html
