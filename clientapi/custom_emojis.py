"""`GET /api/v1/custom_emojis`: this server's emojis for apps' pickers (public, as in Mastodon)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth
from clientapi.entities.emojis import emoji_to_entity
from clientapi.responses import api_response
from storage.context import Context
from storage.custom_emojis import facts_of, local_emojis
from storage.urls import LocalUrls


async def list_custom_emojis(request: Request) -> Response:
    """Mastodon lists the local emojis shown in the picker; hidden ones work in text but are not offered."""
    await optional_auth(request)
    ctx: Context = request.state.ctx
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        emojis = await local_emojis(session)
    return api_response(
        [emoji_to_entity(facts_of(emoji, urls)) for emoji in emojis if emoji.visible_in_picker]
    )


routes = [Route("/api/v1/custom_emojis", list_custom_emojis, methods=["GET"])]
