"""Post, edit and delete a local status: each ONE transaction with its activity, fan-out and deliveries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.actions.quoting import add_quote, check_quote_policy, quotable_status, request_approval
from outbox.actions.status_languages import VariantDraft, check_variants, combined_text, drafts_to_variants
from outbox.addressing import PRIORITY_DIRECT, DeliveryTargets, visibility_addressing
from outbox.content import hashtags, text_to_html
from outbox.errors import Forbidden, NotFound, Unprocessable, ValidationCode
from outbox.mentions import mention_targets, resolve_mentions
from outbox.render import delete_activity, load_note_parts, note_activity, status_to_note
from storage.accounts import media_forced_sensitive
from storage.context import Context
from storage.fanout import fan_out_status
from storage.groups import is_group, queue_announces
from storage.ids import new_id
from storage.lists import remove_statuses_from_feeds
from storage.media_lifecycle import queue_withdrawal
from storage.models import (
    Account,
    IdempotencyKey,
    Notification,
    Status,
    StatusEdit,
)
from storage.notify import notify_boosters_of_edit
from storage.polls import (
    PollRequest,
    new_poll,
    poll_of_status,
    replace_options,
    schedule_poll_end,
)
from storage.preview_cards import enqueue_card_fetch, local_host
from storage.quotes import notify_quoters_of_edit
from storage.relays import relayable
from storage.scheduled_statuses import consume
from storage.status_variants import Variant, replace_variants, variants_snapshot
from storage.statuses import (
    VISIBILITIES,
    add_mentions,
    add_to_counter,
    attach_media,
    boosts_of,
    can_see,
    detach_media_except,
    mentioned_accounts,
    set_tags,
    status_by_id,
)
from storage.stream_events import reach_events
from storage.types import utcnow

MAX_MEDIA = 4
# Mastodon's poll limits (also announced in /api/v2/instance).
MAX_POLL_OPTIONS = 4
MAX_POLL_OPTION_CHARACTERS = 50
MIN_POLL_SECONDS = 300
MAX_POLL_SECONDS = 2_629_746  # a month


def check_text(ctx: Context, text: str, spoiler_text: str, media_ids: Sequence[int]) -> None:
    limit = ctx.settings.limits.max_status_characters
    if len(text) + len(spoiler_text) > limit:
        raise Unprocessable(
            f"Validation failed: Text character limit of {limit} exceeded",
            field="text",
            code=ValidationCode.TOO_LONG,
        )
    if not text.strip() and not media_ids:
        raise Unprocessable("Validation failed: Text can't be blank", field="text", code=ValidationCode.BLANK)
    if len(media_ids) > MAX_MEDIA:
        raise Unprocessable(
            f"Validation failed: at most {MAX_MEDIA} media attachments",
            field="media_attachments",
            code=ValidationCode.TOO_LONG,
        )


def check_poll(poll: PollRequest | None, media_ids: Sequence[int]) -> None:
    """Mastodon's `PollValidator`, and its refusal of media beside a poll."""
    if poll is None:
        return
    if media_ids:
        raise Unprocessable(
            "Validation failed: a status with a poll cannot have media attachments", field="media_ids"
        )
    options = [option.strip() for option in poll.options]
    refusal: tuple[str, str, ValidationCode] | None = None
    if len(options) < 2:
        refusal = ("Poll options must have more than one item", "options", ValidationCode.TOO_SHORT)
    elif len(options) > MAX_POLL_OPTIONS:
        refusal = (
            f"Poll options can't contain more than {MAX_POLL_OPTIONS} items",
            "options",
            ValidationCode.TOO_LONG,
        )
    elif any(not option for option in options):
        refusal = ("Poll options can't be blank", "options", ValidationCode.BLANK)
    elif any(len(option) > MAX_POLL_OPTION_CHARACTERS for option in poll.options):
        refusal = (
            f"Poll options cannot be longer than {MAX_POLL_OPTION_CHARACTERS} characters each",
            "options",
            ValidationCode.TOO_LONG,
        )
    elif len(set(options)) != len(options):
        refusal = ("Poll options contain duplicate items", "options", ValidationCode.TAKEN)
    elif poll.expires_in < MIN_POLL_SECONDS:
        refusal = ("Poll expiration is too soon", "expires_at", ValidationCode.TOO_SHORT)
    elif poll.expires_in > MAX_POLL_SECONDS:
        refusal = ("Poll expiration is too far into the future", "expires_at", ValidationCode.TOO_LONG)
    if refusal is not None:
        message, field, code = refusal
        raise Unprocessable(f"Validation failed: {message}", field=f"poll.{field}", code=code)


