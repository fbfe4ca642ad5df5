"""Adding, changing and removing an organisation's members with their audit entry, in the caller's
transaction: the one path of `plein org add|remove` and the web's members page (`/web/org/{name}/members`).
A changed role or a removal ends the member's tokens for the organisation (storage.organisations)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.accounts import user_for_account
from storage.acting import ActingStaff
from storage.models import Account
from storage.organisations import OrganisationError, organisation_of, record_audit, remove_member, set_member


async def add_member(
    session: AsyncSession, organisation: Account, member: Account, role: str, staff: ActingStaff
) -> str | None:
    """Make local `member` (a login of its own, not an organisation) a member with `role`, or change their
    role; returns the role before (None: new). Audited as `member.add` or `member.role`."""
    user = await user_for_account(session, member.id)
    if user is None or member.id == organisation.id:
        raise OrganisationError(f"@{member.username} has no login of its own")
    if await organisation_of(session, member.id) is not None:
        raise OrganisationError(f"@{member.username} is an organisation, not a staff login")
    before = await set_member(session, organisation.id, user.id, role)
    await record_audit(
        session,
        staff,
        "member.add" if before is None else "member.role",
        target=member.uri,
        before={"role": before} if before else None,
        after={"role": role},
    )
    return before


async def drop_member(
    session: AsyncSession, organisation: Account, member: Account, staff: ActingStaff
) -> str:
    """Take `member` out of the organisation (their tokens for it end); the role they had. Audited as
    `member.remove`."""
    user = await user_for_account(session, member.id)
    before = await remove_member(session, organisation.id, user.id) if user else None
    if before is None:
        raise OrganisationError(f"@{member.username} is not a member of @{organisation.username}")
    await record_audit(session, staff, "member.remove", target=member.uri, before={"role": before})
    return before
