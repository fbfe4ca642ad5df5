"""The signed-in home timeline (`/web/home`, from the account's home feed rows, as the API's) and the
notifications (`/web/notifications`; the moderators' warnings with their message), newest first, `?max_id=`
for older ones."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, AccountWarning, Notification, Status
from storage.notifications import notifications_query
from storage.timelines import home_query
from web.pages import error_page, render_page
from web.posts import load_posts, reading_languages
from web.staff.access import viewer_or_login

PAGE_SIZE = 20


async def _page_start(request: Request) -> tuple[SignedIn, int | None] | Response:
    """The viewer and where the page starts (`?max_id=`), or the answer: the login, or 400 for a bad id."""
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    raw = request.query_params.get("max_id")
    max_id = parse_id(raw) if raw is not None else None
    if raw is not None and max_id is None:
        return await error_page(request, 400, "bad_request")
    return login, max_id


async def home_timeline(request: Request) -> Response:
    ctx: Context = request.state.ctx
    start = await _page_start(request)
    if isinstance(start, Response):
        return start
    login, max_id = start
    feed = home_query(login.acting.id)
    statement = feed.statement.order_by(feed.page_column.desc()).limit(PAGE_SIZE + 1)
    if max_id is not None:
        statement = statement.where(feed.page_column < max_id)
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        ids = [row[0] for row in await session.execute(statement)]
        page = ids[:PAGE_SIZE]
        rows = await session.execute(select(Status).where(Status.id.in_(page), Status.deleted_at.is_(None)))
        by_id = {status.id: status for status in rows.scalars()}
        posts = await load_posts(ctx, session, [by_id[i] for i in page if i in by_id], wanted)
    next_url = f"/web/home?max_id={page[-1]}" if len(ids) > PAGE_SIZE else None
    return await render_page(request, "staff/home.html", posts=posts, next_url=next_url)


async def notifications(request: Request) -> Response:
    ctx: Context = request.state.ctx
    start = await _page_start(request)
    if isinstance(start, Response):
        return start
    login, max_id = start
    statement = (
        notifications_query(login.acting.id, include_web_only=True)
        .order_by(Notification.id.desc())
        .limit(PAGE_SIZE + 1)
    )
    if max_id is not None:
        statement = statement.where(Notification.id < max_id)
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        found = list((await session.execute(statement)).scalars())
        page = found[:PAGE_SIZE]
        account_ids = {n.from_account_id for n in page}
        accounts = {
            a.id: a
            for a in (await session.execute(select(Account).where(Account.id.in_(account_ids)))).scalars()
        }
        warning_ids = [n.account_warning_id for n in page if n.account_warning_id is not None]
        warnings = {
            w.id: w
            for w in (
                await session.execute(select(AccountWarning).where(AccountWarning.id.in_(warning_ids)))
            ).scalars()
        }
        status_ids = [n.status_id for n in page if n.status_id is not None]
        statuses = list((await session.execute(select(Status).where(Status.id.in_(status_ids)))).scalars())
        posts = {post.status.id: post for post in await load_posts(ctx, session, statuses, wanted)}
    shown: list[dict[str, Any]] = [
        {
            "kind": n.notification_type,
            "from": accounts.get(n.from_account_id),
            "post": posts.get(n.status_id) if n.status_id is not None else None,
            # A `moderation_warning`'s warning: what the moderators did and their message.
            "warning": warnings.get(n.account_warning_id) if n.account_warning_id is not None else None,
            "created_at": n.created_at,
        }
        for n in page
    ]
    next_url = f"/web/notifications?max_id={page[-1].id}" if len(found) > PAGE_SIZE else None
    return await render_page(request, "staff/notifications.html", notifications=shown, next_url=next_url)


routes = [
    Route("/web/home", home_timeline, methods=["GET"]),
    Route("/web/notifications", notifications, methods=["GET"]),
]
