"""Render local accounts as ActivityPub actors (`account_to_actor`)."""

from __future__ import annotations

from html import escape
from typing import Any

from apub.emojis import emoji_tag
from apub.keys import load_public_key, public_key_to_multibase
from apub.vocab import OBJECT_CONTEXT
from outbox.content import plain_text_to_html
from storage.agency import MARK_FIELD_NAME, WEBSITE_FIELD_NAME
from storage.groups import GROUP_ACTOR
from storage.media import profile_image_urls
from storage.models import Account
from storage.urls import LocalUrls


def _iso(value: Any) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _image(url: str | None) -> dict[str, Any] | None:
    return {"type": "Image", "url": url} if url else None


def account_to_actor(
    account: Account, urls: LocalUrls, *, ed25519_public_pem: str | None, moved_to_uri: str | None = None
) -> dict[str, Any]:
    """The actor document of a local account (Person, Organization, Group) or the instance actor
    (Application)."""
    actor: dict[str, Any] = {
        "@context": OBJECT_CONTEXT,
        "id": account.uri,
        "type": account.actor_type,
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": account.note,
        "url": account.url,
        "inbox": account.inbox_url,
        "outbox": account.outbox_url,
        "followers": account.followers_url,
        "following": account.following_url,
        "featured": account.featured_url,
        "featuredTags": urls.featured_tags(account.username),
        "endpoints": {"sharedInbox": account.shared_inbox_url},
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "published": _iso(account.created_at),
        "publicKey": {
            "id": account.public_key_id,
            "owner": account.uri,
            "publicKeyPem": account.public_key_pem,
        },
        "attachment": [
            # The value as HTML, as Mastodon sends it: a link alone is what a remote server verifies.
            {
                "type": "PropertyValue",
                "name": field.get("name", ""),
                "value": plain_text_to_html(str(field.get("value", ""))),
            }
            for field in account.fields or []
        ],
        "tag": [emoji_tag(facts) for facts in account.emojis or ()],
    }
    if account.government_id and account.government_website:
        # The verified-agency mark: fields any server shows (the website's link verified by rel=me), and
        # the machine-readable claim Plein peers read (trusted only from trusted instances).
        actor["attachment"][:0] = [
            {"type": "PropertyValue", "name": MARK_FIELD_NAME, "value": escape(account.government_id)},
            {
                "type": "PropertyValue",
                "name": WEBSITE_FIELD_NAME,
                "value": plain_text_to_html(account.government_website),
            },
        ]
        actor["governmentOrganization"] = {
            "type": "GovernmentOrganization",
            "identifier": account.government_id,
            "url": account.government_website,
        }
    if ed25519_public_pem:
        actor["assertionMethod"] = [
            {
                "id": urls.ed25519_key_id(account.uri),
                "type": "Multikey",
                "controller": account.uri,
                "publicKeyMultibase": public_key_to_multibase(load_public_key(ed25519_public_pem)),
            }
        ]
    if account.attribution_domains:
        actor["attributionDomains"] = list(account.attribution_domains)
    if moved_to_uri:
        actor["movedTo"] = moved_to_uri
    if account.also_known_as:
        actor["alsoKnownAs"] = list(account.also_known_as)
    if icon := _image(profile_image_urls(urls.base_url, account.avatar_file, account.avatar_url)[0]):
        actor["icon"] = icon
    if image := _image(profile_image_urls(urls.base_url, account.header_file, account.header_url)[0]):
        actor["image"] = image
    if account.suspended_at is not None and account.domain is None:
        # As Mastodon renders a suspended account: the flag, and nothing of the profile beyond its name.
        actor["suspended"] = True
        actor["name"] = account.username
        actor["summary"] = ""
        for key in ("icon", "image", "attachment", "tag", "alsoKnownAs", "movedTo", "governmentOrganization"):
            actor.pop(key, None)
    if account.actor_type == GROUP_ACTOR:
        # FEP-1b12: the moderators are the group's `attributedTo`; Lemmy before 0.19 read `moderators`.
        # Any member may post (Lemmy's flag, which Lemmy and Mbin read before offering to post).
        actor["attributedTo"] = actor["moderators"] = urls.group_moderators(account.username)
        actor["postingRestrictedToMods"] = False
    if account.actor_type == "Application":
        # The instance actor is not a person to follow; Mastodon leaves these out for it too.
        for key in ("featured", "featuredTags", "discoverable", "indexable", "attachment", "tag"):
            actor.pop(key, None)
    return actor


def collection(url: str, total: int, *, first_page: str | None) -> dict[str, Any]:
    """An `OrderedCollection` head pointing at its first page."""
    head: dict[str, Any] = {
        "@context": OBJECT_CONTEXT[0],
        "id": url,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first_page is not None:
        head["first"] = first_page
    return head


def collection_page(
    url: str, page_url: str, items: list[Any], *, next_url: str | None, total: int | None = None
) -> dict[str, Any]:
    """One `OrderedCollectionPage` of a collection."""
    page: dict[str, Any] = {
        "@context": OBJECT_CONTEXT[0],
        "id": page_url,
        "type": "OrderedCollectionPage",
        "partOf": url,
        "orderedItems": items,
    }
    if total is not None:
        page["totalItems"] = total
    if next_url is not None:
        page["next"] = next_url
    return page
