"""Quote posts as Mastodon 4.5 federates them (FEP-044f): reading the quote of a received object and its
policy, and building our `interactionPolicy`, `QuoteRequest` and `QuoteAuthorization` documents.

Pure functions of JSON: no database, no HTTP. A quote is read from `quote` (FEP-044f) first, then the
older `quoteUri` (Fedibird), `quoteUrl` (Misskey's AS term) and `_misskey_quote`; the first http(s) URL wins.
"""

from __future__ import annotations

from typing import Any

from apub.hosts import origin_of
from apub.vocab import OBJECT_CONTEXT, PUBLIC_ALIASES

QUOTE_POLICIES = ("public", "followers", "nobody")
QUOTE_PROPERTIES = ("quote", "quoteUri", "quoteUrl", "_misskey_quote")


def _reference(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    return value if isinstance(value, str) and origin_of(value) is not None else None


def _references(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    return [reference for item in values if (reference := _reference(item))]


def quoted_uri_of(document: dict[str, Any]) -> str | None:
    """The id of the object `document` quotes, in any of the forms in use; None when it quotes nothing."""
    for name in QUOTE_PROPERTIES:
        reference = _reference(document.get(name))
        if reference is not None:
            return reference[:2048]
    return None


def authorization_uri_of(document: dict[str, Any]) -> str | None:
    """The `quoteAuthorization` stamp a quote post carries, if any."""
    return _reference(document.get("quoteAuthorization"))


def quote_policy_of(document: dict[str, Any], followers_url: str | None) -> str | None:
    """Who may quote a received object, read as Mastodon reads `interactionPolicy.canQuote`: anyone listed
    for automatic or manual approval counts; Public → public, the author's followers → followers, anything
    else → nobody. None when the object publishes no policy."""
    policy = document.get("interactionPolicy")
    if not isinstance(policy, dict) or not isinstance(policy.get("canQuote"), dict):
        return None
    rule = policy["canQuote"]
    allowed = set(_references(rule.get("automaticApproval")) + _references(rule.get("manualApproval")))
    allowed |= {
        item
        for name in ("automaticApproval", "manualApproval")
        for item in (rule.get(name) if isinstance(rule.get(name), list) else [rule.get(name)])
        if item in PUBLIC_ALIASES
    }
    if allowed & PUBLIC_ALIASES:
        return "public"
    if followers_url and followers_url in allowed:
        return "followers"
    return "nobody"


def interaction_policy(policy: str, author_uri: str, followers_url: str | None) -> dict[str, Any]:
    """Our Note's `interactionPolicy`: who may quote it with automatic approval (the author always may).
    Plein approves automatically or not at all, so `manualApproval` is always empty."""
    approved = [author_uri]
    if policy == "public":
        approved = ["https://www.w3.org/ns/activitystreams#Public"]
    elif policy == "followers" and followers_url:
        approved = [followers_url, author_uri]
    return {"canQuote": {"automaticApproval": approved, "manualApproval": []}}


def quote_properties(quoted_uri: str, authorization_uri: str | None) -> dict[str, Any]:
    """What a quote post adds to its Note: `quote` and the two older forms Mastodon also writes, and the
    approval stamp once there is one."""
    properties: dict[str, Any] = {"quote": quoted_uri, "quoteUri": quoted_uri, "_misskey_quote": quoted_uri}
    if authorization_uri is not None:
        properties["quoteAuthorization"] = authorization_uri
    return properties


def quote_request(
    request_uri: str, actor_uri: str, quoted_uri: str, instrument: dict[str, Any] | str, to: str
) -> dict[str, Any]:
    """`QuoteRequest`: `actor` asks the author (`to`) of `quoted_uri` to approve the quote post `instrument`."""
    return {
        "@context": OBJECT_CONTEXT,
        "id": request_uri,
        "type": "QuoteRequest",
        "actor": actor_uri,
        "object": quoted_uri,
        "instrument": instrument,
        "to": [to],
    }


def quote_authorization(
    authorization_uri: str, author_uri: str, quote_uri: str, quoted_uri: str
) -> dict[str, Any]:
    """The approval stamp: `author_uri` lets `quote_uri` (interactingObject) quote `quoted_uri`."""
    return {
        "@context": OBJECT_CONTEXT,
        "id": authorization_uri,
        "type": "QuoteAuthorization",
        "attributedTo": author_uri,
        "interactingObject": quote_uri,
        "interactionTarget": quoted_uri,
    }


def authorization_matches(
    document: dict[str, Any], *, quote_uri: str, quoted_uri: str, quoted_author_uri: str
) -> bool:
    """Whether a fetched `QuoteAuthorization` approves exactly this quote: its type, its author (the quoted
    post's), its origin (the author's) and the two objects it names."""
    return (
        document.get("type") == "QuoteAuthorization"
        and _reference(document.get("attributedTo")) == quoted_author_uri
        and origin_of(str(document.get("id"))) == origin_of(quoted_author_uri)
        and _reference(document.get("interactingObject")) == quote_uri
        and _reference(document.get("interactionTarget")) == quoted_uri
    )
