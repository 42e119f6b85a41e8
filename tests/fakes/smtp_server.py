"""A real SMTP server on loopback (aiosmtpd) with STARTTLS and LOGIN/PLAIN auth. Test-only.

    with smtp_server(tmpdir, username="scanner", password="pw") as smtp:
        smtp.port, smtp.cert_path      connect; trust cert_path for STARTTLS
        smtp.client_context()          an ssl.SSLContext trusting only that certificate
        smtp.messages                  received email.message.EmailMessage objects, in order
        smtp.envelopes                 (mail_from, [rcpt_tos]) per message
        smtp.logins                    usernames that authenticated

STARTTLS is required before AUTH and before MAIL; a wrong password is refused (535).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import socket
import ssl
from collections.abc import Iterator

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.fakes.tls import make_cert, server_context


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpRecorder:
    def __init__(self, username: str, password: str, cert_path: str) -> None:
        self.username, self.password = username, password
        self.cert_path = cert_path
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.logins: list[str] = []
        self.port = 0

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cert_path)

    # aiosmtpd handler hook
    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.original_content or envelope.content,
                                                      policy=email.policy.default))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        ok = user == self.username and auth_data.password.decode("utf-8", "replace") == self.password
        if ok:
            self.logins.append(user)
        return AuthResult(success=ok, handled=False)


@contextlib.contextmanager
def smtp_server(tmpdir, username: str = "scanner", password: str = "s3cret-smtp-pw") -> Iterator[SmtpRecorder]:
    cert_path, key_path = make_cert(tmpdir, name="fake-smtp")
    rec = SmtpRecorder(username, password, cert_path)
    rec.port = _free_port()
    controller = Controller(
        rec, hostname="127.0.0.1", port=rec.port,
        tls_context=server_context(cert_path, key_path), require_starttls=True,
        authenticator=rec.authenticate, auth_require_tls=True, auth_required=True,
        server_hostname="localhost", ready_timeout=10,
    )
    controller.start()
    try:
        yield rec
    finally:
        controller.stop()
