"""The URL layout of local objects: the one place that knows where an actor, status or activity lives."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from apub.errors import InvalidHost
from apub.hosts import canonical_host, host_of, same_origin
from storage.ids import parse_id

_STATUS_PAGE = re.compile(r"/@(?P<username>[^/@]+)/(?P<id>[^/]+)/?")
_STATUS_OBJECT = re.compile(r"/users/(?P<username>[^/]+)/statuses/(?P<id>[^/]+)/?")


@dataclass(frozen=True)
class LocalUrls:
    """Builds and recognises the URLs of this instance's objects."""

    base_url: str  # "https://example.gov" (no trailing slash)

    def actor(self, username: str) -> str:
        return f"{self.base_url}/users/{username}"

    def instance_actor(self) -> str:
        return f"{self.base_url}/actor"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def shared_inbox(self) -> str:
        return f"{self.base_url}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def featured(self, username: str) -> str:
        return f"{self.actor(username)}/collections/featured"

    def featured_tags(self, username: str) -> str:
        return f"{self.actor(username)}/collections/tags"

    def group_moderators(self, username: str) -> str:
        """A local group's moderators collection (FEP-1b12's `attributedTo`)."""
        return f"{self.actor(username)}/moderators"

    def rsa_key_id(self, actor_uri: str) -> str:
        return f"{actor_uri}#main-key"

    def ed25519_key_id(self, actor_uri: str) -> str:
        return f"{actor_uri}#ed25519-key"

    def profile_page(self, username: str) -> str:
        return f"{self.base_url}/@{username}"

    def status(self, username: str, status_id: int) -> str:
        return f"{self.actor(username)}/statuses/{status_id}"

    def status_page(self, username: str, status_id: int) -> str:
        return f"{self.profile_page(username)}/{status_id}"

    def status_replies(self, username: str, status_id: int) -> str:
        return f"{self.status(username, status_id)}/replies"

    def quote_authorization(self, username: str, quote_id: int) -> str:
        """The approval stamp (`QuoteAuthorization`) of a quote of one of `username`'s statuses."""
        return f"{self.actor(username)}/quote_authorizations/{quote_id}"

    def activity(self, activity_id: int) -> str:
        return f"{self.base_url}/activities/{activity_id}"

    def emoji(self, emoji_id: int) -> str:
        """A local custom emoji's ActivityPub id (Mastodon's `/emojis/:id`)."""
        return f"{self.base_url}/emojis/{emoji_id}"

    def tag_page(self, name: str) -> str:
        # Percent-encoded: a hashtag may be any letters (`café`, `पढ़ाई`) and the URL must stay a URI.
        return f"{self.base_url}/tags/{quote(name, safe='')}"

    def account_tag_page(self, username: str, name: str) -> str:
        """The page of one account's public posts carrying a hashtag (a featured tag's `url`)."""
        return f"{self.profile_page(username)}/tagged/{quote(name, safe='')}"

    def is_local_host(self, host: str) -> bool:
        """True when `host` (any spelling: `Example.org.`, `example.org:443`) is this instance's host."""
        try:
            return canonical_host(host) == host_of(self.base_url)
        except InvalidHost:
            return False

    def status_in_url(self, url: str) -> tuple[str, int] | None:
        """(username, status id) of a local status's page or object URL (`/@name/id`, `/users/name/statuses/id`),
        else None."""
        if not self.is_local(url):
            return None
        path = urlsplit(url).path
        match = _STATUS_PAGE.fullmatch(path) or _STATUS_OBJECT.fullmatch(path)
        if match is None:
            return None
        status_id = parse_id(match.group("id"))
        return (match.group("username"), status_id) if status_id is not None else None

    def is_local(self, url: str) -> bool:
        """True when `url` is on this instance (same scheme and authority)."""
        base = self.base_url
        if url.startswith(base) and url[len(base) : len(base) + 1] in ("/", "?", "#", ""):
            return True  # the common spelling, without parsing (the inbox asks this for every delivery)
        return same_origin(url, base)  # any other spelling of our own origin is ours too
