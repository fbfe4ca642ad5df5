"""Account, CredentialAccount, Relationship and Application entities."""

from __future__ import annotations

import html
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import UTC
from typing import Any

from clientapi.app_urls import shown_website
from clientapi.entities.common import format_date, format_time, id_str, missing_image_url
from clientapi.entities.emojis import emoji_to_entity
from outbox.content import plain_text_to_html
from storage.agency import fields_with_mark
from storage.context import Context
from storage.media import profile_image_urls
from storage.models import Account, OAuthApp, User
from storage.relationships import RelationshipFacts

BOT_ACTOR_TYPES = frozenset({"Application", "Service"})
ROLE_NAMES = {"user": "", "moderator": "Moderator", "admin": "Admin"}
# Mastodon's permission bits for its built-in roles (administrator holds them all).
ROLE_PERMISSIONS = {"user": "65536", "moderator": "1308", "admin": "1"}


def acct_of(account: Account) -> str:
    """`username` for a local account, `username@domain` for a remote one."""
    return account.username if account.domain is None else f"{account.username}@{account.domain}"


def _fields(account: Account) -> list[dict[str, Any]]:
    rendered = []
    for field in account.fields or []:
        if not isinstance(field, dict):
            continue
        name = str(field.get("name", ""))
        value = str(field.get("value", ""))
        rendered.append(
            {
                # Local values are stored as typed; remote ones arrive as sanitised HTML.
                "name": html.escape(name) if account.domain is None else name,
                "value": plain_text_to_html(value) if account.domain is None else value,
                "verified_at": field.get("verified_at"),
            }
        )
    return rendered


def account_to_entity(account: Account, ctx: Context, *, moved_to: Account | None = None) -> dict[str, Any]:
    """The Account entity: every field of Mastodon's schema, nullable ones included."""
    avatar, avatar_static = profile_image_urls(ctx.base_url, account.avatar_file, account.avatar_url)
    header, header_static = profile_image_urls(ctx.base_url, account.header_file, account.header_url)
    suspended = account.suspended_at is not None
    return {
        "id": str(account.id),
        "username": account.username,
        "acct": acct_of(account),
        "url": account.url or account.uri,
        "uri": account.uri,
        "display_name": "" if suspended else account.display_name,
        "note": "" if suspended else account.note,
        "avatar": avatar or missing_image_url(ctx, "avatars"),
        "avatar_static": avatar_static or missing_image_url(ctx, "avatars"),
        "avatar_description": "",
        "header": header or missing_image_url(ctx, "headers"),
        "header_static": header_static or missing_image_url(ctx, "headers"),
        "header_description": "",
        "locked": account.locked,
        "fields": []
        if suspended
        else fields_with_mark(
            account, _fields(account), ctx.settings.federation.trusted_government_instances
        ),
        "emojis": [] if suspended else [emoji_to_entity(facts) for facts in account.emojis or ()],
        "bot": account.bot or account.actor_type in BOT_ACTOR_TYPES,
        "group": account.actor_type == "Group",
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "noindex": not account.indexable,
        "hide_collections": False,
        "memorial": False,
        "suspended": suspended,
        "limited": account.silenced_at is not None,
        "moved": account_to_entity(moved_to, ctx) if moved_to is not None else None,
        "roles": [],
        "show_featured": True,
        "show_media": True,
        "show_media_replies": True,
        "feature_approval": None,
        "created_at": _creation_day(account),
        "last_status_at": format_date(account.last_status_at),
        "statuses_count": account.statuses_count,
        "followers_count": account.followers_count,
        "following_count": account.following_count,
    }


