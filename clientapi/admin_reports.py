"""Reports in the Mastodon admin API, for moderators and admins: `GET /api/v1/admin/reports` and `…/:id`,
`POST …/:id/assign_to_self`, `…/:id/unassign`, `…/:id/resolve` and `…/:id/reopen`, through the audited
moderation actions the CLI uses (`moderation.assign_report`, `resolve_report`, `reopen_report`).
`action_taken_by_account` is the staff member who resolved it (null when resolved from the CLI)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from clientapi.admin_access import audit_actor, require_staff
from clientapi.entities.admin_accounts import admin_account_to_entity
from clientapi.entities.common import format_optional_time, format_time
from clientapi.entities.statuses import statuses_to_entities
from clientapi.errors import NotFound, Unprocessable
from clientapi.instance_pages import rule_to_entity
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from storage.appeals import pending_appeals_of
from storage.context import Context
from storage.models import Account, InstanceRule, Report, Status, User

READ = ("admin:read:reports",)
WRITE = ("admin:write:reports",)


async def _admin_account(session: AsyncSession, ctx: Context, account_id: int) -> dict[str, Any] | None:
    account = await session.get(Account, account_id)
    if account is None:  # only an assignee or resolver can be gone (reporter and target cascade)
        return None
    user = await session.scalar(select(User).where(User.account_id == account_id))
    appeals = await pending_appeals_of(session, [account_id])
    return admin_account_to_entity(account, user, ctx, appeals=appeals.get(account_id, []))


async def admin_report_to_entity(session: AsyncSession, ctx: Context, report: Report) -> dict[str, Any]:
    """The Admin::Report entity: both accounts as Admin::Account, the cited statuses still there, the rules."""
    statuses = list(
        (await session.execute(select(Status).where(Status.id.in_(report.status_ids or [])))).scalars()
    )
    rules = list(
        (
            await session.execute(select(InstanceRule).where(InstanceRule.id.in_(report.rule_ids or [])))
        ).scalars()
    )
    return {
        "id": str(report.id),
        "action_taken": report.resolved_at is not None,
        "action_taken_at": format_optional_time(report.resolved_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": format_time(report.created_at),
        "updated_at": format_time(report.resolved_at or report.created_at),
        "account": await _admin_account(session, ctx, report.account_id),
        "target_account": await _admin_account(session, ctx, report.target_account_id),
        "assigned_account": (
            await _admin_account(session, ctx, report.assigned_account_id)
            if report.assigned_account_id is not None
            else None
        ),
        "action_taken_by_account": (
            await _admin_account(session, ctx, report.action_taken_by_account_id)
            if report.action_taken_by_account_id is not None
            else None
        ),
        "statuses": await statuses_to_entities(session, ctx, statuses, None),
        "rules": [rule_to_entity(rule) for rule in rules],
    }


def _report_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["id"])
    except Unprocessable as error:
        raise NotFound() from error


async def _entity(ctx: Context, report_id: int) -> dict[str, Any]:
    async with ctx.db.read() as session:
        report = await session.get(Report, report_id)
        if report is None:
            raise NotFound()
        return await admin_report_to_entity(session, ctx, report)


async def list_reports(request: Request) -> Response:
    """Open reports (`resolved=true`: resolved ones), newest first; `account_id`, `target_account_id`."""
    ctx: Context = request.state.ctx
    await require_staff(request, *READ)
    params = await read_params(request)
    page = Page.from_params(params, default_limit=100, max_limit=200)
    resolved = bool(params.get_bool("resolved", False))
    statement = select(Report).where(
        Report.resolved_at.is_not(None) if resolved else Report.resolved_at.is_(None)
    )
    if (account_id := params.get_id("account_id")) is not None:
        statement = statement.where(Report.account_id == account_id)
    if (target_id := params.get_id("target_account_id")) is not None:
        statement = statement.where(Report.target_account_id == target_id)
    async with ctx.db.read() as session:
        reports = in_display_order(
            (await session.execute(apply_page(statement, Report.id, page))).scalars().all(), page
        )
        entities = [await admin_report_to_entity(session, ctx, report) for report in reports]
    return api_response(entities, headers=link_headers(request, [report.id for report in reports]))


async def show(request: Request) -> Response:
    await require_staff(request, *READ)
    return api_response(await _entity(request.state.ctx, _report_id(request)))


async def resolve(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    report_id = _report_id(request)
    await _entity(ctx, report_id)  # 404 first
    note = (await read_params(request)).get_str("note") or ""
    await moderation.resolve_report(ctx, report_id, actor=audit_actor(auth), note=note)
    return api_response(await _entity(ctx, report_id))


async def reopen(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    report_id = _report_id(request)
    await _entity(ctx, report_id)
    await moderation.reopen_report(ctx, report_id, actor=audit_actor(auth))
    return api_response(await _entity(ctx, report_id))


async def assign_to_self(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    report_id = _report_id(request)
    await _entity(ctx, report_id)
    await moderation.assign_report(ctx, report_id, auth.account_id, actor=audit_actor(auth))
    return api_response(await _entity(ctx, report_id))


async def unassign(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    report_id = _report_id(request)
    await _entity(ctx, report_id)
    await moderation.assign_report(ctx, report_id, None, actor=audit_actor(auth))
    return api_response(await _entity(ctx, report_id))


routes = [
    Route("/api/v1/admin/reports", list_reports, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}", show, methods=["GET"]),
    Route("/api/v1/admin/reports/{id}/assign_to_self", assign_to_self, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/unassign", unassign, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/resolve", resolve, methods=["POST"]),
    Route("/api/v1/admin/reports/{id}/reopen", reopen, methods=["POST"]),
]
