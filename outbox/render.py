"""Our rows as ActivityPub: `status_to_note`, the activities of each local action, tombstones.

Rendering is pure: `load_note_parts` reads what a Note needs in one place, `status_to_note` shapes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity, build_tombstone, iso_datetime
from apub.emojis import emoji_tag
from apub.quotes import interaction_policy, quote_properties
from apub.vocab import OBJECT_CONTEXT, PUBLIC
from outbox.addressing import visibility_addressing
from storage.custom_emojis import emoji_rows_in, facts_of
from storage.groups import is_group
from storage.media import media_file_url
from storage.models import Account, CustomEmoji, MediaAttachment, Poll, Quote, Status
from storage.polls import is_expired, poll_of_status
from storage.quotes import effective_policy, quote_of
from storage.status_variants import Variant, variants_of
from storage.statuses import media_of, mentioned_accounts, status_by_id, tag_names
from storage.urls import LocalUrls

__all__ = [
    "NoteParts",
    "Tombstone",
    "acct_handle",
    "boost_to_announce",
    "load_note_parts",
    "status_to_note",
]

MEDIA_TYPES = {"image": "Image", "video": "Video", "gifv": "Video", "audio": "Audio"}


@dataclass(frozen=True)
class NoteParts:
    """Everything a Note shows besides the status row itself."""

    status: Status
    author: Account
    mentions: list[Account]
    tags: list[str]
    media: list[MediaAttachment]
    in_reply_to_uri: str | None
    emojis: list[CustomEmoji]
    poll: Poll | None = None
    quote: Quote | None = None
    variants: list[Variant] = field(default_factory=list)  # the other languages (docs/MULTILINGUAL.md)


def acct_handle(account: Account, local_domain: str) -> str:
    """`@user@domain` as a Mention's `name`."""
    return f"@{account.username}@{account.domain or local_domain}"


async def load_note_parts(session: AsyncSession, status: Status, author: Account) -> NoteParts:
    """Read the mentions, tags, media, custom emojis and parent URI of a status."""
    in_reply_to_uri = status.in_reply_to_uri
    variants = (await variants_of(session, [status.id])).get(status.id, [])
    if in_reply_to_uri is None and status.in_reply_to_id is not None:
        parent = await status_by_id(session, status.in_reply_to_id)
        in_reply_to_uri = parent.uri if parent else None
    return NoteParts(
        status=status,
        author=author,
        mentions=await mentioned_accounts(session, status.id),
        tags=await tag_names(session, status.id),
        media=await media_of(session, status.id),
        in_reply_to_uri=in_reply_to_uri,
        emojis=await emoji_rows_in(
            session,
            author.domain,
            (
                status.spoiler_text,
                status.content,
                *(t for v in variants for t in (v.spoiler_text, v.content)),
            ),
        ),
        poll=await poll_of_status(session, status.id),
        quote=await quote_of(session, status.id),
        variants=variants,
    )


def _media_url(media: MediaAttachment, urls: LocalUrls) -> str | None:
    if media.remote_url:
        return media.remote_url
    if media.file_path:
        return media_file_url(urls.base_url, media.file_path)
    return None


def _attachment(media: MediaAttachment, urls: LocalUrls) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.content_type or "application/octet-stream",
        "url": _media_url(media, urls),
        "name": media.description or None,
    }
    if media.blurhash:
        document["blurhash"] = media.blurhash
    original = (media.meta or {}).get("original") or {}
    for key in ("width", "height"):
        if isinstance(original.get(key), int):
            document[key] = original[key]
    return document


def status_to_note(
    parts: NoteParts, urls: LocalUrls, local_domain: str, *, with_context: bool = True
) -> dict[str, Any]:
    """A local status as an AS2 `Note`."""
    status, author = parts.status, parts.author
    to, cc = visibility_addressing(status.visibility, author.followers_url, [m.uri for m in parts.mentions])
    replies_url = urls.status_replies(author.username, status.id)
    note: dict[str, Any] = {"@context": OBJECT_CONTEXT} if with_context else {}
    note.update(
        {
            "id": status.uri,
            "type": "Note",
            "summary": status.spoiler_text or None,
            "inReplyTo": parts.in_reply_to_uri,
            "published": iso_datetime(status.created_at),
            "url": status.url,
            "attributedTo": author.uri,
            "to": to,
            "cc": cc,
            "sensitive": status.sensitive,
            "content": status.content,
            "attachment": [_attachment(media, urls) for media in parts.media],
            "tag": [
                *(
                    {"type": "Mention", "href": account.uri, "name": acct_handle(account, local_domain)}
                    for account in parts.mentions
                ),
                *(
                    {"type": "Hashtag", "href": urls.tag_page(name), "name": f"#{name}"}
                    for name in parts.tags
                ),
                *(emoji_tag(facts_of(emoji, urls)) for emoji in parts.emojis),
            ],
            "replies": {"id": replies_url, "type": "OrderedCollection", "first": f"{replies_url}?page=true"},
        }
    )
    if status.conversation_uri:
        note["conversation"] = status.conversation_uri
    if status.language:
        note.update(language_maps(status, parts.variants))
    if status.edited_at is not None:
        note["updated"] = iso_datetime(status.edited_at)
    if parts.poll is not None:
        note.update(poll_to_question(parts.poll))
    note["interactionPolicy"] = interaction_policy(effective_policy(status), author.uri, author.followers_url)
    if groups := [account.uri for account in parts.mentions if is_group(account)]:
        note["audience"] = groups[0]  # FEP-1b12: the group the post belongs to (the first one mentioned)
    if parts.quote is not None:  # the stamp only while approved: a revoked one is gone
        shown = parts.quote.approval_uri if parts.quote.state == "accepted" else None
        note.update(quote_properties(parts.quote.quoted_uri, shown))
    return note


