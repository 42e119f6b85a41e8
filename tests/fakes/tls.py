"""Self-signed TLS for loopback fakes (fake ARM, fake ACS email, ...). Test-only.

    make_cert(tmpdir, hosts=("127.0.0.1", "localhost")) -> (cert_path, key_path)
        A fresh self-signed certificate (also usable as its own CA bundle) for those hosts.
    server_context(cert_path, key_path) -> ssl.SSLContext
    serve_in_thread(server) -> context manager: runs server.serve_forever() in a daemon thread,
        shuts it down and closes it on exit.
    env_vars({name: value}) -> context manager: sets those environment variables, restores after.
    trusted(cert_path) -> context manager: sets REQUESTS_CA_BUNDLE / SSL_CERT_FILE /
        CURL_CA_BUNDLE for the duration, so requests (and so the Azure SDK) trust only that cert.
    https_server(handler_cls, tmpdir) -> context manager yielding (server, base_url, cert_path):
        a ThreadingHTTPServer on 127.0.0.1 (free port) over TLS, served in a thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_cert(tmpdir: str | os.PathLike, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
              name: str = "fake-server") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} (test only)")])
    sans: list[x509.GeneralName] = []
    for h in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            sans.append(x509.DNSName(h))
    now = dt.datetime.now(dt.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
        .sign(key, hashes.SHA256())
    )
    d = Path(tmpdir)
    d.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = d / f"{name}.crt", d / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def server_context(cert_path: str, key_path: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert_path, key_path)
    return ctx


@contextlib.contextmanager
def serve_in_thread(server) -> Iterator:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


_TRUST_VARS = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "CURL_CA_BUNDLE")


@contextlib.contextmanager
def env_vars(values: dict[str, str]) -> Iterator[dict[str, str]]:
    """Set these environment variables for the duration; restore (or remove) them after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield values
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def trusted(cert_path: str) -> Iterator[str]:
    with env_vars(dict.fromkeys(_TRUST_VARS, cert_path)):
        yield cert_path


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    ssl_context: ssl.SSLContext | None = None

    def get_request(self):
        sock, addr = super().get_request()
        # Small request/response pairs (the Azure CLI's) would otherwise wait on Nagle + delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


@contextlib.contextmanager
def https_server(handler_cls, tmpdir: str | os.PathLike, cert: tuple[str, str] | None = None) -> Iterator:
    """Yield (server, base_url, cert_path) for `handler_cls` on 127.0.0.1 over TLS."""
    cert_path, key_path = cert or make_cert(tmpdir)
    server = _TLSServer(("127.0.0.1", 0), handler_cls)
    server.ssl_context = server_context(cert_path, key_path)
    with serve_in_thread(server):
        yield server, f"https://127.0.0.1:{server.server_address[1]}", cert_path
