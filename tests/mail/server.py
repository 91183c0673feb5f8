"""A real SMTP server on loopback for mail tests (aiosmtpd, in a thread of its own). It accepts
one login (AUTH PLAIN or LOGIN, also without TLS), offers STARTTLS (or speaks TLS from the
start) with a certificate for 127.0.0.1 that clients trust only when told to
(`trusting(certificate)`), records every message it accepts, and answers RCPT and DATA with
the replies scripted for them, in the order they come (accepting once a script runs out)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import logging
import os
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# aiosmtpd warns of its own use of a deprecated attribute at every login.
logging.getLogger("mail.log").setLevel(logging.ERROR)

USERNAME = "mailer@example.com"
PASSWORD = "correct-horse-battery-staple"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files."""

    cert: Path
    key: Path


def make_certificate(directory: Path) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Rapport test SMTP server")])
    now = datetime.datetime.now(datetime.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    found = Certificate(directory / "smtp-cert.pem", directory / "smtp-key.pem")
    found.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    found.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return found


@contextmanager
def trusting(certificate: Certificate) -> Iterator[None]:
    """TLS clients made meanwhile trust the certificate (and nothing else): OpenSSL reads
    SSL_CERT_FILE whenever a client loads its default trust store."""
    before = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = str(certificate.cert)
    try:
        yield
    finally:
        if before is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = before


@dataclass
class Received:
    mail_from: str
    recipients: list[str]
    content: bytes
    encrypted: bool

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class MailServer:
    host: str = "127.0.0.1"
    port: int = 0
    username: str = USERNAME
    password: str = PASSWORD
    received: list[Received] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    logins: list[bool] = field(default_factory=list)  # each attempt: accepted or not
    data_delay: float = 0.0  # seconds between a whole message and the reply to it

    def connection(self, **overrides: Any) -> dict[str, Any]:
        """A body for POST /outbound-email-connections that this server accepts."""
        return {
            "name": "Sales mailbox",
            "host": self.host,
            "port": self.port,
            "tlsMode": "none",
            "username": self.username,
            "password": self.password,
            "fromAddress": "sales@acme.example",
            "fromName": "Acme Sales",
            **overrides,
        }

    def authenticate(
        self, _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
    ) -> AuthResult:
        accepted = (
            isinstance(data, LoginPassword)
            and data.login.decode() == self.username
            and data.password.decode() == self.password
        )
        self.logins.append(accepted)
        # Not handled: aiosmtpd answers a refusal itself (535).
        return AuthResult(success=accepted, handled=False)

    async def handle_RCPT(
        self, _server: SMTP, _session: Session, envelope: Envelope, address: str, _options: Any
    ) -> str:
        reply = self.rcpt_replies.pop(0) if self.rcpt_replies else "250 2.1.5 OK"
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, _server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.data_replies.pop(0) if self.data_replies else "250 2.0.0 Queued"
        if reply.startswith("250"):
            assert isinstance(envelope.content, bytes)
            self.received.append(
                Received(
                    str(envelope.mail_from),
                    list(envelope.rcpt_tos),
                    envelope.content,
                    encrypted=session.ssl is not None,
                )
            )
        await asyncio.sleep(self.data_delay)
        return reply


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_mail_server(
    certificate: Certificate,
    *,
    implicit_tls: bool = False,
    username: str = USERNAME,
    password: str = PASSWORD,
) -> Iterator[MailServer]:
    """A server offering STARTTLS, or with `implicit_tls` speaking TLS from the start."""
    server = MailServer(port=free_port(), username=username, password=password)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(certificate.cert, certificate.key)
    controller = Controller(
        server,
        hostname=server.host,
        port=server.port,
        ssl_context=tls if implicit_tls else None,
        tls_context=None if implicit_tls else tls,
        authenticator=server.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
