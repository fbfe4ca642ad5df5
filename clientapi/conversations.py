"""Direct-message conversations: the caller's list (`GET /api/v1/conversations`, paged by the last status's
id, newest first, as Mastodon pages them), marking one read, and removing one (hidden until its next
message). The rows are written by the fan-out (`storage.conversations`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import caller_account
from clientapi.entities.conversations import conversations_to_entities
from clientapi.errors import NotFound
from clientapi.pagination import Page, in_display_order, link_headers, page_statement
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.conversations import own_conversation, remove_conversation
from storage.ids import parse_id
from storage.models import Account, AccountConversation
from storage.timelines import conversations_query


async def index(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner = await caller_account(request, "read:statuses")
    page = Page.from_params(await read_params(request))
    async with ctx.db.read() as session:
        rows = (await session.execute(page_statement(conversations_query(owner.id), page))).scalars().all()
        rows = in_display_order(rows, page)
        entities = await conversations_to_entities(session, ctx, rows, owner)
    return api_response(entities, headers=link_headers(request, [row.last_status_id for row in rows]))


async def _own(session: AsyncSession, request: Request, owner: Account) -> AccountConversation:
    conversation_id = parse_id(request.path_params["id"])
    row = await own_conversation(session, owner.id, conversation_id) if conversation_id is not None else None
    if row is None:
        raise NotFound()
    return row


async def read(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner = await caller_account(request, "write:conversations")
    async with ctx.db.transaction() as session:
        row = await _own(session, request, owner)
        row.unread = False
        await session.flush()
        entities = await conversations_to_entities(session, ctx, [row], owner)
    return api_response(entities[0])


async def remove(request: Request) -> Response:
    ctx: Context = request.state.ctx
    owner = await caller_account(request, "write:conversations")
    async with ctx.db.transaction() as session:
        await remove_conversation(session, await _own(session, request, owner))
    return api_response({})


routes = [
    Route("/api/v1/conversations", index, methods=["GET"]),
    Route("/api/v1/conversations/{id}", remove, methods=["DELETE"]),
    Route("/api/v1/conversations/{id}/read", read, methods=["POST"]),
]
