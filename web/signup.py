"""Sign-up and recovery pages: the sign-up form under the registration mode (`/auth/sign_up`), the invite
link's landing page (`/invite/:code`), the e-mail confirmation link (`/auth/confirmation`), and the password
reset — request form, mailed link, new password (`/auth/password/new`, `/auth/password/edit`). The rules
are `registration`'s; routes pass codes (a field and Mastodon's validation code) that the templates turn
into sentences. Every form carries the CSRF token; a reset request answers alike whether or not the
address has an account."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import registration
from storage.accounts import user_for_account
from storage.context import Context
from storage.instance_profile import read_instance_profile
from web.forms import posted_form
from web.pages import error_page, render_page

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}  # links carry secrets


def _client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def _sign_up_form(
    request: Request,
    *,
    invite_code: str = "",
    values: dict[str, str] | None = None,
    error: registration.RegistrationError | None = None,
    status_code: int = 200,
) -> Response:
    ctx: Context = request.state.ctx
    profile = await read_instance_profile(ctx)
    mode = profile.registration_mode
    has_invite = bool(invite_code) and await registration.invite_is_usable(ctx, invite_code)
    open_to_visitor = registration.sign_up_allowed(mode, has_invite=has_invite)
    return await render_page(
        request,
        "signup/sign_up.html",
        status_code,
        headers=NO_STORE,
        form=open_to_visitor,
        open_to_visitor=open_to_visitor,
        mode=mode,
        reason_needed=mode == "approval" and not has_invite,
        message=profile.registration_message,
        invite_code=invite_code if has_invite else "",
        values=values or {},
        error_field=error.field if error else "",
        error_code=error.code.value if error and not isinstance(error, registration.TooManyAttempts) else "",
        throttled=isinstance(error, registration.TooManyAttempts),
    )


async def sign_up_page(request: Request) -> Response:
    return await _sign_up_form(request, invite_code=request.query_params.get("invite", ""))


async def invite_page(request: Request) -> Response:
    """An invite link: the sign-up form with the invite, or why it no longer works."""
    ctx: Context = request.state.ctx
    code = request.path_params["code"]
    closed = (await read_instance_profile(ctx)).registration_mode == "closed"
    if closed or not await registration.invite_is_usable(ctx, code):
        return await render_page(request, "signup/invite_invalid.html", 404, headers=NO_STORE)
    return await _sign_up_form(request, invite_code=code)


async def sign_up(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    values = {name: form.get(name) for name in ("username", "email", "reason")}
    invite_code = form.get("invite_code")
    pages = request.state.pages
    try:
        signed_up = await registration.sign_up(
            ctx,
            registration.SignUp(
                username=form.get("username").strip(),
                email=form.get("email").strip(),
                password=form.get("password"),
                agreement=form.get("agreement") == "1",
                locale=await pages.language_of(request),
                reason=form.get("reason"),
                invite_code=invite_code,
                client_address=_client_address(request),
            ),
        )
    except registration.RegistrationClosed:
        return await _sign_up_form(request, invite_code=invite_code, values=values, status_code=403)
    except registration.RegistrationError as error:
        return await _sign_up_form(
            request, invite_code=invite_code, values=values, error=error, status_code=error.status_code
        )
    user = signed_up.user
    return await render_page(
        request,
        "signup/signed_up.html",
        headers=NO_STORE,
        username=signed_up.account.username,
        email=user.email,
        confirm=user.confirmed_at is None,
        approved=user.approved,
    )


async def confirmation(request: Request) -> Response:
    """The link in the confirmation mail: confirms the address (once) and says what happens next."""
    ctx: Context = request.state.ctx
    secret = request.query_params.get("confirmation_token", "")
    try:
        account = await registration.confirm_email(ctx, secret)
    except registration.InvalidToken:
        return await render_page(request, "signup/confirmation.html", 404, headers=NO_STORE, confirmed=False)
    async with ctx.db.read() as session:
        user = await user_for_account(session, account.id)
    return await render_page(
        request,
        "signup/confirmation.html",
        headers=NO_STORE,
        confirmed=True,
        username=account.username,
        approved=user is not None and user.approved,
    )


async def reset_request_page(request: Request) -> Response:
    return await render_page(request, "signup/reset_request.html", headers=NO_STORE, form=True)


async def reset_request(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    try:
        await registration.request_password_reset(
            ctx, form.get("email"), client_address=_client_address(request)
        )
    except registration.TooManyAttempts:
        return await error_page(request, 429, "too_many")
    # The same page whether or not the address has an account: nobody learns who has one here.
    return await render_page(request, "signup/reset_requested.html", headers=NO_STORE)


async def _new_password_form(
    request: Request, secret: str, *, error_code: str = "", status_code: int = 200
) -> Response:
    return await render_page(
        request,
        "signup/reset_password.html",
        status_code,
        headers=NO_STORE,
        form=True,
        secret=secret,
        error_code=error_code,
    )


async def new_password_page(request: Request) -> Response:
    ctx: Context = request.state.ctx
    secret = request.query_params.get("reset_password_token", "")
    if not await registration.reset_token_is_live(ctx, secret):
        return await render_page(request, "signup/reset_invalid.html", 404, headers=NO_STORE)
    return await _new_password_form(request, secret)


async def new_password(request: Request) -> Response:
    ctx: Context = request.state.ctx
    form = await posted_form(request)
    if form is None:
        return await error_page(request, 403, "form_expired")
    secret = form.get("reset_password_token")
    if form.get("password") != form.get("password_confirmation"):
        return await _new_password_form(request, secret, error_code="mismatch", status_code=422)
    try:
        account = await registration.reset_password(ctx, secret, form.get("password"))
    except registration.InvalidToken:
        return await render_page(request, "signup/reset_invalid.html", 404, headers=NO_STORE)
    except registration.RegistrationError as error:
        return await _new_password_form(request, secret, error_code=error.code.value, status_code=422)
    return await render_page(request, "signup/reset_done.html", headers=NO_STORE, username=account.username)


routes = [
    Route("/auth/sign_up", sign_up_page, methods=["GET"]),
    Route("/auth/sign_up", sign_up, methods=["POST"]),
    Route("/invite/{code}", invite_page, methods=["GET"]),
    Route("/auth/confirmation", confirmation, methods=["GET"]),
    Route("/auth/password/new", reset_request_page, methods=["GET"]),
    Route("/auth/password", reset_request, methods=["POST"]),
    Route("/auth/password/edit", new_password_page, methods=["GET"]),
    Route("/auth/password/edit", new_password, methods=["POST"]),
]
