"""Converters from remote ActivityStreams documents to the values we store (`actor_to_account`,
`note_to_status`). Pure functions: no database, no HTTP. Remote JSON is read tolerantly: a field may be a
string, an object with an `id`/`href`, or a list of either; anything malformed is skipped, not trusted.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from apub.builders import parse_datetime
from apub.emojis import emoji_facts, is_shortcode
from apub.errors import InvalidHost
from apub.hashtags import normalize_hashtag
from apub.hosts import canonical_host, delivery_inbox, host_name, host_of, origin_of
from apub.html import html_to_text, sanitize_html
from apub.quotes import authorization_uri_of, quote_policy_of, quoted_uri_of
from apub.vocab import ACTOR_TYPES, PUBLIC_ALIASES, TITLED_OBJECT_TYPES
from storage.status_variants import Variant
from webfinger.note_languages import primary_of, received_variants

MAX_TAGS = 64
MAX_ATTACHMENTS = 16
MAX_POLL_OPTIONS = 20


def as_list(value: Any) -> list[Any]:
    """A JSON value as a list (None → [], scalar → [scalar])."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def id_of(value: Any) -> str | None:
    """The id of a reference that is either a string or an embedded object with an `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        reference = value.get("id")
        return reference if isinstance(reference, str) else None
    return None


def _string(value: Any, limit: int = 2048) -> str | None:
    return value[:limit] if isinstance(value, str) else None


def _link_href(value: Any) -> str | None:
    """An http(s) URL out of `url`-like fields: a string, a Link object, or a list (first text/html)."""
    for candidate in as_list(value):
        if isinstance(candidate, dict):
            if candidate.get("mediaType") not in (None, "text/html"):
                continue
            candidate = candidate.get("href")
        if isinstance(candidate, str) and origin_of(candidate):
            return candidate[:2048]
    return None


def _image_url(value: Any) -> str | None:
    for candidate in as_list(value):
        if isinstance(candidate, dict):
            url = _link_href(candidate.get("url"))
            if url:
                return url
        elif isinstance(candidate, str) and origin_of(candidate):
            return candidate
    return None


def _emojis(tags: Any) -> list[dict[str, Any]]:
    """The custom emojis announced by `Emoji` tags (`apub.emojis.emoji_facts`): a valid shortcode and an
    http(s) image each, else skipped. Their images are linked, never fetched."""
    emojis: dict[str, dict[str, Any]] = {}
    for tag in as_list(tags)[:MAX_TAGS]:
        if not isinstance(tag, dict) or tag.get("type") != "Emoji" or not isinstance(tag.get("name"), str):
            continue
        shortcode = tag["name"].strip().strip(":")
        url = _image_url(tag.get("icon"))
        if not is_shortcode(shortcode) or url is None or len(url) > 2048:
            continue
        icon = next((item for item in as_list(tag.get("icon")) if isinstance(item, dict)), {})
        emojis[shortcode] = emoji_facts(
            shortcode=shortcode,
            url=url,
            static_url=url,
            uri=_string(tag.get("id")),
            updated=_string(tag.get("updated"), 64),
            media_type=_string(icon.get("mediaType"), 64),
        )
    return list(emojis.values())


@dataclass(frozen=True)
class Reaction:
    """An emoji reaction: a Unicode emoji, or `:shortcode:` of a custom emoji its activity's tags announce."""

    text: str
    emojis: list[dict[str, Any]]  # `apub.emojis.emoji_facts` of the custom emoji, if it is one


def reaction_of(activity: dict[str, Any]) -> Reaction | None:
    """The emoji of an `EmojiReact` (Pleroma, Akkoma, Misskey) or of a `Like` carrying one in `content` or
    `_misskey_reaction` (Misskey); None when there is none, or it is neither a Unicode emoji nor a custom
    emoji announced by an `Emoji` tag of the activity."""
    for name in ("content", "_misskey_reaction"):
        candidate = activity.get(name)
        if not isinstance(candidate, str) or not candidate.strip() or len(candidate) > 64:
            continue
        text = candidate.strip()
        shortcode = text.strip(":")
        if text.startswith(":") and text.endswith(":") and is_shortcode(shortcode):
            emojis = [facts for facts in _emojis(activity.get("tag")) if facts["shortcode"] == shortcode]
            if emojis:
                return Reaction(f":{shortcode}:", emojis)
            continue
        # Imported on the first reaction: the Unicode emoji table costs memory an idle server need not hold.
        import emoji

        if emoji.is_emoji(text):
            return Reaction(text, [])
    return None


