"""Notification policy: whether a local account accepts, filters (holds in a notification request) or drops
(never stores) a notification from a stranger, as Mastodon 4.3 decides it.

`notification_verdicts` is the one decision; both notification paths (`storage.notify.notify` and the
batched `storage.fanout_batch.remote_audiences`) go through it. A notification is judged by the recipient's
policy, one rule per kind of stranger, each `accept`, `filter` or `drop`:

| rule | the sender |
|---|---|
| `for_not_following` | is not followed by the recipient |
| `for_not_followers` | does not follow the recipient, or only since less than 3 days |
| `for_new_accounts` | was created less than 30 days ago and is not followed |
| `for_private_mentions` | sent a direct mention, is not followed, and it answers no direct mention of it by the recipient |
| `for_limited_accounts` | is silenced by the moderators and not followed |

Any matching `drop` rule drops it, else any matching `filter` rule filters it. Only mentions, boosts,
follows, follow requests and favourites are judged; a sender the recipient accepted a request from
(`NotificationPermission`), and mentions from this server's staff, always pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Account, Follow, Mention, NotificationPermission, NotificationPolicy, Status, User
from storage.types import utcnow

Verdict = Literal["accept", "filter", "drop"]
POLICY_ACTIONS: tuple[Verdict, ...] = ("accept", "filter", "drop")
POLICY_RULES = (
    "for_not_following",
    "for_not_followers",
    "for_new_accounts",
    "for_private_mentions",
    "for_limited_accounts",
)
DEFAULT_POLICY: dict[str, Verdict] = {
    "for_not_following": "accept",
    "for_not_followers": "accept",
    "for_new_accounts": "accept",
    "for_private_mentions": "filter",
    "for_limited_accounts": "filter",
}
FILTERABLE_TYPES = frozenset({"mention", "reblog", "follow", "follow_request", "favourite"})
NEW_ACCOUNT_AGE = timedelta(days=30)
NEW_FOLLOWER_AGE = timedelta(days=3)
THREAD_DEPTH = 100  # how far up a thread a direct mention of the sender by the recipient is looked for
STAFF_ROLES = ("moderator", "admin")


@dataclass(frozen=True)
class Candidate:
    """A notification about to be stored: who gets it, from whom, of what type, and for a mention the
    status's visibility and the status it replies to (by id, or by URI for one not stored yet)."""

    recipient_id: int
    sender_id: int
    notification_type: str
    visibility: str | None = None
    in_reply_to_id: int | None = None
    in_reply_to_uri: str | None = None


def policy_of(row: NotificationPolicy | None) -> dict[str, Verdict]:
    """The rules of a stored policy, or Mastodon's defaults when the account never changed them."""
    if row is None:
        return dict(DEFAULT_POLICY)
    return {rule: getattr(row, rule) for rule in POLICY_RULES}


async def read_policy(session: AsyncSession, account_id: int) -> dict[str, Verdict]:
    """An account's notification policy."""
    return policy_of(await session.get(NotificationPolicy, account_id))


async def update_policy(
    session: AsyncSession, account_id: int, changes: dict[str, Verdict]
) -> dict[str, Verdict]:
    """Change some rules of an account's policy (the others keep their value); returns the whole policy."""
    row = await session.get(NotificationPolicy, account_id)
    if row is None:
        row = NotificationPolicy(account_id=account_id, **DEFAULT_POLICY)
        session.add(row)
    for rule, action in changes.items():
        if rule not in POLICY_RULES or action not in POLICY_ACTIONS:
            raise ValueError(f"{rule}={action!r} is not a policy rule and action")
        setattr(row, rule, action)
    await session.flush()
    return policy_of(row)