async def _attach_own_media(
    session: AsyncSession,
    status_id: int,
    author: Account,
    media_ids: Sequence[int],
    scheduled_status_id: int | None = None,
) -> None:
    """Attach the author's own unattached media; any other id refuses the whole post (as Mastodon does)."""
    attached = {
        media.id
        for media in await attach_media(
            session, status_id, author.id, media_ids, scheduled_status_id=scheduled_status_id
        )
    }
    missing = [str(media_id) for media_id in dict.fromkeys(media_ids) if media_id not in attached]
    if missing:
        raise Unprocessable(
            f"Validation failed: media attachments not found: {', '.join(missing)}", field="media_ids"
        )


async def _render_content(
    ctx: Context, text: str, drafts: Sequence[VariantDraft] = ()
) -> tuple[str, list[Variant], list[Account], list[str]]:
    """The primary text and each other language as HTML; the mentions and hashtags of all of them."""
    every_text = combined_text(text, drafts)
    resolved = await resolve_mentions(ctx, every_text)
    targets, tag_url = mention_targets(resolved), urls_of(ctx).tag_page
    html = text_to_html(text, mentions=targets, tag_url=tag_url)
    variants = drafts_to_variants(
        drafts, [text_to_html(draft.text, mentions=targets, tag_url=tag_url) for draft in drafts]
    )
    accounts = list({account.id: account for account in resolved.values()}.values())
    return html, variants, accounts, hashtags(every_text)


async def delivery_targets(
    session: AsyncSession, status: Status, author: Account, mentions: Sequence[Account]
) -> DeliveryTargets:
    """Where a local status's activities go: mentioned accounts and the account replied to first, then
    the followers (unless direct), then the relays (when relayable)."""
    targets = DeliveryTargets()
    for account in mentions:
        targets.add_account(account, priority=PRIORITY_DIRECT)
    if status.in_reply_to_account_id is not None and status.visibility != "direct":
        targets.add_account(
            await session.get(Account, status.in_reply_to_account_id), priority=PRIORITY_DIRECT
        )
    if status.visibility != "direct":
        targets.add_followers_of(author.id)
    if relayable(status):
        await targets.add_relays(session)
    return targets


async def _existing_for_key(ctx: Context, author: Account, key: str) -> Status | None:
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(IdempotencyKey).where(
                    IdempotencyKey.account_id == author.id, IdempotencyKey.key == key
                )
            )
        ).scalar_one_or_none()
        return await status_by_id(session, row.status_id) if row else None


