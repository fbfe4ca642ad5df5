"""The instance as clients see it: `/api/v1/instance`, `/api/v2/instance` and its peers (the rest of
`/api/v1/instance/…` is in `instance_pages`).

We report Mastodon 4.3.0 compatibility and `api_versions.mastodon` 2, as Mastodon 4.3 does: clients switch
to grouped notifications (`/api/v2/notifications`) and notification requests on either, and both are served.
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from clientapi.entities.accounts import account_to_entity
from clientapi.entities.common import missing_image_url
from clientapi.instance_pages import rule_entities
from clientapi.responses import api_response
from registration import RegistrationFacts, registration_facts
from storage.context import Context
from storage.images import MAX_IMAGE_PIXELS
from storage.instance import InstanceStats, contact_account, contact_email, instance_stats, peer_domains
from storage.instance_profile import InstanceProfile, TextName, instance_profile
from storage.models import Account
from storage.push_keys import vapid_public_key
from storage.software import MASTODON_COMPATIBILITY, software_version

MASTODON_API_VERSION = 2  # api_versions.mastodon of Mastodon 4.3 (grouped notifications)
IMAGE_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp"]
POLL_LIMITS = {
    "max_options": 4,
    "max_characters_per_option": 50,
    "min_expiration": 300,
    "max_expiration": 2_629_746,
}
MAX_MEDIA_ATTACHMENTS = 4
CHARACTERS_RESERVED_PER_URL = 23


def media_limits(ctx: Context) -> dict[str, object]:
    """What the media upload accepts (images only; no video yet)."""
    return {
        "supported_mime_types": IMAGE_TYPES,
        "image_size_limit": ctx.settings.limits.max_media_bytes,
        "image_matrix_limit": MAX_IMAGE_PIXELS,
        "video_size_limit": 0,
        "video_frame_rate_limit": 0,
        "video_matrix_limit": 0,
    }


def version_string() -> str:
    """`4.3.0 (compatible; Plein X.Y.Z)`: clients parse the leading Mastodon version."""
    return f"{MASTODON_COMPATIBILITY} (compatible; Plein {software_version()})"


def _streaming_url(ctx: Context) -> str:
    return ctx.base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def _statuses_configuration(ctx: Context) -> dict[str, int]:
    return {
        "max_characters": ctx.settings.limits.max_status_characters,
        "max_media_attachments": MAX_MEDIA_ATTACHMENTS,
        "characters_reserved_per_url": CHARACTERS_RESERVED_PER_URL,
    }


def _page_url(ctx: Context, profile: InstanceProfile, text: TextName, path: str) -> str | None:
    """The web page of an instance text, None when the admin wrote none."""
    return f"{ctx.base_url}{path}" if profile.has_text(text) else None


class _InstanceFacts(NamedTuple):
    """What both versions of the instance entity tell, read from the database."""

    profile: InstanceProfile
    stats: InstanceStats
    contact: Account | None
    email: str
    registrations: RegistrationFacts


async def _instance_facts(ctx: Context) -> _InstanceFacts:
    async with ctx.db.read() as session:
        profile = await instance_profile(session, ctx.settings)
        stats = await instance_stats(session)
        contact = await contact_account(session)
        email = await contact_email(session, profile.contact_email)
    return _InstanceFacts(profile, stats, contact, email, registration_facts(profile))


async def instance_v1(request: Request) -> Response:
    ctx: Context = request.state.ctx
    settings = ctx.settings
    profile, stats, contact, email, registrations = await _instance_facts(ctx)
    return api_response(
        {
            "uri": ctx.domain,
            "title": profile.name,
            "short_description": profile.description,
            "description": profile.description,
            "email": email,
            "version": version_string(),
            "urls": {"streaming_api": _streaming_url(ctx)},
            "stats": {
                "user_count": stats.user_count,
                "status_count": stats.status_count,
                "domain_count": stats.domain_count,
            },
            "thumbnail": None,
            "languages": list(settings.instance.languages),
            "registrations": registrations.enabled,
            "approval_required": registrations.approval_required,
            "invites_enabled": registrations.invites_enabled,
            "configuration": {
                "accounts": {"max_featured_tags": 0},
                "statuses": _statuses_configuration(ctx),
                "media_attachments": media_limits(ctx),
                "polls": POLL_LIMITS,
            },
            "contact_account": account_to_entity(contact, ctx) if contact else None,
            "rules": await rule_entities(ctx),
        }
    )


async def instance_v2(request: Request) -> Response:
    ctx: Context = request.state.ctx
    settings = ctx.settings
    profile, stats, contact, email, registrations = await _instance_facts(ctx)
    return api_response(
        {
            "domain": ctx.domain,
            "title": profile.name,
            "version": version_string(),
            "source_url": ctx.settings.instance.source_url
            or ctx.base_url,  # must be a URI; unset: this server
            "description": profile.description,
            "usage": {"users": {"active_month": stats.active_month}},
            "thumbnail": {"url": missing_image_url(ctx, "headers"), "blurhash": None, "versions": {}},
            "icon": [],
            "languages": list(settings.instance.languages),
            "configuration": {
                "urls": {
                    "streaming": _streaming_url(ctx),
                    "status": None,
                    "about": f"{ctx.base_url}/about",
                    "privacy_policy": _page_url(ctx, profile, "privacy_policy", "/privacy-policy"),
                    "terms_of_service": _page_url(ctx, profile, "terms_of_service", "/terms-of-service"),
                },
                "vapid": {
                    "public_key": vapid_public_key(settings.secrets.vapid_private_key)
                    if settings.secrets.vapid_private_key
                    else ""
                },
                "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 5, "max_profile_fields": 4},
                "statuses": _statuses_configuration(ctx),
                "media_attachments": {**media_limits(ctx), "description_limit": 1500},
                "polls": POLL_LIMITS,
                "translation": {"enabled": False},
                "limited_federation": settings.federation.mode == "allowlist",
            },
            "registrations": {
                "enabled": registrations.enabled,
                "approval_required": registrations.approval_required,
                "reason_required": registrations.approval_required,
                "message": registrations.message,
                "min_age": None,
                "url": None,
            },
            "api_versions": {"mastodon": MASTODON_API_VERSION},
            "contact": {
                "email": email,
                "account": account_to_entity(contact, ctx) if contact else None,
            },
            "rules": await rule_entities(ctx),
        }
    )


async def peers(request: Request) -> Response:
    ctx: Context = request.state.ctx
    async with ctx.db.read() as session:
        domains = await peer_domains(session)
    return api_response(domains)


routes = [
    Route("/api/v1/instance", instance_v1, methods=["GET"]),
    Route("/api/v2/instance", instance_v2, methods=["GET"]),
    Route("/api/v1/instance/peers", peers, methods=["GET"]),
]
