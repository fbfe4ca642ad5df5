"""Setting and clearing a local account's verified-agency mark (`plein account agency`): checked by format,
audited (and, for an organisation, written to its own audit trail) in the transaction of the change, and
announced to followers' servers with `Update` of the actor."""

from __future__ import annotations

from moderation.errors import ModerationError
from outbox.actions._unit import Effects, after_commit
from outbox.actions.profile import send_actor_update
from storage.accounts import local_account_by_username
from storage.acting import ActingStaff
from storage.agency import AgencyMarkError, check_government_id, check_government_website
from storage.audit import add_audit_entry
from storage.context import Context
from storage.models import Account
from storage.organisations import organisation_of, record_audit
from storage.profile_jobs import enqueue_link_verification
from storage.types import utcnow


def _mark_of(account: Account) -> dict[str, str] | None:
    if not account.government_id:
        return None
    return {"id": account.government_id, "website": account.government_website or ""}


async def set_agency_mark(
    ctx: Context, username: str, *, government_id: str | None, website: str | None, actor: str
) -> Account:
    """Mark the local account `username` as a government organisation (both values given), or clear the
    mark (both None). ModerationError for an unknown account or a value of the wrong form; nothing changes
    then."""
    if (government_id is None) != (website is None):
        raise ModerationError("give both the identifier (--id) and the website (--website), or --clear")
    try:
        identifier = check_government_id(government_id) if government_id is not None else None
        official_site = check_government_website(website) if website is not None else None
    except AgencyMarkError as error:
        raise ModerationError(str(error)) from error
    effects = Effects()
    async with ctx.db.transaction() as session:
        account = await local_account_by_username(session, username.lstrip("@"))
        if account is None:
            raise ModerationError(f"no local account named {username!r}")
        before = _mark_of(account)
        before_website = account.government_website
        changed = (account.government_id, account.government_website) != (identifier, official_site)
        account.government_id = identifier
        account.government_website = official_site
        if changed:
            account.government_verified_at = utcnow() if identifier else None
        if official_site != before_website:
            account.government_website_verified_at = None
        if official_site is not None and account.government_website_verified_at is None:
            # Checked (again) for its rel="me" link back, as a profile field's link is on each save.
            await enqueue_link_verification(session, account.id)
        after = _mark_of(account)
        action = "account.agency" if identifier else "account.agency_clear"
        await add_audit_entry(
            session,
            actor=actor,
            action=action,
            target=account.uri,
            details={"before": before, "after": after},
        )
        if await organisation_of(session, account.id) is not None:
            staff = ActingStaff(
                organisation_id=account.id,
                organisation=account.username,
                user_id=None,
                login=actor,
                role="admin",
                via="cli",
            )
            await record_audit(session, staff, action, target=account.uri, before=before, after=after)
        if changed:
            await session.flush()
            await send_actor_update(session, effects, ctx, account)
    after_commit(ctx, effects)
    return account
