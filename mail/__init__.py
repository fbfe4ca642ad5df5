"""Sending e-mail: messages rendered from templates with gettext sentences (`messages`) and sent over SMTP with
aiosmtplib (`sender`). Knows nothing of the database; the `mail` queue's handler (`registration/mail_jobs`)
decides what to send to whom."""

from mail.messages import SUPPORTED_LANGUAGES, MailMessage, MailTemplates, mail_language
from mail.sender import MailError, send_mail

__all__ = ["SUPPORTED_LANGUAGES", "MailError", "MailMessage", "MailTemplates", "mail_language", "send_mail"]
