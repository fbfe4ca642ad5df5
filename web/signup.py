"""Sign-up and recovery pages: the e-mail confirmation link. The rules are `registration`'s."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import registration
from storage.accounts import user_for_account
from storage.context import Context
from web.pages import render_page


async def confirmation(request: Request) -> Response:
    """The link in the confirmation mail: confirms the address (once) and says what happens next."""
    ctx: Context = request.state.ctx
    secret = request.query_params.get("confirmation_token", "")
    try:
        account = await registration.confirm_email(ctx, secret)
    except registration.InvalidToken:
        return await render_page(request, "signup/confirmation.html", status_code=404, confirmed=False)
    async with ctx.db.read() as session:
        user = await user_for_account(session, account.id)
    return await render_page(
        request,
        "signup/confirmation.html",
        confirmed=True,
        username=account.username,
        approved=user is not None and user.approved,
    )


routes = [Route("/auth/confirmation", confirmation, methods=["GET"])]
