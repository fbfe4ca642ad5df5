"""What the instance says about itself beyond its description: rules, the about text, privacy policy and
terms of service, the moderated domains (when the admin publishes them), weekly activity and the languages
a post may be written in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pycountry
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.languages import is_known_language
from clientapi.auth import optional_auth
from clientapi.entities.common import format_time
from clientapi.errors import NotFound
from clientapi.responses import api_response
from storage.accounts import ensure_instance_actor
from storage.context import Context
from storage.instance import weekly_activity
from storage.instance_profile import read_instance_profile
from storage.instance_rules import current_rules
from storage.models import InstanceRule
from storage.published_domains import audience_allows, published_domain_blocks
from storage.settings import DomainBlocksAudience
from storage.types import utcnow
from storage.urls import LocalUrls


def rule_to_entity(rule: InstanceRule) -> dict[str, Any]:
    return {"id": str(rule.id), "text": rule.text, "hint": rule.hint, "translations": {}}


async def rule_entities(ctx: Context) -> list[dict[str, Any]]:
    async with ctx.db.read() as session:
        return [rule_to_entity(rule) for rule in await current_rules(session)]


async def rules(request: Request) -> Response:
    return api_response(await rule_entities(request.state.ctx))


async def extended_description(request: Request) -> Response:
    ctx: Context = request.state.ctx
    text = (await read_instance_profile(ctx)).text("about")
    if text is not None:
        return api_response({"updated_at": format_time(text.updated_at), "content": text.html})
    # Never written: empty, as old as the instance (apps show the about page with it, never an error).
    async with ctx.db.transaction() as session:
        instance_actor = await ensure_instance_actor(session, LocalUrls(ctx.base_url))
    return api_response({"updated_at": format_time(instance_actor.created_at), "content": ""})


async def privacy_policy(request: Request) -> Response:
    ctx: Context = request.state.ctx
    text = (await read_instance_profile(ctx)).text("privacy_policy")
    if text is None:
        raise NotFound()
    return api_response({"updated_at": format_time(text.updated_at), "content": text.html})


async def terms_of_service(request: Request) -> Response:
    """The terms in force; `/terms_of_service/DATE` answers only for the day they took effect (one version
    is kept: the one in force)."""
    ctx: Context = request.state.ctx
    profile = await read_instance_profile(ctx)
    text = profile.text("terms_of_service")
    if text is None:
        raise NotFound()
    effective = profile.terms_effective_date(text)
    asked = request.path_params.get("date")
    if asked is not None and asked != effective.isoformat():
        raise NotFound()
    return api_response(
        {
            "effective_date": effective.isoformat(),
            "effective": effective <= date.today(),
            "content": text.html,
            "succeeded_by": None,
        }
    )


async def _audience_allows(request: Request, audience: DomainBlocksAudience) -> bool:
    # The token is read only when it matters: "all" and "disabled" answer every reader alike.
    auth = await optional_auth(request) if audience == "users" else None
    return audience_allows(audience, signed_in=auth is not None and auth.account is not None)


async def domain_blocks(request: Request) -> Response:
    """Moderated domains (silenced or suspended), when the admin publishes them to this reader."""
    ctx: Context = request.state.ctx
    instance = ctx.settings.instance
    if not await _audience_allows(request, instance.show_domain_blocks):
        raise NotFound()
    with_reasons = await _audience_allows(request, instance.show_domain_block_reasons)
    async with ctx.db.read() as session:
        blocks = await published_domain_blocks(session, with_reasons=with_reasons)
    entities = []
    for block in blocks:
        entity: dict[str, Any] = {"domain": block.domain, "digest": block.digest, "severity": block.severity}
        if with_reasons:
            entity["comment"] = block.comment
        entities.append(entity)
    return api_response(entities)


async def activity(request: Request) -> Response:
    """The last 12 weeks of local activity, this week first; figures as strings, as Mastodon sends them."""
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        weeks = await weekly_activity(session, now=utcnow())
    return api_response(
        [
            {
                "week": str(int(week.week_start.timestamp())),
                "statuses": str(week.statuses),
                "logins": str(week.logins),
                "registrations": str(week.registrations),
            }
            for week in weeks
        ]
    )


def language_entities(instance_languages: Sequence[str] = ()) -> list[dict[str, str]]:
    """Every ISO 639-1 language (code and English name), and the instance's own languages that only have
    an ISO 639-3 code (`nds`): the languages an app offers for a post. Posting takes any ISO 639-3 code
    too; listing all ~7,000 would drown the picker."""
    codes = {language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2")}
    codes.update(code for code in instance_languages if is_known_language(code))
    entities = []
    for code in codes:
        language = pycountry.languages.get(**{"alpha_2" if len(code) == 2 else "alpha_3": code})
        if language is not None:
            entities.append({"code": code, "name": language.name})
    return sorted(entities, key=lambda entity: entity["code"])


async def languages(request: Request) -> Response:
    ctx: Context = request.state.ctx
    return api_response(language_entities(ctx.settings.instance.languages))


routes = [
    Route("/api/v1/instance/rules", rules, methods=["GET"]),
    Route("/api/v1/instance/extended_description", extended_description, methods=["GET"]),
    Route("/api/v1/instance/privacy_policy", privacy_policy, methods=["GET"]),
    Route("/api/v1/instance/terms_of_service", terms_of_service, methods=["GET"]),
    Route("/api/v1/instance/terms_of_service/{date}", terms_of_service, methods=["GET"]),
    Route("/api/v1/instance/domain_blocks", domain_blocks, methods=["GET"]),
    Route("/api/v1/instance/activity", activity, methods=["GET"]),
    Route("/api/v1/instance/languages", languages, methods=["GET"]),
]
