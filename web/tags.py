"""Hashtag pages: `/tags/:name`, the public local posts carrying a hashtag (where every hashtag link of a
post leads), and `/@:username/tagged/:name`, one local account's (a featured hashtag's `url`). Newest first,
`PAGE_SIZE` a page, older pages by `?max_id=`. Only public, original, not deleted posts of accounts neither
suspended nor silenced are listed: unlisted, followers-only and direct posts never show here.

A signed-in viewer follows or unfollows the hashtag from its page (plain form posts to
`/web/tags/:name/follow` and `…/unfollow`, through the same `outbox.actions` as the client API)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn, signed_in
from outbox import actions
from storage.accounts import local_account_by_username
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, Status
from storage.tags import tag_by_name, tag_name_from_input, tag_relations, tagged_public_statuses
from web.forms import Form
from web.pages import error_page, render_page
from web.posts import load_posts, reading_languages
from web.staff.access import form_endpoint, see_other

PAGE_SIZE = 20


async def _tag_page(request: Request, username: str | None) -> Response:
    ctx: Context = request.state.ctx
    name = tag_name_from_input(request.path_params["name"])
    login = await signed_in(request)
    raw_max_id = request.query_params.get("max_id")
    max_id = parse_id(raw_max_id) if raw_max_id is not None else None
    if raw_max_id is not None and max_id is None:
        return await error_page(request, 400, "bad_request")
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username) if username is not None else None
        if username is not None and (account is None or account.suspended_at is not None):
            return await error_page(request, 404, "no_account")
        tag = await tag_by_name(session, name) if name is not None else None
        if tag is None:
            return await error_page(request, 404, "no_hashtag")
        statement = (
            select(Status, Account)
            .join(Account, Account.id == Status.account_id)
            .where(
                tagged_public_statuses(tag.id, local_only=True, account_id=account.id if account else None),
                Account.suspended_at.is_(None),
                Account.silenced_at.is_(None),
            )
            .order_by(Status.id.desc())
            .limit(PAGE_SIZE + 1)
        )
        if max_id is not None:
            statement = statement.where(Status.id < max_id)
        rows = [(status, author) for status, author in await session.execute(statement)]
        posts = await load_posts(ctx, session, [status for status, _ in rows[:PAGE_SIZE]], wanted)
        following = (
            login is not None and tag.id in (await tag_relations(session, login.account.id, [tag.id]))[0]
        )
    statuses = rows[:PAGE_SIZE]
    next_url = None
    if len(rows) > PAGE_SIZE:
        next_url = f"{request.url.path}?{urlencode({'max_id': statuses[-1][0].id})}"
    return await render_page(
        request,
        "tag.html",
        tag_name=tag.name,
        account=account,
        posts=posts,
        next_url=next_url,
        older_than=max_id,
        following=following,
    )


async def tag_page(request: Request) -> Response:
    return await _tag_page(request, None)


async def account_tag_page(request: Request) -> Response:
    return await _tag_page(request, request.path_params["username"])


async def _follow_form(request: Request, login: SignedIn, *, follow: bool) -> Response:
    ctx: Context = request.state.ctx
    name = tag_name_from_input(request.path_params["name"])
    if name is None:
        return await error_page(request, 404, "no_hashtag")
    if follow:
        await actions.follow_hashtag(ctx, login.account.id, name)
    else:
        await actions.unfollow_hashtag(ctx, login.account.id, name)
    return see_other(f"/tags/{quote(name)}")


async def follow_tag(request: Request, login: SignedIn, _form: Form) -> Response:
    return await _follow_form(request, login, follow=True)


async def unfollow_tag(request: Request, login: SignedIn, _form: Form) -> Response:
    return await _follow_form(request, login, follow=False)


routes = [
    Route("/tags/{name}", tag_page, methods=["GET"]),
    Route("/@{username}/tagged/{name}", account_tag_page, methods=["GET"]),
    Route("/web/tags/{name}/follow", form_endpoint(follow_tag, roles=None), methods=["POST"]),
    Route("/web/tags/{name}/unfollow", form_endpoint(unfollow_tag, roles=None), methods=["POST"]),
]