async def post_status(
    ctx: Context,
    author: Account,
    *,
    text: str,
    visibility: str = "public",
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str | None = None,
    in_reply_to_id: int | None = None,
    media_ids: Sequence[int] = (),
    application_id: int | None = None,
    idempotency_key: str | None = None,
    poll: PollRequest | None = None,
    scheduled_status_id: int | None = None,
    quoted_status_id: int | None = None,
    quote_policy: str | None = None,
    variants: Sequence[VariantDraft] = (),
) -> Status:
    """Publish a status by a local author: Create(Note) — Create(Question) with a poll — to followers and
    mentioned accounts. `scheduled_status_id` is the scheduled status this publishes: it goes (and its media
    come) in the same transaction, so it is published once; NotFound if it is gone already.
    `quoted_status_id` quotes a status (`outbox.actions.quoting`); `quote_policy` says who may quote this
    one (public, the default, followers or nobody). `variants`: the status's other languages besides
    `language`, its primary (docs/MULTILINGUAL.md)."""
    if visibility not in VISIBILITIES:
        raise Unprocessable(
            f"Validation failed: unknown visibility {visibility!r}",
            field="visibility",
            code=ValidationCode.INCLUSION,
        )
    check_text(ctx, text, spoiler_text, media_ids)
    check_variants(ctx, language, variants)
    check_poll(poll, media_ids)
    check_quote_policy(quote_policy)
    if idempotency_key and (existing := await _existing_for_key(ctx, author, idempotency_key)) is not None:
        return existing
    content, other_languages, mentions, tag_list = await _render_content(ctx, text, variants)
    urls = urls_of(ctx)
    effects = Effects()
    async with ctx.db.transaction() as session:
        parent = None
        if in_reply_to_id is not None:
            parent = await status_by_id(session, in_reply_to_id)
            if (
                parent is None
                or parent.reblog_of_id is not None
                or not await can_see(session, author.id, parent)
            ):
                raise NotFound("Record not found: the status replied to")
            if parent.locked_at is not None:  # its group locked it (Lemmy's Lock): inbox.handlers.group_locks
                raise Unprocessable(
                    "The post replied to is locked by its group's moderators: it takes no new replies",
                    field="in_reply_to_id",
                )
        if scheduled_status_id is not None and not await consume(session, scheduled_status_id):
            raise NotFound("Record not found: the scheduled status was published or deleted")
        quoted = None
        if quoted_status_id is not None:
            quoted = await quotable_status(session, author, quoted_status_id)
        status_id = new_id()
        status = Status(
            id=status_id,
            uri=urls.status(author.username, status_id),
            url=urls.status_page(author.username, status_id),
            account_id=author.id,
            local=True,
            content=content,
            text=text,
            spoiler_text=spoiler_text,
            sensitive=sensitive
            or bool(spoiler_text)
            or media_forced_sensitive(author.sensitized_at, bool(media_ids)),
            visibility=visibility,
            language=language,
            application_id=application_id,
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_uri=parent.uri if parent else None,
            in_reply_to_account_id=parent.account_id if parent else None,
            conversation_uri=(parent.conversation_uri or parent.uri) if parent else None,
            quote_policy=quote_policy or "public",
        )
        session.add(status)
        await session.flush()
        await replace_variants(session, status.id, other_languages)
        quote = quoted_author = None
        if quoted is not None:
            quote, quoted_author = await add_quote(session, ctx, effects, status, author, quoted)
        await add_mentions(session, status.id, [account.id for account in mentions])
        await set_tags(session, status.id, tag_list)
        await _attach_own_media(session, status.id, author, media_ids, scheduled_status_id)
        await enqueue_card_fetch(session, status, local_host=local_host(ctx))
        if poll is not None:
            poll_row = new_poll(status.id, author.id, poll)
            session.add(poll_row)
            await session.flush()
            await schedule_poll_end(session, poll_row)
        if parent is not None:
            await add_to_counter(session, Status, parent.id, "replies_count", 1)
        await add_to_counter(session, Account, author.id, "statuses_count", 1)
        writer = await session.get(Account, author.id)
        assert writer is not None
        writer.last_status_at = status.created_at
        if idempotency_key:
            session.add(IdempotencyKey(account_id=author.id, key=idempotency_key, status_id=status.id))
        effects.events += await fan_out_status(session, status, writer)
        note = status_to_note(await load_note_parts(session, status, writer), urls, ctx.domain)
        targets = await delivery_targets(session, status, writer, mentions)
        if quoted_author is not None and status.visibility != "direct":
            targets.add_account(quoted_author, priority=PRIORITY_DIRECT)
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=writer,
            activity_type="Create",
            uri=f"{status.uri}/activity",
            build=lambda uri: note_activity("Create", uri, note, published=status.created_at),
            targets=targets,
            status_id=status.id,
            visibility=visibility,
        )
        if quote is not None and quoted_author is not None and quote.state == "pending":
            await request_approval(
                session, ctx, effects, quote=quote, author=writer, quoted_author=quoted_author, note=note
            )
        # A local group mentioned is asked to announce the post (it decides whether the author may post).
        await queue_announces(
            session,
            [account for account in mentions if account.domain is None and is_group(account)],
            status.uri,
        )
    after_commit(ctx, effects)
    return status


async def _own_status(session: AsyncSession, author: Account, status_id: int) -> Status:
    status = await status_by_id(session, status_id)
    if status is None or status.deleted_at is not None or status.reblog_of_id is not None:
        raise NotFound("Record not found")
    if status.account_id != author.id:
        raise Forbidden("This action is not allowed")
    return status


def _revision(status: Status, media_ids: Sequence[int], variants: Sequence[Variant]) -> StatusEdit:
    return StatusEdit(
        status_id=status.id,
        content=status.content,
        spoiler_text=status.spoiler_text,
        sensitive=status.sensitive,
        media=[str(media_id) for media_id in media_ids],
        variants=variants_snapshot(variants),
        created_at=status.edited_at or status.created_at,
    )


