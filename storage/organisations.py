"""Organisation accounts: a local account run by a team of local logins, each with a role.

Roles, lowest first: `author` writes posts (which wait for review when the organisation requires it),
`editor` also publishes directly and takes every other action as the organisation except its profile and
members, `publisher` does everything, approves drafts and manages members. A member's token that acts for the
organisation is revoked in the same transaction as any change of their membership, so it stops at the next
request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.acting import ActingStaff
from storage.models import (
    Account,
    OAuthToken,
    Organisation,
    OrganisationAuditEntry,
    OrganisationMember,
    User,
)
from storage.types import utcnow

ROLES = ("author", "editor", "publisher")
ORGANIZATION_ACTOR = "Organization"


class OrganisationError(Exception):
    """A refused organisation change (not an organisation, unknown role, not a member …)."""


def role_rank(role: str) -> int:
    return ROLES.index(role) + 1 if role in ROLES else 0


# What an action needs of a member acting as the organisation; `role_permits` is the one rule the client
# API (clientapi.auth, from the token's request) and the web interface (web.staff.access) both ask.
NEED_READ, NEED_POST, NEED_ACT, NEED_PROFILE, NEED_MEMBERS, NEED_AUDIT, NEED_ADMIN = (
    "read",
    "post",
    "act",
    "profile",
    "members",
    "audit",
    "admin",
)


def role_permits(role: str, need: str) -> bool:
    """Whether a member with `role` may, as the organisation: read and write posts (an author's may wait
    for review) for every role; the profile, the members and the audit trail for publishers; every other
    action for editors and up; nothing of the server's administration, whatever their own role on it."""
    rank = role_rank(role)
    if need == NEED_ADMIN or rank == 0:
        return False
    if need in (NEED_READ, NEED_POST):
        return True
    if need in (NEED_PROFILE, NEED_MEMBERS, NEED_AUDIT):
        return rank >= role_rank("publisher")
    return rank >= role_rank("editor")


def check_role(role: str) -> str:
    if role not in ROLES:
        raise OrganisationError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Membership:
    organisation: Account
    role: str


async def organisation_of(session: AsyncSession, account_id: int) -> Organisation | None:
    return await session.get(Organisation, account_id)


async def make_organisation(
    session: AsyncSession, account: Account, *, review_required: bool
) -> Organisation:
    """Turn local `account` into an organisation (an `Organization` actor); its settings if it is one."""
    if account.domain is not None:
        raise OrganisationError("only a local account can be an organisation")
    existing = await session.get(Organisation, account.id)
    if existing is not None:
        existing.review_required = review_required
        return existing
    account.actor_type = ORGANIZATION_ACTOR
    organisation = Organisation(account_id=account.id, review_required=review_required)
    session.add(organisation)
    await session.flush()
    return organisation


async def member_role(session: AsyncSession, organisation_id: int, user_id: int) -> str | None:
    return await session.scalar(
        select(OrganisationMember.role).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user_id
        )
    )


async def memberships_of(session: AsyncSession, user_id: int) -> list[Membership]:
    """The organisations `user_id` belongs to, by name."""
    rows = await session.execute(
        select(Account, OrganisationMember.role)
        .join(OrganisationMember, OrganisationMember.organisation_id == Account.id)
        .where(OrganisationMember.user_id == user_id, Account.suspended_at.is_(None))
        .order_by(Account.username)
    )
    return [Membership(account, role) for account, role in rows]


async def members_of(session: AsyncSession, organisation_id: int) -> list[tuple[Account, str]]:
    """The members' own accounts and roles, by name."""
    rows = await session.execute(
        select(Account, OrganisationMember.role)
        .join(User, User.account_id == Account.id)
        .join(OrganisationMember, OrganisationMember.user_id == User.id)
        .where(OrganisationMember.organisation_id == organisation_id)
        .order_by(Account.username)
    )
    return [(account, role) for account, role in rows]


async def revoke_acting_tokens(session: AsyncSession, organisation_id: int, user_id: int) -> int:
    """End every token through which `user_id` acts for the organisation."""
    result = await session.execute(
        update(OAuthToken)
        .where(
            OAuthToken.acting_account_id == organisation_id,
            OAuthToken.user_id == user_id,
            OAuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount, 0)


async def set_member(session: AsyncSession, organisation_id: int, user_id: int, role: str) -> str | None:
    """Add `user_id` with `role`, or change their role; returns the role before (None if new). A changed
    role ends the member's organisation tokens: they sign in again with what the new role allows."""
    check_role(role)
    if await session.get(Organisation, organisation_id) is None:
        raise OrganisationError("not an organisation")
    member = await session.scalar(
        select(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user_id
        )
    )
    if member is None:
        session.add(OrganisationMember(organisation_id=organisation_id, user_id=user_id, role=role))
        await session.flush()
        return None
    before = member.role
    if before != role:
        member.role = role
        await revoke_acting_tokens(session, organisation_id, user_id)
    return before


async def remove_member(session: AsyncSession, organisation_id: int, user_id: int) -> str | None:
    """Take `user_id` out of the organisation and end their tokens for it; the role they had (None: was
    not a member)."""
    before = await member_role(session, organisation_id, user_id)
    if before is None:
        return None
    await session.execute(
        delete(OrganisationMember).where(
            OrganisationMember.organisation_id == organisation_id, OrganisationMember.user_id == user_id
        )
    )
    await revoke_acting_tokens(session, organisation_id, user_id)
    return before


async def record_audit(
    session: AsyncSession,
    staff: ActingStaff,
    action: str,
    *,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    """Append one entry to the organisation's audit trail, in the caller's transaction."""
    session.add(
        OrganisationAuditEntry(
            organisation_id=staff.organisation_id,
            organisation=staff.organisation,
            user_id=staff.user_id,
            login=staff.login,
            role=staff.role,
            via=staff.via,
            action=action,
            target=target,
            before=before,
            after=after,
        )
    )


async def audit_entries(
    session: AsyncSession, organisation_id: int, *, since: datetime | None = None
) -> list[OrganisationAuditEntry]:
    """The organisation's audit trail, oldest first."""
    query = select(OrganisationAuditEntry).where(OrganisationAuditEntry.organisation_id == organisation_id)
    if since is not None:
        query = query.where(OrganisationAuditEntry.created_at >= since)
    return list((await session.execute(query.order_by(OrganisationAuditEntry.id))).scalars())


async def purge_audit(session: AsyncSession, *, now: datetime, keep_days: int) -> int:
    """The retention purge, the one delete of audit entries: those older than `keep_days` (0: keep all)."""
    if keep_days <= 0:
        return 0
    result = await session.execute(
        delete(OrganisationAuditEntry).where(
            OrganisationAuditEntry.created_at < now - timedelta(days=keep_days)
        )
    )
    return max(result.rowcount, 0)
