"""Votes received on our polls: a `Create` of a `Note` whose `name` is an option of the local poll it
replies to (Mastodon's `poll_vote?`). It is counted, and the poll's new counts go out later, coalesced."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import exists, select

from apub.hosts import same_origin
from storage.context import Context
from storage.models import Account, PollVote
from storage.polls import VoteRefused, add_votes, poll_of_status, schedule_poll_update
from storage.statuses import can_see, status_by_uri
from storage.urls import LocalUrls
from webfinger.convert import id_of

logger = logging.getLogger(__name__)


async def receive_vote(ctx: Context, document: dict[str, Any], actor: Account) -> bool:
    """Count `document` if it is the actor's vote on one of our polls; False when it is not a vote (it is
    then an ordinary reply). A vote Mastodon would refuse (ended poll, second vote) is dropped, logged."""
    name, vote_uri = document.get("name"), document.get("id")
    poll_uri = id_of(document.get("inReplyTo"))
    if document.get("type") != "Note" or not isinstance(name, str) or not isinstance(vote_uri, str):
        return False
    if poll_uri is None or not LocalUrls(ctx.base_url).is_local(poll_uri):
        return False
    if not same_origin(vote_uri, actor.uri):
        return False  # not the actor's own object: read as a reply, whose checks refuse it
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, poll_uri)
        if status is None or not status.local:
            return False
        poll = await poll_of_status(session, status.id, for_update=True)
        if poll is None or name not in poll.options:
            return False
        if await session.scalar(select(exists().where(PollVote.uri == vote_uri))):
            return True  # delivered again
        if not await can_see(session, actor.id, status):
            logger.info("vote %s by %s on a poll it cannot see: dropped", vote_uri, actor.uri)
            return True
        try:
            await add_votes(session, poll, actor, [poll.options.index(name)], uris=[vote_uri])
        except VoteRefused as refusal:
            logger.info("vote %s by %s dropped: %s", vote_uri, actor.uri, refusal)
            return True
        await schedule_poll_update(session, poll)
    return True
