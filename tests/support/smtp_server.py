"""A real SMTP server for the report e-mails (aiosmtpd on an ephemeral port): TLS with a
throwaway certificate authority, AUTH required over TLS, every accepted mail kept.

Loaded by ``tests/conftest.py`` as a plugin.
"""

from __future__ import annotations

import email
import ssl
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from dashboard.settings import Smtp
from dashboard.tls import make_tls
from edge.service.delivery.broker import free_port

USER, PASSWORD = "reports@store.example", "mail password"
PASSWORD_ENV = "GREETCUE_TEST_SMTP_PASSWORD"
Security = Literal["starttls", "tls"]


@dataclass
class Received:
    """One mail as the server accepted it."""

    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpServer:
    """The running server, what it received and the settings that reach it."""

    security: Security
    port: int
    ca_file: Path
    mails: list[Received] = field(default_factory=list)

    def settings(self, **changes: Any) -> Smtp:
        """``reports.smtp`` for this server (the password comes from ``PASSWORD_ENV``)."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.security,
            "username": USER,
            "password_env": PASSWORD_ENV,
            "ca_file": self.ca_file,
            "timeout_s": 10,
        }
        return Smtp.model_validate(values | changes)


class _Keeper:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, _smtp: SMTP, _session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=default)
        assert isinstance(message, EmailMessage)
        recipients = [str(r) for r in envelope.rcpt_tos]
        self._server.mails.append(Received(str(envelope.mail_from), recipients, message))
        return "250 OK"


def _authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
) -> AuthResult:
    right = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=right, handled=False)  # aiosmtpd answers 535 for a wrong one


@pytest.fixture(params=["starttls", "tls"])
def smtp_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SmtpServer]:
    """A local SMTP server speaking STARTTLS (port 587 style) or TLS from the start (465
    style), with a certificate for 127.0.0.1 from a throwaway authority; AUTH required."""
    files = make_tls(tmp_path_factory.mktemp("smtp-tls"), ["localhost"], ["127.0.0.1"], days=2)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(files.cert, files.key)
    server = SmtpServer(request.param, free_port(), files.ca)
    # aiosmtpd counts only STARTTLS as TLS for auth_require_tls; implicit TLS is TLS throughout
    tls: dict[str, Any] = (
        {"tls_context": context, "require_starttls": True, "auth_require_tls": True}
        if request.param == "starttls"
        else {"ssl_context": context, "auth_require_tls": False}
    )
    # aiosmtpd warns of AUTH without STARTTLS also where the whole connection is TLS (465 style)
    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS", UserWarning)
    controller = Controller(
        _Keeper(server),
        hostname="127.0.0.1",
        port=server.port,
        authenticator=_authenticate,
        auth_required=True,
        **tls,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()
