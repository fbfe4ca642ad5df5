"""The instance's about page (description, rules, contact) and its privacy policy and terms of service,
as `storage.instance_profile` has them (the config's files, or what an admin wrote in the browser)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.context import Context
from storage.instance import contact_account
from storage.instance_profile import TextName, instance_profile, read_instance_profile
from storage.instance_rules import current_rules
from web.pages import error_page, render_page


async def about(request: Request) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        profile = await instance_profile(session, ctx.settings)
        rules = await current_rules(session)
        contact = await contact_account(session)
    text = profile.text("about")
    return await render_page(
        request,
        "about.html",
        description=profile.description,
        about_html=text.html if text else "",
        rules=rules,
        contact=contact,
        contact_email=profile.contact_email,
        has_privacy_policy=profile.has_text("privacy_policy"),
        has_terms=profile.has_text("terms_of_service"),
    )


async def _text_page(request: Request, name: TextName, which: str) -> Response:
    text = (await read_instance_profile(request.state.ctx)).text(name)
    if text is None:
        return await error_page(request, 404, "no_page")
    return await render_page(
        request, "instance_text.html", which=which, text_html=text.html, updated_at=text.updated_at
    )


async def privacy_policy(request: Request) -> Response:
    return await _text_page(request, "privacy_policy", "privacy_policy")


async def terms_of_service(request: Request) -> Response:
    return await _text_page(request, "terms_of_service", "terms")


routes = [
    Route("/about", about, methods=["GET"]),
    Route("/privacy-policy", privacy_policy, methods=["GET"]),
    Route("/terms-of-service", terms_of_service, methods=["GET"]),
]
