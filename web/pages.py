"""Public HTML pages: account profiles with their public posts (h-card / h-feed microformats)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.accounts import count_local_users, local_account_by_username
from storage.context import Context
from storage.custom_emojis import emojis_of_statuses
from storage.ids import parse_id
from storage.media import profile_image_urls
from storage.models import Account, Status
from storage.urls import LocalUrls
from web.templating import Pages

PROFILE_STATUSES = 20


async def render_page(request: Request, template: str, status_code: int = 200, **values: object) -> Response:
    """A page in the viewer's language (see web.templating.Pages)."""
    pages: Pages = request.state.pages
    return await pages.respond(request, template, status_code=status_code, **values)


async def error_page(request: Request, status_code: int, kind: str, **values: object) -> Response:
    """An error page; `kind` names the problem (its text is in error.html)."""
    return await render_page(request, "error.html", status_code, kind=kind, **values)


async def status_emojis(
    ctx: Context, session: AsyncSession, statuses: list[Status]
) -> dict[int, list[dict[str, Any]]]:
    """The custom emojis each status uses, by status id (the `emojify` filter shows them)."""
    texts = {status.id: (status.spoiler_text, status.content) for status in statuses}
    return await emojis_of_statuses(session, texts, LocalUrls(ctx.base_url))


async def profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    username = request.path_params["username"]
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        if account is None or account.suspended_at is not None:
            return await error_page(request, 404, "no_account")
        statuses = list(
            (
                await session.execute(
                    select(Status)
                    .where(
                        Status.account_id == account.id,
                        Status.visibility == "public",
                        Status.deleted_at.is_(None),
                        Status.reblog_of_id.is_(None),
                    )
                    .order_by(Status.id.desc())
                    .limit(PROFILE_STATUSES)
                )
            ).scalars()
        )
        emojis = await status_emojis(ctx, session, statuses)
    avatar = profile_image_urls(ctx.base_url, account.avatar_file, account.avatar_url)[0]
    return await render_page(
        request, "profile.html", account=account, avatar=avatar, statuses=statuses, emojis=emojis
    )


async def status_page(request: Request) -> Response:
    """A public or unlisted local status as an h-entry (others answer 404, deleted ones 410)."""
    ctx: Context = request.state.ctx
    status_id = parse_id(request.path_params["status_id"])
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, request.path_params["username"])
        status = await session.get(Status, status_id) if status_id is not None else None
        emojis = await status_emojis(ctx, session, [status] if status is not None else [])
    if (
        account is None
        or account.suspended_at is not None
        or status is None
        or status.account_id != account.id
        or status.reblog_of_id is not None
        or status.visibility not in ("public", "unlisted")
    ):
        return await error_page(request, 404, "no_post")
    if status.deleted_at is not None:
        return await error_page(request, 410, "post_deleted")
    return await render_page(request, "status.html", account=account, status=status, emojis=emojis)


async def home(request: Request) -> Response:
    """The instance's front page: what it is, and its latest public local posts."""
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(Status, Account)
            .join(Account, Account.id == Status.account_id)
            .where(
                Status.local.is_(True),
                Status.visibility == "public",
                Status.deleted_at.is_(None),
                Status.reblog_of_id.is_(None),
                Account.suspended_at.is_(None),
            )
            .order_by(Status.id.desc())
            .limit(PROFILE_STATUSES)
        )
        statuses = [(status, author) for status, author in rows]
        user_count = await count_local_users(session)
        emojis = await status_emojis(ctx, session, [status for status, _ in statuses])
    return await render_page(
        request,
        "home.html",
        statuses=statuses,
        user_count=user_count,
        description=ctx.settings.instance.description,
        emojis=emojis,
    )


routes = [
    Route("/", home, methods=["GET"]),
    Route("/@{username}", profile, methods=["GET"]),
    Route("/@{username}/{status_id}", status_page, methods=["GET"]),
]
