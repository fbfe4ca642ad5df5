"""Mastodon's streams: who is listening, which channel they ask for, and what each channel carries.

Read from Mastodon's streaming server (`streaming/index.js`):
- every stream needs a user token — from `Authorization: Bearer`, else the `access_token` query parameter,
  else (WebSocket) `Sec-WebSocket-Protocol` — 401 "Missing access token" / "Invalid access token";
- the public and hashtag channels need no scope; `user:notification` needs `read:notifications`, every other
  channel `read:statuses` (both covered by `read`), else 401 "Access token does not have the required
  scopes"; the `user` channel carries notifications only with `read:notifications`;
- `hashtag` and `hashtag:local` need `tag` (400 "Missing tag name parameter"); `list` needs `list`
  (400 "Missing list name parameter") naming one of the caller's lists (401 "Not authorized to stream this
  list"); any other name is 400 "Unknown stream type";
- a WebSocket message's `stream` array is `[name]`, `["list", id]` or `["hashtag" | "hashtag:local", tag]`
  with the tag as the client spelled it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from apub.hashtags import normalize_hashtag
from apub.languages import accepted_language_tags
from clientapi.auth import scope_granted
from clientapi.errors import ApiError, Forbidden, Unauthorized
from moderation import ANNOUNCEMENTS_TOPIC
from storage.context import Context
from storage.ids import parse_id
from storage.lists import owned_list
from storage.oauth import token_owner
from storage.stream_events import PUBLIC_TOPIC
from storage.timelines import PublicFacts

PUBLIC_CHANNELS = frozenset(
    {
        "public",
        "public:media",
        "public:local",
        "public:local:media",
        "public:remote",
        "public:remote:media",
        "hashtag",
        "hashtag:local",
    }
)
PRIVATE_CHANNELS = frozenset({"user", "user:notification", "list", "direct"})


@dataclass(frozen=True)
class Viewer:
    """The account a stream is opened for, and the token it was opened with."""

    account_id: int
    token_id: int
    scopes: frozenset[str]
    # The streaming request's Accept-Language: what a multilingual status is shown in after the account's
    # own settings (docs/MULTILINGUAL.md).
    accepted_languages: tuple[str, ...] = ()

    def may(self, scope: str) -> bool:
        return scope_granted(self.scopes, scope)


@dataclass(frozen=True)
class Channel:
    """One subscription: Mastodon's channel `name`, its `label` on WebSocket messages, the bus `topics` that
    feed it and, for hashtags, the stored tag name."""

    name: str
    label: tuple[str, ...]
    topics: tuple[str, ...]
    tag: str | None = None
    notifications: bool = False  # carries `notification` events

    @property
    def is_public(self) -> bool:
        return self.name in PUBLIC_CHANNELS

    @property
    def carries_statuses(self) -> bool:
        return self.name not in ("user:notification", "direct")  # `direct` carries conversations only

    def carries(self, facts: PublicFacts) -> bool:
        """Whether a public status with `facts` belongs on this public or hashtag channel."""
        parts = self.name.split(":")
        if ("local" in parts and not facts.local) or ("remote" in parts and facts.local):
            return False
        if "media" in parts and not facts.media:
            return False
        return self.tag is None or self.tag in facts.tags


def token_of(connection: HTTPConnection) -> str | None:
    """The access token of a streaming request, where Mastodon looks for it."""
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if token := connection.query_params.get("access_token"):
        return token
    protocol = connection.headers.get("sec-websocket-protocol", "").strip()
    return protocol or None


async def authenticate(ctx: Context, connection: HTTPConnection) -> Viewer:
    """The viewer of a streaming request; Unauthorized without a live user token, Forbidden when its account
    is suspended."""
    token = token_of(connection)
    if token is None:
        raise Unauthorized("Missing access token")
    async with ctx.db.read() as session:
        owner = await token_owner(session, token)
    if owner is None or owner.account is None:
        raise Unauthorized("Invalid access token")
    if owner.account.suspended_at is not None:
        raise Forbidden("Your login is currently disabled")
    return Viewer(
        owner.account.id,
        owner.token.id,
        frozenset(owner.token.scopes.split()),
        tuple(accepted_language_tags(connection.headers.get("accept-language"))),
    )


def _required_scope(name: str) -> str | None:
    if name in PUBLIC_CHANNELS:
        return None
    return "read:notifications" if name == "user:notification" else "read:statuses"


async def resolve_channel(ctx: Context, viewer: Viewer, name: str, params: Mapping[str, str]) -> Channel:
    """The channel `name` with its parameters (`tag`, `list`), checked against the viewer; ApiError as
    Mastodon answers (400 unknown stream or missing parameter, 401 scope or a list not the caller's)."""
    if name not in PUBLIC_CHANNELS and name not in PRIVATE_CHANNELS:
        raise ApiError(400, "Unknown stream type")
    scope = _required_scope(name)
    if scope is not None and not viewer.may(scope):
        raise Unauthorized("Access token does not have the required scopes")
    if name in ("user", "user:notification"):
        notifications = viewer.may("read:notifications")
        # The user channel also carries the instance's announcements, as Mastodon's.
        topics = (f"user:{viewer.account_id}", *((ANNOUNCEMENTS_TOPIC,) if name == "user" else ()))
        return Channel(name, (name,), topics, notifications=notifications)
    if name == "list":
        return await _list_channel(ctx, viewer, params.get("list"))
    if name == "direct":
        return Channel(name, (name,), (f"direct:{viewer.account_id}",))
    if name.startswith("hashtag"):
        tag = params.get("tag")
        if not tag:
            raise ApiError(400, "Missing tag name parameter")
        stored = normalize_hashtag(tag) or tag.lstrip("#").lower()  # an impossible tag simply never matches
        return Channel(name, (name, tag), (PUBLIC_TOPIC,), tag=stored)
    return Channel(name, (name,), (PUBLIC_TOPIC,))


async def _list_channel(ctx: Context, viewer: Viewer, list_param: str | None) -> Channel:
    if not list_param:
        raise ApiError(400, "Missing list name parameter")
    list_id = parse_id(list_param)
    async with ctx.db.read() as session:
        if list_id is None or await owned_list(session, viewer.account_id, list_id) is None:
            raise Unauthorized("Not authorized to stream this list")
    return Channel("list", ("list", list_param), (f"list:{list_id}",))


def channel_from_path(path: str, only_media: bool) -> str:
    """Mastodon's channel name of an SSE path: `/api/v1/streaming/public/local` → `public:local`; with
    `only_media` the public ones become their `:media` variants."""
    tail = path.removeprefix("/api/v1/streaming").strip("/")
    name = tail.replace("/", ":") if tail else "user"
    return f"{name}:media" if only_media and name.startswith("public") else name
