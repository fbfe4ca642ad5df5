"""Reporting a post or an account to the moderators from the browser (`/web/report?status_id=…` or
`?account_id=…`): a category, the server's rules it breaks, a comment and, for a remote account, whether to
forward it (anonymously) to its server. Filed through `outbox.actions.file_report`, the same as
`POST /api/v1/reports`, so the same checks hold (the post must be one the reporter may see)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import SignedIn
from outbox import actions
from outbox.actions.reports import MAX_REPORT_COMMENT, REPORT_CATEGORIES
from outbox.errors import ActionError, NotFound
from storage.context import Context
from storage.ids import parse_id
from storage.instance_rules import current_rules
from storage.models import Account, Status
from storage.statuses import can_see
from web.forms import Form
from web.pages import error_page, render_page
from web.posts import Post, load_posts
from web.staff.access import posted_by_viewer, see_other, viewer_or_login

SENT_PAGE = "/web/report/sent"


async def _target(
    ctx: Context, login: SignedIn, raw_account_id: str, raw_status_id: str
) -> tuple[Account, Post | None] | None:
    """The reported account and post (one the viewer may see), or None when there is none to report."""
    status_id = parse_id(raw_status_id) if raw_status_id else None
    account_id = parse_id(raw_account_id) if raw_account_id else None
    async with ctx.db.read() as session:
        status = await session.get(Status, status_id) if status_id is not None else None
        if status_id is not None:
            if (
                status is None
                or status.deleted_at is not None
                or not await can_see(session, login.account.id, status)
            ):
                return None
            account_id = status.account_id
        account = await session.get(Account, account_id) if account_id is not None else None
        if account is None or account.suspended_at is not None or account.id == login.account.id:
            return None
        post = (await load_posts(ctx, session, [status]))[0] if status is not None else None
    return account, post


async def _form_page(
    request: Request,
    account: Account,
    post: Post | None,
    form: Form | None,
    *,
    error: str = "",
    status_code: int = 200,
) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        rules = await current_rules(session)
    return await render_page(
        request,
        "staff/report.html",
        status_code,
        account=account,
        post=post,
        rules=rules,
        categories=REPORT_CATEGORIES,
        chosen_category=form.get("category") if form is not None else "",
        chosen_rules=set(form.get_list("rule_id")) if form is not None else set(),
        comment=form.get("comment") if form is not None else "",
        forward=bool(form.get("forward")) if form is not None else False,
        max_comment=MAX_REPORT_COMMENT,
        error=error,
    )


async def report_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    target = await _target(
        ctx, login, request.query_params.get("account_id", ""), request.query_params.get("status_id", "")
    )
    if target is None:
        return await error_page(request, 404, "no_post")
    return await _form_page(request, *target, None)


async def file_report(request: Request) -> Response:
    ctx: Context = request.state.ctx
    posted = await posted_by_viewer(request)
    if isinstance(posted, Response):
        return posted
    login, form = posted
    target = await _target(ctx, login, form.get("account_id"), form.get("status_id"))
    if target is None:
        return await error_page(request, 404, "no_post")
    account, post = target
    rule_ids = [parse_id(value) for value in form.get_list("rule_id")]
    if None in rule_ids:
        return await _form_page(request, account, post, form, error="rule_ids", status_code=422)
    try:
        await actions.file_report(
            ctx,
            login.account,
            actions.ReportRequest(
                target_id=account.id,
                status_ids=[post.status.id] if post is not None else [],
                comment=form.get("comment").strip(),
                category=form.get("category") or "other",
                forward=bool(form.get("forward")),
                rule_ids=[rule_id for rule_id in rule_ids if rule_id is not None],
            ),
        )
    except NotFound:
        return await error_page(request, 404, "no_post")
    except ActionError as refused:
        field = getattr(refused, "field", "base")
        return await _form_page(request, account, post, form, error=field, status_code=refused.status_code)
    return see_other(SENT_PAGE)


async def report_sent(request: Request) -> Response:
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    return await render_page(request, "staff/report_sent.html")


routes = [
    Route("/web/report", report_page, methods=["GET"]),
    Route("/web/report", file_report, methods=["POST"]),
    Route(SENT_PAGE, report_sent, methods=["GET"]),
]
