"""Create, Update and Delete of statuses (Note, Article, Page, Question)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import delete, exists, select

from apub.errors import ApubError
from apub.vocab import STATUS_OBJECT_TYPES
from inbox.errors import Rejected
from inbox.handlers.common import followed_locally
from inbox.handlers.groups import ask_groups_to_announce
from inbox.handlers.polls import receive_vote
from inbox.notes import note_writer
from storage.account_removal import tombstone_status
from storage.bus import Event
from storage.context import Context
from storage.custom_emojis import upsert_remote_emojis
from storage.media_cache import enqueue_caching, forget_copies, is_cacheable
from storage.models import Account, MediaAttachment, Relay, Status
from storage.notify import notify_boosters_of_edit
from storage.polls import poll_of_status, refresh_remote_poll
from storage.preview_cards import enqueue_card_fetch, local_host
from storage.quotes import notify_quoters_of_edit, update_received_quote
from storage.relays import count_relayed
from storage.remote import has_edits, insert_tombstone, record_edit
from storage.status_variants import Variant, replace_variants, variants_of
from storage.statuses import add_mentions, set_tags, status_by_uri
from storage.stream_events import reach_events
from storage.types import utcnow
from storage.urls import LocalUrls
from webfinger.convert import RemoteNote, addressing, parse_datetime
from webfinger.fetch import fetch_object
from webfinger.quotes import read_quote
from webfinger.resolve import (
    MAX_THREAD_DEPTH,
    PreparedNote,
    ResolveError,
    check_note,
    find_parent,
    mentioned_account_ids,
    prepare_note,
)

logger = logging.getLogger(__name__)


async def _object_document(ctx: Context, activity: dict[str, Any]) -> dict[str, Any] | None:
    target = activity.get("object")
    if isinstance(target, str):  # a bare id: fetch it from its origin (checked to be the actor's)
        try:
            target = await fetch_object(ctx, target)
        except ApubError as error:
            raise Rejected(f"object {target} could not be fetched: {error}") from error
    return target if isinstance(target, dict) else None


async def _has_local_relation(ctx: Context, prepared: PreparedNote, activity: dict[str, Any]) -> bool:
    """Mastodon keeps a remote post only when it concerns someone here."""
    urls = LocalUrls(ctx.base_url)
    to, cc = addressing(activity)
    if any(urls.is_local(address) for address in prepared.note.addressed.union(to, cc)):
        return True
    if prepared.parent is not None and prepared.parent.local:
        return True
    if prepared.note.quoted_uri is not None and urls.is_local(prepared.note.quoted_uri):
        return True
    async with ctx.db.read() as session:
        mentioned = (await mentioned_account_ids(session, [prepared.note.mention_uris]))[0]
        if mentioned and await session.scalar(
            select(exists().where(Account.id.in_(mentioned), Account.domain.is_(None)))
        ):
            return True
        return await followed_locally(session, prepared.author.id)


async def handle_create(
    ctx: Context, activity: dict[str, Any], actor: Account, *, relay: Relay | None = None
) -> list[Event]:
    """Store a remote status (threaded, tagged, sanitised) and fan it out to local readers; one passed on by
    a subscribed `relay` is kept although it concerns nobody here.

    The reading (and any fetch of a parent) happens here; the writing is batched with the other `Create`
    jobs running meanwhile (`inbox.notes`), which also publishes the events."""
    document = await _object_document(ctx, activity)
    if document is None or document.get("type") not in STATUS_OBJECT_TYPES:
        logger.debug("Create of %r ignored", document and document.get("type"))
        return []
    if await receive_vote(ctx, document, actor):
        return []
    try:
        note = check_note(document, actor)
        parent = await find_parent(ctx, note, depth=MAX_THREAD_DEPTH)
    except ResolveError as error:
        raise Rejected(str(error)) from error
    prepared = PreparedNote(
        note,
        actor,
        parent,
        mention_account_ids=None,
        attachments=note.attachments,
        quote=await read_quote(ctx, note, actor),
    )
    if (
        relay is None
        and ctx.settings.federation.drop_unsolicited
        and not await _has_local_relation(ctx, prepared, activity)
    ):
        raise Rejected(f"unsolicited post {prepared.note.uri} (nobody here follows or is addressed)")
    await note_writer(ctx).store(prepared)
    await ask_groups_to_announce(ctx, prepared)
    if relay is not None:
        async with ctx.db.transaction() as session:
            await count_relayed(session, relay.id)
    return []


async def update_status(ctx: Context, document: dict[str, Any], actor: Account) -> list[Event]:
    """An edit by the author: the previous revision joins the history, boosters are notified."""
    try:
        prepared = await prepare_note(ctx, document, actor, depth=0)
    except ResolveError as error:
        raise Rejected(str(error)) from error
    note = prepared.note
    quote = await read_quote(ctx, note, actor)
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, note.uri)
        if status is None or status.deleted_at is not None:
            return []
        if status.account_id != actor.id:
            raise Rejected("Update of another actor's status")
        media = [attachment["remote_url"] for attachment in prepared.attachments]
        stored_variants = (await variants_of(session, [status.id])).get(status.id, [])
        if note.poll is not None:
            poll = await poll_of_status(session, status.id)
            options_changed = poll is None or list(poll.options) != note.poll["options"]
            await refresh_remote_poll(session, status.id, actor.id, note.poll)
            stored_media = [m.remote_url for m in await _media(session, status.id)]
            if not options_changed and not _edited(status, note, stored_media, media, stored_variants):
                return []  # new counts only (Mastodon's poll Update): no revision, no edit notice
        stored_media = [m.remote_url for m in await _media(session, status.id)]
        if not _edited(status, note, stored_media, media, stored_variants):
            # Only who may quote it or its quote's stamp changed (FEP-044f): no revision, no edit notice.
            status.quote_policy = note.quote_policy
            return [
                *await update_received_quote(session, status, quote),
                *await reach_events(session, status, "status.update"),
            ]
        if not await has_edits(session, status.id):
            await record_edit(session, status, stored_media, stored_variants)
        status.content = note.content
        status.title = note.title
        status.spoiler_text = note.spoiler_text
        status.sensitive = note.sensitive
        status.language = note.language
        await replace_variants(session, status.id, note.variants)
        status.edited_at = parse_datetime(document.get("updated")) or utcnow()
        await forget_copies(session, MediaAttachment.status_id == status.id)
        await session.execute(delete(MediaAttachment).where(MediaAttachment.status_id == status.id))
        added = [
            MediaAttachment(account_id=actor.id, status_id=status.id, **item) for item in prepared.attachments
        ]
        session.add_all(added)
        await session.flush()
        await enqueue_caching(session, status.id, [media.id for media in added if is_cacheable(media)])
        await set_tags(session, status.id, note.hashtags)
        if note.emojis and actor.domain:
            await upsert_remote_emojis(session, actor.domain, note.emojis)
        await add_mentions(session, status.id, prepared.mention_account_ids or [])
        status.quote_policy = note.quote_policy
        quote_events = await update_received_quote(session, status, quote)
        await session.flush()
        await enqueue_card_fetch(session, status, local_host=local_host(ctx))  # the edit's link, refetched
        await record_edit(session, status, media, note.variants)
        return [
            *quote_events,
            *await notify_boosters_of_edit(session, status),
            *await notify_quoters_of_edit(session, status.id),
            *await reach_events(session, status, "status.update"),
        ]


def _edited(
    status: Status, note: RemoteNote, stored_media: list[Any], media: list[Any], variants: list[Variant]
) -> bool:
    """Whether an Update changes what readers see of the status (more than a poll's counts)."""
    shown = (status.content, status.spoiler_text, status.sensitive, stored_media, variants)
    return shown != (note.content, note.spoiler_text, note.sensitive, media, note.variants)


async def _media(session: Any, status_id: int) -> list[MediaAttachment]:
    return list(
        (
            await session.execute(select(MediaAttachment).where(MediaAttachment.status_id == status_id))
        ).scalars()
    )


async def delete_status_of(ctx: Context, object_id: str, actor: Account) -> list[Event]:
    """Delete of one of the actor's statuses (a tombstone if we never had it, so a later Create is ignored)."""
    async with ctx.db.transaction() as session:
        status = await status_by_uri(session, object_id)
        if status is None:
            await insert_tombstone(session, object_id, actor.id)
            return []
        if status.account_id != actor.id:
            raise Rejected("Delete of another actor's status")
        if status.deleted_at is not None:
            return []
        events = await reach_events(session, status, "delete")
        await tombstone_status(session, status)
    return events
