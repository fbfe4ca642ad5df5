"""Resolving remote actors and objects into stored rows: fetch → verify origin → upsert.

`resolve_actor` and `resolve_status` look in the database first and fetch only what is missing, through
`webfinger.fetch` (SSRF-guarded, signed by the instance actor, and refusing a document whose `id` is not
where it was served from). Origin rules: an actor's document must come from the actor's own origin; a
status must be on the same origin as its author (`attributedTo`). Domain policy is checked before any
fetch: nothing is fetched from a suspended or (in allow-list mode) unlisted domain.

`prepare_note` + `insert_note` split storing a remote status in two: everything that needs the network
(the parent of a reply, fetched to a bounded depth) happens first, outside any transaction; the insert
then runs inside the caller's transaction, next to its fan-out rows. `check_note` + `find_parent` +
`insert_notes` are the same steps for the inbox's batched writer: the mentions are looked up inside the
batch's transaction, for every note of the batch at once.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.errors import ApubError, InvalidHost
from apub.hosts import canonical_host, host_of, same_origin
from apub.vocab import STATUS_OBJECT_TYPES
from storage.accounts import account_by_acct, account_by_uri
from storage.agency import accept_remote_mark, claimed_mark
from storage.context import Context
from storage.custom_emojis import upsert_remote_emojis
from storage.domains import DomainPolicy, policy_for_host
from storage.models import Account, Status
from storage.preview_cards import enqueue_card_fetches, local_host
from storage.remote import RemoteStatusRow, insert_remote_statuses, upsert_remote_account
from storage.status_variants import insert_variants
from storage.statuses import status_by_uri
from storage.types import utcnow
from storage.urls import LocalUrls
from webfinger.convert import RemoteNote, actor_to_account, note_to_status
from webfinger.fetch import fetch_json, fetch_object

logger = logging.getLogger(__name__)

MAX_THREAD_DEPTH = 3  # parents fetched above a received reply


class ResolveError(Exception):
    """A remote actor or object could not be resolved (refused by policy, malformed, wrong origin)."""


async def domain_policy(ctx: Context, session: AsyncSession, host: str) -> DomainPolicy:
    """The moderation policy of a remote host under this instance's federation mode."""
    return await policy_for_host(session, host, allowlist_mode=ctx.settings.federation.mode == "allowlist")


async def _check_fetchable(ctx: Context, url: str) -> DomainPolicy:
    host = host_of(url)
    if host is None:
        raise ResolveError(f"not an http(s) URL: {url!r}")
    if LocalUrls(ctx.base_url).is_local(url):
        raise ResolveError(f"{url} is local")
    async with ctx.db.read() as session:
        policy = await domain_policy(ctx, session, host)
    if policy.suspended or not policy.allowed:
        raise ResolveError(f"{host} is not federated with")
    return policy


async def _fetch(ctx: Context, url: str) -> dict[str, Any]:
    try:
        return await fetch_object(ctx, url)
    except ApubError as error:
        raise ResolveError(f"fetching {url} failed: {error}") from error


async def store_actor_document(ctx: Context, document: dict[str, Any], policy: DomainPolicy) -> Account:
    """Upsert an actor document that was fetched from (or verified against) its own origin."""
    try:
        values = actor_to_account(document)
    except ValueError as error:
        raise ResolveError(str(error)) from error
    accept_remote_mark(values, claimed_mark(document), ctx.settings.federation.trusted_government_instances)
    if policy.reject_media:
        values["emojis"] = []
    async with ctx.db.transaction() as session:
        return await upsert_remote_account(session, values, silenced=policy.silenced)


async def resolve_actor(ctx: Context, uri: str, *, refresh: bool = False) -> Account:
    """The stored account of actor `uri`, fetched and stored first if unknown (or when `refresh`)."""
    if not refresh or LocalUrls(ctx.base_url).is_local(uri):
        async with ctx.db.read() as session:
            account = await account_by_uri(session, uri)
        if account is not None:
            return account
    policy = await _check_fetchable(ctx, uri)
    document = await _fetch(ctx, uri)
    if document.get("id") != uri and not same_origin(document.get("id"), uri):
        raise ResolveError(f"{uri} served an actor of another origin")
    return await store_actor_document(ctx, document, policy)


async def resolve_acct(ctx: Context, acct: str, *, scheme: str = "https") -> Account:
    """The account `user@host`, discovered through WebFinger on `host`."""
    username, _, host = acct.lstrip("@").partition("@")
    try:
        host = canonical_host(host) if username else ""
    except InvalidHost as error:
        raise ResolveError(str(error)) from error
    if not host:
        raise ResolveError(f"not an account address: {acct!r}")
    resource = quote(f"acct:{username}@{host}", safe=":@")
    try:
        jrd = await fetch_json(ctx, f"{scheme}://{host}/.well-known/webfinger?resource={resource}")
    except ApubError as error:
        raise ResolveError(f"WebFinger for {acct} failed: {error}") from error
    for link in jrd.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self" and isinstance(link.get("href"), str):
            return await resolve_actor(ctx, link["href"])
    raise ResolveError(f"WebFinger for {acct} names no actor")


