"""ActivityStreams vocabulary: content types, JSON-LD contexts and the Public collection.

The `@context` we publish is the one Mastodon understands (AS2 + security v1 + the Mastodon/toot and
schema.org extensions we use); readers never depend on JSON-LD expansion, only on the compact AS2 terms.
"""

from __future__ import annotations

from typing import Any

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
MULTIKEY_CONTEXT = "https://w3id.org/security/multikey/v1"

ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"

# Every spelling of the Public collection seen in the wild (the full IRI and the two compacted forms).
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_ALIASES = frozenset({PUBLIC, "as:Public", "Public"})

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
STATUS_OBJECT_TYPES = frozenset({"Note", "Article", "Page", "Question"})
# Long-form objects: their `name` is a title and their `url` the page to read (Mastodon's "converted" types).
TITLED_OBJECT_TYPES = frozenset({"Article", "Page"})

EXTENSION_CONTEXT: dict[str, Any] = {
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "movedTo": {"@id": "as:movedTo", "@type": "@id"},
    "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
    "toot": "http://joinmastodon.org/ns#",
    "featured": {"@id": "toot:featured", "@type": "@id"},
    "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
    "discoverable": "toot:discoverable",
    "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
    "indexable": "toot:indexable",
    "suspended": "toot:suspended",
    "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "Emoji": "toot:Emoji",
    # Quote posts (FEP-044f) with the older forms Mastodon still writes, and GoToSocial's interaction policies
    "quote": {"@id": "https://w3id.org/fep/044f#quote", "@type": "@id"},
    "quoteUri": "http://fedibird.com/ns#quoteUri",
    "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
    "quoteAuthorization": {"@id": "https://w3id.org/fep/044f#quoteAuthorization", "@type": "@id"},
    "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
    "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
    "gts": "https://gotosocial.org/ns#",
    "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
    "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
    "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
    "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
    "schema": "http://schema.org#",
    "PropertyValue": "schema:PropertyValue",
    "value": "schema:value",
    # The verified-agency mark (docs/FEDERATION.md): Plein's own term, its value a schema.org
    # GovernmentOrganization with the register identifier and the official website (`url`, as AS2's).
    "plein": "https://w3id.org/plein/ns#",
    "governmentOrganization": "plein:governmentOrganization",
    "GovernmentOrganization": "schema:GovernmentOrganization",
    "identifier": "schema:identifier",
    # Groups (FEP-1b12) as Lemmy names their extra terms
    "lemmy": "https://join-lemmy.org/ns#",
    "moderators": {"@id": "lemmy:moderators", "@type": "@id"},
    "postingRestrictedToMods": "lemmy:postingRestrictedToMods",
    # FEP-521a keys in `assertionMethod` (the DID context defines the term; we name it without importing that)
    "assertionMethod": {
        "@id": "https://w3id.org/security#assertionMethod",
        "@type": "@id",
        "@container": "@set",
    },
}

OBJECT_CONTEXT: list[Any] = [AS2_CONTEXT, SECURITY_CONTEXT, MULTIKEY_CONTEXT, EXTENSION_CONTEXT]


def is_public(address: str) -> bool:
    """True for any spelling of the Public collection."""
    return address in PUBLIC_ALIASES


def is_activity_json(content_type: str) -> bool:
    """True for `application/activity+json` and `application/ld+json` (with or without the AS profile)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type in ("application/activity+json", "application/ld+json")


def wants_activity_json(accept: str) -> bool:
    """True when an Accept header asks for ActivityStreams rather than HTML."""
    accept = accept.lower()
    return "application/activity+json" in accept or "application/ld+json" in accept
