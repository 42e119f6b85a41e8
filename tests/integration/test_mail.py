"""notifiers.mail against real peers: aiosmtpd with STARTTLS + login, and a fake ACS over HTTPS."""

from __future__ import annotations

import base64
import csv
import io
import logging

import pytest

from notifiers import DeliveryError, Message, Recipient
from notifiers.mail import AcsEmailSender, SmtpSender
from scanner.config import Secret
from tests.fakes.acs_server import acs_server
from tests.fakes.smtp_server import smtp_server

pytestmark = pytest.mark.integration

CSV = "stage,severity,pool\r\nnew,high,np1\r\nreminder:90,medium,np2\r\n"


def digest(to=("ops@example.com", "dev@example.com")) -> Message:
    return Message("0123456789abcdef0123456789abcdef", Recipient("email", ",".join(sorted(to))),
                   "VM size retirements: 2 new in 1 resource(s)", (("f1", "new", "high", 80),),
                   text="plain body: Standard_D4_v2 np1", html="<p>html body: <b>Standard_D4_v2</b></p>", csv=CSV)


def parts(mime):
    text = mime.get_body(preferencelist=("plain",)).get_content()
    html = mime.get_body(preferencelist=("html",)).get_content()
    attachments = list(mime.iter_attachments())
    return text, html, attachments


def test_smtp_starttls_login_sends_text_html_and_csv(tmp_path):
    with smtp_server(tmp_path) as smtp:
        s = SmtpSender("127.0.0.1", smtp.port, sender="scanner@example.com", username="scanner",
                       password=Secret("s3cret-smtp-pw"), ssl_context=smtp.client_context())
        done = []
        s.send(digest(), progress=done.append)
    assert done == [1] and smtp.logins == ["scanner"]
    (mime,) = smtp.messages
    assert mime["Subject"] == "VM size retirements: 2 new in 1 resource(s)"
    assert smtp.envelopes[0] == ("scanner@example.com", ["dev@example.com", "ops@example.com"])
    text, html, attachments = parts(mime)
    assert "Standard_D4_v2 np1" in text and "<b>Standard_D4_v2</b>" in html
    (att,) = attachments
    assert att.get_filename().endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(att.get_content() if isinstance(att.get_content(), str)
                                           else att.get_content().decode())))
    assert [r["pool"] for r in rows] == ["np1", "np2"]


def test_smtp_wrong_password_fails_without_showing_it(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_server(tmp_path) as smtp:
        s = SmtpSender("127.0.0.1", smtp.port, sender="scanner@example.com", username="scanner",
                       password=Secret("wrong-pw-XYZ"), ssl_context=smtp.client_context())
        with pytest.raises(DeliveryError) as info:
            s.send(digest())
    assert not info.value.retryable and "login as 'scanner' refused" in str(info.value)
    assert "wrong-pw-XYZ" not in str(info.value) and "wrong-pw-XYZ" not in caplog.text
    assert smtp.messages == []


def test_smtp_untrusted_certificate_is_refused(tmp_path):
    with smtp_server(tmp_path) as smtp:
        s = SmtpSender("127.0.0.1", smtp.port, sender="scanner@example.com", username="scanner",
                       password=Secret("s3cret-smtp-pw"))  # default trust store: the test cert is unknown
        with pytest.raises(DeliveryError) as info:
            s.send(digest())
    assert info.value.retryable and "SSL" in str(info.value)
    assert smtp.messages == []


def acs_sender(acs, **kw) -> AcsEmailSender:
    return AcsEmailSender("DoNotReply@example.com", connection_string=Secret(acs.connection_string),
                          connection_verify=acs.cert_path, polling_interval=0, **kw)


def test_acs_connection_string_sends_signed_request_with_attachment(tmp_path):
    with acs_server(tmp_path) as acs:
        done = []
        acs_sender(acs).send(digest(), progress=done.append)
    assert done == [1]
    (email,) = acs.sent
    assert email["senderAddress"] == "DoNotReply@example.com"
    assert sorted(r["address"] for r in email["recipients"]["to"]) == ["dev@example.com", "ops@example.com"]
    assert email["content"]["subject"].startswith("VM size retirements")
    assert "Standard_D4_v2 np1" in email["content"]["plainText"] and "<b>" in email["content"]["html"]
    (att,) = email["attachments"]
    assert att["contentType"] == "text/csv" and base64.b64decode(att["contentInBase64"]).decode() == CSV
    assert ("GET", "/emails/operations/01234567-89ab-cdef-0123-456789abcdef", 200) in acs.requests


def test_acs_429_is_retried_after_retry_after_then_sent_once(tmp_path):
    with acs_server(tmp_path) as acs:
        acs.script([429, 429])
        acs_sender(acs, retry_backoff_factor=0.01).send(digest())
        statuses = [s for m, p, s in acs.requests if m == "POST"]
    assert statuses == [429, 429, 202] and len(acs.sent) == 1


def test_acs_throttled_past_the_retries_is_retryable(tmp_path):
    with acs_server(tmp_path) as acs:
        acs.script([429] * 10)
        with pytest.raises(DeliveryError) as info:
            acs_sender(acs, retry_total=1, retry_backoff_factor=0.01).send(digest())
    assert info.value.retryable and info.value.status == 429 and acs.sent == []


def test_acs_bad_key_is_permanent_and_hides_the_key(tmp_path):
    with acs_server(tmp_path) as acs:
        wrong = base64.b64encode(b"not-the-key-not-the-key-not-the!").decode()
        s = AcsEmailSender("DoNotReply@example.com", connection_string=Secret(f"endpoint={acs.base_url}/;accesskey={wrong}"),
                           connection_verify=acs.cert_path, polling_interval=0)
        with pytest.raises(DeliveryError) as info:
            s.send(digest())
    assert not info.value.retryable and info.value.status == 401
    assert wrong not in str(info.value) and acs.sent == []


def test_acs_resend_of_the_same_message_is_not_delivered_twice(tmp_path):
    with acs_server(tmp_path) as acs:
        acs_sender(acs).send(digest())
        acs_sender(acs).send(digest())  # e.g. the queue redelivered after a lost acknowledgement
    assert len(acs.sent) == 1
