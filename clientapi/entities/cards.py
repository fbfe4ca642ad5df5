"""The PreviewCard entity (a status's `card`) and Trends::Link (a card with its days of use)."""

from __future__ import annotations

from typing import Any

from clientapi.entities.common import format_optional_time
from storage.preview_cards import card_image_url

# The columns a rendered card reads (Core rows or PreviewCard objects alike).
CARD_ATTRIBUTES = (
    "id",
    "url",
    "title",
    "description",
    "card_type",
    "html",
    "width",
    "height",
    "author_name",
    "author_url",
    "provider_name",
    "provider_url",
    "embed_url",
    "image_file",
    "image_description",
    "blurhash",
    "language",
    "published_at",
    "author_account_id",
)


def card_to_entity(card: Any, base_url: str, author_account: dict[str, Any] | None) -> dict[str, Any]:
    """The PreviewCard entity of `card`; `author_account` is the Account entity of the account the page
    credits (only set when the page's host is one of its attribution domains)."""
    return {
        "url": card.url,
        "title": card.title,
        "description": card.description,
        "type": card.card_type,
        "author_name": card.author_name,
        "author_url": card.author_url,
        "provider_name": card.provider_name,
        "provider_url": card.provider_url,
        "html": card.html,
        "width": card.width,
        "height": card.height,
        "image": card_image_url(base_url, card.image_file) if card.image_file else None,
        "image_description": card.image_description,
        "embed_url": card.embed_url,
        "blurhash": card.blurhash,
        "language": card.language,
        "published_at": format_optional_time(card.published_at),
        # Mastodon sets it for the author's own view only, to prompt a missing attribution domain: not made.
        "missing_attribution": None,
        # As Mastodon (4.3): one author, the page's, with the credited account when there is one.
        "authors": [{"name": card.author_name, "url": card.author_url, "account": author_account}],
    }
