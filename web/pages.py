"""Public HTML pages: the front page, the local timeline, account profiles (pinned posts, fields, verified
links) and status pages (media, the thread the viewer may see, counts), with microformats (h-card, h-entry)
and OpenGraph. `/@user` and `/@user/ID` answer an ActivityStreams `Accept` with a redirect to the object's
id, where outbox/routes serves it (with its own checks, authorized fetch among them)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from apub.vocab import wants_activity_json
from login.sessions import signed_in
from outbox.content import plain_text_to_html
from storage.accounts import count_local_users, local_account_by_username
from storage.agency import fields_with_mark, shows_agency_mark
from storage.context import Context
from storage.ids import parse_id
from storage.instance_profile import instance_profile
from storage.media import profile_image_urls
from storage.models import Account, Status, StatusPin
from storage.statuses import can_see
from storage.timelines import ancestor_statuses, descendant_statuses
from web.group_panel import group_panel
from web.posts import load_posts, reading_languages
from web.templating import Pages

PROFILE_STATUSES = 20
PAGE_SIZE = 20
NEGOTIATED = {"Vary": "Accept, Accept-Language, Cookie"}


async def render_page(request: Request, template: str, status_code: int = 200, **values: object) -> Response:
    """A page in the viewer's language (see web.templating.Pages)."""
    pages: Pages = request.state.pages
    return await pages.respond(request, template, status_code=status_code, **values)


async def error_page(request: Request, status_code: int, kind: str, **values: object) -> Response:
    """An error page; `kind` names the problem (its text is in error.html)."""
    return await render_page(request, "error.html", status_code, kind=kind, **values)


def public_local_statuses() -> Any:
    """Public, original, not deleted local posts of accounts neither suspended nor silenced (with Account
    joined): what the front page, the local timeline and the feeds list."""
    return (
        select(Status)
        .join(Account, Account.id == Status.account_id)
        .where(
            Status.local.is_(True),
            Status.visibility == "public",
            Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None),
            Account.suspended_at.is_(None),
            Account.silenced_at.is_(None),
        )
    )


def shown_fields(account: Account, trusted_hosts: Iterable[str]) -> list[dict[str, Any]]:
    """The profile's fields as HTML (a local account's values are plain text, a remote one's sanitised),
    the verified-agency mark first when it is shown (`storage.agency.shows_agency_mark`)."""
    fields = [
        {
            "name": field.get("name", ""),
            "value": Markup(
                plain_text_to_html(field.get("value", ""))
                if account.domain is None
                else field.get("value", "")
            ),  # noqa: E501
            "verified_at": field.get("verified_at"),
        }
        for field in account.fields or []
        if isinstance(field, dict)
    ]
    return [
        {**field, "value": Markup(field["value"])}
        for field in fields_with_mark(account, fields, trusted_hosts)
    ]


def _activity_redirect(request: Request, uri: str) -> Response | None:
    if wants_activity_json(request.headers.get("accept", "")):
        return RedirectResponse(uri, status_code=302, headers={"Vary": "Accept"})
    return None


async def _viewer_id(request: Request) -> int | None:
    login = await signed_in(request)
    return login.account.id if login is not None else None


async def profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, request.path_params["username"])
        if account is None or account.suspended_at is not None:
            return await error_page(request, 404, "no_account")
        redirect = _activity_redirect(request, account.uri)
        if redirect is not None:
            return redirect
        pinned = list(
            (
                await session.execute(
                    select(Status)
                    .join(StatusPin, StatusPin.status_id == Status.id)
                    .where(
                        StatusPin.account_id == account.id,
                        Status.visibility.in_(("public", "unlisted")),
                        Status.deleted_at.is_(None),
                    )
                    .order_by(StatusPin.id.desc())
                )
            ).scalars()
        )
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
        pinned_posts = await load_posts(ctx, session, pinned, wanted)
        posts = await load_posts(ctx, session, statuses, wanted)
        moderation = await group_panel(ctx, session, account, await _viewer_id(request), wanted)
    avatar = profile_image_urls(ctx.base_url, account.avatar_file, account.avatar_url)[0]
    header = profile_image_urls(ctx.base_url, account.header_file, account.header_url)[0]
    response = await render_page(
        request,
        "profile.html",
        account=account,
        avatar=avatar,
        header=header,
        fields=shown_fields(account, ctx.settings.federation.trusted_government_instances),
        agency=shows_agency_mark(account, ctx.settings.federation.trusted_government_instances),
        pinned=pinned_posts,
        posts=posts,
        moderation=moderation,
    )
    response.headers.update(NEGOTIATED)
    response.headers["Link"] = alternate_link(account.uri)
    return response


