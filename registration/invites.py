"""Staff make and revoke invite links (`plein invite …`; later the web admin)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from registration.errors import NotFound, RegistrationError
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Invite
from storage.oauth import secret_digest
from storage.types import utcnow


@dataclass(frozen=True)
class NewInvite:
    """An invite just made, with the link that is shown this once."""

    invite: Invite
    code: str
    url: str


def invite_url(base_url: str, code: str) -> str:
    """The page an invite link opens (`web/signup`)."""
    return f"{base_url.rstrip('/')}/invite/{code}"


async def create_invite(
    ctx: Context,
    *,
    actor: str,
    created_by_account_id: int | None = None,
    max_uses: int | None = None,
    expires_in: timedelta | None = None,
) -> NewInvite:
    """A new invite, audited as `invite.create` by `actor`."""
    if max_uses is not None and max_uses < 1:
        raise RegistrationError("max uses must be at least 1", field="max_uses")
    if expires_in is not None and expires_in <= timedelta(0):
        raise RegistrationError("the expiry must be in the future", field="expires_in")
    # Short enough to read out or type from a letter; 60 bits is far beyond guessing under the rate limit.
    code = secrets.token_urlsafe(12)
    async with ctx.db.transaction() as session:
        invite = Invite(
            code_hash=secret_digest(code),
            created_by_account_id=created_by_account_id,
            max_uses=max_uses,
            expires_at=utcnow() + expires_in if expires_in is not None else None,
        )
        session.add(invite)
        await session.flush()
        await add_audit_entry(
            session,
            actor=actor,
            action="invite.create",
            target=f"invite:{invite.id}",
            details={
                "max_uses": max_uses,
                "expires_at": invite.expires_at.isoformat() if invite.expires_at else None,
            },
        )
    return NewInvite(invite=invite, code=code, url=invite_url(ctx.base_url, code))


async def revoke_invite(ctx: Context, invite_id: int, *, actor: str) -> None:
    """Make an invite admit nobody more, audited as `invite.revoke`."""
    async with ctx.db.transaction() as session:
        invite = await session.get(Invite, invite_id)
        if invite is None or invite.revoked_at is not None:
            raise NotFound(f"no live invite {invite_id}")
        invite.revoked_at = utcnow()
        await add_audit_entry(
            session, actor=actor, action="invite.revoke", target=f"invite:{invite_id}", details={}
        )
