"""`/web/admin/reports`: the reports, open or resolved (or only those assigned to the viewer), 50 a page,
older ones by `?max_id=` (keyset by id), and one report with who filed it, whom it is about, the cited
posts, the rules it names, to whom it is assigned and who resolved it when; assigning, resolving (with one
of Mastodon's report actions and a note, told to the account when asked) and reopening are form posts to
the `moderation` functions the admin API calls."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from login.sessions import SignedIn
from storage.context import Context
from storage.ids import parse_id
from storage.models import Account, InstanceRule, Report, Status
from web.forms import Form
from web.moderation.common import ADMIN_PAGE, actor_of, older_page_url, older_than, refused
from web.pages import error_page, render_page
from web.posts import load_posts
from web.staff.access import form_endpoint, see_other, staff_or_refusal

PAGE = f"{ADMIN_PAGE}/reports"
PAGE_SIZE = 50
STATES = ("open", "resolved")


async def accounts_by_id(session: AsyncSession, ids: Iterable[int | None]) -> dict[int, Account]:
    wanted = {account_id for account_id in ids if account_id is not None}
    rows = await session.execute(select(Account).where(Account.id.in_(wanted)))
    return {account.id: account for account in rows.scalars()}


async def reports_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    state = request.query_params.get("state", "open")
    mine = request.query_params.get("mine") == "1"
    max_id = older_than(request)
    if state not in STATES or max_id is False:
        return await error_page(request, 400, "bad_request")
    statement = select(Report).where(
        Report.resolved_at.is_not(None) if state == "resolved" else Report.resolved_at.is_(None)
    )
    if mine:
        statement = statement.where(Report.assigned_account_id == login.account.id)
    if max_id is not None:
        statement = statement.where(Report.id < max_id)
    async with ctx.db.read() as session:
        found = list(
            (await session.execute(statement.order_by(Report.id.desc()).limit(PAGE_SIZE + 1))).scalars()
        )
        reports = found[:PAGE_SIZE]
        accounts = await accounts_by_id(
            session,
            [r.account_id for r in reports]
            + [r.target_account_id for r in reports]
            + [r.assigned_account_id for r in reports],
        )
    return await render_page(
        request,
        "moderation/reports.html",
        headers={"Cache-Control": "no-store"},
        reports=reports,
        next_url=older_page_url(request, reports[-1].id) if len(found) > PAGE_SIZE else None,
        accounts=accounts,
        state=state,
        mine=mine,
    )


async def report_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    report_id = parse_id(request.path_params["id"])
    async with ctx.db.read() as session:
        report = await session.get(Report, report_id) if report_id is not None else None
        if report is None:
            return await error_page(request, 404, "no_page")
        accounts = await accounts_by_id(
            session,
            [
                report.account_id,
                report.target_account_id,
                report.assigned_account_id,
                report.action_taken_by_account_id,
            ],
        )
        cited = list(
            (
                await session.execute(
                    select(Status)
                    .where(Status.id.in_(report.status_ids or []), Status.deleted_at.is_(None))
                    .order_by(Status.id)
                )
            ).scalars()
        )
        posts = await load_posts(ctx, session, cited)
        rules = list(
            (
                await session.execute(
                    select(InstanceRule)
                    .where(InstanceRule.id.in_(report.rule_ids or []))
                    .order_by(InstanceRule.position)
                )
            ).scalars()
        )
    return await render_page(
        request,
        "moderation/report.html",
        headers={"Cache-Control": "no-store"},
        report=report,
        reporter=accounts.get(report.account_id),
        target=accounts[report.target_account_id],
        assignee=accounts.get(report.assigned_account_id) if report.assigned_account_id else None,
        resolver=accounts.get(report.action_taken_by_account_id)
        if report.action_taken_by_account_id
        else None,
        posts=posts,
        missing_posts=len(report.status_ids or []) - len(posts),
        rules=rules,
        actions=moderation.REPORT_ACTIONS,
        done=request.query_params.get("done", ""),
    )


async def assign(request: Request, login: SignedIn, form: Form) -> Response:
    """Assign the report to the viewer (`assignee=me`) or to nobody."""
    ctx: Context = request.state.ctx
    report_id = parse_id(request.path_params["id"])
    assignee = form.get("assignee")
    if report_id is None or assignee not in ("me", "nobody"):
        return await error_page(request, 400, "bad_request")
    try:
        await moderation.assign_report(
            ctx, report_id, login.account.id if assignee == "me" else None, actor=actor_of(login)
        )
    except moderation.ModerationError as error:
        return await refused(request, error)
    return see_other(f"{PAGE}/{report_id}?done={'assigned' if assignee == 'me' else 'unassigned'}")


async def resolve(request: Request, login: SignedIn, form: Form) -> Response:
    """Resolve the report with one of `moderation.REPORT_ACTIONS` and the note (the warning's text)."""
    ctx: Context = request.state.ctx
    report_id = parse_id(request.path_params["id"])
    action = form.get("action", "resolve")
    if report_id is None or action not in moderation.REPORT_ACTIONS:
        return await error_page(request, 400, "bad_request")
    try:
        if action != "resolve":
            await moderation.check_may_act_on_report(ctx, login.user.role, report_id)
        telling = moderation.Telling(tell=form.get("tell") == "1", send_email=form.get("send_email") == "1")
        await moderation.act_on_report(
            ctx, report_id, action, actor=actor_of(login), note=form.get("note").strip(), telling=telling
        )
    except moderation.ModerationError as error:
        return await refused(request, error)
    return see_other(f"{PAGE}/{report_id}?done={action}")


async def reopen(request: Request, login: SignedIn, _form: Form) -> Response:
    ctx: Context = request.state.ctx
    report_id = parse_id(request.path_params["id"])
    if report_id is None:
        return await error_page(request, 404, "no_page")
    try:
        await moderation.reopen_report(ctx, report_id, actor=actor_of(login))
    except moderation.ModerationError as error:
        return await refused(request, error)
    return see_other(f"{PAGE}/{report_id}?done=reopened")


routes = [
    Route(PAGE, reports_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}", report_page, methods=["GET"]),
    Route(f"{PAGE}/{{id}}/assign", form_endpoint(assign), methods=["POST"]),
    Route(f"{PAGE}/{{id}}/resolve", form_endpoint(resolve), methods=["POST"]),
    Route(f"{PAGE}/{{id}}/reopen", form_endpoint(reopen), methods=["POST"]),
]