@dataclass
class PreparedNote:
    """A remote status ready to insert: its values and the stored rows it links to.

    `mention_account_ids` None means "not looked up yet": `insert_notes` resolves them in its transaction,
    for the whole batch at once."""

    note: RemoteNote
    author: Account
    parent: Status | None
    mention_account_ids: list[int] | None
    attachments: list[dict[str, Any]]
    # Its `quotes` row values when it quotes something (`webfinger.quotes.read_quote`); None: not read, a
    # quote is then stored as pending, its quoted status looked up by id only.
    quote: dict[str, Any] | None = None


def without_media(note: RemoteNote) -> RemoteNote:
    """A note of a reject-media host: no attachments and no custom emojis (their images are media too)."""
    return replace(note, attachments=[], emojis=[])


def check_note(document: dict[str, Any], author: Account) -> RemoteNote:
    """Read a status object by `author` (no I/O). Raises ResolveError when the object is not the author's
    (other origin or other `attributedTo`) or lacks what a status needs."""
    try:
        note = note_to_status(document, followers_url=author.followers_url)
    except ValueError as error:
        raise ResolveError(str(error)) from error
    if note.author_uri != author.uri:
        raise ResolveError(f"{note.uri} is attributed to {note.author_uri}, not {author.uri}")
    if not same_origin(note.uri, author.uri):
        raise ResolveError(f"{note.uri} is not on the origin of {author.uri}")
    return note


async def find_parent(ctx: Context, note: RemoteNote, *, depth: int) -> Status | None:
    """The stored status `note` replies to, fetched (up to `depth` levels) when missing; None if none."""
    if not note.in_reply_to_uri:
        return None
    async with ctx.db.read() as session:
        parent = await status_by_uri(session, note.in_reply_to_uri)
    if parent is None and depth > 0 and not LocalUrls(ctx.base_url).is_local(note.in_reply_to_uri):
        try:
            parent = await resolve_status(ctx, note.in_reply_to_uri, depth=depth - 1)
        except ResolveError as error:
            logger.debug("parent of %s not resolved: %s", note.uri, error)
    return parent


async def prepare_note(
    ctx: Context, document: dict[str, Any], author: Account, *, depth: int
) -> PreparedNote:
    """Read a status object by `author`, fetching its parent (up to `depth` levels) and looking up its
    mentions and its domain's media policy. Raises ResolveError when the object is not the author's."""
    note = check_note(document, author)
    parent = await find_parent(ctx, note, depth=depth)
    async with ctx.db.read() as session:
        mention_ids = (await mentioned_account_ids(session, [note.mention_uris]))[0]
        policy = await domain_policy(ctx, session, host_of(author.uri) or "")
    if policy.reject_media:
        return PreparedNote(without_media(note), author, parent, mention_ids, [])
    return PreparedNote(note, author, parent, mention_ids, note.attachments)


async def mentioned_account_ids(
    session: AsyncSession, hrefs_per_note: Sequence[list[str]]
) -> list[list[int]]:
    """The stored accounts each note mentions (by actor id or profile URL), in one query for them all."""
    wanted = {href for hrefs in hrefs_per_note for href in hrefs}
    if not wanted:
        return [[] for _ in hrefs_per_note]
    rows = await session.execute(
        select(Account.id, Account.uri, Account.url).where(
            or_(Account.uri.in_(wanted), Account.url.in_(wanted))
        )
    )
    by_reference: dict[str, list[int]] = {}
    for account_id, uri, url in rows:
        for reference in {uri, url}:
            if reference in wanted:
                by_reference.setdefault(reference, []).append(account_id)
    return [
        list(dict.fromkeys(account_id for href in hrefs for account_id in by_reference.get(href, ())))
        for hrefs in hrefs_per_note
    ]


def conversation_of(prepared: PreparedNote) -> str | None:
    """The conversation a received note belongs to: its own `conversation` (or `context`), else its parent's
    thread — the parent's conversation or, for a root, the parent itself (as our own replies are keyed)."""
    note, parent = prepared.note, prepared.parent
    return note.conversation_uri or ((parent.conversation_uri or parent.uri) if parent else None)


def _status_row(prepared: PreparedNote, mention_ids: list[int]) -> RemoteStatusRow:
    note, parent = prepared.note, prepared.parent
    now = utcnow()
    return RemoteStatusRow(
        values={
            "uri": note.uri,
            "url": note.url,
            "account_id": prepared.author.id,
            "local": False,
            "object_type": note.object_type,
            "title": note.title,
            "in_reply_to_id": parent.id if parent else None,
            "in_reply_to_uri": note.in_reply_to_uri,
            "in_reply_to_account_id": parent.account_id if parent else None,
            "conversation_uri": conversation_of(prepared),
            "content": note.content,
            "spoiler_text": note.spoiler_text,
            "sensitive": note.sensitive,
            "visibility": note.visibility,
            "language": note.language,
            "created_at": min(note.published or now, now),
            "quote_policy": note.quote_policy,
            "locked_at": now
            if note.comments_closed
            else None,  # received locked (inbox.handlers.group_locks)
        },
        published=note.published,
        mention_account_ids=mention_ids,
        hashtags=note.hashtags,
        attachments=prepared.attachments,
        poll=note.poll,
        quote=prepared.quote or _unread_quote(note),
    )


