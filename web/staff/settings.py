"""The signed-in user's settings: the profile of the account they act as (an organisation's only for its
publishers) (display name, bio, fields, avatar, header) through
`outbox.actions.update_profile` like `PATCH /api/v1/accounts/update_credentials`, the language of the pages,
and the export of one's own data (Mastodon's CSV files and the archive of `plein account export`).
Security settings (password, sessions, apps, second factor) are in web/staff/security.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from archive.account_export import account_csv_files, export_account
from outbox.actions.profile import update_profile
from outbox.errors import ActionError
from outbox.uploads import discard_image, store_image
from storage.context import Context
from storage.media import PROFILE_IMAGE_SIZES, StoredImage, profile_image_urls
from storage.models import User
from storage.organisations import NEED_PROFILE
from web.i18n import LANGUAGES
from web.pages import error_page, render_page
from web.staff.access import posted_as_acting, posted_by_viewer, role_allows, see_other, viewer_or_login

MAX_FIELDS = 4
UPLOAD_PATHS = ("/web/settings/profile",)
CSV_EXPORTS = ("following_accounts.csv", "blocked_accounts.csv", "muted_accounts.csv", "blocked_domains.csv")


async def settings_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    account = login.acting  # acting as an organisation: its profile (changed by its publishers only)
    fields = list(account.fields or [])[:MAX_FIELDS]
    fields += [{"name": "", "value": ""}] * (MAX_FIELDS - len(fields))
    return await render_page(
        request,
        "staff/settings.html",
        account=account,
        fields=fields,
        avatar=profile_image_urls(ctx.base_url, account.avatar_file, account.avatar_url)[0],
        header=profile_image_urls(ctx.base_url, account.header_file, account.header_url)[0],
        locale=login.user.locale,
        languages=LANGUAGES,
        saved=request.query_params.get("saved", ""),
        error=request.query_params.get("error", ""),
        csv_exports=CSV_EXPORTS,
        may_edit_profile=role_allows(login, NEED_PROFILE),
    )


async def save_profile(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_as_acting(request, NEED_PROFILE)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    names, values = form.get_list("field_name"), form.get_list("field_value")
    fields = [
        {"name": name.strip(), "value": value.strip()}
        for name, value in list(zip(names, values, strict=False))[:MAX_FIELDS]
        if name.strip() or value.strip()
    ]
    images: dict[str, StoredImage | None] = {}
    try:
        for kind, size in PROFILE_IMAGE_SIZES.items():
            uploads = form.get_files(kind)
            if uploads:
                images[kind] = await store_image(ctx, uploads[0].data, field=kind, fill=size)
        await update_profile(
            ctx,
            login.acting,
            display_name=form.get("display_name").strip(),
            note=form.get("note"),
            fields=fields,
            images=images,
        )
    except ActionError as error:
        for image in images.values():
            if image is not None:
                await discard_image(ctx, image)
        field = getattr(error, "field", "base")
        return see_other(
            f"/web/settings?error={field if field in ('avatar', 'header', 'note') else 'profile'}"
        )
    return see_other("/web/settings?saved=profile")


async def save_language(request: Request) -> Response:
    ctx: Context = request.state.ctx
    checked = await posted_by_viewer(request)
    if isinstance(checked, Response):
        return checked
    login, form = checked
    locale = form.get("locale")
    if locale and locale not in LANGUAGES:
        return await error_page(request, 422, "bad_request")
    async with ctx.db.transaction() as session:
        user = await session.get(User, login.user.id)
        assert user is not None
        user.locale = locale
    return see_other("/web/settings?saved=language")


async def export_page(request: Request) -> Response:
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    return await render_page(request, "staff/export.html", csv_exports=CSV_EXPORTS)


async def export_csv(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    name = request.path_params["name"]
    if name not in CSV_EXPORTS:
        return await error_page(request, 404, "no_page")
    files = await account_csv_files(ctx, login.acting)
    return Response(
        files[name],
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )


async def export_archive(request: Request) -> Response:
    ctx: Context = request.state.ctx
    login = await viewer_or_login(request)
    if isinstance(login, Response):
        return login
    folder = Path(tempfile.mkdtemp(prefix="plein-export-"))
    out = folder / f"{login.acting.username}.zip"
    await export_account(ctx, login.acting.username, out)

    def remove() -> None:
        out.unlink(missing_ok=True)
        folder.rmdir()

    return FileResponse(
        out,
        media_type="application/zip",
        filename=out.name,
        headers={"Cache-Control": "private, no-store"},
        background=BackgroundTask(remove),
    )


routes = [
    Route("/web/settings", settings_page, methods=["GET"]),
    Route("/web/settings/profile", save_profile, methods=["POST"]),
    Route("/web/settings/language", save_language, methods=["POST"]),
    Route("/web/settings/export", export_page, methods=["GET"]),
    Route("/web/settings/export/archive.zip", export_archive, methods=["GET"]),
    Route("/web/settings/export/{name}", export_csv, methods=["GET"]),
]
