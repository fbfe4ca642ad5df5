"""`/oauth/userinfo`: who a `profile` token belongs to, in OpenID Connect's claims, as Mastodon 4.4 answers
it (listed as `userinfo_endpoint` in the OAuth server metadata)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import require_auth
from clientapi.entities.accounts import account_to_entity
from clientapi.responses import api_response
from storage.context import Context


async def userinfo(request: Request) -> Response:
    # Only the `profile` scope, as Mastodon: a token for "log in with your account" and nothing more.
    auth = await require_auth(request, "profile")
    assert auth.account is not None
    ctx: Context = request.state.ctx
    account = account_to_entity(auth.account, ctx)
    return api_response(
        {
            "iss": f"{ctx.base_url}/",
            "sub": auth.account.uri,
            "name": auth.account.display_name or auth.account.username,
            "preferred_username": auth.account.username,
            "profile": account["url"],
            "picture": account["avatar"],
        }
    )


routes = [Route("/oauth/userinfo", userinfo, methods=["GET", "POST"])]
