"""The Status entity, rendered a page at a time.

`statuses_to_entities` loads everything a page of statuses needs — boosted originals, authors, mentions,
hashtags, media, polls with the viewer's votes, custom emojis (one query, only when a text has a
`:code:`), applications and the viewer's favourites/boosts/bookmarks/pins — in a fixed number of queries
whatever the page size (no query per status), then renders every field of the OpenAPI Status
schema, nullable ones included.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import orjson
from sqlalchemy import BigInteger, String, and_, bindparam, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from clientapi.entities.accounts import RenderedAccounts, account_to_entity, acct_of
from clientapi.entities.cards import CARD_ATTRIBUTES, card_to_entity
from clientapi.entities.common import format_optional_time, format_time, id_str
from clientapi.entities.emojis import emoji_to_entity
from clientapi.entities.media import media_to_entity, status_tag_to_entity
from clientapi.entities.polls import poll_to_entity
from clientapi.entities.status_languages import show_reader_languages
from clientapi.filtering import entity_filter_results
from storage.accounts import media_forced_sensitive
from storage.context import Context
from storage.conversation_mutes import thread_key_column
from storage.custom_emojis import emojis_of_statuses
from storage.filter_matching import CompiledFilter, ViewerFilters, read_viewer_filters
from storage.models import (
    Account,
    Bookmark,
    ConversationMute,
    Favourite,
    Follow,
    MediaAttachment,
    Mention,
    OAuthApp,
    Poll,
    PreviewCard,
    Status,
    StatusCard,
    StatusPin,
    StatusTag,
    Tag,
)
from storage.polls import own_votes, polls_by_ids
from storage.quotes import approval_lists, decide_quote, quotes_counts, quotes_of_statuses
from storage.timelines import AUTHOR_PREFIX, LISTED_ACCOUNT_COLUMNS, LISTED_STATUS_COLUMNS
from storage.urls import LocalUrls

# Pages are rendered from plain rows (named like the model attributes), not ORM objects: building identity-
# mapped instances costs more than the queries on a timeline page. Callers may pass either, and a session or
# a Core connection (every query here is a Core select).
Reader = AsyncSession | AsyncConnection
MEDIA_COLUMNS = tuple(MediaAttachment.__table__.columns)
# Rows of `storage.timelines` lists carry their author's columns, in `LISTED_ACCOUNT_COLUMNS` order, one
# after the other from the column named `AUTHOR_FIRST_KEY`.
AUTHOR_FIRST_KEY = f"{AUTHOR_PREFIX}{LISTED_ACCOUNT_COLUMNS[0].name}"
AUTHOR_ATTRIBUTES = tuple(column.name for column in LISTED_ACCOUNT_COLUMNS)
_JSON_INDEXES = frozenset((AUTHOR_ATTRIBUTES.index("fields"), AUTHOR_ATTRIBUTES.index("emojis")))
_MOVED_TO_INDEX = AUTHOR_ATTRIBUTES.index("moved_to_account_id")
_RENDERED_ACCOUNTS_KEY = "clientapi.rendered_accounts"


@dataclass
class _Loaded:
    """What a batch of statuses refers to, keyed by id."""

    statuses: dict[int, Status]
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)
    mentions: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    tags: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    media: dict[int, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    apps: dict[int, dict[str, Any]] = field(default_factory=dict)
    flags: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    emojis: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    polls: dict[int, dict[str, Any]] = field(default_factory=dict)  # Poll entities by status id
    quotes: dict[int, Any] = field(default_factory=dict)  # quote rows by quoting status id
    quotes_counts: dict[int, int] = field(default_factory=dict)
    followed: set[int] = field(default_factory=set)  # authors the viewer follows (for `quote_approval`)
    quoted: dict[int, dict[str, Any]] | None = None  # quoted Status entities; None: render ShallowQuotes
    quoted_gone: set[int] = field(default_factory=set)  # quoted statuses deleted since
    cards: dict[int, dict[str, Any]] = field(default_factory=dict)  # PreviewCard entities by status id
    forced_sensitive: set[int] = field(default_factory=set)  # statuses shown sensitive by moderators' choice


async def _load_accounts(session: Reader, account_ids: set[int]) -> dict[int, Account]:
    """The accounts by id, with the accounts the moved ones moved to."""
    if not account_ids:
        return {}
    rows = await session.execute(select(*LISTED_ACCOUNT_COLUMNS).where(Account.id.in_(account_ids)))
    accounts = {account.id: account for account in rows.all()}
    moved_ids = {a.moved_to_account_id for a in accounts.values() if a.moved_to_account_id} - set(accounts)
    if moved_ids:
        moved = await session.execute(select(*LISTED_ACCOUNT_COLUMNS).where(Account.id.in_(moved_ids)))
        accounts.update({account.id: account for account in moved.all()})
    return accounts


async def _forced_sensitive(
    session: Reader, by_id: dict[int, Any], with_media: set[int], viewer_id: int | None
) -> set[int]:
    """The statuses with media whose author's media the moderators marked sensitive, shown sensitive to
    all but the author, as Mastodon (`storage.accounts.media_forced_sensitive`)."""
    author_ids = {by_id[status_id].account_id for status_id in with_media} - {viewer_id}
    if not author_ids:
        return set()
    rows = await session.execute(
        select(Account.id, Account.sensitized_at).where(
            Account.id.in_(author_ids), Account.sensitized_at.is_not(None)
        )
    )
    forced = {row.id for row in rows.all() if media_forced_sensitive(row.sensitized_at, True)}
    return {status_id for status_id in with_media if by_id[status_id].account_id in forced}


def _rendered_accounts(ctx: Context) -> RenderedAccounts:
    cache = ctx.caches.get(_RENDERED_ACCOUNTS_KEY)
    if cache is None:
        cache = ctx.caches[_RENDERED_ACCOUNTS_KEY] = RenderedAccounts()
    return cache  # type: ignore[no-any-return]


def _joined_authors(
    ctx: Context, statuses: Sequence[Any]
) -> tuple[dict[int, dict[str, Any]], dict[int, Any]]:
    """Authors that came joined in the page's rows (`author_*` columns of `storage.timelines` lists): the
    entities of those that have not moved (rendered once per distinct column values, see
    `RenderedAccounts`), and the accounts of those that have (their entity shows the account moved to)."""
    entities: dict[int, dict[str, Any]] = {}
    moved: dict[int, Any] = {}
    fields = getattr(statuses[0], "_fields", ())
    if AUTHOR_FIRST_KEY not in fields:
        return entities, moved
    start = fields.index(AUTHOR_FIRST_KEY)
    cache = _rendered_accounts(ctx)
    for row in statuses:
        if row.account_id in entities or row.account_id in moved:
            continue
        columns = tuple(row[start : start + len(AUTHOR_ATTRIBUTES)])
        if columns[_MOVED_TO_INDEX] is not None:
            moved[row.account_id] = _author(columns)
            continue
        # `fields` and `emojis` are lists (JSON): hashed by their serialisation.
        key = tuple(
            orjson.dumps(value) if index in _JSON_INDEXES else value for index, value in enumerate(columns)
        )
        entities[row.account_id] = cache.entity(key, functools.partial(_render_author, columns, ctx))
    return entities, moved


def _author(columns: tuple[Any, ...]) -> Any:
    return SimpleNamespace(**dict(zip(AUTHOR_ATTRIBUTES, columns, strict=True)))


def _render_author(columns: tuple[Any, ...], ctx: Context) -> dict[str, Any]:
    return account_to_entity(_author(columns), ctx)


def _account_entities(
    ctx: Context, accounts: dict[int, Account], wanted: set[int]
) -> dict[int, dict[str, Any]]:
    return {
        account_id: account_to_entity(
            account,
            ctx,
            moved_to=accounts.get(account.moved_to_account_id) if account.moved_to_account_id else None,
        )
        for account_id, account in accounts.items()
        if account_id in wanted
    }


def _mention_to_entity(account: Account) -> dict[str, Any]:
    return {
        "id": str(account.id),
        "username": account.username,
        "url": account.url or account.uri,
        "acct": acct_of(account),
    }


def _entity_to_mention(entity: dict[str, Any]) -> dict[str, Any]:
    return {key: entity[key] for key in ("id", "username", "url", "acct")}


@functools.cache
def _facts_statement(with_viewer: bool) -> Any:
    """One statement for every small fact of a page: (status id, kind, referenced id, name) rows for
    hashtags, mentions, attached media and the viewer's favourites, boosts, bookmarks, pins and muted threads.

    Built once per process (it is immutable) with expanding parameters, so a request only binds ids."""
    content_ids = bindparam("content_ids", expanding=True)
    status_ids = bindparam("status_ids", expanding=True)
    viewer_id = bindparam("viewer_id")
    no_ref = cast(null(), BigInteger)
    no_name = cast(null(), String)
    parts: list[Any] = [
        select(StatusTag.status_id, literal("tag"), no_ref, Tag.name)
        .join(Tag, Tag.id == StatusTag.tag_id)
        .where(StatusTag.status_id.in_(content_ids)),
        select(Mention.status_id, literal("mention"), Mention.account_id, no_name).where(
            Mention.status_id.in_(content_ids)
        ),
        select(MediaAttachment.status_id, literal("media"), MediaAttachment.id, no_name).where(
            MediaAttachment.status_id.in_(content_ids)
        ),
        select(Poll.status_id, literal("poll"), Poll.id, no_name).where(Poll.status_id.in_(content_ids)),
        select(StatusCard.status_id, literal("card"), StatusCard.card_id, no_name).where(
            StatusCard.status_id.in_(content_ids)
        ),
    ]
    if with_viewer:
        parts += [
            select(Favourite.status_id, literal("favourited"), no_ref, no_name).where(
                Favourite.account_id == viewer_id, Favourite.status_id.in_(status_ids)
            ),
            select(Status.reblog_of_id, literal("reblogged"), no_ref, no_name).where(
                Status.account_id == viewer_id,
                Status.reblog_of_id.in_(status_ids),
                Status.deleted_at.is_(None),
            ),
            select(Bookmark.status_id, literal("bookmarked"), no_ref, no_name).where(
                Bookmark.account_id == viewer_id, Bookmark.status_id.in_(status_ids)
            ),
            select(StatusPin.status_id, literal("pinned"), no_ref, no_name).where(
                StatusPin.account_id == viewer_id, StatusPin.status_id.in_(status_ids)
            ),
            select(Status.id, literal("muted"), no_ref, no_name)
            .join(
                ConversationMute,
                and_(
                    ConversationMute.account_id == viewer_id,
                    ConversationMute.conversation == thread_key_column(),
                ),
            )
            .where(Status.id.in_(status_ids)),
        ]
    return union_all(*parts)


async def _load(session: Reader, ctx: Context, statuses: Sequence[Status], viewer_id: int | None) -> _Loaded:
    # Round trips: the facts, the accounts; the boosted originals, media rows and applications only when
    # the page has any. None of them grows with the page size.
    by_id = {status.id: status for status in statuses}
    originals = {s.reblog_of_id for s in statuses if s.reblog_of_id is not None} - set(by_id)
    if originals:
        rows = await session.execute(select(*LISTED_STATUS_COLUMNS).where(Status.id.in_(originals)))
        by_id.update({status.id: status for status in rows.all()})
    loaded = _Loaded(statuses=by_id)
    content_ids = [
        s.id for s in by_id.values() if s.reblog_of_id is None
    ]  # boosts have no content of their own
    mentions: list[tuple[int, int]] = []
    media_ids: list[int] = []
    poll_ids: list[int] = []
    card_ids: dict[int, int] = {}
    for status_id, kind, ref_id, name in (
        await session.execute(
            _facts_statement(viewer_id is not None),
            {"content_ids": content_ids, "status_ids": list(by_id), "viewer_id": viewer_id},
        )
    ).all():
        if kind == "tag":
            loaded.tags[status_id].append(name)
        elif kind == "mention":
            mentions.append((status_id, ref_id))
        elif kind == "media":
            media_ids.append(ref_id)
        elif kind == "poll":
            poll_ids.append(ref_id)
        elif kind == "card":
            card_ids[status_id] = ref_id
        else:
            loaded.flags[kind].add(status_id)
    for names in loaded.tags.values():
        names.sort()
    if media_ids:
        media_rows = await session.execute(
            select(*MEDIA_COLUMNS).where(MediaAttachment.id.in_(media_ids)).order_by(MediaAttachment.id)
        )
        for media in media_rows.all():
            loaded.media[media.status_id].append(media_to_entity(ctx, media))  # type: ignore[index]
        loaded.forced_sensitive = await _forced_sensitive(session, by_id, set(loaded.media), viewer_id)
    if poll_ids:
        loaded.polls = await _load_polls(session, poll_ids, viewer_id)
    app_ids = {s.application_id for s in by_id.values() if s.application_id is not None}
    if app_ids:
        app_rows = await session.execute(
            select(OAuthApp.id, OAuthApp.name, OAuthApp.website).where(OAuthApp.id.in_(app_ids))
        )
        loaded.apps = {
            app_id: {"name": name, "website": website or None} for app_id, name, website in app_rows.all()
        }
    texts = {s.id: (s.spoiler_text, s.content) for s in by_id.values() if s.reblog_of_id is None}
    loaded.emojis = await emojis_of_statuses(session, texts, LocalUrls(ctx.base_url))
    cards = await _load_cards(session, set(card_ids.values()))
    credited = {card.author_account_id for card in cards.values() if card.author_account_id is not None}
    author_ids = {s.account_id for s in by_id.values()}
    entities, accounts = _joined_authors(ctx, statuses)
    moved_to = {author.moved_to_account_id for author in accounts.values()}
    mentioned = {account_id for _, account_id in mentions}
    wanted = ((author_ids | mentioned | credited) - set(entities) | moved_to) - set(accounts)
    accounts.update(await _load_accounts(session, wanted))
    loaded.accounts = {**_account_entities(ctx, accounts, author_ids | credited), **entities}
    for status_id, card_id in card_ids.items():
        card = cards.get(card_id)
        if card is not None:
            author = loaded.accounts.get(card.author_account_id) if card.author_account_id else None
            loaded.cards[status_id] = card_to_entity(card, ctx.base_url, author)
    for status_id, account_id in sorted(mentions, key=lambda pair: pair[1]):
        if account_id in accounts:
            loaded.mentions[status_id].append(_mention_to_entity(accounts[account_id]))
        elif account_id in entities:
            loaded.mentions[status_id].append(_entity_to_mention(entities[account_id]))
    return loaded


async def _load_cards(session: Reader, card_ids: set[int]) -> dict[int, Any]:
    """The preview cards by id (one query, none without cards)."""
    if not card_ids:
        return {}
    columns = [getattr(PreviewCard, name) for name in CARD_ATTRIBUTES]
    rows = await session.execute(select(*columns).where(PreviewCard.id.in_(card_ids)))
    return {row.id: row for row in rows.all()}


async def _load_polls(
    session: Reader, poll_ids: list[int], viewer_id: int | None
) -> dict[int, dict[str, Any]]:
    """Poll entities by status id: the polls, and the viewer's votes in them (two queries)."""
    polls = await polls_by_ids(session, poll_ids)
    chosen = await own_votes(session, poll_ids, viewer_id) if viewer_id is not None else {}
    return {poll.status_id: poll_to_entity(poll, viewer_id, chosen.get(poll.id)) for poll in polls}