class RenderedAccounts:
    """Account entities keyed by the exact column values they were rendered from (per process, the least
    recently used dropped past `capacity`). The same values always render the same entity, so an entry is
    never stale: an account that changes arrives with other values and is rendered afresh. Timelines show
    the same authors again and again; this spares re-rendering them on every page."""

    def __init__(self, capacity: int = 4096) -> None:
        self._capacity = capacity
        self._entities: OrderedDict[Hashable, dict[str, Any]] = OrderedDict()

    def entity(self, columns: Hashable, render: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The entity rendered from `columns` (calling `render` the first time); a copy the caller may
        change."""
        entity = self._entities.get(columns)
        if entity is None:
            entity = self._entities[columns] = render()
            if len(self._entities) > self._capacity:
                self._entities.popitem(last=False)
        else:
            self._entities.move_to_end(columns)
        return dict(entity)


def _creation_day(account: Account) -> str:
    # Mastodon shows the creation day only (midnight UTC), so profiles do not leak the exact sign-up time.
    # Written directly rather than through format_time: every rendered status pays for it.
    created_at = account.created_at
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(UTC)
    return f"{created_at.date().isoformat()}T00:00:00.000Z"


def role_to_entity(user: User) -> dict[str, Any]:
    """The Role entity of a local user (our three built-in roles)."""
    return {
        "id": {"user": "-99", "moderator": "2", "admin": "3"}.get(user.role, "-99"),
        "name": ROLE_NAMES.get(user.role, ""),
        "color": "",
        "permissions": ROLE_PERMISSIONS.get(user.role, "0"),
        "highlighted": user.role != "user",
        "collection_limit": None,
    }


def credential_account_to_entity(
    account: Account, user: User, ctx: Context, *, follow_requests_count: int
) -> dict[str, Any]:
    """The CredentialAccount entity (the caller's own account): the Account plus `source` and `role`."""
    entity = account_to_entity(account, ctx)
    entity["source"] = {
        "privacy": user.default_visibility,
        "sensitive": user.default_sensitive,
        "language": user.default_language,
        "note": account.note_source,
        "fields": _source_fields(account),
        "follow_requests_count": follow_requests_count,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "hide_collections": False,
        "attribution_domains": list(account.attribution_domains or []),
        "quote_policy": "nobody",  # we do not serve quote posts
    }
    entity["role"] = role_to_entity(user)
    return entity


def _source_fields(account: Account) -> list[dict[str, Any]]:
    """The fields as typed (unrendered), with their verification."""
    return [
        {
            "name": str(field.get("name", "")),
            "value": str(field.get("value", "")),
            "verified_at": field.get("verified_at"),
        }
        for field in account.fields or []
        if isinstance(field, dict)
    ]


def profile_to_entity(account: Account, ctx: Context) -> dict[str, Any]:
    """The Profile entity (Mastodon 4.6, `/api/v1/profile`): the caller's editable values as typed; the
    images are null when unset."""
    avatar, avatar_static = profile_image_urls(ctx.base_url, account.avatar_file, account.avatar_url)
    header, header_static = profile_image_urls(ctx.base_url, account.header_file, account.header_url)
    return {
        "id": str(account.id),
        "display_name": account.display_name,
        "note": account.note_source,
        "fields": _source_fields(account),
        "avatar": avatar,
        "avatar_static": avatar_static,
        "avatar_description": "",
        "header": header,
        "header_static": header_static,
        "header_description": "",
        "locked": account.locked,
        "bot": account.bot or account.actor_type in BOT_ACTOR_TYPES,
        "hide_collections": False,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "show_media": True,
        "show_media_replies": True,
        "show_featured": True,
        "attribution_domains": list(account.attribution_domains or []),
        "featured_tags": [],
    }


def relationship_to_entity(target_id: int, facts: RelationshipFacts) -> dict[str, Any]:
    """The Relationship entity between the caller and account `target_id`."""
    return {
        "id": str(target_id),
        "following": facts.following,
        "showing_reblogs": facts.showing_reblogs,
        "notifying": facts.notifying,
        "languages": None,
        "followed_by": facts.followed_by,
        "blocking": facts.blocking,
        "blocked_by": facts.blocked_by,
        "muting": facts.muting,
        "muting_notifications": facts.muting_notifications,
        "muting_expires_at": format_time(facts.muting_expires_at) if facts.muting_expires_at else None,
        "requested": facts.requested,
        "requested_by": facts.requested_by,
        "domain_blocking": facts.domain_blocking,
        "endorsed": facts.endorsed,
        "note": facts.note,
    }


def application_to_entity(app: OAuthApp, *, client_secret: str | None = None) -> dict[str, Any]:
    """The Application entity; with `client_secret` (only right after registration) the
    CredentialApplication, which also carries the client credentials."""
    redirect_uris = [str(uri) for uri in app.redirect_uris or []]
    entity: dict[str, Any] = {
        "id": id_str(app.id),
        "name": app.name,
        "website": shown_website(app.website),
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(redirect_uris),
        "redirect_uris": redirect_uris,
        "vapid_key": "",
    }
    if client_secret is not None:
        entity["client_id"] = app.client_id
        entity["client_secret"] = client_secret
        entity["client_secret_expires_at"] = 0
    return entity


def status_application(app: OAuthApp | None) -> dict[str, Any] | None:
    """The short `application` object a status shows ({name, website}), or None."""
    return {"name": app.name, "website": shown_website(app.website)} if app is not None else None
