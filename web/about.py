"""The instance's about page (description, rules, contact, and the moderated servers where the admin
publishes them) and its privacy policy and terms of service, as `storage.instance_profile` has them (the
config's files, or what an admin wrote in the browser)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from login.sessions import signed_in
from storage.context import Context
from storage.instance import contact_account
from storage.instance_profile import TextName, instance_profile, read_instance_profile
from storage.instance_rules import current_rules
from storage.published_domains import audience_allows, published_domain_blocks
from web.pages import error_page, render_page


async def about(request: Request) -> Response:
    ctx: Context = request.state.ctx
    instance = ctx.settings.instance
    # The same rule as `/api/v1/instance/domain_blocks`, with the web session as the signed-in user.
    viewer = await signed_in(request) is not None
    show_blocks = audience_allows(instance.show_domain_blocks, signed_in=viewer)
    with_reasons = audience_allows(instance.show_domain_block_reasons, signed_in=viewer)
    async with ctx.db.read() as session:
        profile = await instance_profile(session, ctx.settings)
        rules = await current_rules(session)
        contact = await contact_account(session)
        blocks = await published_domain_blocks(session, with_reasons=with_reasons) if show_blocks else []
    text = profile.text("about")
    return await render_page(
        request,
        "about.html",
        description=profile.description,
        about_html=text.html if text else "",
        rules=rules,
        moderated=blocks,
        with_reasons=with_reasons,
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