def _unread_quote(note: RemoteNote) -> dict[str, Any] | None:
    """The quote of a status stored without reading it (a fetched parent or quoted status): pending."""
    if note.quoted_uri is None:
        return None
    return {"quoted_uri": note.quoted_uri, "state": "pending"}


async def insert_notes(
    session: AsyncSession, batch: Sequence[PreparedNote], *, local_host: str
) -> list[tuple[int, list[int]] | None]:
    """Insert prepared statuses in the caller's transaction, a few statements for the whole batch, with the
    preview card jobs of those that link somewhere (`local_host`: this server's, whose links get no card).
    Returns, per note, its new id and mentioned account ids, or None when its id is already stored (a
    duplicate, or a tombstone left by an earlier `Delete`)."""
    unresolved = [index for index, prepared in enumerate(batch) if prepared.mention_account_ids is None]
    looked_up = await mentioned_account_ids(session, [batch[index].note.mention_uris for index in unresolved])
    mentions = [prepared.mention_account_ids or [] for prepared in batch]
    for index, account_ids in zip(unresolved, looked_up, strict=True):
        mentions[index] = account_ids
    rows = [_status_row(prepared, mention_ids) for prepared, mention_ids in zip(batch, mentions, strict=True)]
    inserted = await insert_remote_statuses(session, rows)
    await insert_variants(
        session,
        [
            (placed, prepared.note.variants)
            for placed, prepared in zip(inserted, batch, strict=True)
            if placed is not None and prepared.note.variants
        ],
    )
    await enqueue_card_fetches(
        session,
        [
            (placed, prepared.note.content, bool(prepared.attachments))
            for placed, prepared in zip(inserted, batch, strict=True)
            if placed is not None
        ],
        local_host=local_host,
    )
    for prepared in batch:  # rarely any: one statement per emoji is no burden on the batch
        if prepared.note.emojis and prepared.author.domain:
            await upsert_remote_emojis(session, prepared.author.domain, prepared.note.emojis)
    return inserted


async def insert_note(session: AsyncSession, prepared: PreparedNote, *, local_host: str) -> Status | None:
    """Insert one prepared status in the caller's transaction; None when its id is already stored."""
    status_id = (await insert_notes(session, [prepared], local_host=local_host))[0]
    return await session.get(Status, status_id) if status_id is not None else None


async def resolve_status(ctx: Context, uri: str, *, depth: int = MAX_THREAD_DEPTH) -> Status:
    """The stored status with id `uri`, fetched (with its author and parents) and stored if unknown."""
    async with ctx.db.read() as session:
        existing = await status_by_uri(session, uri)
    if existing is not None:
        if existing.deleted_at is not None:
            raise ResolveError(f"{uri} was deleted")
        return existing
    await _check_fetchable(ctx, uri)
    document = await _fetch(ctx, uri)
    if document.get("type") not in STATUS_OBJECT_TYPES:
        raise ResolveError(f"{uri} is a {document.get('type')!r}, not a status")
    author_uri = document.get("attributedTo")
    if isinstance(author_uri, dict):
        author_uri = author_uri.get("id")
    if not isinstance(author_uri, str) or not same_origin(author_uri, uri):
        raise ResolveError(f"{uri} is not on its author's origin")
    author = await resolve_actor(ctx, author_uri)
    prepared = await prepare_note(ctx, document, author, depth=depth)
    async with ctx.db.transaction() as session:
        status = await insert_note(session, prepared, local_host=local_host(ctx))
        if status is None:
            status = await status_by_uri(session, uri)
    assert status is not None
    return status


ACCT_PATTERN = re.compile(r"^@?([a-z0-9_.-]+)(?:@([a-z0-9.-]+(?::\d+)?))?$", re.IGNORECASE)


async def find_account_by_acct(ctx: Context, acct: str, *, resolve: bool) -> Account | None:
    """The account `user` or `user@domain` (a leading `@` allowed; our own domain means local). An unknown
    remote address is looked up through WebFinger when `resolve`; None when not found."""
    match = ACCT_PATTERN.match(acct.strip())
    if match is None:
        return None
    username, domain = match.group(1), match.group(2)
    local = domain is None or LocalUrls(ctx.base_url).is_local_host(domain)
    async with ctx.db.read() as session:
        account = await account_by_acct(session, username, None if local else domain)
    if account is not None or local or not resolve:
        return account
    # Our own scheme: test and development instances talk plain http to each other on loopback.
    scheme = ctx.base_url.split(":", 1)[0]
    try:
        return await resolve_acct(ctx, f"{username}@{domain}", scheme=scheme)
    except ResolveError as error:
        logger.info("could not resolve %s@%s: %s", username, domain, error)
        return None