async def edit_status(
    ctx: Context,
    author: Account,
    status_id: int,
    *,
    text: str,
    spoiler_text: str = "",
    sensitive: bool = False,
    language: str | None = None,
    media_ids: Sequence[int] = (),
    poll: PollRequest | None = None,
    variants: Sequence[VariantDraft] = (),
) -> Status:
    """Edit a local status (history kept in `status_edits`) and send `Update(Note)` where it went.

    As in Mastodon, the edit carries the whole poll: changed options reset its votes, and an edit without
    one removes the status's poll. The edit carries the whole set of languages too: a language left out is
    removed (docs/MULTILINGUAL.md)."""
    check_text(ctx, text, spoiler_text, media_ids)
    check_poll(poll, media_ids)
    content, other_languages, new_mentions, tag_list = await _render_content(ctx, text, variants)
    urls = urls_of(ctx)
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await _own_status(session, author, status_id)
        check_variants(ctx, language or status.language, variants)
        first_edit = status.edited_at is None
        if first_edit:  # keep the original as the first revision
            previous = await load_note_parts(session, status, author)
            session.add(_revision(status, [media.id for media in previous.media], previous.variants))
        status.text, status.content, status.spoiler_text = text, content, spoiler_text
        status.sensitive = (
            sensitive or bool(spoiler_text) or media_forced_sensitive(author.sensitized_at, bool(media_ids))
        )
        status.language = language or status.language
        status.edited_at = utcnow()
        await add_mentions(session, status.id, [account.id for account in new_mentions])
        await set_tags(session, status.id, tag_list)
        await detach_media_except(session, status.id, media_ids)
        await _attach_own_media(session, status.id, author, media_ids)
        await _edit_poll(session, status, poll)
        await replace_variants(session, status.id, other_languages)
        await enqueue_card_fetch(session, status, local_host=local_host(ctx))  # a new card for the new text
        session.add(_revision(status, media_ids, other_languages))
        writer = await session.get(Account, author.id)
        assert writer is not None
        parts = await load_note_parts(session, status, writer)
        note = status_to_note(parts, urls, ctx.domain)
        effects.events += await notify_boosters_of_edit(session, status)
        effects.events += await notify_quoters_of_edit(session, status.id)
        effects.events += await reach_events(session, status, "status.update")
        await record_activity(
            session,
            effects,
            ctx=ctx,
            actor=writer,
            activity_type="Update",
            build=lambda uri: note_activity("Update", uri, note, published=status.edited_at),
            targets=await delivery_targets(session, status, writer, parts.mentions),
            status_id=status.id,
            visibility=status.visibility,
        )
    after_commit(ctx, effects)
    return status


async def _edit_poll(session: AsyncSession, status: Status, request: PollRequest | None) -> None:
    poll = await poll_of_status(session, status.id, for_update=True)
    if request is None:
        if poll is not None:
            await session.delete(poll)
            await session.flush()
        return
    if poll is None:
        poll = new_poll(status.id, status.account_id, request)
        session.add(poll)
    else:
        await replace_options(session, poll, request)
    await session.flush()
    await schedule_poll_end(session, poll)


async def delete_status(ctx: Context, author: Account, status_id: int) -> Status:
    """Delete a local status (kept as a tombstone, so its URL answers 410) and send `Delete` where it went."""
    effects = Effects()
    async with ctx.db.transaction() as session:
        status = await _own_status(session, author, status_id)
        await delete_status_in(session, ctx, effects, status)
    after_commit(ctx, effects)
    return status


async def delete_status_in(session: AsyncSession, ctx: Context, effects: Effects, status: Status) -> None:
    """Delete `status` in the caller's transaction (its author's action or a moderator's): tombstone, feed
    rows and notifications go; a local status's `Delete` goes where the status went."""
    writer = await session.get(Account, status.account_id)
    assert writer is not None
    mentions = await mentioned_accounts(session, status.id)
    to, cc = visibility_addressing(status.visibility, writer.followers_url, [m.uri for m in mentions])
    targets = await delivery_targets(session, status, writer, mentions) if writer.domain is None else None
    boosts = await boosts_of(session, status.id)
    for boost in boosts if targets is not None else []:  # servers that saw a boost get the Delete
        booster = await session.get(Account, boost.account_id)
        targets.add_account(booster)
        if booster is not None and booster.domain is None and booster.id != writer.id:
            # A local booster's followers got its Announce: a group's members above all (storage.groups).
            targets.add_followers_of(booster.id)
    effects.events += await reach_events(session, status, "delete")
    status.deleted_at = utcnow()
    for boost in boosts:
        boost.deleted_at = status.deleted_at
    doomed = [status.id, *(boost.id for boost in boosts)]
    await remove_statuses_from_feeds(session, doomed)
    await session.execute(delete(Notification).where(Notification.status_id.in_(doomed)))
    await add_to_counter(session, Account, writer.id, "statuses_count", -1)
    if status.in_reply_to_id is not None:
        await add_to_counter(session, Status, status.in_reply_to_id, "replies_count", -1)
    if targets is None:
        return  # a remote status: its own server federates its deletion
    await queue_withdrawal(session, status.id)
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=writer,
        activity_type="Delete",
        build=lambda uri: delete_activity(uri, status, to, cc, writer.uri),
        targets=targets,
        status_id=status.id,
        visibility=status.visibility,
    )