def alternate_link(uri: str) -> str:
    """The `Link` header naming a page's ActivityStreams document."""
    return f'<{uri}>; rel="alternate"; type="application/activity+json"'


async def status_page(request: Request) -> Response:
    """A local status the viewer may see, with the thread around it that the viewer may see (others answer
    404, deleted ones 410)."""
    ctx: Context = request.state.ctx
    status_id = parse_id(request.path_params["status_id"])
    viewer_id = await _viewer_id(request)
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, request.path_params["username"])
        status = await session.get(Status, status_id) if status_id is not None else None
        if (
            account is None
            or account.suspended_at is not None
            or status is None
            or status.account_id != account.id
            or status.reblog_of_id is not None
        ):
            return await error_page(request, 404, "no_post")
        if status.deleted_at is not None:
            visible_before = await can_see(session, viewer_id, status, even_deleted=True)
            return await error_page(
                request, 410 if visible_before else 404, "post_deleted" if visible_before else "no_post"
            )
        if not await can_see(session, viewer_id, status):
            return await error_page(request, 404, "no_post")
        redirect = _activity_redirect(request, status.uri)
        if redirect is not None:
            return redirect
        ancestors = await load_posts(
            ctx, session, await ancestor_statuses(session, status, viewer_id), wanted
        )
        replies = await load_posts(
            ctx, session, await descendant_statuses(session, status, viewer_id), wanted
        )
        (post,) = await load_posts(ctx, session, [status], wanted)
    response = await render_page(
        request, "status.html", account=account, post=post, ancestors=ancestors, replies=replies
    )
    response.headers.update(NEGOTIATED)
    response.headers["Link"] = alternate_link(status.uri)
    if status.visibility not in ("public", "unlisted"):
        response.headers["Cache-Control"] = "private, no-store"
    return response


async def _public_page(request: Request) -> tuple[list[Any], str | None, int | None] | None:
    """A page of public local posts (`?max_id=` for older ones): (posts, next page URL, max_id); None for a
    bad max_id."""
    ctx: Context = request.state.ctx
    raw_max_id = request.query_params.get("max_id")
    max_id = parse_id(raw_max_id) if raw_max_id is not None else None
    if raw_max_id is not None and max_id is None:
        return None
    statement = public_local_statuses().order_by(Status.id.desc()).limit(PAGE_SIZE + 1)
    if max_id is not None:
        statement = statement.where(Status.id < max_id)
    wanted = await reading_languages(request)
    async with ctx.db.read() as session:
        statuses = list((await session.execute(statement)).scalars())
        posts = await load_posts(ctx, session, statuses[:PAGE_SIZE], wanted)
    next_url = (
        f"{request.url.path}?max_id={statuses[PAGE_SIZE - 1].id}" if len(statuses) > PAGE_SIZE else None
    )
    return posts, next_url, max_id


async def home(request: Request) -> Response:
    """The instance's front page: what it is, and its latest public local posts."""
    ctx: Context = request.state.ctx
    page = await _public_page(request)
    if page is None:
        return await error_page(request, 400, "bad_request")
    async with ctx.db.read() as session:
        user_count = await count_local_users(session)
        profile = await instance_profile(session, ctx.settings)
    return await render_page(
        request,
        "home.html",
        posts=page[0],
        user_count=user_count,
        description=profile.description,
    )


async def local_timeline(request: Request) -> Response:
    """`/public/local`: every public local post, newest first, a page at a time."""
    page = await _public_page(request)
    if page is None:
        return await error_page(request, 400, "bad_request")
    posts, next_url, max_id = page
    return await render_page(request, "local.html", posts=posts, next_url=next_url, older_than=max_id)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/public/local", local_timeline, methods=["GET"]),
    Route("/@{username}", profile, methods=["GET"]),
    Route("/@{username}/{status_id}", status_page, methods=["GET"]),
]
