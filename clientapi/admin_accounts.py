"""Accounts in the Mastodon admin API, for moderators and admins: `GET /api/v1/admin/accounts` (v1 filters)
and `/api/v2/admin/accounts`, `GET …/:id`, `POST …/:id/action` (`none`, `disable`, `sensitive`,
`silence`, `suspend`) and `…/:id/unsilence|unsuspend|enable|unsensitive`, `DELETE …/:id` (a suspended
local account's data), and two Plein additions for what Mastodon only offers in its web admin: `POST …/:id/role` (admins only) and
`POST …/:id/reset_second_factor`. Every change is a `moderation` action (or the account deletion the CLI
runs), audited as `@username`; a moderator may not act against an admin (`moderation.permissions`).
An action with a `report_id` is the report's action: it resolves that report (which must be about this
account). An action with a `text` or `send_email_notification` is told to the account: an account warning
and, for a local account, a `moderation_warning` notification and (with `send_email_notification`) a mail.
`disable` is for local accounts only; lifting what is not there (`enable` of a login not disabled,
`unsensitive`, `unsilence`, `unsuspend`) is 422. No sign-in addresses are kept, so an `ip` filter matches
nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import moderation
from clientapi.admin_access import audit_actor, require_staff
from clientapi.entities.admin_accounts import admin_account_to_entity
from clientapi.errors import Forbidden, NotFound, Unprocessable, ValidationCode
from clientapi.pagination import Page, apply_page, in_display_order, link_headers
from clientapi.params import Params, parse_id, read_params
from clientapi.responses import api_response
from outbox import actions
from storage.account_filters import ACCOUNT_STATES, moderated_accounts, state_condition, text_matches
from storage.appeals import pending_appeals_of
from storage.context import Context
from storage.models import Account, Report, User

READ = ("admin:read:accounts",)
WRITE = ("admin:write:accounts",)
STAFF = ("moderator", "admin")
ROLE_IDS = {"-99": "user", "2": "moderator", "3": "admin"}
ACTION_TYPES = ("none", "sensitive", "disable", "silence", "suspend")
# An action with a `report_id` is that report's action (`moderation.REPORT_ACTIONS`); `disable` and
# `sensitive` resolve the report in their own transaction (`moderation.moderate_account(report_id=…)`).
REPORT_ACTION_OF = {"none": "warn", "silence": "silence", "suspend": "suspend"}


def _filters(params: Params, *, v2: bool) -> list[ColumnElement[bool]]:
    """The WHERE clauses of Mastodon's account filters (v1 flags, or v2 `origin`/`status`/`permissions`)."""
    conditions: list[ColumnElement[bool]] = []
    if v2:
        origin = params.get_str("origin")
        local, remote = origin == "local", origin == "remote"
        status = params.get_str("status")
        if status:
            conditions.append(state_condition(status))
        staff = params.get_str("permissions") == "staff"
        roles = [ROLE_IDS[role_id] for role_id in params.get_str_list("role_ids") if role_id in ROLE_IDS]
        if params.get_str_list("role_ids"):
            conditions.append(User.role.in_(roles))
    else:
        local, remote = bool(params.get_bool("local")), bool(params.get_bool("remote"))
        for status in ACCOUNT_STATES:
            if params.get_bool(status):
                conditions.append(state_condition(status))
        staff = bool(params.get_bool("staff"))
    if local:
        conditions.append(Account.domain.is_(None))
    if remote:
        conditions.append(Account.domain.is_not(None))
    if staff:
        conditions.append(User.role.in_(STAFF))
    if by_domain := params.get_str("by_domain"):
        conditions.append(func.lower(Account.domain) == by_domain.lower())
    if username := params.get_str("username"):
        conditions.append(text_matches(Account.username, username, prefix=True))
    if display_name := params.get_str("display_name"):
        conditions.append(text_matches(Account.display_name, display_name))
    if email := params.get_str("email"):
        conditions.append(text_matches(User.email, email))
    if params.get_str("ip"):
        conditions.append(false())
    return conditions


async def _list(request: Request, *, v2: bool) -> Response:
    ctx: Context = request.state.ctx
    await require_staff(request, *READ)
    params = await read_params(request)
    page = Page.from_params(params, default_limit=100, max_limit=200)
    statement = moderated_accounts().where(*_filters(params, v2=v2))
    async with ctx.db.read() as session:
        rows = in_display_order((await session.execute(apply_page(statement, Account.id, page))).all(), page)
        appeals = await pending_appeals_of(session, [account.id for account, _ in rows])
    entities = [
        admin_account_to_entity(account, user, ctx, appeals=appeals.get(account.id, []))
        for account, user in rows
    ]
    return api_response(entities, headers=link_headers(request, [account.id for account, _ in rows]))


async def list_v1(request: Request) -> Response:
    return await _list(request, v2=False)


async def list_v2(request: Request) -> Response:
    return await _list(request, v2=True)


async def _entity(ctx: Context, account_id: int) -> dict[str, Any]:
    async with ctx.db.read() as session:
        row = (
            await session.execute(
                select(Account, User)
                .outerjoin(User, User.account_id == Account.id)
                .where(Account.id == account_id)
            )
        ).first()
        appeals = await pending_appeals_of(session, [account_id])
    if row is None or (row[0].domain is None and row[1] is None):
        raise NotFound()
    return admin_account_to_entity(row[0], row[1], ctx, appeals=appeals.get(account_id, []))