def actor_to_account(document: dict[str, Any]) -> dict[str, Any]:
    """Column values of a remote `accounts` row from an actor document; ValueError when it is no actor."""
    uri = document.get("id")
    if not isinstance(uri, str) or origin_of(uri) is None:
        raise ValueError("actor has no http(s) id")
    if document.get("type") not in ACTOR_TYPES:
        raise ValueError(f"{uri} is a {document.get('type')!r}, not an actor")
    username = _string(document.get("preferredUsername"), 255) or uri.rstrip("/").rsplit("/", 1)[-1][:255]
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    inbox = delivery_inbox(uri, _string(document.get("inbox")), None, personal=True)
    if inbox is None:
        raise ValueError(f"{uri} has no inbox on its own host")
    shared_inbox = delivery_inbox(uri, None, _string(endpoints.get("sharedInbox")))
    key = next((entry for entry in as_list(document.get("publicKey")) if isinstance(entry, dict)), {})
    fields = [
        {
            "name": html_to_text(str(item.get("name", "")))[:255],
            "value": sanitize_html(str(item.get("value", ""))),
        }
        for item in as_list(document.get("attachment"))[:16]
        if isinstance(item, dict) and item.get("type") == "PropertyValue"
    ]
    return {
        "uri": uri,
        "username": username,
        "domain": host_of(uri),
        "url": _link_href(document.get("url")) or uri,
        "actor_type": document["type"],
        "display_name": html_to_text(_string(document.get("name"), 2000) or "")[:255],
        "note": sanitize_html(_string(document.get("summary"), 20_000) or ""),
        "fields": fields,
        "avatar_url": _image_url(document.get("icon")),
        "header_url": _image_url(document.get("image")),
        "inbox_url": inbox,
        "shared_inbox_url": shared_inbox,
        "outbox_url": _string(document.get("outbox")),
        "followers_url": _string(document.get("followers")),
        "following_url": _string(document.get("following")),
        "featured_url": _string(document.get("featured")),
        "public_key_id": _string(key.get("id")),
        "public_key_pem": _string(key.get("publicKeyPem"), 20_000),
        "locked": document.get("manuallyApprovesFollowers") is True,
        "discoverable": document.get("discoverable") is True,
        "indexable": document.get("indexable") is True,
        "bot": document["type"] in ("Service", "Application"),
        "also_known_as": [alias for alias in as_list(document.get("alsoKnownAs")) if isinstance(alias, str)][
            :16
        ],
        "emojis": _emojis(document.get("tag")),
        "attribution_domains": _attribution_domains(document.get("attributionDomains")),
    }


def _attribution_domains(value: Any) -> list[str]:
    """An actor's `attributionDomains` (Mastodon 4.4): the host names its pages may credit it from, as
    canonical hosts without ports; at most 250, anything else dropped."""
    domains: list[str] = []
    for item in as_list(value)[:250]:
        if not isinstance(item, str) or not item.strip():
            continue
        try:
            host = host_name(canonical_host(item.strip()))
        except InvalidHost:
            continue
        if host not in domains:
            domains.append(host)
    return domains


@dataclass
class RemoteNote:
    """What we keep of a remote Note/Article/Page/Question, before it is linked to stored rows."""

    uri: str
    author_uri: str
    object_type: str
    url: str | None
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    visibility: str
    published: datetime | None
    in_reply_to_uri: str | None
    conversation_uri: str | None
    addressed: set[str] = field(default_factory=set)  # every to/cc/audience address
    mention_uris: list[str] = field(default_factory=list)
    hashtags: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)
    poll: dict[str, Any] | None = None
    emojis: list[dict[str, Any]] = field(default_factory=list)  # `apub.emojis.emoji_facts` of its Emoji tags
    title: str | None = None  # an Article's or Page's `name`
    quoted_uri: str | None = None  # the object it quotes (FEP-044f `quote` or an older form)
    quote_authorization_uri: str | None = None  # the quoted author's approval stamp
    quote_policy: str | None = None  # who may quote it (`interactionPolicy.canQuote`), None: not said
    variants: list[Variant] = field(default_factory=list)  # its other languages (`contentMap`)
    comments_closed: bool = False  # Lemmy's `commentsEnabled: false`: a locked thread


