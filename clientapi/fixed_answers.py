"""Endpoints whose true answer on this server never changes: a machine translation engine is not offered
(sending civil servants' posts to a third-party service is a choice we leave out), and identity proofs were
retired by Mastodon 3.5, which still answers them with an empty list for old apps."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.account_lookup import account_from_path
from clientapi.auth import optional_auth, require_auth
from clientapi.responses import api_response
from storage.context import Context


async def translation_languages(request: Request) -> Response:
    """No translation engine: no language pairs (Mastodon's answer when none is configured)."""
    await optional_auth(request)
    return api_response({})


async def identity_proofs(request: Request) -> Response:
    """Always empty, after the account is found (an unknown one is a 404, as in Mastodon)."""
    await require_auth(request, "read:accounts")
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        await account_from_path(session, request)
    return api_response([])


routes = [
    Route("/api/v1/instance/translation_languages", translation_languages, methods=["GET"]),
    Route("/api/v1/accounts/{id}/identity_proofs", identity_proofs, methods=["GET"]),
]
