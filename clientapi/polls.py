"""`/api/v1/polls`: a poll as the caller sees it, and voting. The vote is `outbox.actions.vote`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth, require_auth, viewer_account
from clientapi.entities.polls import poll_to_entity
from clientapi.errors import NotFound, Unprocessable
from clientapi.params import parse_id, read_params
from clientapi.responses import api_response
from outbox import actions
from outbox.actions.polls import visible_poll
from storage.context import Context
from storage.polls import own_votes


def _poll_id(request: Request) -> int:
    try:
        return parse_id(request.path_params["poll_id"], "id")
    except Unprocessable as error:
        raise NotFound() from error


async def _render(ctx: Context, poll_id: int, viewer_id: int | None) -> Response:
    async with ctx.db.read() as session:
        poll, _ = await visible_poll(session, poll_id, viewer_id)
        chosen = (await own_votes(session, [poll.id], viewer_id)).get(poll.id) if viewer_id else None
    return api_response(poll_to_entity(poll, viewer_id, chosen))


async def get_poll(request: Request) -> Response:
    viewer = viewer_account(await optional_auth(request, "read:statuses"))
    return await _render(request.state.ctx, _poll_id(request), viewer.id if viewer else None)


async def vote(request: Request) -> Response:
    auth = await require_auth(request, "write:statuses")
    assert auth.account is not None
    params = await read_params(request)
    choices = params.get_str_list("choices")
    if not choices:
        raise Unprocessable("Validation failed: choices is missing")
    if any(not choice.isascii() or not choice.isdigit() or len(choice) > 4 for choice in choices):
        raise Unprocessable("Validation failed: The chosen vote option does not exist")
    indexes = [int(choice) for choice in choices]
    ctx: Context = request.state.ctx
    await actions.vote(ctx, auth.account, _poll_id(request), indexes)
    return await _render(ctx, _poll_id(request), auth.account.id)


routes = [
    Route("/api/v1/polls/{poll_id}", get_poll, methods=["GET"]),
    Route("/api/v1/polls/{poll_id}/votes", vote, methods=["POST"]),
]