def addressing(document: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The `to` and `cc` addresses of an object or activity (strings or embedded references)."""
    to = [ref for item in as_list(document.get("to")) if (ref := id_of(item))]
    cc = [
        ref
        for item in as_list(document.get("cc")) + as_list(document.get("audience"))
        if (ref := id_of(item))
    ]
    return to, cc


def visibility_of(to: list[str], cc: list[str], followers_url: str | None) -> str:
    """Mastodon's reading of addressing: Public in `to` → public, in `cc` → unlisted, followers → private."""
    if any(address in PUBLIC_ALIASES for address in to):
        return "public"
    if any(address in PUBLIC_ALIASES for address in cc):
        return "unlisted"
    addresses = to + cc
    if followers_url and followers_url in addresses:
        return "private"
    if not followers_url and any(address.rstrip("/").endswith("/followers") for address in addresses):
        return "private"
    return "direct"


def _content(document: dict[str, Any]) -> tuple[str, str | None]:
    content = document.get("content")
    language, mapped = primary_of(content, document.get("contentMap"))
    if not isinstance(content, str) and isinstance(mapped, str):
        content = mapped
    text = content if isinstance(content, str) else ""
    if document.get("mediaType") == "text/markdown" and isinstance(document.get("source"), dict):
        text = text or str(document["source"].get("content", ""))
    language = language[:16] if isinstance(language, str) and language.isascii() else None
    return text, language


def _mapped(document: dict[str, Any], name: str) -> str | None:
    """A natural-language property: the plain value, else the first of its language map (`nameMap`)."""
    value = document.get(name)
    if isinstance(value, str) and value.strip():
        return value
    mapped = document.get(f"{name}Map")
    if isinstance(mapped, dict):
        return next((text for text in mapped.values() if isinstance(text, str) and text.strip()), None)
    return None


def titled_content(title: str | None, summary: str | None, content: str, url: str) -> str:
    """The status text of an Article or Page, laid out as Mastodon shows one: the title as its first
    paragraph (in bold), the summary, then — which Mastodon leaves out — the body, and a link to the page
    to read it at. Sanitised like any remote HTML; the title and summary count as plain text."""
    parts = []
    if title:
        parts.append(f"<p><strong>{html.escape(title)}</strong></p>")
    if summary:
        parts.append(f"<p>{html.escape(summary)}</p>")
    parts.append(content)
    parts.append(f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>')
    return sanitize_html("".join(parts))


def _attachment(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict) or item.get("type") not in ("Document", "Image", "Video", "Audio", "Link"):
        return None
    url = _link_href(item.get("url") if item.get("type") != "Link" else item.get("href"))
    if url is None:
        return None
    content_type = _string(item.get("mediaType"), 255) or ""
    kind = content_type.split("/", 1)[0]
    media_type = {"image": "image", "video": "video", "audio": "audio"}.get(kind) or {
        "Image": "image",
        "Video": "video",
        "Audio": "audio",
    }.get(str(item.get("type")), "unknown")
    meta: dict[str, Any] = {}
    for name in ("width", "height"):
        if isinstance(item.get(name), int):
            meta[name] = item[name]
    return {
        "remote_url": url,
        "content_type": content_type or None,
        "media_type": media_type,
        "description": html_to_text(_string(item.get("name"), 5000) or "") or None,
        "blurhash": _string(item.get("blurhash"), 255),
        "meta": meta,
    }


def _poll(document: dict[str, Any]) -> dict[str, Any] | None:
    """A `Question`'s poll as `polls` column values: option titles and counts, single or multiple choice,
    end time (`endTime`, else `closed`) and voters."""
    multiple = "anyOf" in document
    options = as_list(document.get("anyOf") if multiple else document.get("oneOf"))
    titles: list[str] = []
    tallies: list[int] = []
    for option in options[:MAX_POLL_OPTIONS]:
        if isinstance(option, dict) and isinstance(option.get("name"), str):
            replies = option.get("replies")
            votes = replies.get("totalItems") if isinstance(replies, dict) else 0
            titles.append(html_to_text(option["name"])[:200])
            tallies.append(votes if isinstance(votes, int) and votes >= 0 else 0)
    if not titles:
        return None
    voters = document.get("votersCount")
    return {
        "options": titles,
        "tallies": tallies,
        "multiple": multiple,
        "expires_at": parse_datetime(document.get("endTime")) or parse_datetime(document.get("closed")),
        "voters_count": voters if isinstance(voters, int) and voters >= 0 else None,
    }


def note_to_status(document: dict[str, Any], *, followers_url: str | None) -> RemoteNote:
    """Read a remote status object; ValueError when it lacks what a status needs (id, author)."""
    uri = document.get("id")
    author_uri = id_of(document.get("attributedTo")) or next(
        (ref for item in as_list(document.get("attributedTo")) if (ref := id_of(item))), None
    )
    if not isinstance(uri, str) or origin_of(uri) is None:
        raise ValueError("object has no http(s) id")
    if author_uri is None:
        raise ValueError(f"{uri} has no attributedTo")
    to, cc = addressing(document)
    content, language = _content(document)
    variants = []
    if document.get("type") not in TITLED_OBJECT_TYPES:  # an Article's text is laid out from one language
        variants = received_variants(
            document, primary_of(document.get("content"), document.get("contentMap"))[0]
        )
    mention_uris: list[str] = []
    hashtags: list[str] = []
    for tag in as_list(document.get("tag"))[:MAX_TAGS]:
        if not isinstance(tag, dict):
            continue
        if tag.get("type") == "Mention" and isinstance(tag.get("href"), str):
            mention_uris.append(tag["href"])
        elif tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            name = normalize_hashtag(tag["name"])  # Mastodon's rule: `<script>` is `script`, `<>` nothing
            if name and name not in hashtags:
                hashtags.append(name)
    attachments = [
        parsed
        for item in as_list(document.get("attachment"))[:MAX_ATTACHMENTS]
        if (parsed := _attachment(item))
    ]
    summary = document.get("summary")
    url = _link_href(document.get("url")) or uri
    title = None
    if document.get("type") in TITLED_OBJECT_TYPES:
        # As Mastodon: an Article's summary is its abstract, shown with the text, not a content warning.
        title = html_to_text(_mapped(document, "name") or "")[:1000] or None
        abstract = html_to_text(_mapped(document, "summary") or "")[:5000] or None
        content, summary = titled_content(title, abstract, sanitize_html(content), url), None
    else:
        content = sanitize_html(content)
    return RemoteNote(
        uri=uri,
        author_uri=author_uri,
        object_type=str(document.get("type"))[:32],
        url=url,
        content=content,
        spoiler_text=html_to_text(summary)[:1000] if isinstance(summary, str) else "",
        sensitive=document.get("sensitive") is True or bool(isinstance(summary, str) and summary),
        language=language,
        visibility=visibility_of(to, cc, followers_url),
        published=parse_datetime(document.get("published")),
        in_reply_to_uri=id_of(document.get("inReplyTo")),
        conversation_uri=_string(document.get("conversation")) or _string(document.get("context")),
        addressed=set(to + cc),
        mention_uris=mention_uris,
        hashtags=hashtags,
        attachments=attachments,
        poll=_poll(document) if document.get("type") == "Question" else None,
        emojis=_emojis(document.get("tag")),
        title=title,
        quoted_uri=quoted_uri_of(document),
        quote_authorization_uri=authorization_uri_of(document),
        quote_policy=quote_policy_of(document, followers_url),
        variants=variants,
        comments_closed=document.get("commentsEnabled") is False,
    )
