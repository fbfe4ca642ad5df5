"""`POST /api/v1/reports`: a user reports an account (and some of its statuses) to the moderators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.reports import report_to_entity
from clientapi.errors import NotFound
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from outbox import actions
from storage.context import Context
from storage.models import Account


async def create_report(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:reports")
    assert auth.account is not None
    params = await read_params(request)
    target_id = params.get_id("account_id")
    if target_id is None:
        raise NotFound()
    report = await actions.file_report(
        ctx,
        auth.account,
        actions.ReportRequest(
            target_id=target_id,
            status_ids=[parse_id(value, "status_ids") for value in params.get_str_list("status_ids")],
            comment=params.get_str("comment", max_length=None) or "",
            category=params.get_str("category") or "other",
            forward=bool(params.get_bool("forward", False)),
            rule_ids=[parse_id(value, "rule_ids") for value in params.get_str_list("rule_ids")],
        ),
    )
    async with ctx.db.read() as session:
        target = await session.get(Account, report.target_account_id)
    assert target is not None
    return api_response(report_to_entity(report, target, ctx))


routes = [Route("/api/v1/reports", create_report, methods=["POST"])]
