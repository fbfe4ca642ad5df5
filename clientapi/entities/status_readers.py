"""One status rendered for many readers at once: a new post on its followers' home streams.

`statuses_to_entities` renders for one viewer; a stream hub that called it once per reader spent ~10 queries
per reader, one reader after the other, and a post to 50 local readers reached the last of them 0.2–0.5 s
after it was made on an idle 2-core machine, seconds under load (issue #17, bench/crisis.py). Here what
does not depend on the reader — the status, its author, mentions, hashtags, media, card, counts, the
other languages — is loaded once, and what does — favourited, boosted, bookmarked, pinned, muted thread,
whether the reader follows the author (the quote approval), media forced sensitive except for their author,
the reader's languages — in one query for every reader; each reader's filters apply as in a `home` page.

A status with a poll or a quote shows more of the reader (their votes, whether they may see the quoted
status): it is rendered reader by reader with `statuses_to_entities`, as before. Both give the same entity.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, literal, select, union_all

from clientapi.entities.status_languages import accounts_languages, show_languages, shown_variants
from clientapi.entities.statuses import (
    Reader,
    _filtered,
    _load,
    _Loaded,
    _render,
    statuses_to_entities,
)
from storage.context import Context
from storage.conversation_mutes import thread_key_column
from storage.filter_matching import ViewerFilters
from storage.models import Bookmark, ConversationMute, Favourite, Follow, Status, StatusPin
from storage.quotes import quotes_counts, quotes_of_statuses
from storage.urls import LocalUrls

CONTEXT = "home"  # the filter context of the user and list streams, as Mastodon's


@dataclasses.dataclass(frozen=True)
class StatusReader:
    """One reader of a status: its account, the languages its stream asked for, its compiled filters."""

    account_id: int
    accepted_languages: tuple[str, ...]
    filters: ViewerFilters


async def status_for_readers(
    session: Reader, ctx: Context, status: Status, readers: Sequence[StatusReader]
) -> list[dict[str, Any] | None]:
    """The Status entity of `status` as each of `readers` sees it in a `home` context, in their order (None:
    a `hide` filter of the reader's matches it, or its author or boosted original cannot be loaded)."""
    if not readers:
        return []
    shared = await _load(session, ctx, [status], None)
    content_ids = [each.id for each in shared.statuses.values() if each.reblog_of_id is None]
    quotes = await quotes_of_statuses(session, content_ids)
    if shared.polls or quotes:
        return [await _one_reader(session, ctx, status, reader) for reader in readers]
    shared.quotes_counts = await quotes_counts(session, content_ids)
    reader_ids = sorted({reader.account_id for reader in readers})
    flags = await _reader_flags(session, reader_ids, list(shared.statuses))
    authors = {each.account_id for each in shared.statuses.values()}
    followed = await _followed_authors(session, reader_ids, authors)
    urls = LocalUrls(ctx.base_url)
    entities: list[dict[str, Any] | None] = []
    variants = languages = None
    for reader in readers:
        loaded = dataclasses.replace(
            shared,
            flags=flags.get(reader.account_id, defaultdict(set)),
            followed=followed.get(reader.account_id, set()),
            # media the moderators marked sensitive are not shown so to their author (`_forced_sensitive`)
            forced_sensitive={
                status_id
                for status_id in shared.forced_sensitive
                if shared.statuses[status_id].account_id != reader.account_id
            },
        )
        entity = _render(status, loaded, urls, reader.account_id)
        if entity is None:
            entities.append(None)
            continue
        if variants is None:
            variants = await shown_variants(session, [entity])
            languages = await accounts_languages(session, reader_ids) if variants else {}
        if variants:
            assert languages is not None
            wanted = [*languages.get(reader.account_id, []), *reader.accepted_languages]
            show_languages([entity], variants, wanted)
        entities.append(_apply_filters(status, entity, loaded, reader))
    return entities


async def _one_reader(
    session: Reader, ctx: Context, status: Status, reader: StatusReader
) -> dict[str, Any] | None:
    rendered = await statuses_to_entities(
        session,
        ctx,
        [status],
        reader.account_id,
        context=CONTEXT,
        filters=reader.filters,
        accepted_languages=reader.accepted_languages,
    )
    return rendered[0] if rendered else None


def _apply_filters(
    status: Status, entity: dict[str, Any], loaded: _Loaded, reader: StatusReader
) -> dict[str, Any] | None:
    applying = reader.filters.applying(CONTEXT)
    if not applying:
        return entity
    kept = _filtered([(status, entity)], loaded, applying, reader.account_id, hiding=True)
    return kept[0] if kept else None


async def _reader_flags(
    session: Reader, reader_ids: list[int], status_ids: list[int]
) -> dict[int, dict[str, set[int]]]:
    """Each reader's favourited, reblogged, bookmarked, pinned and muted-thread status ids among `status_ids`
    (the viewer part of `statuses._facts_statement`, for many viewers in one query)."""
    parts = [
        select(Favourite.account_id, Favourite.status_id, literal("favourited")).where(
            Favourite.account_id.in_(reader_ids), Favourite.status_id.in_(status_ids)
        ),
        select(Status.account_id, Status.reblog_of_id, literal("reblogged")).where(
            Status.account_id.in_(reader_ids),
            Status.reblog_of_id.in_(status_ids),
            Status.deleted_at.is_(None),
        ),
        select(Bookmark.account_id, Bookmark.status_id, literal("bookmarked")).where(
            Bookmark.account_id.in_(reader_ids), Bookmark.status_id.in_(status_ids)
        ),
        select(StatusPin.account_id, StatusPin.status_id, literal("pinned")).where(
            StatusPin.account_id.in_(reader_ids), StatusPin.status_id.in_(status_ids)
        ),
        select(ConversationMute.account_id, Status.id, literal("muted"))
        .join(
            ConversationMute,
            and_(
                ConversationMute.account_id.in_(reader_ids),
                ConversationMute.conversation == thread_key_column(),
            ),
        )
        .where(Status.id.in_(status_ids)),
    ]
    flags: dict[int, dict[str, set[int]]] = {}
    for reader_id, status_id, kind in (await session.execute(union_all(*parts))).all():
        flags.setdefault(reader_id, defaultdict(set))[kind].add(status_id)
    return flags


async def _followed_authors(session: Reader, reader_ids: list[int], authors: set[int]) -> dict[int, set[int]]:
    """Which of `authors` each reader follows (for the quote approval's `current_user`)."""
    rows = await session.execute(
        select(Follow.account_id, Follow.target_account_id).where(
            Follow.account_id.in_(reader_ids), Follow.target_account_id.in_(authors)
        )
    )
    followed: dict[int, set[int]] = defaultdict(set)
    for reader_id, author_id in rows.all():
        followed[reader_id].add(author_id)
    return followed
