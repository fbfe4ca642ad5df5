"""Sending one message over SMTP (aiosmtplib), with the `[mail]` settings."""

from __future__ import annotations

import ssl

import aiosmtplib

from mail.messages import MailMessage
from storage.settings import MailSettings


class MailError(Exception):
    """The SMTP server did not take the message. `permanent` when it refused it for good (a 5xx reply:
    no such mailbox, relaying denied), so trying again cannot help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


async def send_mail(settings: MailSettings, message: MailMessage, *, sender_domain: str) -> None:
    """Hand `message` to the configured SMTP server; raises MailError."""
    email = message.to_email(settings.from_address, sender_domain)
    tls_context = None
    if settings.security != "none":
        tls_context = ssl.create_default_context()  # certificate and host name checked
        if settings.ca_bundle:
            tls_context.load_verify_locations(cafile=settings.ca_bundle)
    try:
        await aiosmtplib.send(
            email,
            tls_context=tls_context,
            hostname=settings.host,
            port=settings.port,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            username=settings.user or None,
            password=settings.password or None,
            timeout=settings.timeout_seconds,
        )
    except aiosmtplib.SMTPResponseException as error:
        raise MailError(f"SMTP {error.code}: {error.message}", permanent=500 <= error.code < 600) from error
    except aiosmtplib.SMTPRecipientsRefused as error:
        raise MailError(f"recipients refused: {error.recipients}", permanent=True) from error
    except (aiosmtplib.SMTPException, OSError) as error:
        raise MailError(f"{type(error).__name__}: {error}", permanent=False) from error
