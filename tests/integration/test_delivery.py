"""Delivery that loses nothing: notify() end to end with Azurite (table + queue) and a webhook receiver.

Runs are simulated with the lifecycle's Change values (what the scan hands to notify); the days
left move as they would night after night.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import pytest
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from notifiers import DeliveryError
from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import Change, Finding, Severity, Status
from scanner.errors import InputError
from scanner.notify import Transports, notify, send_from_queue_message
from scanner.tables.queues import encode_body
from tests import factories
from tests.fakes.azurite import unique_name
from tests.fakes.smtp_server import smtp_server
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def finding(cluster: str, pool: str, days_left: int, severity=Severity.MEDIUM, tags=None) -> Finding:
    return factories.finding(cluster, pool, rg=f"rg-{cluster}", severity=severity, days_left=days_left, tags=tags,
                             size="Standard_D4_v2", replacement="Standard_D4s_v5", status=Status.OPEN,
                             commands=(f"az aks nodepool add --cluster-name {cluster} -n {pool}v5",))


@pytest.fixture
def hook():
    with webhook_receiver() as h:
        yield h


@pytest.fixture
def env(azurite_env, hook):
    return {**azurite_env, "TEAMS_WEBHOOK_URL": hook.url, "NOTIFY_QUEUE": unique_name("q")}


class Rig:
    """One deployment: settings, the notifications table, the queue, fast-retrying transports."""

    def __init__(self, env: dict[str, str], **transport_kw) -> None:
        self.settings = Settings.from_env(env)
        self.outbox = bootstrap.storage(self.settings).outbox
        self.queue = bootstrap.notify_queue(self.settings)
        kw = {"teams_options": {"backoff": 0.01, "attempts": 2, "max_wait": 0.05}, **transport_kw}
        self.transports = Transports(self.settings, **kw)

    def run(self, changes, now=T0, **kw):
        kw.setdefault("queue", self.queue)
        return notify(changes, self.settings, now=now, outbox=self.outbox, transports=self.transports, **kw)

    def rows(self) -> list[dict]:
        return [dict(e) for e in self.outbox.table.list_entities()]


def night(i: int, fixed: bool = False):
    """Night i of a small tenant: two clusters, three pools; the 90-day line is crossed on night 2."""
    changes = [
        Change("new" if i == 0 else "unchanged", finding("aks-a", "np1", 92 - i)),
        Change("new" if i == 0 else "unchanged", finding("aks-a", "np2", 400 - i, Severity.LOW)),
    ]
    np3 = finding("aks-b", "np3", 300 - i, Severity.LOW)
    changes.append(Change("resolved", np3) if fixed else Change("new" if i == 0 else "unchanged", np3))
    return changes


def kinds(post) -> str:
    return json.dumps(post)


def test_scan_story_new_quiet_reminder_resolution(env, hook):
    rig = Rig(env)
    r1 = rig.run(night(0))
    assert (r1.recorded, r1.sent, r1.failed) == (1, 1, [])
    (post,) = hook.posts
    assert "3 new in 2 resource(s)" in kinds(post) and "aks-a" in kinds(post) and "aks-b" in kinds(post)

    r2 = rig.run(night(1), now=T0 + timedelta(days=1))
    assert (r2.messages, r2.recorded, r2.sent) == ([], 0, 0) and len(hook.posts) == 1

    r3 = rig.run(night(2), now=T0 + timedelta(days=2))  # np1: 92 -> 90 days
    assert r3.sent == 1 and len(hook.posts) == 2
    text = kinds(hook.posts[1])
    assert "REMINDER: 90 days" in text and "np1" in text and "np2" not in text

    rig.run(night(3), now=T0 + timedelta(days=3))
    assert len(hook.posts) == 2

    r5 = rig.run(night(4, fixed=True), now=T0 + timedelta(days=4))
    assert r5.sent == 1 and len(hook.posts) == 3
    text = kinds(hook.posts[2])
    assert "1 resolved" in text and "RESOLVED" in text and "np3" in text
    assert rig.run(night(5, fixed=True), now=T0 + timedelta(days=5)).sent == 0
    assert len(hook.posts) == 3


def test_webhook_down_two_runs_then_up_delivers_every_message_once(env, hook):
    rig = Rig(env)
    hook.default = 500
    r1 = rig.run(night(0))
    r2 = rig.run(night(2), now=T0 + timedelta(days=2))  # a reminder becomes due while still down
    assert r1.sent == r2.sent == 0 and len(r1.failed) == 1 and len(r2.failed) == 2
    assert "HTTP 500" in r2.failed[0] and hook.sig not in " ".join(r2.failed)
    assert hook.posts == []
    hook.default = 202
    r3 = rig.run(night(3), now=T0 + timedelta(days=3))
    assert r3.recorded == 0 and r3.sent == 2 and r3.failed == []
    assert len(hook.posts) == 2
    assert "3 new" in kinds(hook.posts[0]) and "REMINDER: 90 days" in kinds(hook.posts[1])
    assert rig.run(night(4), now=T0 + timedelta(days=4)).sent == 0 and len(hook.posts) == 2
    assert all(r["status"] == "sent" for r in rig.rows() if r["PartitionKey"] == "message")


def test_client_error_is_recorded_not_retried_in_the_run_and_retried_next_run(env, hook):
    rig = Rig(env)
    hook.script([404])
    r1 = rig.run(night(0))
    assert r1.sent == 0 and "HTTP 404" in r1.failed[0]
    assert [s for s, _ in hook.requests] == [404]
    (header,) = [r for r in rig.rows() if r["PartitionKey"] == "message"]
    assert header["status"] == "failed" and header["last_status"] == 404 and not header["retryable"]
    assert rig.run(night(1), now=T0 + timedelta(days=1)).sent == 1 and len(hook.posts) == 1


def test_two_overlapping_runs_tell_each_stage_once(env, hook):
    rigs = [Rig(env), Rig(env)]
    barrier = threading.Barrier(2)
    results = []

    def go(rig):
        barrier.wait()
        results.append(rig.run(night(0)))

    threads = [threading.Thread(target=go, args=(r,)) for r in rigs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(r.recorded for r in results) == 1
    assert len(hook.posts) == 1


def test_split_message_resumes_after_the_last_part_that_arrived(env, hook):
    rig = Rig(env)
    changes = [Change("new", finding(f"aks-{i % 40}", f"pool{i}", 20 + i % 300)) for i in range(400)]
    hook.script([202, 500, 500])  # second post fails twice (both attempts of this run)
    r1 = rig.run(changes)
    assert r1.sent == 0 and len(hook.posts) == 1
    r2 = rig.run([Change("unchanged", c.finding) for c in changes], now=T0 + timedelta(hours=1))
    assert r2.sent == 1 and r2.recorded == 0
    (msg,) = r1.messages
    assert len(hook.posts) == msg.parts and msg.parts > 1  # part 1 was not posted twice
    assert all(len(json.dumps(p, ensure_ascii=False).encode()) < 28 * 1024 for p in hook.posts)


def test_queue_trigger_sends_by_id(env, hook):
    rig = Rig(env)
    r = rig.run(night(0), drain=False)  # a Functions host: the scan only enqueues
    assert (r.recorded, r.enqueued, r.sent, hook.posts) == (1, 1, 0, [])
    (mid,) = rig.queue.peek_ids()
    assert mid == r.messages[0].id
    # On the wire: base64 text (what the Functions queue trigger decodes) of {"id": ...} only.
    plain = QueueClient.from_connection_string(rig.settings.storage_connection_string.reveal(),
                                               rig.settings.notify_queue)
    (wire,) = plain.peek_messages()
    body = base64.b64decode(wire.content).decode()
    assert json.loads(body) == {"id": mid}  # no content, no secret
    assert send_from_queue_message(body, rig.settings, outbox=rig.outbox, transports=rig.transports) == "sent"
    assert send_from_queue_message(body.encode(), rig.settings, outbox=rig.outbox,
                                   transports=rig.transports) == "skipped"
    assert len(hook.posts) == 1
    hook.default = 503
    rig2 = Rig(env)
    r2 = rig2.run(night(2), now=T0 + timedelta(days=2), drain=False)
    with pytest.raises(DeliveryError) as info:  # retryable: the host retries, then poisons
        send_from_queue_message(encode_body(r2.messages[0].id), rig2.settings, outbox=rig2.outbox,
                                transports=rig2.transports)
    assert info.value.retryable and hook.sig not in str(info.value)


@pytest.mark.parametrize("body,needle", [("not json", "not JSON"), ('{"id": "../etc"}', "field 'id'"),
                                         ("{}", "field 'id'")], ids=["not-json", "bad-id", "no-id"])
def test_malformed_queue_message_names_the_problem(env, body, needle):
    with pytest.raises(InputError, match=needle):
        send_from_queue_message(body, Settings.from_env(env))


def test_dry_run_renders_without_sending_or_recording(env, hook):
    rig = Rig(env)
    r = rig.run(night(0), dry_run=True)
    assert len(r.messages) == 1 and r.messages[0].teams_posts
    out = r.to_dict()
    assert out["dry_run"] and out["messages"][0]["teams_posts"][0]["type"] == "message"
    assert hook.requests == [] and rig.rows() == [] and rig.queue.peek_ids() == []
    assert rig.run(night(1)).sent == 1  # a dry run told nobody, so the real run still does


def test_file_channel_writes_cards_and_eml(env, hook, tmp_path):
    env = {**env, "EMAIL_TO": "ops@example.com", "EMAIL_FROM": "scanner@example.com"}
    rig = Rig(env, file_dir=tmp_path / "out")
    r = rig.run(night(0))
    assert r.sent == 2 and hook.requests == []
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 2 and files[0].endswith(".eml") != files[1].endswith(".eml")
    card = json.loads(next((tmp_path / "out").glob("*.teams.json")).read_text())
    assert card["posts"][0]["attachments"][0]["content"]["version"] == "1.4"
    eml = next((tmp_path / "out").glob("*.eml")).read_text()
    assert "To: ops@example.com" in eml and "vm-size-retirements.csv" in eml


def test_routing_by_tag_and_email_over_smtp(env, hook, tmp_path):
    with webhook_receiver() as payments, smtp_server(tmp_path) as smtp:
        env = {**env, "TEAMS_WEBHOOK_PAYMENTS": payments.url, "EMAIL_TO": "platform@example.com",
               "EMAIL_FROM": "scanner@example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
               "SMTP_USERNAME": "scanner", "SMTP_PASSWORD": "s3cret-smtp-pw"}
        rig = Rig(env, smtp_options={"ssl_context": smtp.client_context()})
        changes = night(0) + [Change("new", finding("aks-pay", "np9", 45, Severity.HIGH,
                                                    tags={"retirement-scanner:teams": "TEAMS_WEBHOOK_PAYMENTS",
                                                          "retirement-scanner:email": "pay@example.com"}))]
        r = rig.run(changes)
        assert r.sent == 4 and r.failed == []
        assert len(hook.posts) == 1 and "aks-pay" not in kinds(hook.posts[0])
        assert len(payments.posts) == 1 and "aks-pay" in kinds(payments.posts[0])
        assert sorted(tuple(e[1]) for e in smtp.envelopes) == [("pay@example.com",), ("platform@example.com",)]
        assert rig.run(changes, now=T0 + timedelta(hours=1)).sent == 0


def test_secrets_never_reach_logs_errors_table_or_queue(env, hook, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_server(tmp_path, password="smtp-pw-Q9") as smtp:
        env = {**env, "EMAIL_TO": "ops@example.com", "EMAIL_FROM": "scanner@example.com",
               "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_USERNAME": "scanner",
               "SMTP_PASSWORD": "wrong-smtp-pw-Z7"}
        rig = Rig(env, smtp_options={"ssl_context": smtp.client_context()})
        hook.default = 500
        r = rig.run(night(0), drain=False)
        rig.run(night(0))
        report = json.dumps(rig.run(night(1), dry_run=True).to_dict()) + json.dumps(r.to_dict())
    account_key = env["AzureWebJobsStorage"].split("AccountKey=")[1].split(";")[0]
    stored = json.dumps(rig.rows(), default=str)
    queued = json.dumps([m.content for m in rig.queue.client.peek_messages(max_messages=32)])
    bodies = "".join(rig.outbox.load(m.id).to_json() for m in r.messages)
    haystack = caplog.text + stored + queued + bodies + report
    assert "HTTP 500" in stored and "refused" in stored  # the failures are there, told safely
    for secret in (hook.sig, hook.path, "wrong-smtp-pw-Z7", account_key):
        assert secret not in haystack, secret


def test_interrupted_recording_is_finished_by_the_next_run(env, hook):
    rig = Rig(env)
    from notifiers.render import build_messages

    (msg,) = build_messages(night(0), {}, rig.settings, T0).messages
    real = rig.outbox._write_told
    rig.outbox._write_told = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("crash"))
    with pytest.raises(RuntimeError):
        rig.outbox.record(msg, T0)
    rig.outbox._write_told = real
    r = rig.run(night(0))
    assert r.recorded == 0 and r.sent == 1 and "finished recording 1" in " ".join(r.notes)
    assert len(hook.posts) == 1


def test_table_name_matches_the_store(env):

    store = bootstrap.storage(Settings.from_env(env))
    assert store.outbox.table.table_name == Settings.from_env(env).table_prefix + "Notifications"
    names = [t.name for t in TableServiceClient.from_connection_string(env["AzureWebJobsStorage"]).list_tables()]
    assert Settings.from_env(env).table_prefix + "Notifications" in names