def _account_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["id"])
    except Unprocessable as error:
        raise NotFound() from error


async def show(request: Request) -> Response:
    await require_staff(request, *READ)
    return api_response(await _entity(request.state.ctx, _account_id(request)))


async def act(request: Request) -> Response:
    """Take an action against the account: `type` none (a warning), disable, sensitive, silence or suspend;
    `text` is kept in the audit entry and, as `send_email_notification`, makes it a warning told to the
    account. Answers `{}` as Mastodon."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    account_id = _account_id(request)
    await _entity(ctx, account_id)  # 404 first
    params = await read_params(request)
    kind = params.get_str("type") or "none"
    if kind not in ACTION_TYPES:
        raise Unprocessable(
            f"Validation failed: type must be one of {', '.join(ACTION_TYPES)}",
            field="type",
            code=ValidationCode.INCLUSION,
        )
    text = params.get_str("text") or ""
    send_email = bool(params.get_bool("send_email_notification", False))
    assert auth.user is not None
    await moderation.check_may_moderate(ctx, auth.user.role, account_id)
    report_id = None
    if params.get("report_id") not in (None, ""):
        report_id = await _report_about(ctx, params.get_str("report_id") or "", account_id)
    actor = audit_actor(auth)
    telling = moderation.Telling(tell=True, send_email=send_email)  # as Mastodon's strikes
    if report_id is not None and kind in REPORT_ACTION_OF:
        await moderation.act_on_report(
            ctx, report_id, REPORT_ACTION_OF[kind], actor=actor, note=text, telling=telling
        )
        return api_response({})
    await moderation.moderate_account(
        ctx, account_id, kind, actor=actor, text=text, telling=telling, report_id=report_id
    )
    return api_response({})


async def _report_about(ctx: Context, raw_id: str, account_id: int) -> int:
    """The open report `raw_id` about the account; 422 (as Mastodon) for a report that is not there."""
    report_id = parse_id(raw_id, "report_id")
    async with ctx.db.read() as session:
        report = await session.get(Report, report_id)
    if report is None:
        raise Unprocessable("Validation failed: report_id is not a report", field="report_id")
    if report.target_account_id != account_id:
        raise Unprocessable("Validation failed: the report is about another account", field="report_id")
    return report_id


async def _lift(request: Request, action: str) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    account_id = _account_id(request)
    await _entity(ctx, account_id)
    assert auth.user is not None
    await moderation.check_may_moderate(ctx, auth.user.role, account_id)
    await moderation.moderate_account(ctx, account_id, action, actor=audit_actor(auth))
    return api_response(await _entity(ctx, account_id))


async def unsuspend(request: Request) -> Response:
    return await _lift(request, "unsuspend")


async def unsilence(request: Request) -> Response:
    return await _lift(request, "unsilence")


async def enable(request: Request) -> Response:
    return await _lift(request, "enable")


async def unsensitive(request: Request) -> Response:
    return await _lift(request, "unsensitive")


async def destroy(request: Request) -> Response:
    """Delete a suspended local account's data for good (the deletion `plein account delete` runs); a
    remote account's content goes with its domain's purge instead (422)."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    entity = await _entity(ctx, _account_id(request))
    if not entity["suspended"]:
        raise Unprocessable("Validation failed: only a suspended account can be deleted", field="id")
    if entity["domain"] is not None:
        raise Unprocessable("Validation failed: Plein deletes remote accounts' data with a domain block")
    await actions.delete_local_account(ctx, entity["username"], actor=audit_actor(auth))
    return api_response(entity)


async def change_role(request: Request) -> Response:
    """Plein: give a local account's login the `role` user, moderator or admin (admins only)."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    assert auth.user is not None
    if not moderation.may_change_roles(auth.user.role):
        raise Forbidden("This action is not allowed")
    account_id = _account_id(request)
    await _entity(ctx, account_id)
    role = (await read_params(request)).get_str("role") or ""
    await moderation.change_role(ctx, account_id, role, actor=audit_actor(auth))
    return api_response(await _entity(ctx, account_id))


async def reset_second_factor(request: Request) -> Response:
    """Plein: turn off a local login's TOTP (and its recovery codes) for someone locked out."""
    ctx: Context = request.state.ctx
    auth = await require_staff(request, *WRITE)
    assert auth.user is not None
    account_id = _account_id(request)
    await _entity(ctx, account_id)
    await moderation.check_may_moderate(ctx, auth.user.role, account_id)
    text = (await read_params(request)).get_str("text") or ""
    await moderation.reset_second_factor(ctx, account_id, actor=audit_actor(auth), note=text)
    return api_response(await _entity(ctx, account_id))


routes = [
    Route("/api/v1/admin/accounts", list_v1, methods=["GET"]),
    Route("/api/v2/admin/accounts", list_v2, methods=["GET"]),
    Route("/api/v1/admin/accounts/{id}", show, methods=["GET"]),
    Route("/api/v1/admin/accounts/{id}", destroy, methods=["DELETE"]),
    Route("/api/v1/admin/accounts/{id}/action", act, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/unsuspend", unsuspend, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/unsilence", unsilence, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/enable", enable, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/unsensitive", unsensitive, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/role", change_role, methods=["POST"]),
    Route("/api/v1/admin/accounts/{id}/reset_second_factor", reset_second_factor, methods=["POST"]),
]
