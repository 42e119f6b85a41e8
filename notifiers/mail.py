"""Email digests: Azure Communication Services Email, or SMTP (STARTTLS + login).

Both send the same content render built: plain text, HTML, and the findings as a CSV
attachment. ACS: `azure-communication-email` with a connection string (HMAC) or an endpoint and
DefaultAzureCredential; 429 answers are retried honouring Retry-After (the SDK's retry policy),
then reported as retryable. The operation id is the message id, so a retried send is not
delivered twice by ACS. Errors never include the access key, token or SMTP password.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from notifiers import DeliveryError, Message
from scanner.config import Secret

log = logging.getLogger("notifiers.mail")

CSV_NAME = "vm-size-retirements.csv"


def email_message(message: Message, sender: str, date: float | None = None) -> EmailMessage:
    """The MIME message (text + HTML alternative, CSV attached): for SMTP and .eml files."""
    msg = EmailMessage()
    msg["Subject"] = message.subject
    msg["From"] = sender or "retirement-scanner@localhost"
    msg["To"] = ", ".join(message.recipient.addresses)
    msg["Date"] = formatdate(date, usegmt=True)
    msg["Message-ID"] = make_msgid(idstring=message.id[:16], domain="retirement-scanner")
    msg["X-Retirement-Scanner-Message"] = message.id
    msg.set_content(message.text or message.subject)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    if message.csv:
        msg.add_attachment(message.csv.encode("utf-8"), maintype="text", subtype="csv", filename=CSV_NAME)
    return msg


def acs_payload(message: Message, sender: str) -> dict:
    """The ACS `emails:send` body."""
    body = {
        "senderAddress": sender,
        "recipients": {"to": [{"address": a} for a in message.recipient.addresses]},
        "content": {"subject": message.subject, "plainText": message.text or message.subject},
    }
    if message.html:
        body["content"]["html"] = message.html
    if message.csv:
        body["attachments"] = [{
            "name": CSV_NAME,
            "contentType": "text/csv",
            "contentInBase64": base64.b64encode(message.csv.encode("utf-8")).decode("ascii"),
        }]
    return body


class AcsEmailSender:
    """Azure Communication Services Email.

    Give `connection_string` (endpoint=https://...;accesskey=...) or `endpoint` (then a
    `credential`, DefaultAzureCredential by default). `client_kwargs` go to EmailClient
    (e.g. `connection_verify` for a test certificate, `retry_total`).
    """

    def __init__(
        self,
        sender: str,
        *,
        connection_string: Secret | None = None,
        endpoint: str = "",
        credential=None,
        polling_interval: float = 1.0,
        timeout: float = 120.0,
        **client_kwargs,
    ) -> None:
        if not sender:
            raise ValueError("EMAIL_FROM is not set (the ACS sender address, e.g. DoNotReply@<domain>)")
        if not connection_string and not endpoint:
            raise ValueError("set ACS_CONNECTION_STRING or ACS_ENDPOINT")
        from azure.communication.email import EmailClient

        kwargs = {"retry_total": 3, "retry_backoff_max": 60, **client_kwargs}
        if connection_string:
            self._client = EmailClient.from_connection_string(connection_string.reveal(), **kwargs)
            self.where = "ACS email (connection string)"
        else:
            if credential is None:
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            self._client = EmailClient(endpoint, credential, **kwargs)
            self.where = f"ACS email ({endpoint})"
        self.sender = sender
        self.polling_interval = polling_interval
        self.timeout = timeout

    def send(self, message: Message, start_part: int = 0, progress: Callable[[int], None] | None = None) -> None:
        if start_part >= 1:
            return
        from azure.core.exceptions import AzureError, HttpResponseError

        try:
            poller = self._client.begin_send(
                acs_payload(message, self.sender), operation_id=_operation_id(message.id),
                polling_interval=self.polling_interval,
            )
            result = poller.result(timeout=self.timeout)
        except HttpResponseError as exc:
            status = exc.status_code
            code = getattr(getattr(exc, "error", None), "code", None) or ""
            retryable = status is None or status == 429 or status >= 500
            raise DeliveryError(
                f"{self.where} to {len(message.recipient.addresses)} recipient(s) answered HTTP {status}"
                + (f" {code}" if code else ""), retryable=retryable, status=status) from None
        except AzureError as exc:
            raise DeliveryError(f"{self.where}: {type(exc).__name__} (network or polling)", retryable=True) from None
        status = (result or {}).get("status", "") if isinstance(result, dict) else ""
        if status and status.lower() != "succeeded":
            err = (result.get("error") or {}) if isinstance(result, dict) else {}
            raise DeliveryError(f"{self.where}: send ended {status}: {err.get('code', '')} {err.get('message', '')}"
                                .strip(), retryable=False)
        if progress is not None:
            progress(1)


def _operation_id(message_id: str) -> str:
    """ACS wants a GUID-shaped operation id; derive it from the (hex) message id."""
    h = (message_id + "0" * 32)[:32]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class SmtpSender:
    """SMTP with STARTTLS (default) and login. `ssl_context` to trust a private CA in tests."""

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        sender: str,
        username: str = "",
        password: Secret | None = None,
        starttls: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
    ) -> None:
        if not host:
            raise ValueError("SMTP_HOST is not set")
        if not sender:
            raise ValueError("EMAIL_FROM is not set")
        self.host, self.port, self.sender = host, port, sender
        self.username = username
        self._password = password or Secret("")
        self.starttls = starttls
        self._ssl = ssl_context
        self.timeout = timeout
        self.where = f"SMTP {host}:{port}"

    def send(self, message: Message, start_part: int = 0, progress: Callable[[int], None] | None = None) -> None:
        if start_part >= 1:
            return
        mime = email_message(message, self.sender)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=self._ssl or ssl.create_default_context())
                    smtp.ehlo()
                if self.username:
                    smtp.login(self.username, self._password.reveal())
                refused = smtp.send_message(mime)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"{self.where}: login as {self.username!r} refused ({exc.smtp_code})",
                                retryable=False, status=exc.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{self.where}: all recipients refused: {', '.join(sorted(exc.recipients))}",
                                retryable=False) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise DeliveryError(f"{self.where} answered {code}", retryable=400 <= code < 500, status=code) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{self.where}: {type(exc).__name__}", retryable=True) from None
        if refused:
            log.warning("%s refused %d recipient(s): %s", self.where, len(refused), ", ".join(sorted(refused)))
        if progress is not None:
            progress(1)
