"""The instance's about page (description, rules, contact) and its privacy policy and terms of service,
from the Markdown files the admin names in the config."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from storage.context import Context
from storage.instance import contact_account
from storage.instance_rules import current_rules
from storage.instance_texts import read_instance_text
from web.pages import error_page, render_page


async def about(request: Request) -> Response:
    ctx: Context = request.state.ctx
    instance = ctx.settings.instance
    async with ctx.db.read() as session:
        rules = await current_rules(session)
        contact = await contact_account(session)
    text = read_instance_text(instance.about_file)
    return await render_page(
        request,
        "about.html",
        description=instance.description,
        about_html=text.html if text else "",
        rules=rules,
        contact=contact,
        contact_email=instance.contact_email,
        has_privacy_policy=bool(instance.privacy_policy_file),
        has_terms=bool(instance.terms_of_service_file),
    )


async def _text_page(request: Request, path: str, which: str) -> Response:
    text = read_instance_text(path)
    if text is None:
        return await error_page(request, 404, "no_page")
    return await render_page(
        request, "instance_text.html", which=which, text_html=text.html, updated_at=text.updated_at
    )


async def privacy_policy(request: Request) -> Response:
    ctx: Context = request.state.ctx
    return await _text_page(request, ctx.settings.instance.privacy_policy_file, "privacy_policy")


async def terms_of_service(request: Request) -> Response:
    ctx: Context = request.state.ctx
    return await _text_page(request, ctx.settings.instance.terms_of_service_file, "terms")


routes = [
    Route("/about", about, methods=["GET"]),
    Route("/privacy-policy", privacy_policy, methods=["GET"]),
    Route("/terms-of-service", terms_of_service, methods=["GET"]),
]
