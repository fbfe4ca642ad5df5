"""Changing one's own profile: `PATCH /api/v1/accounts/update_credentials` (text, fields, flags, posting
defaults, and the `avatar` / `header` images of a multipart body), `DELETE /api/v1/profile/avatar|header`
(Mastodon 4.2), and `GET` / `PATCH /api/v1/profile` (Mastodon 4.6: the same changes, answered with the
Profile entity). Profile images are cleaned like media uploads and sized as Mastodon sizes them; the outbox
action stores them and sends the actor's `Update`."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.accounts import caller, credential_entity
from clientapi.auth import require_auth
from clientapi.entities.accounts import profile_to_entity
from clientapi.errors import Unprocessable, ValidationCode
from clientapi.params import LANGUAGE_PATTERN, Params, read_params
from clientapi.responses import api_response
from outbox.actions import update_profile
from outbox.uploads import discard_image, store_image
from storage.account_lists import set_posting_defaults
from storage.context import Context
from storage.media import PROFILE_IMAGE_SIZES, StoredImage
from storage.models import Account, User

VISIBILITIES = ("public", "unlisted", "private", "direct")
# Bodies that may carry an avatar and a header: each up to the media limit (`plein.limits`).
UPLOAD_PATHS = ("/api/v1/accounts/update_credentials", "/api/v1/profile")


def _fields(params: Params) -> list[dict[str, Any]] | None:
    if "fields_attributes" not in params:
        return None
    fields = []
    for item in params.get_list("fields_attributes"):
        if not isinstance(item, dict):
            raise Unprocessable(
                "Validation failed: fields_attributes must be a list of {name, value}",
                field="fields_attributes",
            )
        field = Params(item)
        fields.append({"name": field.get_str("name") or "", "value": field.get_str("value") or ""})
    return fields


async def _images(ctx: Context, params: Params) -> dict[str, StoredImage | None]:
    """The avatar and header of the request, cleaned and written (422 for one that is not an image)."""
    images: dict[str, StoredImage | None] = {}
    try:
        for kind, size in PROFILE_IMAGE_SIZES.items():
            upload = params.get_file(kind) if kind in params else None
            if upload is not None and upload.data:
                images[kind] = await store_image(ctx, upload.data, field=kind, fill=size)
    except BaseException:
        await _discard(ctx, images)
        raise
    return images


async def _discard(ctx: Context, images: dict[str, StoredImage | None]) -> None:
    for image in images.values():
        if image is not None:
            await discard_image(ctx, image)


async def _apply(request: Request) -> tuple[User, Account]:
    """Make the changes the request asks for (all or nothing); the caller's fresh rows after them."""
    ctx: Context = request.state.ctx
    user, account = caller(await require_auth(request, "write:accounts"))
    params = await read_params(request)
    source = params.nested("source")
    privacy = source.get_str("privacy")
    if privacy is not None and privacy not in VISIBILITIES:
        raise Unprocessable(
            "Validation failed: source[privacy] must be public, unlisted, private or direct",
            field="source[privacy]",
            code=ValidationCode.INCLUSION,
        )
    language = source.get_str("language")
    if language and not LANGUAGE_PATTERN.fullmatch(language):
        raise Unprocessable(
            "Validation failed: source[language] must be an ISO 639 code", field="source[language]"
        )
    fields = _fields(params)
    images = await _images(ctx, params)
    try:
        await update_profile(
            ctx,
            account,
            display_name=params.get_str("display_name"),
            note=params.get_str("note"),
            locked=params.get_bool("locked"),
            discoverable=params.get_bool("discoverable"),
            fields=fields,
            images=images,
            attribution_domains=params.get_str_list("attribution_domains")
            if "attribution_domains" in params
            else None,
        )
    except BaseException:
        await _discard(ctx, images)
        raise
    async with ctx.db.transaction() as session:
        fresh_user = await session.get(User, user.id)
        fresh_account = await session.get(Account, account.id)
        assert fresh_user is not None and fresh_account is not None
        await set_posting_defaults(
            session, fresh_user, visibility=privacy, sensitive=source.get_bool("sensitive"), language=language
        )
    return fresh_user, fresh_account


async def update_credentials(request: Request) -> Response:
    ctx: Context = request.state.ctx
    user, account = await _apply(request)
    async with ctx.db.read() as session:
        return api_response(await credential_entity(session, ctx, user, account))


async def _remove_image(request: Request, kind: str) -> Response:
    ctx: Context = request.state.ctx
    user, account = caller(await require_auth(request, "write:accounts"))
    await update_profile(ctx, account, images={kind: None})
    async with ctx.db.read() as session:
        fresh_account = await session.get(Account, account.id)
        assert fresh_account is not None
        return api_response(await credential_entity(session, ctx, user, fresh_account))


async def remove_avatar(request: Request) -> Response:
    return await _remove_image(request, "avatar")


async def remove_header(request: Request) -> Response:
    return await _remove_image(request, "header")


async def show_profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    _, account = caller(await require_auth(request, "read:accounts", "profile"))
    async with ctx.db.read() as session:
        fresh_account = await session.get(Account, account.id)
    assert fresh_account is not None
    return api_response(profile_to_entity(fresh_account, ctx))


async def change_profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    _, account = await _apply(request)
    return api_response(profile_to_entity(account, ctx))


routes = [
    Route("/api/v1/accounts/update_credentials", update_credentials, methods=["PATCH"]),
    Route("/api/v1/profile", show_profile, methods=["GET"]),
    Route("/api/v1/profile", change_profile, methods=["PATCH"]),
    Route("/api/v1/profile/avatar", remove_avatar, methods=["DELETE"]),
    Route("/api/v1/profile/header", remove_header, methods=["DELETE"]),
]
