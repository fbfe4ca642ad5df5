"""Which staff member may do what to whom, decided here for the admin API and the web moderation pages
alike (the CLI runs as the operator and is not asked): moderators and admins moderate accounts and
reports, but a moderator may not act against an admin, and only an admin changes roles (as Mastodon's
role permissions: a role only manages the roles below it)."""

from __future__ import annotations

from sqlalchemy import select

from moderation.errors import ModerationError
from storage.context import Context
from storage.models import Report, User

STAFF_ROLES = ("moderator", "admin")
ROLES = ("user", "moderator", "admin")


class NotPermitted(ModerationError):
    """The acting staff member's role does not allow this action."""

    status_code = 403


def may_moderate(actor_role: str, target_role: str | None) -> bool:
    """Whether staff of `actor_role` may act against an account whose login has `target_role` (None: a
    remote account or one without a login)."""
    if actor_role not in STAFF_ROLES:
        return False
    return actor_role == "admin" or target_role != "admin"


def may_change_roles(actor_role: str) -> bool:
    return actor_role == "admin"


async def check_may_moderate(ctx: Context, actor_role: str, account_id: int) -> None:
    """NotPermitted unless `actor_role` may act against the account `account_id`."""
    async with ctx.db.read() as session:
        target_role = await session.scalar(select(User.role).where(User.account_id == account_id))
    if not may_moderate(actor_role, target_role):
        raise NotPermitted("This action is not allowed against that account")


async def check_may_act_on_report(ctx: Context, actor_role: str, report_id: int) -> None:
    """NotPermitted unless `actor_role` may act against the account the report `report_id` is about (a
    missing report passes: the action itself answers that)."""
    async with ctx.db.read() as session:
        target_id = await session.scalar(select(Report.target_account_id).where(Report.id == report_id))
    if target_id is not None:
        await check_may_moderate(ctx, actor_role, target_id)
