"""Endorsements ("featured accounts"): `endorse` / `unendorse` (and their names before Mastodon 4.4, `pin`
/ `unpin`), the caller's `/api/v1/endorsements` and anyone's `/api/v1/accounts/:id/endorsements`; and the
caller's private `note` on an account. Both local only, answered with the Relationship."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.accounts import own_account_page, public_account_page
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.follows import caller_and_target, relationship_response
from clientapi.params import read_params
from storage.account_notes import MAX_NOTE_LENGTH, set_note
from storage.account_pins import endorse as endorse_account
from storage.account_pins import endorsements_query
from storage.account_pins import unendorse as unendorse_account
from storage.context import Context


async def endorse(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:accounts")
    async with ctx.db.transaction() as session:
        if not await endorse_account(session, me.id, target.id):
            raise Unprocessable(
                "Validation failed: You must be already following the person you want to endorse"
            )
    return await relationship_response(ctx, me.id, target.id)


async def unendorse(request: Request) -> Response:
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:accounts")
    async with ctx.db.transaction() as session:
        await unendorse_account(session, me.id, target.id)
    return await relationship_response(ctx, me.id, target.id)


async def my_endorsements(request: Request) -> Response:
    return await own_account_page(request, "read:accounts", endorsements_query)


async def account_endorsements(request: Request) -> Response:
    """The accounts an account features on its profile (public, like its profile)."""
    return await public_account_page(request, endorsements_query)


async def note(request: Request) -> Response:
    """Set the caller's private note on an account (`comment`; empty or absent removes it)."""
    ctx: Context = request.state.ctx
    me, target = await caller_and_target(request, "write:accounts")
    comment = (await read_params(request)).get_str("comment") or ""
    if len(comment) > MAX_NOTE_LENGTH:
        raise Unprocessable(
            f"Validation failed: Comment is too long (maximum is {MAX_NOTE_LENGTH} characters)",
            field="comment",
            code=ValidationCode.TOO_LONG,
        )
    async with ctx.db.transaction() as session:
        await set_note(session, me.id, target.id, comment)
    return await relationship_response(ctx, me.id, target.id)


routes = [
    Route("/api/v1/endorsements", my_endorsements, methods=["GET"]),
    Route("/api/v1/accounts/{id}/endorsements", account_endorsements, methods=["GET"]),
    *(Route(f"/api/v1/accounts/{{id}}/{name}", endorse, methods=["POST"]) for name in ("endorse", "pin")),
    *(
        Route(f"/api/v1/accounts/{{id}}/{name}", unendorse, methods=["POST"])
        for name in ("unendorse", "unpin")
    ),
    Route("/api/v1/accounts/{id}/note", note, methods=["POST"]),
]