def _render(status: Status, loaded: _Loaded, urls: LocalUrls, viewer_id: int | None) -> dict[str, Any] | None:
    account = loaded.accounts.get(status.account_id)
    if account is None:
        return None
    reblog: dict[str, Any] | None = None
    if status.reblog_of_id is not None:
        original = loaded.statuses.get(status.reblog_of_id)
        reblog = _render(original, loaded, urls, viewer_id) if original is not None else None
        if reblog is None:
            return None  # a boost of something gone shows nothing
    status_id = status.id
    if viewer_id is None:
        reblogged = favourited = bookmarked = pinned = muted = None
    else:
        flags = loaded.flags
        reblogged = status_id in flags["reblogged"]
        favourited = status_id in flags["favourited"]
        bookmarked = status_id in flags["bookmarked"]
        pinned = status_id in flags["pinned"] if status.account_id == viewer_id else None
        muted = status_id in flags["muted"]
    return {
        "id": str(status_id),
        "uri": status.uri,
        "url": status.url or status.uri,
        "account": account,
        "in_reply_to_id": id_str(status.in_reply_to_id),
        "in_reply_to_account_id": id_str(status.in_reply_to_account_id),
        "reblog": reblog,
        "content": "" if reblog else status.content,
        "text": None,
        "created_at": format_time(status.created_at),
        "edited_at": format_optional_time(status.edited_at),
        "emojis": [] if reblog else [emoji_to_entity(facts) for facts in loaded.emojis.get(status_id, ())],
        "replies_count": status.replies_count,
        "reblogs_count": status.reblogs_count,
        "favourites_count": status.favourites_count,
        "quotes_count": loaded.quotes_counts.get(status_id, 0),
        "reblogged": reblogged,
        "favourited": favourited,
        "bookmarked": bookmarked,
        "muted": muted,
        "pinned": pinned,
        "sensitive": status.sensitive or status_id in loaded.forced_sensitive,
        "spoiler_text": "" if reblog else status.spoiler_text,
        "visibility": status.visibility,
        "language": status.language,
        "media_attachments": [] if reblog else loaded.media.get(status_id, []),
        "mentions": [] if reblog else loaded.mentions.get(status_id, []),
        "tags": []
        if reblog
        else [status_tag_to_entity(urls, name) for name in loaded.tags.get(status_id, [])],
        "card": None if reblog else loaded.cards.get(status_id),
        "poll": None if reblog else loaded.polls.get(status_id),
        "application": loaded.apps.get(status.application_id) if status.application_id else None,
        "filtered": [] if viewer_id is not None else None,
        "quote": None if reblog else _quote(loaded, status_id),
        "quote_approval": None if reblog else _quote_approval(loaded, status, viewer_id),
        "tagged_collections": [],
    }


