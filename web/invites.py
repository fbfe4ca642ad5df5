"""The staff page for invite links (`/web/invites`): list them, make one (its link is shown once: only its
hash is kept) and revoke one. Moderators and admins only; the actions are `registration`'s, audited."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import registration
from login.sessions import SignedIn
from storage.context import Context
from storage.ids import parse_id
from storage.instance_profile import read_instance_profile
from storage.invites import invite_usable, list_invites
from storage.types import utcnow
from web.forms import Form
from web.pages import error_page, render_page
from web.staff.access import form_endpoint, see_other, staff_or_refusal

# The choices Mastodon's invite form offers.
MAX_USES_CHOICES = ("1", "5", "10", "25", "50", "100", "")
EXPIRY_CHOICES = {
    "1800": 1800,
    "3600": 3600,
    "21600": 21600,
    "43200": 43200,
    "86400": 86400,
    "604800": 604800,
    "": None,
}


async def _invites_page(request: Request, *, new_link: str = "", status_code: int = 200) -> Response:
    ctx: Context = request.state.ctx
    now = utcnow()
    async with ctx.db.read() as session:
        invites = await list_invites(session)
    rows = [
        {
            "invite": invite,
            "state": "usable" if invite_usable(invite, now) else "revoked" if invite.revoked_at else "spent",
        }
        for invite in invites
    ]
    return await render_page(
        request,
        "signup/invites.html",
        status_code,
        headers={"Cache-Control": "no-store"},
        rows=rows,
        new_link=new_link,
        mode=(await read_instance_profile(ctx)).registration_mode,
        max_uses_choices=MAX_USES_CHOICES,
        expiry_choices=list(EXPIRY_CHOICES),
    )


async def invites_page(request: Request) -> Response:
    login = await staff_or_refusal(request)
    if isinstance(login, Response):
        return login
    return await _invites_page(request)


async def create_invite(request: Request, login: SignedIn, form: Form) -> Response:
    ctx: Context = request.state.ctx
    max_uses, expiry = form.get("max_uses"), form.get("expires_in")
    if max_uses not in MAX_USES_CHOICES or expiry not in EXPIRY_CHOICES:
        return await error_page(request, 400, "bad_request")
    seconds = EXPIRY_CHOICES[expiry]
    made = await registration.create_invite(
        ctx,
        actor=f"@{login.account.username}",
        created_by_account_id=login.account.id,
        max_uses=int(max_uses) if max_uses else None,
        expires_in=timedelta(seconds=seconds) if seconds is not None else None,
    )
    return await _invites_page(request, new_link=made.url)


async def revoke_invite(request: Request, login: SignedIn, _form: Form) -> Response:
    ctx: Context = request.state.ctx
    invite_id = parse_id(request.path_params["id"])
    if invite_id is None:
        return await error_page(request, 404, "no_page")
    try:
        await registration.revoke_invite(ctx, invite_id, actor=f"@{login.account.username}")
    except registration.NotFound:
        return await error_page(request, 404, "no_page")
    return see_other("/web/invites")


routes = [
    Route("/web/invites", invites_page, methods=["GET"]),
    Route("/web/invites", form_endpoint(create_invite), methods=["POST"]),
    Route("/web/invites/{id}/revoke", form_endpoint(revoke_invite), methods=["POST"]),
]