def language_maps(status: Status, variants: list[Variant]) -> dict[str, Any]:
    """`contentMap` with every language of the status, the primary first (it is also `content`), and
    `summaryMap` when any language has a content warning."""
    assert status.language is not None
    maps: dict[str, Any] = {
        "contentMap": {status.language: status.content, **{v.language: v.content for v in variants}}
    }
    if status.spoiler_text or any(v.spoiler_text for v in variants):
        warnings = [(status.language, status.spoiler_text), *((v.language, v.spoiler_text) for v in variants)]
        maps["summaryMap"] = {language: text for language, text in warnings if text}
    return maps


def poll_to_question(poll: Poll) -> dict[str, Any]:
    """What a poll adds to its status's object, as Mastodon renders a `Question`: the options under
    `oneOf` (single choice) or `anyOf`, each a `Note` whose `replies.totalItems` counts its votes (hidden
    totals stay hidden until the end), `endTime`, `closed` once ended, and `votersCount`."""
    shown = not poll.hide_totals or is_expired(poll)
    tallies = list(poll.tallies) + [0] * (len(poll.options) - len(poll.tallies))
    options = [
        {
            "type": "Note",
            "name": title,
            "replies": {"type": "Collection", "totalItems": count if shown else 0},
        }
        for title, count in zip(poll.options, tallies, strict=False)
    ]
    question: dict[str, Any] = {"type": "Question", "anyOf" if poll.multiple else "oneOf": options}
    if poll.expires_at is not None:
        question["endTime"] = iso_datetime(poll.expires_at)
        if is_expired(poll):
            question["closed"] = iso_datetime(poll.expires_at)
    if poll.voters_count is not None:
        question["votersCount"] = poll.voters_count
    return question


def note_activity(
    activity_type: str, activity_uri: str, note: dict[str, Any], *, published: Any = None
) -> dict[str, Any]:
    """`Create` or `Update` wrapping a Note, addressed as the Note is."""
    embedded = {key: value for key, value in note.items() if key != "@context"}
    return build_activity(
        activity_type,
        activity_uri,
        note["attributedTo"],
        embedded,
        to=note["to"],
        cc=note["cc"],
        published=published,
    )


def delete_activity(
    activity_uri: str, status: Status, note_to: list[str], note_cc: list[str], actor_uri: str
) -> dict[str, Any]:
    """`Delete` of a status, its object a Tombstone, addressed as the status was."""
    return build_activity(
        "Delete",
        activity_uri,
        actor_uri,
        build_tombstone(status.uri, deleted=status.deleted_at),
        to=note_to,
        cc=note_cc,
    )


def boost_to_announce(
    boost: Status, original: Status, booster: Account, original_author: Account, activity_uri: str
) -> dict[str, Any]:
    """A boost as `Announce` of the original status's URI."""
    if boost.visibility == "public":
        to, cc = [PUBLIC], [original_author.uri, booster.followers_url or ""]
    else:
        to, cc = [booster.followers_url or ""], [original_author.uri, PUBLIC]
    return build_activity(
        "Announce",
        activity_uri,
        booster.uri,
        original.uri,
        to=to,
        cc=[a for a in cc if a],
        published=boost.created_at,
    )


class Tombstone:
    """What a deleted local object answers with: `410 Gone` and a Tombstone document."""

    status_code = 410

    @staticmethod
    def document(object_id: str, deleted: Any = None) -> dict[str, Any]:
        """The Tombstone document (with `@context`, as a top-level response)."""
        return build_tombstone(object_id, deleted=deleted, embedded=False)
