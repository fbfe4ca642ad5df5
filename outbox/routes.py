"""ActivityPub GET endpoints of local actors: the actor document and its collections.

A browser asking for an actor URL (no AS2 in Accept) is redirected to the HTML profile page, as Mastodon does.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from apub.builders import build_tombstone
from apub.emojis import emoji_tag
from apub.vocab import ACTIVITY_JSON, OBJECT_CONTEXT, wants_activity_json
from inbox.verify import signed_fetcher
from outbox import objects
from outbox.actions.pins import pinned_statuses
from outbox.actors import account_to_actor, collection, collection_page
from outbox.errors import BadRequest, NotFound
from outbox.quote_stamps import quote_stamp
from outbox.render import load_note_parts, status_to_note
from storage.accounts import ed25519_public_pem, is_account_actor, local_account_by_username
from storage.context import Context
from storage.custom_emojis import emoji_by_id, facts_of
from storage.featured_tags import featured_tags_of
from storage.groups import is_group, moderators_of
from storage.ids import parse_id
from storage.models import Account, Follow
from storage.urls import LocalUrls

PAGE_SIZE = 40
MAX_PAGE = 100_000  # keeps (page - 1) * PAGE_SIZE a small OFFSET; no follower list is that long


def activity_response(document: dict[str, Any], status_code: int = 200) -> Response:
    """An AS2 JSON response with the content type federation peers expect."""
    return JSONResponse(document, status_code=status_code, media_type=ACTIVITY_JSON)


def not_found(message: str = "Record not found") -> Response:
    return JSONResponse({"error": message}, status_code=404)


async def _local_account(ctx: Context, username: str) -> Account | None:
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
    if account is None or account.suspended_at is not None or not is_account_actor(account):
        return None
    return account


async def _collection_owner(request: Request, ctx: Context) -> Account:
    """The local account whose collection is asked for (404 when there is none), once the request passed
    `federation.authorized_fetch` (only signed GETs)."""
    account = await _local_account(ctx, request.path_params["username"])
    if account is None:
        raise NotFound("Record not found")
    await signed_fetcher(request, ctx)
    return account


async def actor(request: Request) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        stored = await local_account_by_username(session, request.path_params["username"])
    if (
        stored is not None
        and stored.gone_at is not None
        and wants_activity_json(request.headers.get("accept", ""))
    ):
        # A deleted account: 410 and a Tombstone, so servers that missed its Delete drop it too.
        return activity_response(
            build_tombstone(stored.uri, deleted=stored.gone_at, embedded=False), status_code=410
        )
    account = stored if stored is not None and stored.gone_at is None and is_account_actor(stored) else None
    if account is None:
        return not_found()
    if account.suspended_at is not None and not wants_activity_json(request.headers.get("accept", "")):
        return not_found()  # the profile page of a suspended account is hidden
    if not wants_activity_json(request.headers.get("accept", "")):
        return RedirectResponse(account.url or "/", status_code=302)
    await signed_fetcher(request, ctx)  # federation.authorized_fetch: only signed GETs
    async with ctx.db.read() as session:
        ed_pem = await ed25519_public_pem(session, account.id)
        moved_to = (
            await session.get(Account, account.moved_to_account_id) if account.moved_to_account_id else None
        )
    document = account_to_actor(
        account,
        LocalUrls(ctx.base_url),
        ed25519_public_pem=ed_pem,
        moved_to_uri=moved_to.uri if moved_to else None,
    )
    return activity_response(document)


async def instance_actor(request: Request) -> Response:
    ctx: Context = request.state.ctx
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        account = (
            await session.execute(select(Account).where(Account.uri == urls.instance_actor()))
        ).scalar()
        if account is None:
            return not_found()
        ed_pem = await ed25519_public_pem(session, account.id)
    return activity_response(account_to_actor(account, urls, ed25519_public_pem=ed_pem))


async def _follow_collection(request: Request, *, followers: bool) -> Response:
    ctx: Context = request.state.ctx
    account = await _collection_owner(request, ctx)
    url = account.followers_url if followers else account.following_url
    assert url is not None
    own_column = Follow.target_account_id if followers else Follow.account_id
    other_column = Follow.account_id if followers else Follow.target_account_id
    async with ctx.db.read() as session:
        total = (await session.execute(select(func.count()).where(own_column == account.id))).scalar_one()
        page_param = request.query_params.get("page")
        if page_param is None:
            return activity_response(collection(url, total, first_page=f"{url}?page=1"))
        page = parse_id(page_param)  # a page number is read as strictly as an id
        if page is None or not 1 <= page <= MAX_PAGE:
            raise BadRequest(f"page must be a number from 1 to {MAX_PAGE}")
        rows = await session.execute(
            select(Account.uri)
            .join(Follow, other_column == Account.id)
            .where(own_column == account.id)
            .order_by(Follow.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        uris = list(rows.scalars())
    next_url = f"{url}?page={page + 1}" if len(uris) > PAGE_SIZE else None
    return activity_response(collection_page(url, f"{url}?page={page}", uris[:PAGE_SIZE], next_url=next_url))


async def followers(request: Request) -> Response:
    return await _follow_collection(request, followers=True)


async def following(request: Request) -> Response:
    return await _follow_collection(request, followers=False)


async def featured(request: Request) -> Response:
    """The pinned statuses of an account, as Notes in one `OrderedCollection` (as Mastodon serves them)."""
    ctx: Context = request.state.ctx
    account = await _collection_owner(request, ctx)
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        notes = []
        for status in await pinned_statuses(session, account.id):
            parts = await load_note_parts(session, status, account)
            note = status_to_note(parts, urls, ctx.domain)
            note.pop("@context", None)
            notes.append(note)
    document = collection(account.featured_url or "", len(notes), first_page=None)
    document["orderedItems"] = notes
    return activity_response(document)


async def featured_tags(request: Request) -> Response:
    """The hashtags an account features, as `Hashtag`s in one unordered `Collection` (as Mastodon serves its
    `featuredTags`); each links the account's page of posts with that hashtag."""
    ctx: Context = request.state.ctx
    account = await _collection_owner(request, ctx)
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        featured = await featured_tags_of(session, account.id)
    items = [
        {
            "type": "Hashtag",
            "href": urls.account_tag_page(account.username, view.name),
            "name": f"#{view.display_name}",
        }
        for view in featured
    ]
    document = {
        "@context": OBJECT_CONTEXT,
        "id": urls.featured_tags(account.username),
        "type": "Collection",
        "totalItems": len(items),
        "items": items,
    }
    return activity_response(document)


