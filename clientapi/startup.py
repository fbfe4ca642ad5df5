"""Endpoints apps call at start-up for features we do not have: they answer the correct empty result
(not 404), so clients carry on. Each still checks its token and scope like the real endpoint would."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.auth import optional_auth, require_auth
from clientapi.responses import api_response


def _empty_list(*scopes: str, public: bool = False) -> object:
    async def endpoint(request: Request) -> Response:
        if public:
            await optional_auth(request)
        else:
            await require_auth(request, *scopes)
        return api_response([])

    return endpoint


# (path, scopes; None means readable without a token, as in Mastodon)
EMPTY_LISTS: tuple[tuple[str, tuple[str, ...] | None], ...] = ()

routes = [
    Route(path, _empty_list(*(scopes or ()), public=scopes is None), methods=["GET"])  # type: ignore[arg-type]
    for path, scopes in EMPTY_LISTS
]
