"""A user's own domain blocks: `GET/POST/DELETE /api/v1/domain_blocks`. Local only; blocking turns away the
domain's followers and follow requesters of the user with a federated `Reject` each, as Mastodon does."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.errors import InvalidHost
from apub.hosts import canonical_host
from clientapi.auth import require_auth
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.pagination import Page, in_display_order, link_headers, page_statement
from clientapi.params import read_params
from clientapi.responses import api_response
from outbox import actions
from storage import account_domain_blocks
from storage.account_lists import domain_blocks_query
from storage.context import Context
from storage.models import Account


async def _caller_and_domain(request: Request) -> tuple[Account, str]:
    """The caller (with `write:blocks`) and the canonical host of its `domain` parameter (422 when it is
    not a host, or is this server's own)."""
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "write:blocks")
    assert auth.account is not None
    try:
        domain = canonical_host((await read_params(request)).require_str("domain"))
    except InvalidHost as error:
        raise Unprocessable(
            f"Validation failed: domain is not a host name ({error})", field="domain"
        ) from None
    if domain == canonical_host(ctx.domain):
        raise Unprocessable(
            "Validation failed: domain is this server's own", field="domain", code=ValidationCode.RESERVED
        )
    return auth.account, domain


async def list_domain_blocks(request: Request) -> Response:
    ctx: Context = request.state.ctx
    auth = await require_auth(request, "read:blocks")
    assert auth.account is not None
    page = Page.from_params(await read_params(request), default_limit=100, max_limit=200)
    async with ctx.db.read() as session:
        statement = page_statement(domain_blocks_query(auth.account.id), page)
        rows = in_display_order((await session.execute(statement)).all(), page)
    return api_response(
        [domain for _, domain in rows], headers=link_headers(request, [row[0] for row in rows])
    )


async def block_domain(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, domain = await _caller_and_domain(request)
    await actions.block_domain(ctx, me, domain)
    return api_response({})


async def unblock_domain(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, domain = await _caller_and_domain(request)
    async with ctx.db.transaction() as session:
        await account_domain_blocks.unblock_domain(session, me.id, domain)
    return api_response({})


routes = [
    Route("/api/v1/domain_blocks", list_domain_blocks, methods=["GET"]),
    Route("/api/v1/domain_blocks", block_domain, methods=["POST"]),
    Route("/api/v1/domain_blocks", unblock_domain, methods=["DELETE"]),
]
