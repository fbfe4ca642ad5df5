"""The `mail` queue's jobs: which messages there are and how one is queued, in the transaction that calls for
it. Sign-up and recovery (`registration`) and moderation warnings and appeals (`moderation.warnings`, `moderation.appeals`) queue them; the
handler that renders and sends them is `registration.mail_jobs`."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage.queue import enqueue

MAIL_QUEUE = "mail"


class MailKind(StrEnum):
    CONFIRM = "confirm"  # confirm the address given at sign-up
    RESET = "reset"  # a password reset link
    APPROVED = "approved"  # the moderators approved a sign-up
    WARNING = "warning"  # the moderators acted against the account (an account warning)
    APPEAL_APPROVED = "appeal_approved"  # the moderators approved the account's appeal of a warning
    APPEAL_REJECTED = "appeal_rejected"  # … or rejected it
    NEW_APPEAL = "new_appeal"  # to a moderator or admin: an account appealed a warning (names the warning)


async def enqueue_mail(
    session: AsyncSession, kind: MailKind, user_id: int, *, account_warning_id: int | None = None
) -> None:
    """Queue message `kind` to a user, in the caller's transaction (a warning's or an appeal's message names the warning's row)."""
    payload: dict[str, object] = {"kind": kind.value, "user_id": user_id}
    if account_warning_id is not None:
        payload["account_warning_id"] = account_warning_id
    await enqueue(session, MAIL_QUEUE, payload)