def _quote(loaded: _Loaded, status_id: int) -> dict[str, Any] | None:
    """Mastodon's Quote (the quoted status shown once accepted and visible) or, for a status shown inside
    a quote, ShallowQuote."""
    row = loaded.quotes.get(status_id)
    if row is None:
        return None
    state, quoted_id = row.state, row.quoted_status_id
    if loaded.quoted is None:
        shown = state == "accepted" and quoted_id is not None
        return {"state": state, "quoted_status_id": str(quoted_id) if shown else None}
    quoted = loaded.quoted.get(quoted_id) if state == "accepted" and quoted_id is not None else None
    if state == "accepted" and quoted is None:
        # gone since, or not for this viewer's eyes
        state = "deleted" if quoted_id in loaded.quoted_gone else "unauthorized"
    return {"state": state, "quoted_status": quoted}


def _quote_approval(loaded: _Loaded, status: Any, viewer_id: int | None) -> dict[str, Any]:
    follows = status.account_id in loaded.followed
    return {
        "automatic": approval_lists(status),
        "manual": [],
        "current_user": decide_quote(status, viewer_id, follows_author=follows),
    }


async def _load_quotes(
    session: Reader, ctx: Context, loaded: _Loaded, viewer_id: int | None, *, shallow: bool
) -> None:
    """The quotes of the page's statuses, their counts, and (unless `shallow`) the quoted statuses the
    viewer may see, rendered as entities whose own quotes are shallow (a fixed number of queries)."""
    ids = [s.id for s in loaded.statuses.values() if s.reblog_of_id is None]
    loaded.quotes = await quotes_of_statuses(session, ids)
    loaded.quotes_counts = await quotes_counts(session, ids)
    if viewer_id is not None:
        authors = {s.account_id for s in loaded.statuses.values()}
        loaded.followed = set(
            (
                await session.execute(
                    select(Follow.target_account_id).where(
                        Follow.account_id == viewer_id, Follow.target_account_id.in_(authors)
                    )
                )
            ).scalars()
        )
    if shallow:
        return
    loaded.quoted = {}
    wanted = {
        row.quoted_status_id
        for row in loaded.quotes.values()
        if row.state == "accepted" and row.quoted_status_id is not None
    }
    if not wanted:
        return
    rows = (
        await session.execute(select(*LISTED_STATUS_COLUMNS, Status.deleted_at).where(Status.id.in_(wanted)))
    ).all()
    loaded.quoted_gone = {row.id for row in rows if row.deleted_at is not None}
    # Who sees a quoted status, as `storage.statuses.can_see` decides it for the statuses quotable at all
    # (public and unlisted; followers-only ones are quotable by their author only): a follower-only one by
    # the author's followers. A direct one is shown to its author only.
    followed = set(loaded.followed)
    private_authors = {row.account_id for row in rows if row.visibility == "private"} - followed
    if viewer_id is not None and private_authors:
        followed |= set(
            (
                await session.execute(
                    select(Follow.target_account_id).where(
                        Follow.account_id == viewer_id, Follow.target_account_id.in_(private_authors)
                    )
                )
            ).scalars()
        )
    visible = [
        row
        for row in rows
        if row.deleted_at is None
        and (
            row.visibility in ("public", "unlisted")
            or row.account_id == viewer_id
            or (row.visibility == "private" and row.account_id in followed)
        )
    ]
    entities = await statuses_to_entities(session, ctx, visible, viewer_id, shallow=True)
    loaded.quoted = {int(entity["id"]): entity for entity in entities}


