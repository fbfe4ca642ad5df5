"""A private working group's join requests (docs/GROUPS.md): a group created private is a locked account
(`manuallyApprovesFollowers`), so a `Follow` of it waits as a follow request until one of its moderators
accepts it (the requester becomes a member: the group's `Accept`) or declines it (`Reject`). The CLI, the
client API and the group's web page all call `answer_join_request`; each answer is audited in its own
transaction. Nothing is announced to the members: Lemmy has no activity for it."""

from __future__ import annotations

from outbox.actions.follows import answer_follow_request_in
from outbox.actions.groups import moderating
from storage.audit import add_audit_entry
from storage.context import Context
from storage.groups import join_requests_of
from storage.models import Account


async def join_requests(ctx: Context, group: Account, moderator: Account) -> list[Account]:
    """Who waits to join the group, for one of its moderators (403 for anyone else)."""
    async with moderating(ctx, group, moderator, "") as act:
        return await join_requests_of(act.session, act.group.id)


async def answer_join_request(
    ctx: Context, group: Account, moderator: Account, requester: Account, *, accept: bool
) -> None:
    """A moderator accepts (the requester joins) or declines a request to join the group."""
    async with moderating(ctx, group, moderator, "") as act:
        stored_requester = await act.account(requester)
        await answer_follow_request_in(
            act.session, ctx, act.effects, act.group, stored_requester, accept=accept
        )
        await add_audit_entry(
            act.session,
            actor=f"@{moderator.username}",
            action="group.join.accept" if accept else "group.join.reject",
            target=f"group:{act.group.id}",
            details={"group": act.group.username, "account": stored_requester.uri},
        )