async def notification_verdicts(session: AsyncSession, candidates: Sequence[Candidate]) -> list[Verdict]:
    """The verdict on each candidate notification, in a few reads for the whole batch."""
    judged = [index for index, c in enumerate(candidates) if c.notification_type in FILTERABLE_TYPES]
    verdicts: list[Verdict] = ["accept"] * len(candidates)
    if not judged:
        return verdicts
    recipients = {candidates[index].recipient_id for index in judged}
    senders = {candidates[index].sender_id for index in judged}
    policies = {
        row.account_id: policy_of(row)
        for row in (
            await session.execute(
                select(NotificationPolicy).where(NotificationPolicy.account_id.in_(recipients))
            )
        ).scalars()
    }
    follows: dict[tuple[int, int], datetime] = {
        (follower, followed): created_at
        for follower, followed, created_at in await session.execute(
            select(Follow.account_id, Follow.target_account_id, Follow.created_at).where(
                or_(
                    and_(Follow.account_id.in_(recipients), Follow.target_account_id.in_(senders)),
                    and_(Follow.account_id.in_(senders), Follow.target_account_id.in_(recipients)),
                )
            )
        )
    }
    permitted = {
        (account_id, from_account_id)
        for account_id, from_account_id in await session.execute(
            select(NotificationPermission.account_id, NotificationPermission.from_account_id).where(
                NotificationPermission.account_id.in_(recipients),
                NotificationPermission.from_account_id.in_(senders),
            )
        )
    }
    sender_rows = {
        row.id: row
        for row in await session.execute(
            select(Account.id, Account.created_at, Account.silenced_at, User.role)
            .outerjoin(User, User.account_id == Account.id)
            .where(Account.id.in_(senders))
        )
    }
    now = utcnow()
    for index in judged:
        candidate = candidates[index]
        sender = sender_rows.get(candidate.sender_id)
        if sender is None or (candidate.recipient_id, candidate.sender_id) in permitted:
            continue
        if candidate.notification_type == "mention" and sender.role in STAFF_ROLES:
            continue
        policy = policies.get(candidate.recipient_id, DEFAULT_POLICY)
        followed = (candidate.recipient_id, candidate.sender_id) in follows
        follower_since = follows.get((candidate.sender_id, candidate.recipient_id))
        matches = {
            "for_not_following": not followed,
            "for_not_followers": follower_since is None or follower_since > now - NEW_FOLLOWER_AGE,
            "for_new_accounts": not followed and sender.created_at > now - NEW_ACCOUNT_AGE,
            "for_limited_accounts": not followed and sender.silenced_at is not None,
            "for_private_mentions": False,
        }
        if (
            not followed
            and policy["for_private_mentions"] != "accept"
            and candidate.notification_type == "mention"
            and candidate.visibility == "direct"
        ):
            matches["for_private_mentions"] = not await _answers_direct_mention(session, candidate)
        actions = {policy[rule] for rule, matched in matches.items() if matched}
        verdicts[index] = "drop" if "drop" in actions else "filter" if "filter" in actions else "accept"
    return verdicts


async def _answers_direct_mention(session: AsyncSession, candidate: Candidate) -> bool:
    """Whether the mention replies into a thread where the recipient mentioned the sender in a direct status
    (a conversation the recipient started is never filtered), looking up to `THREAD_DEPTH` statuses up."""
    parent_id = candidate.in_reply_to_id
    if parent_id is None and candidate.in_reply_to_uri:
        parent_id = await session.scalar(select(Status.id).where(Status.uri == candidate.in_reply_to_uri))
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen and len(seen) < THREAD_DEPTH:
        seen.add(parent_id)
        parent = (
            await session.execute(
                select(Status.account_id, Status.visibility, Status.in_reply_to_id).where(
                    Status.id == parent_id
                )
            )
        ).first()
        if parent is None:
            return False
        if parent.account_id == candidate.recipient_id and parent.visibility == "direct":
            mentioned = await session.scalar(
                select(Mention.id).where(
                    Mention.status_id == parent_id, Mention.account_id == candidate.sender_id
                )
            )
            if mentioned is not None:
                return True
        parent_id = parent.in_reply_to_id
    return False