async def statuses_to_entities(
    session: Reader,
    ctx: Context,
    statuses: Sequence[Status],
    viewer_id: int | None,
    *,
    context: str | None = None,
    filters: ViewerFilters | None = None,
    shallow: bool = False,
    accepted_languages: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Status entities for `statuses`, in their order, as `viewer_id` (None: anonymous) sees them.
    A status whose author (or boosted original) cannot be loaded is left out.

    The viewer's filters apply as `clientapi.filtering` describes, in the filter `context` of the list
    (None: no context); `filters` are the viewer's compiled filters when the caller has them already
    (a stream), else they are read here. `shallow`: quotes as ShallowQuote (statuses shown in a quote).
    A multilingual status is shown in the reader's language (`clientapi.entities.status_languages`; the
    request's `accepted_languages` after the account's settings)."""
    if not statuses:
        return []
    loaded = await _load(session, ctx, statuses, viewer_id)
    await _load_quotes(session, ctx, loaded, viewer_id, shallow=shallow)
    urls = LocalUrls(ctx.base_url)
    rendered = [(status, _render(status, loaded, urls, viewer_id)) for status in statuses]
    if not shallow:  # the quoted statuses (rendered shallow) are shown in the reader's language here
        await show_reader_languages(
            session, [entity for _, entity in rendered if entity], viewer_id, accepted_languages
        )
    if viewer_id is not None:
        if filters is None:
            filters = await read_viewer_filters(session, viewer_id)
        applying = filters.applying(context)
        if applying:
            return _filtered(rendered, loaded, applying, viewer_id, hiding=context is not None)
    return [entity for _, entity in rendered if entity is not None]


def _filtered(
    rendered: Sequence[tuple[Status, dict[str, Any] | None]],
    loaded: _Loaded,
    applying: Sequence[CompiledFilter],
    viewer_id: int,
    *,
    hiding: bool,
) -> list[dict[str, Any]]:
    """The rendered statuses with the viewer's filters applied: `filtered` set on each (and on the boosted
    original), and, when `hiding`, those a `hide` filter matches left out. The viewer's own statuses, boosts
    of them and the viewer's boosts are never filtered (as Mastodon)."""
    kept = []
    for status, entity in rendered:
        if entity is None:
            continue
        proper = loaded.statuses.get(status.reblog_of_id) if status.reblog_of_id is not None else status
        if proper is None or viewer_id in (status.account_id, proper.account_id):
            kept.append(entity)
            continue
        ids = (status.id,) if status.reblog_of_id is None else (status.id, status.reblog_of_id)
        results, hidden = entity_filter_results(applying, ids, entity["reblog"] or entity)
        if hiding and hidden:
            continue
        entity["filtered"] = results
        if entity["reblog"] is not None:
            entity["reblog"]["filtered"] = results
        kept.append(entity)
    return kept


async def status_to_entity(
    session: AsyncSession,
    ctx: Context,
    status: Status,
    viewer_id: int | None,
    *,
    accepted_languages: Sequence[str] = (),
) -> dict[str, Any]:
    """One Status entity (see `statuses_to_entities`)."""
    entities = await statuses_to_entities(
        session, ctx, [status], viewer_id, accepted_languages=accepted_languages
    )
    if not entities:
        raise LookupError(f"status {status.id} cannot be rendered (its author or original is gone)")
    return entities[0]
