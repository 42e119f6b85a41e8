"""notifiers.teams against a real HTTP receiver on loopback."""

from __future__ import annotations

import logging

import pytest

from notifiers import DeliveryError, Message, Recipient
from notifiers.teams import TeamsWebhook, mask_url, retry_after_seconds
from scanner.config import Secret
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration


def message(n_posts: int = 1) -> Message:
    posts = tuple({"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                                                       "contentUrl": None, "content": {"n": i}}]}
                  for i in range(n_posts))
    return Message("a" * 32, Recipient("teams", "TEAMS_WEBHOOK_URL"), "subject", (), teams_posts=posts)


@pytest.fixture
def hook():
    with webhook_receiver() as h:
        yield h


def sender(hook, waits: list[float], **kw) -> TeamsWebhook:
    return TeamsWebhook(Secret(hook.url), "TEAMS_WEBHOOK_URL", sleep=waits.append, backoff=0.01, **kw)


def test_posts_every_part_in_order(hook):
    done = []
    sender(hook, []).send(message(3), progress=done.append)
    assert [p["attachments"][0]["content"]["n"] for p in hook.posts] == [0, 1, 2]
    assert done == [1, 2, 3]


def test_429_waits_as_told_then_succeeds(hook):
    hook.retry_after = "3"
    hook.script([429, 503])
    waits: list[float] = []
    sender(hook, waits).send(message())
    assert waits == [3.0, 3.0]
    assert [s for s, _ in hook.requests] == [429, 503, 202] and len(hook.posts) == 1


def test_server_errors_exhaust_attempts_and_are_retryable(hook, caplog):
    hook.default = 500
    waits: list[float] = []
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DeliveryError) as info:
        sender(hook, waits, attempts=3).send(message())
    assert info.value.retryable and info.value.status == 500
    assert len(hook.requests) == 3 and len(waits) == 2
    for text in (str(info.value), caplog.text):
        assert hook.sig not in text and hook.path not in text
    assert "TEAMS_WEBHOOK_URL" in str(info.value) and "127.0.0.1" in str(info.value)


def test_client_error_is_not_retried(hook):
    hook.script([400])
    with pytest.raises(DeliveryError) as info:
        sender(hook, []).send(message())
    assert not info.value.retryable and info.value.status == 400
    assert len(hook.requests) == 1


def test_wrong_signature_is_a_404_and_names_no_secret(hook):
    bad = TeamsWebhook(Secret(hook.url.replace(hook.sig, "wrong-signature")), "TEAMS_WEBHOOK_OPS", sleep=lambda s: None)
    with pytest.raises(DeliveryError) as info:
        bad.send(message())
    assert info.value.status == 404 and "wrong-signature" not in str(info.value)
    assert "TEAMS_WEBHOOK_OPS" in repr(bad) and "wrong-signature" not in repr(bad)


def test_failure_mid_message_reports_parts_done_and_resumes(hook):
    hook.script([202, 400])
    with pytest.raises(DeliveryError) as info:
        sender(hook, []).send(message(3))
    assert info.value.parts_done == 1
    sender(hook, []).send(message(3), start_part=info.value.parts_done)
    assert [p["attachments"][0]["content"]["n"] for p in hook.posts] == [0, 1, 2]


def test_network_error_hides_the_url():
    url = "http://127.0.0.1:9/workflows/x/triggers/manual/paths/invoke?sig=NETSECRET"
    with pytest.raises(DeliveryError) as info:
        TeamsWebhook(Secret(url), sleep=lambda s: None, attempts=2, timeout=2).send(message())
    assert info.value.retryable and "NETSECRET" not in str(info.value) and "/workflows" not in str(info.value)


@pytest.mark.parametrize("value,expected", [("0", 0.0), ("7", 7.0), (" 2.5 ", 2.5), ("", None), ("soon", None),
                                            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
                         ids=["zero", "seconds", "fraction", "empty", "garbage", "past-date"])
def test_retry_after(value, expected):
    assert retry_after_seconds(value) == expected


def test_mask_url_keeps_only_scheme_and_host():
    assert mask_url("https://prod-1.westeurope.logic.azure.com:443/workflows/a?sig=S") == \
        "https://prod-1.westeurope.logic.azure.com:443/***"
