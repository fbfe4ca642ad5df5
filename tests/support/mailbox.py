"""A real SMTP server (aiosmtpd) on a loopback address, in the test's event loop, that keeps every message
it receives: the sign-up and recovery tests read the mail Plein sent and follow its links."""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from support.tls import LeafFiles

MAIL_HOST = "127.0.0.81"  # this worktree's fixed loopback address


@dataclass
class Mailbox:
    """What the server received, in order."""

    host: str
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        content = envelope.original_content or b""
        self.messages.append(message_from_bytes(content, policy=policy.default))  # type: ignore[arg-type]
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def settings(self) -> dict[str, Any]:
        """The `[mail]` overrides that point an instance at this server."""
        return {
            "mail.host": self.host,
            "mail.port": self.port,
            "mail.security": "none",
            "mail.from_address": "plein@example.test",
        }

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def link_in(message: EmailMessage, path: str) -> str:
    """The one link to `path` in a message's text."""
    links = re.findall(rf"https?://\S+{re.escape(path)}\S*", body_of(message))
    assert len(links) == 1, body_of(message)
    return links[0]


def _password_check(user: str, password: str) -> Callable[..., AuthResult]:
    def check(
        server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        passed = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(),
            password.encode(),
        )
        return AuthResult(success=passed)

    return check


@contextlib.asynccontextmanager
async def smtp_server(
    host: str = MAIL_HOST, *, certificate: LeafFiles | None = None, login: tuple[str, str] | None = None
) -> AsyncIterator[Mailbox]:
    """Serve SMTP on `host` (a free port) until the context exits. With `certificate`, the server offers
    STARTTLS and requires it; with `login` (user, password) it also requires AUTH (over TLS only)."""
    mailbox = Mailbox(host=host)
    options: dict[str, Any] = {}
    if certificate is not None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificate.certificate, certificate.key)
        options |= {"tls_context": tls, "require_starttls": True}
    if login is not None:
        options |= {"authenticator": _password_check(*login), "auth_required": True}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(mailbox, hostname="mail.test", **options), host=host, port=0
    )
    mailbox.port = server.sockets[0].getsockname()[1]
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()