async def group_moderators(request: Request) -> Response:
    """A local group's moderators, as the `OrderedCollection` its `attributedTo` names (FEP-1b12)."""
    ctx: Context = request.state.ctx
    account = await _collection_owner(request, ctx)
    if not is_group(account):
        raise NotFound("Record not found")
    async with ctx.db.read() as session:
        uris = [moderator.uri for moderator in await moderators_of(session, account.id)]
    document = collection(
        LocalUrls(ctx.base_url).group_moderators(account.username), len(uris), first_page=None
    )
    document["orderedItems"] = uris
    return activity_response(document)


async def emoji(request: Request) -> Response:
    """A local custom emoji as its `Emoji` object (the `id` of the tags that use it; public, as Mastodon)."""
    ctx: Context = request.state.ctx
    emoji_id = parse_id(request.path_params["emoji_id"])
    if emoji_id is None:
        return not_found()
    async with ctx.db.read() as session:
        row = await emoji_by_id(session, emoji_id)
    if row is None or row.domain is not None:
        return not_found()
    return activity_response(
        {"@context": OBJECT_CONTEXT, **emoji_tag(facts_of(row, LocalUrls(ctx.base_url)))}
    )


routes = [
    Route("/actor", instance_actor, methods=["GET"]),
    Route("/emojis/{emoji_id}", emoji, methods=["GET"]),
    Route("/users/{username}", actor, methods=["GET"]),
    Route("/users/{username}/followers", followers, methods=["GET"]),
    Route("/users/{username}/following", following, methods=["GET"]),
    Route("/users/{username}/collections/featured", featured, methods=["GET"]),
    Route("/users/{username}/collections/tags", featured_tags, methods=["GET"]),
    Route("/users/{username}/moderators", group_moderators, methods=["GET"]),
    Route("/users/{username}/outbox", objects.outbox, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id}", objects.status_object, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id}/activity", objects.status_activity, methods=["GET"]),
    Route("/users/{username}/statuses/{status_id}/replies", objects.status_replies, methods=["GET"]),
    Route("/activities/{activity_id}", objects.activity_object, methods=["GET"]),
    Route("/users/{username}/quote_authorizations/{quote_id}", quote_stamp, methods=["GET"]),
]
