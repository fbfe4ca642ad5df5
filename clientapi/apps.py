"""Client applications: `POST /api/v1/apps` and `GET /api/v1/apps/verify_credentials`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.app_urls import is_web_url, valid_redirect_uri
from clientapi.auth import known_scope, parse_scopes, require_auth
from clientapi.entities.accounts import application_to_entity
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.context import Context
from storage.oauth import create_app

MAX_NAME_LENGTH = 255
MAX_REDIRECT_URIS = 16
MAX_WEBSITE_LENGTH = 2048


async def register(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    name = params.require_str("client_name").strip()
    if len(name) > MAX_NAME_LENGTH:
        raise Unprocessable(
            f"Validation failed: client_name is too long (maximum is {MAX_NAME_LENGTH} characters)",
            field="client_name",
            code=ValidationCode.TOO_LONG,
        )
    raw_redirects = params.get("redirect_uris")
    if isinstance(raw_redirects, list):
        redirect_uris = [uri.strip() for uri in params.get_str_list("redirect_uris") if uri.strip()]
    else:
        redirect_uris = (params.get_str("redirect_uris") or "").split()
    if not redirect_uris:
        raise Unprocessable(
            "Validation failed: redirect_uris can't be blank",
            field="redirect_uris",
            code=ValidationCode.BLANK,
        )
    if len(redirect_uris) > MAX_REDIRECT_URIS or not all(valid_redirect_uri(uri) for uri in redirect_uris):
        raise Unprocessable("Validation failed: redirect_uris must be absolute URIs", field="redirect_uris")
    scopes = parse_scopes(params.get_str("scopes") or "read")
    unknown = [scope for scope in scopes if not known_scope(scope)]
    if unknown or not scopes:
        raise Unprocessable(f"Validation failed: scopes are invalid: {' '.join(unknown)}", field="scopes")
    website = (params.get_str("website") or "").strip() or None
    if website is not None and (len(website) > MAX_WEBSITE_LENGTH or not is_web_url(website)):
        raise Unprocessable("Validation failed: website must be an http(s) URL", field="website")
    async with ctx.db.transaction() as session:
        app, client_secret = await create_app(
            session,
            name=name,
            redirect_uris=list(dict.fromkeys(redirect_uris)),
            scopes=" ".join(scopes),
            website=website,
        )
    return api_response(application_to_entity(app, client_secret=client_secret))


async def verify_credentials(request: Request) -> Response:
    auth = await require_auth(request, user=False)
    if auth.app is None:
        raise Unprocessable("This token belongs to no application")
    return api_response(application_to_entity(auth.app))


routes = [
    Route("/api/v1/apps", register, methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", verify_credentials, methods=["GET"]),
]
