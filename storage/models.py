"""SQLAlchemy 2 models: the whole schema of an instance.

Accounts are local (domain NULL) or remote; local accounts have a `users` row (login) and a `local_keys`
row (private keys, which never leave the database). Boosts are statuses with `reblog_of_id` set, as in
Mastodon. `home_feed` and `notifications` are fan-out rows written when a status arrives, so reading a
timeline is one indexed range scan. `jobs` is the durable work queue: writing a job in the same transaction
as the rows that caused it is how work gets enqueued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.ids import new_id
from storage.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = BigInteger().with_variant(Integer(), "sqlite")  # SQLite INTEGER is 64-bit already


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def _fk(target: str, *, nullable: bool = False, ondelete: str = "CASCADE") -> Any:
    return mapped_column(ID, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=True)


class Account(Base):
    """A local or remote actor (Person, Service, Application, Group, Organization)."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255), index=True)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    actor_type: Mapped[str] = mapped_column(String(32), default="Person")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(Text, default="")  # HTML (sanitised for remote accounts)
    note_source: Mapped[str] = mapped_column(Text, default="")  # plain text as typed (local only)
    fields: Mapped[list[Any]] = mapped_column(default=list)  # [{"name", "value", "verified_at"}]
    avatar_url: Mapped[str | None] = mapped_column(String(2048))
    header_url: Mapped[str | None] = mapped_column(String(2048))
    # Our stored copy (`storage.media` path) of the avatar / header: a local upload, or a remote account's
    # image fetched and re-encoded by the `profile` queue. Shown instead of the URLs above when set.
    avatar_file: Mapped[str | None] = mapped_column(String(1024))
    header_file: Mapped[str | None] = mapped_column(String(1024))
    inbox_url: Mapped[str | None] = mapped_column(String(2048))
    shared_inbox_url: Mapped[str | None] = mapped_column(String(2048))
    outbox_url: Mapped[str | None] = mapped_column(String(2048))
    followers_url: Mapped[str | None] = mapped_column(String(2048))
    following_url: Mapped[str | None] = mapped_column(String(2048))
    featured_url: Mapped[str | None] = mapped_column(String(2048))
    public_key_id: Mapped[str | None] = mapped_column(String(2048))
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    indexable: Mapped[bool] = mapped_column(Boolean, default=True)
    bot: Mapped[bool] = mapped_column(Boolean, default=False)
    also_known_as: Mapped[list[Any]] = mapped_column(default=list)
    # The custom emojis its name, note and fields use (`apub.emojis.emoji_facts`): rendered with the row,
    # without a query. Remote: from the actor's `Emoji` tags; local: looked up when the profile or an
    # emoji changes (storage.custom_emojis).
    emojis: Mapped[list[Any]] = mapped_column(default=list)
    # Hosts whose pages may credit this account with `fediverse:creator` (Mastodon 4.4's
    # `attributionDomains`): a local account's as set, a remote one's from its actor.
    attribution_domains: Mapped[list[Any]] = mapped_column(default=list)
    moved_to_account_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    followers_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    statuses_count: Mapped[int] = mapped_column(Integer, default=0)
    last_status_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    fetched_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    silenced_at: Mapped[datetime | None]
    # Moderators forced its media sensitive (Mastodon's `sensitized`): its new posts with media are stored
    # sensitive, and the API shows its posts with media as sensitive to everyone but itself.
    sensitized_at: Mapped[datetime | None]
    gone_at: Mapped[datetime | None]  # the remote answered 410 Gone
    # A local account whose owner asked for its deletion: disabled now, deleted for good at this time by a
    # job of the `accounts` queue (`outbox.actions.account_deletion`) unless an admin cancels it first.
    deletion_due_at: Mapped[datetime | None]
    # The verified-agency mark: the organisation's identifier in the government's register (a TOOI URI or
    # a 20-digit OIN) and official website. Set by an admin for a local account; for a remote one, taken
    # from its actor only when its instance is in federation.trusted_government_instances.
    government_id: Mapped[str | None] = mapped_column(String(2048))
    government_website: Mapped[str | None] = mapped_column(String(2048))
    government_verified_at: Mapped[datetime | None]
    # When the official website was found linking back to the profile with rel="me" (a local account's,
    # checked by the `profile` queue's link verification like any profile field).
    government_website_verified_at: Mapped[datetime | None]


# One account per (username, domain), case-insensitively; local accounts have domain NULL.
Index(
    "uq_accounts_username_domain",
    func.lower(Account.username),
    func.coalesce(Account.domain, ""),
    unique=True,
)
Index(
    "ix_accounts_suspended_id",
    Account.id,
    postgresql_where=Account.suspended_at.is_not(None),
    sqlite_where=Account.suspended_at.is_not(None),
)


class User(Base):
    """The login of a local account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str | None] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="user")  # user | moderator | admin
    approved: Mapped[bool] = mapped_column(Boolean, default=True)
    # The language of the web pages and e-mails the user chose ("nl", "en"); "" lets the browser decide.
    locale: Mapped[str] = mapped_column(String(16), default="")
    default_visibility: Mapped[str] = mapped_column(String(16), default="public")
    default_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    default_language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime | None]
    # The optional TOTP second factor of the web login: the shared secret (set while being enrolled, in use
    # once `totp_enabled_at` is set) and the SHA-256 hashes of the unused one-time recovery codes.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    recovery_code_hashes: Mapped[list[Any] | None] = mapped_column(JSON)
    # When the e-mail address was confirmed; NULL while a sign-up waits for its confirmation link (accounts
    # made with the CLI, or when no mail is configured, are confirmed at once).
    confirmed_at: Mapped[datetime | None]
    sign_up_reason: Mapped[str | None] = mapped_column(Text)  # why they asked to join (approval mode)
    # The invite it signed up with (no foreign key: SQLite adds one only by rebuilding the table, and invites
    # are revoked, never deleted).
    invite_id: Mapped[int | None] = mapped_column(ID, index=True)
    # Moderators disabled the login (Mastodon's `disabled`): no session, token or new login works until it
    # is enabled again; the account itself stays visible and federates.
    disabled_at: Mapped[datetime | None]


class LoginSession(Base):
    """One signed-in browser of the web interface: the cookie holds a random token, this row its SHA-256.
    Deleting the row signs that browser out (revocation, logout, password change)."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[int] = mapped_column(ID, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # False between the password and the second factor: such a session may only finish the login.
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=True)
    # Shown in the list of active sessions so a user can tell their browsers apart (no IP address is kept).
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The organisation this browser acts as (None: the login's own account); the membership is checked at
    # every request (login.sessions), so leaving the organisation ends the acting.
    acting_account_id: Mapped[int | None] = mapped_column(ID, nullable=True)


class Invite(Base):
    """An invite link made by staff: good for `max_uses` sign-ups (None: any number) until `expires_at`
    (None: no end). Only the SHA-256 of its code is stored; the link is shown once, when it is made."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_by_account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserToken(Base):
    """A single-use secret mailed to a user (confirm an e-mail address, reset a password): only its SHA-256
    is stored; it works once, before `expires_at`."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    user_id: Mapped[int] = _fk("users.id")
    purpose: Mapped[str] = mapped_column(String(16))  # confirm | reset
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LocalKey(Base):
    """Private keys of a local actor. Only the signer reads this table; nothing serialises it."""

    __tablename__ = "local_keys"

    account_id: Mapped[int] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    rsa_private_pem: Mapped[str] = mapped_column(Text)
    ed25519_private_pem: Mapped[str] = mapped_column(Text)


class RemoteKey(Base):
    """Cache of remote public keys by key id, with the actor that owns them."""

    __tablename__ = "remote_keys"

    key_id: Mapped[str] = mapped_column(String(2048), primary_key=True)
    owner_uri: Mapped[str] = mapped_column(String(2048), index=True)
    key_type: Mapped[str] = mapped_column(String(32))  # rsa | ed25519 | p256
    public_key_pem: Mapped[str] = mapped_column(Text)
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)


class Status(Base):
    """A post, local or remote. A boost is a status whose `reblog_of_id` is set."""

    __tablename__ = "statuses"
    __table_args__ = (
        Index("ix_statuses_account_id_id", "account_id", "id"),
        Index("ix_statuses_local_public", "local", "visibility", "id"),
        # The few deleted statuses (and suspended accounts, below) by id: lists that leave them out
        # (notifications) check against these instead of scanning the table for them.
        Index(
            "ix_statuses_deleted_id",
            "id",
            postgresql_where=text("deleted_at IS NOT NULL"),
            sqlite_where=text("deleted_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    url: Mapped[str | None] = mapped_column(String(2048))
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    object_type: Mapped[str] = mapped_column(String(32), default="Note")
    title: Mapped[str | None] = mapped_column(Text)  # the `name` of a received Article or Page
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="SET NULL"), nullable=True, index=True
    )
    in_reply_to_uri: Mapped[str | None] = mapped_column(String(2048), index=True)
    in_reply_to_account_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True
    )
    reblog_of_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), nullable=True, index=True
    )
    conversation_uri: Mapped[str | None] = mapped_column(String(2048))
    content: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    text: Mapped[str] = mapped_column(Text, default="")  # source text (local statuses)
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    visibility: Mapped[str] = mapped_column(String(16), default="public")  # public|unlisted|private|direct
    language: Mapped[str | None] = mapped_column(String(16))
    application_id: Mapped[int | None] = mapped_column(
        ID, ForeignKey("oauth_apps.id", ondelete="SET NULL"), nullable=True
    )
    replies_count: Mapped[int] = mapped_column(Integer, default=0)
    reblogs_count: Mapped[int] = mapped_column(Integer, default=0)
    favourites_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    # May it trend? None: yes unless a moderator says no (False); statuses need no review first.
    trendable: Mapped[bool | None]
    deleted_at: Mapped[datetime | None]  # tombstone: kept so a replayed Create is ignored
    # When the group the post was shared in locked it (Lemmy's `Lock`): no new replies from here meanwhile.
    locked_at: Mapped[datetime | None]
    # Who may quote it (FEP-044f `canQuote`): public | followers | nobody; None for a remote status that
    # published no policy (nobody, as Mastodon reads it).
    quote_policy: Mapped[str | None] = mapped_column(String(16))


class Quote(Base):
    """A status quoting another (FEP-044f) and the state of its approval: pending | accepted | rejected |
    revoked | deleted. `approval_uri` is the quoted author's `QuoteAuthorization` stamp (ours, for our
    statuses, is served at `/users/:name/quote_authorizations/:id`, `id` being this row's); `request_uri`
    is the `QuoteRequest` that asked for it (sent or received)."""

    __tablename__ = "quotes"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(ID, ForeignKey("statuses.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = _fk("accounts.id")
    quoted_status_id: Mapped[int | None] = _fk("statuses.id", nullable=True, ondelete="SET NULL")
    quoted_uri: Mapped[str] = mapped_column(String(2048), index=True)
    quoted_account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    approval_uri: Mapped[str | None] = mapped_column(String(2048), index=True)
    request_uri: Mapped[str | None] = mapped_column(String(2048), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusEdit(Base):
    """A previous (or the current) revision of a status, for the edit history."""

    __tablename__ = "status_edits"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    status_id: Mapped[int] = _fk("statuses.id")
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    media: Mapped[list[Any]] = mapped_column(default=list)
    # The status's other languages as they were ({language, content, spoiler_text} each;
    # storage/status_variants); None before multilingual posts or for a status in one language.
    variants: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusVariant(Base):
    """One more language of a multilingual status (docs/MULTILINGUAL.md). The primary language stays in the
    status row, so every reader that knows nothing of variants shows the status as before."""

    __tablename__ = "status_variants"

    status_id: Mapped[int] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    language: Mapped[str] = mapped_column(String(16), primary_key=True)  # BCP 47, as received or written
    content: Mapped[str] = mapped_column(Text, default="")  # sanitised HTML
    text: Mapped[str] = mapped_column(Text, default="")  # source text (local statuses)
    spoiler_text: Mapped[str] = mapped_column(Text, default="")


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("status_id", "account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    status_id: Mapped[int] = _fk("statuses.id")
    account_id: Mapped[int] = _fk("accounts.id")


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255), unique=True)  # lower-cased, without '#'
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # May it trend? None until a moderator reviews it: only allowed tags trend (as Mastodon by default).
    trendable: Mapped[bool | None]


class StatusTag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (Index("ix_status_tags_tag_id_status_id", "tag_id", "status_id"),)

    status_id: Mapped[int] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ID, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class TagFollow(Base):
    """A local account following a hashtag: public statuses carrying it join the account's home feed."""

    __tablename__ = "tag_follows"
    __table_args__ = (
        UniqueConstraint("account_id", "tag_id"),
        Index("ix_tag_follows_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    tag_id: Mapped[int] = _fk("tags.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeaturedTag(Base):
    """A hashtag a local account shows on its profile (Mastodon's featured tags), with the spelling it typed."""

    __tablename__ = "featured_tags"
    __table_args__ = (UniqueConstraint("account_id", "tag_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    tag_id: Mapped[int] = _fk("tags.id")
    display_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaAttachment(Base):
    __tablename__ = "media_attachments"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    status_id: Mapped[int | None] = _fk("statuses.id", nullable=True, ondelete="SET NULL")
    # Reserved for a scheduled status until it is published (no other status may take it meanwhile). No
    # foreign key: SQLite cannot add one to an existing table without rebuilding it; the scheduled status's
    # publication and cancellation clear it in their own transactions.
    scheduled_status_id: Mapped[int | None] = mapped_column(ID, index=True)
    media_type: Mapped[str] = mapped_column(String(16), default="unknown")  # image|video|gifv|audio|unknown
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    file_path: Mapped[str | None] = mapped_column(String(1024))
    content_type: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    blurhash: Mapped[str | None] = mapped_column(String(255))
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When our copy of a remote attachment's file was fetched (storage.media_cache); NULL while none is kept.
    cached_at: Mapped[datetime | None] = mapped_column(index=True)


class PreviewCard(Base):
    """A link's preview card (`apub.link_details`), shared by every status that links to its URL. Its image
    is our re-encoded copy under `<data_dir>/media/cards/` (`storage.preview_cards`)."""

    __tablename__ = "preview_cards"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2048), unique=True)  # the link as posted
    canonical_url: Mapped[str] = mapped_column(String(2048))  # the page's own URL for itself (same host)
    title: Mapped[str] = mapped_column(Text, default="")
    description: Mapped[str] = mapped_column(Text, default="")
    card_type: Mapped[str] = mapped_column(String(16), default="link")  # link | photo | video
    html: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[int] = mapped_column(Integer, default=0)
    height: Mapped[int] = mapped_column(Integer, default=0)
    author_name: Mapped[str] = mapped_column(Text, default="")
    author_url: Mapped[str] = mapped_column(String(2048), default="")
    provider_name: Mapped[str] = mapped_column(Text, default="")
    provider_url: Mapped[str] = mapped_column(String(2048), default="")
    embed_url: Mapped[str] = mapped_column(String(2048), default="")
    image_remote_url: Mapped[str | None] = mapped_column(String(2048))
    image_file: Mapped[str | None] = mapped_column(String(1024))  # `<id>_<secret>/original.<ext>`
    image_width: Mapped[int] = mapped_column(Integer, default=0)
    image_height: Mapped[int] = mapped_column(Integer, default=0)
    image_description: Mapped[str] = mapped_column(Text, default="")
    blurhash: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None]
    # The account the page credits (`fediverse:creator`), kept only when the page's host is one of that
    # account's attribution domains.
    author_account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    # May it trend? None: not reviewed yet (links wait for a moderator, as in Mastodon by default).
    trendable: Mapped[bool | None]
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StatusCard(Base):
    """The card a status shows (at most one)."""

    __tablename__ = "status_cards"

    status_id: Mapped[int] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )
    card_id: Mapped[int] = _fk("preview_cards.id")


class Poll(Base):
    """The poll of a status (local, or a remote `Question`). `tallies` are the votes per option, kept with
    the votes for local polls and copied from the `Question` for remote ones, as Mastodon's cached tallies."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    status_id: Mapped[int] = mapped_column(ID, ForeignKey("statuses.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = _fk("accounts.id")
    options: Mapped[list[Any]] = mapped_column(default=list)  # option titles, in order
    tallies: Mapped[list[Any]] = mapped_column(default=list)  # votes per option, same order
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    votes_count: Mapped[int] = mapped_column(Integer, default=0)
    voters_count: Mapped[int | None] = mapped_column(Integer)  # unknown for some remote polls
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PollVote(Base):
    """One chosen option of one account in a poll (a multiple-choice vote is several rows). `uri` is the
    vote's `Note` id: a received vote's, or the one we sent for a local vote on a remote poll."""

    __tablename__ = "poll_votes"
    __table_args__ = (Index("ix_poll_votes_poll_id_account_id", "poll_id", "account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    poll_id: Mapped[int] = mapped_column(ID, ForeignKey("polls.id", ondelete="CASCADE"))
    account_id: Mapped[int] = _fk("accounts.id")
    choice: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Organisation(Base):
    """A local account run by a team: its members act as it with their own logins (storage.organisations)."""

    __tablename__ = "organisations"

    account_id: Mapped[int] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    # Authors' posts wait for a publisher's approval (a draft in the review queue) instead of going out.
    review_required: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationMember(Base):
    """A local login's role in an organisation: author, editor or publisher."""

    __tablename__ = "organisation_members"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    organisation_id: Mapped[int] = _fk("organisations.account_id")
    user_id: Mapped[int] = _fk("users.id")
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OrganisationAuditEntry(Base):
    """One action taken as an organisation. Append-only: the database refuses updates (a trigger), and only
    the retention purge deletes. No foreign keys: an entry outlives the organisation's and the staff's
    accounts (public records), so it names them as they were."""

    __tablename__ = "organisation_audit"
    __table_args__ = (Index("ix_organisation_audit_organisation_id_id", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    organisation_id: Mapped[int] = mapped_column(ID)
    organisation: Mapped[str] = mapped_column(String(255))  # the organisation's username then
    user_id: Mapped[int | None] = mapped_column(ID)
    login: Mapped[str] = mapped_column(String(255))  # the staff member's username then ("" for the CLI)
    role: Mapped[str] = mapped_column(String(16))  # their role then (or "admin" for the CLI)
    via: Mapped[str] = mapped_column(String(255))  # "app NAME (token ID)", "web session", "cli"
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(2048))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GroupModerator(Base):
    """A local account that moderates a local group (a `Group` actor, storage.groups): it may take posts out
    of the group and block accounts from it. Published as the group's `attributedTo` collection (FEP-1b12)."""

    __tablename__ = "group_moderators"
    __table_args__ = (UniqueConstraint("group_id", "account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    group_id: Mapped[int] = _fk("accounts.id")
    account_id: Mapped[int] = _fk("accounts.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledStatus(Base):
    """A status to publish at `scheduled_at` (its `publish` job is written in the same transaction).
    `params` are the status's parameters as Mastodon's ScheduledStatus entity shows them."""

    __tablename__ = "scheduled_statuses"
    __table_args__ = (Index("ix_scheduled_statuses_account_id_scheduled_at", "account_id", "scheduled_at"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    scheduled_at: Mapped[datetime]
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An organisation author's post waiting for review: "pending" (no publish job yet) or "returned" (with
    # the publisher's comment); None for an ordinary scheduled status.
    review_state: Mapped[str | None] = mapped_column(String(16))
    review_comment: Mapped[str | None] = mapped_column(Text)
    submitted_by_user_id: Mapped[int | None] = mapped_column(ID)


class StatusPin(Base):
    __tablename__ = "status_pins"
    __table_args__ = (UniqueConstraint("account_id", "status_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    status_id: Mapped[int] = _fk("statuses.id")


class SuggestionDismissal(Base):
    """An account said it does not want `target_account_id` suggested again."""

    __tablename__ = "suggestion_dismissals"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountPin(Base):
    """An endorsement: `account_id` features `target_account_id` on its profile. It counts only while the
    account follows the target (Mastodon's rule); reads join the follow."""

    __tablename__ = "account_pins"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountNote(Base):
    """A private note one local account keeps about another (Relationship `note`)."""

    __tablename__ = "account_notes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Follow(Base):
    """An accepted follow: `account_id` follows `target_account_id`."""

    __tablename__ = "follows"
    __table_args__ = (
        Index("ix_follows_account_id_id", "account_id", "id"),
        Index("ix_follows_target_account_id_id", "target_account_id", "id"),
        UniqueConstraint("account_id", "target_account_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)  # the Follow activity id
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FollowRequest(Base):
    """A follow waiting for approval (locked target) or for the remote's Accept."""

    __tablename__ = "follow_requests"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    show_reblogs: Mapped[bool] = mapped_column(Boolean, default=True)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Mute(Base):
    __tablename__ = "mutes"
    __table_args__ = (UniqueConstraint("account_id", "target_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    target_account_id: Mapped[int] = _fk("accounts.id")
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]  # a mute with a duration stops applying then (compared on read)


class AccountDomainBlock(Base):
    """A user's own block of a whole domain (not a moderation block): that domain's accounts are hidden from
    the user and can no longer follow them."""

    __tablename__ = "account_domain_blocks"
    __table_args__ = (UniqueConstraint("account_id", "domain"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    domain: Mapped[str] = mapped_column(String(255))  # canonical host (`apub.hosts.canonical_host`)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationMute(Base):
    """A thread a local account no longer wants notifications from (`POST /api/v1/statuses/:id/mute`).
    `conversation` is the thread's key: its `conversation_uri`, else the root status's URI."""

    __tablename__ = "conversation_mutes"
    __table_args__ = (UniqueConstraint("account_id", "conversation"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    conversation: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Filter(Base):
    """A local account's content filter (Mastodon's `CustomFilter`): keywords and statuses that, in the
    filter's contexts, mark a status (`warn`, `blur`) or take it out (`hide`) of what the account reads."""

    __tablename__ = "filters"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    title: Mapped[str] = mapped_column(String(256))
    context: Mapped[list[Any]] = mapped_column(
        default=list
    )  # home | notifications | public | thread | account
    action: Mapped[str] = mapped_column(String(8), default="warn")  # warn | hide | blur
    expires_at: Mapped[datetime | None]  # the filter stops applying then (compared on read)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterKeyword(Base):
    """A phrase of a filter; `whole_word` matches it only between word boundaries."""

    __tablename__ = "filter_keywords"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    filter_id: Mapped[int] = _fk("filters.id")
    keyword: Mapped[str] = mapped_column(String(512))
    whole_word: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FilterStatus(Base):
    """A status a filter names (it and the boosts of it match)."""

    __tablename__ = "filter_statuses"
    __table_args__ = (UniqueConstraint("filter_id", "status_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    filter_id: Mapped[int] = _fk("filters.id")
    status_id: Mapped[int] = _fk("statuses.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccountConversation(Base):
    """A direct-message conversation as one local account sees it (Mastodon's AccountConversation): one per
    thread and set of other participants. `unread` is set when a direct status by someone else arrives;
    removing the row hides the conversation until the next message recreates it."""

    __tablename__ = "account_conversations"
    __table_args__ = (
        UniqueConstraint("account_id", "conversation_key"),
        Index("ix_account_conversations_account_id_last_status_id", "account_id", "last_status_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    # SHA-256 of the thread key and the sorted participant ids: the row's identity, short enough to index.
    conversation_key: Mapped[str] = mapped_column(String(64))
    conversation: Mapped[str] = mapped_column(
        String(2048)
    )  # the thread key (`conversation_mutes.thread_key`)
    participant_ids: Mapped[list[Any]] = mapped_column(default=list)  # the others, sorted
    last_status_id: Mapped[int] = _fk("statuses.id")
    unread: Mapped[bool] = mapped_column(Boolean, default=False)


class Favourite(Base):
    __tablename__ = "favourites"
    __table_args__ = (
        Index("ix_favourites_account_id_id", "account_id", "id"),
        UniqueConstraint("account_id", "status_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    status_id: Mapped[int] = _fk("statuses.id")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    # An emoji reaction (Misskey's `EmojiReact`, a `Like` with `content`) shown as a favourite: the
    # emoji itself, or `:shortcode:` of a custom emoji of the reacting account's host.
    reaction: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Bookmark(Base):
    __tablename__ = "bookmarks"
    __table_args__ = (
        Index("ix_bookmarks_account_id_id", "account_id", "id"),
        UniqueConstraint("account_id", "status_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    status_id: Mapped[int] = _fk("statuses.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HomeFeedEntry(Base):
    """One status in one local account's home timeline, written at delivery time (fan-out on write)."""

    __tablename__ = "home_feed"
    # A deleted status leaves every feed at once: found by status, not by reader.
    __table_args__ = (Index("ix_home_feed_status_id", "status_id"),)

    account_id: Mapped[int] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    status_id: Mapped[int] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )


class List(Base):
    """A local account's list of accounts it follows, with its own timeline (`list_feed`)."""

    __tablename__ = "lists"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    title: Mapped[str] = mapped_column(String(256))
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")  # followed | list | none
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)  # members' posts stay out of home
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ListAccount(Base):
    """A member of a list (an account the list's owner follows)."""

    __tablename__ = "list_accounts"
    __table_args__ = (UniqueConstraint("list_id", "account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    list_id: Mapped[int] = _fk("lists.id")
    account_id: Mapped[int] = _fk("accounts.id")


class ListFeedEntry(Base):
    """One status in one list's timeline, written at fan-out time like `home_feed`."""

    __tablename__ = "list_feed"
    # A deleted status leaves every list at once: found by status, not by list.
    __table_args__ = (Index("ix_list_feed_status_id", "status_id"),)

    list_id: Mapped[int] = mapped_column(ID, ForeignKey("lists.id", ondelete="CASCADE"), primary_key=True)
    status_id: Mapped[int] = mapped_column(
        ID, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True
    )


class Notification(Base):
    """mention | status | reblog | follow | follow_request | favourite | poll | update | quote |
    quoted_update | moderation_warning (with its `account_warning_id`).

    `group_key` joins favourites and boosts of one status, and follows, within a time window (grouped
    notifications, `storage.notification_groups`); `filtered` ones were held back by the recipient's
    notification policy and wait in a notification request (`storage.notification_requests`)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_account_id_id", "account_id", "id"),
        Index("ix_notifications_account_id_group_key", "account_id", "group_key"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = _fk("accounts.id")
    notification_type: Mapped[str] = mapped_column(String(32))
    status_id: Mapped[int | None] = _fk("statuses.id", nullable=True)
    group_key: Mapped[str | None] = mapped_column(String(64))
    filtered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A `moderation_warning`'s warning (no foreign key: SQLite adds none to an existing table; a warning
    # goes only with its account, whose notifications go too).
    account_warning_id: Mapped[int | None] = mapped_column(ID)


class NotificationPolicy(Base):
    """What a local account does with notifications from strangers: `accept`, `filter` (into a request) or
    `drop` (never stored), per kind of stranger. No row: Mastodon's defaults."""

    __tablename__ = "notification_policies"

    account_id: Mapped[int] = mapped_column(
        ID, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    for_not_following: Mapped[str] = mapped_column(String(8), default="accept")
    for_not_followers: Mapped[str] = mapped_column(String(8), default="accept")
    for_new_accounts: Mapped[str] = mapped_column(String(8), default="accept")
    for_private_mentions: Mapped[str] = mapped_column(String(8), default="filter")
    for_limited_accounts: Mapped[str] = mapped_column(String(8), default="filter")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationRequest(Base):
    """The filtered mentions one account sent a local account, waiting for it to accept or dismiss them (how
    many is counted when read, so deleted notifications never leave a stale count)."""

    __tablename__ = "notification_requests"
    __table_args__ = (
        UniqueConstraint("account_id", "from_account_id"),
        Index("ix_notification_requests_account_id_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = _fk("accounts.id")
    last_status_id: Mapped[int | None] = _fk("statuses.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class NotificationPermission(Base):
    """An accepted request: this sender's notifications are never filtered for this account again."""

    __tablename__ = "notification_permissions"
    __table_args__ = (UniqueConstraint("account_id", "from_account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    from_account_id: Mapped[int] = _fk("accounts.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Marker(Base):
    __tablename__ = "markers"
    __table_args__ = (UniqueConstraint("account_id", "timeline"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    timeline: Mapped[str] = mapped_column(String(32))  # home | notifications
    last_read_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Activity(Base):
    """An activity we authored, kept so it can be served at its id, listed in the outbox and re-rendered."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_account_id_id", "account_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    account_id: Mapped[int] = mapped_column(ID, ForeignKey("accounts.id", ondelete="CASCADE"))
    activity_type: Mapped[str] = mapped_column(String(32))
    status_id: Mapped[int | None] = _fk("statuses.id", nullable=True, ondelete="SET NULL")
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """A unit of durable background work (inbound activity, delivery, fetch, …).

    `state`: pending → running (leased until `locked_until`) → done | failed. A running job whose lease has
    expired is claimed again, so a killed worker loses nothing.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("queue", "dedupe_key"),
        Index("ix_jobs_claim", "queue", "state", "next_try_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    queue: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(2048))
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower runs first
    state: Mapped[str] = mapped_column(String(16), default="pending")
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    request_id: Mapped[str | None] = mapped_column(String(128))  # the request that queued it, for logs


class WorkerProcess(Base):
    """A process running queue workers, by its `jobs.locked_by` name (host:pid), and when it last said it
    was alive: the running jobs of one silent for long are taken back, whichever host it ran on."""

    __tablename__ = "worker_processes"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProcessNode(Base):
    """A number handed to each Plein process as it starts, for the node bits of its ids (storage.ids). The
    row is deleted at once: only the counter matters, and it never hands a number out twice."""

    __tablename__ = "process_nodes"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryHost(Base):
    """Per remote host: which signature scheme worked and the circuit-breaker state."""

    __tablename__ = "delivery_hosts"

    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    signature_scheme: Mapped[str | None] = mapped_column(String(16))  # rfc9421 | cavage
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    paused_until: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]


class DomainBlock(Base):
    """Moderation of a whole remote domain (and its subdomains)."""

    __tablename__ = "domain_blocks"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    severity: Mapped[str] = mapped_column(String(16), default="suspend")  # suspend | silence | noop
    reject_media: Mapped[bool] = mapped_column(Boolean, default=False)
    reject_reports: Mapped[bool] = mapped_column(Boolean, default=False)
    # As Mastodon: the public comment is the reason published with the list of moderated servers (when
    # `instance.show_domain_block_reasons` lets the reader see reasons); the private one is for staff only.
    public_comment: Mapped[str] = mapped_column(Text, default="")
    private_comment: Mapped[str] = mapped_column(Text, default="")
    obfuscate: Mapped[bool] = mapped_column(Boolean, default=False)  # published with letters as `*`
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DomainAllow(Base):
    """Domains we federate with when federation mode is `allowlist`."""

    __tablename__ = "domain_allows"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One moderation action: who did what to which target, when, and what it changed (counts)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    actor: Mapped[str] = mapped_column(String(255))  # "cli:<os user>", later "@<account>" for the admin API
    action: Mapped[str] = mapped_column(String(64))  # domain.block, domain.unblock, domain.purge, …
    target: Mapped[str] = mapped_column(String(255))  # the domain (or account) acted on
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)  # severity, counts of what was removed
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InstanceSettingOverride(Base):
    """A value of the instance's settings (name, registration mode, terms, …) an admin set in the browser,
    in place of the config's. Keyed by the instance's domain as well, so that an install serving several
    domains can keep one set per domain; deleting the row brings the config's value back."""

    __tablename__ = "instance_setting_overrides"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    field: Mapped[str] = mapped_column(String(64), primary_key=True)  # storage.instance_profile.FIELDS
    value: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(255))  # as the audit log names the admin
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A report (`Flag`) for moderators, local or received."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    account_id: Mapped[int] = _fk("accounts.id")  # reporter (an instance actor for remote reports)
    target_account_id: Mapped[int] = _fk("accounts.id")
    status_ids: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    category: Mapped[str] = mapped_column(String(16), default="other")
    forwarded: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_note: Mapped[str] = mapped_column(Text, default="")
    rule_ids: Mapped[list[Any]] = mapped_column(default=list)  # the instance rules it says were broken
    # The moderator handling it (admin API assign_to_self); an id whose account is gone means nobody.
    assigned_account_id: Mapped[int | None] = mapped_column(ID, index=True)
    # The staff member who resolved it (Mastodon's `action_taken_by_account`); None when resolved from the CLI.
    action_taken_by_account_id: Mapped[int | None] = mapped_column(ID)


class AccountWarning(Base):
    """A moderation action told to the account it was taken against (Mastodon's AccountWarning, a
    "strike"): what was done, the moderators' text, the report and statuses it was about."""

    __tablename__ = "account_warnings"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    target_account_id: Mapped[int] = _fk("accounts.id")
    # The staff member's account; None when taken from the CLI or the account is gone.
    account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    # none | disable | sensitive | silence | suspend | delete_statuses (Mastodon's names)
    action: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
    report_id: Mapped[int | None] = _fk("reports.id", nullable=True, ondelete="SET NULL")
    status_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the moderators approved the account's appeal against it (Mastodon's `overruled_at`).
    overruled_at: Mapped[datetime | None]


class Appeal(Base):
    """An account's appeal against one of its warnings (Mastodon's Appeal): its text, and the moderators'
    decision — approved or rejected, by whom, when; neither while it waits. One per warning."""

    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")  # the appellant: the warning's account
    account_warning_id: Mapped[int] = mapped_column(
        ID, ForeignKey("account_warnings.id", ondelete="CASCADE"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    approved_at: Mapped[datetime | None]
    approved_by_account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    rejected_at: Mapped[datetime | None]
    rejected_by_account_id: Mapped[int | None] = _fk("accounts.id", nullable=True, ondelete="SET NULL")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InstanceRule(Base):
    """A rule of this server, shown to users and cited by reports. Removing one only marks it removed, so
    the reports that cite it keep their meaning."""

    __tablename__ = "instance_rules"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    text: Mapped[str] = mapped_column(Text)
    hint: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]


class PushSubscription(Base):
    """An app's Web Push subscription: one per access token, as in Mastodon."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    token_id: Mapped[int] = mapped_column(ID, ForeignKey("oauth_tokens.id", ondelete="CASCADE"), unique=True)
    account_id: Mapped[int] = _fk("accounts.id")
    endpoint: Mapped[str] = mapped_column(String(2048))
    key_p256dh: Mapped[str] = mapped_column(String(256))
    key_auth: Mapped[str] = mapped_column(String(64))
    standard: Mapped[bool] = mapped_column(Boolean, default=False)  # RFC 8291 aes128gcm, else draft aesgcm
    alerts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    policy: Mapped[str] = mapped_column(String(16), default="all")
    # The access token, encrypted with a key derived from secrets.secret_key: Mastodon's push payload
    # carries it (apps find the account by it), and tokens are otherwise only stored hashed.
    sealed_token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Announcement(Base):
    """An admin's announcement to every local user (Mastodon's announcements)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    text: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)  # the text rendered as a status's is
    mention_ids: Mapped[list[Any]] = mapped_column(default=list)  # local accounts it mentions
    tags: Mapped[list[Any]] = mapped_column(default=list)  # hashtag names it links
    starts_at: Mapped[datetime | None]  # when what it announces starts / ends (shown by apps)
    ends_at: Mapped[datetime | None]  # after this it is no longer listed
    all_day: Mapped[bool] = mapped_column(Boolean, default=False)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnnouncementRead(Base):
    """A user dismissed (read) an announcement."""

    __tablename__ = "announcement_reads"
    __table_args__ = (UniqueConstraint("announcement_id", "account_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    announcement_id: Mapped[int] = _fk("announcements.id")
    account_id: Mapped[int] = _fk("accounts.id")


class AnnouncementReaction(Base):
    """A user's emoji reaction to an announcement."""

    __tablename__ = "announcement_reactions"
    __table_args__ = (UniqueConstraint("announcement_id", "account_id", "name"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    announcement_id: Mapped[int] = _fk("announcements.id")
    account_id: Mapped[int] = _fk("accounts.id")
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthApp(Base):
    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    website: Mapped[str | None] = mapped_column(String(2048))
    redirect_uris: Mapped[list[Any]] = mapped_column(default=list)
    scopes: Mapped[str] = mapped_column(String(1024), default="read")
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OAuthCode(Base):
    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(128), primary_key=True)
    app_id: Mapped[int] = _fk("oauth_apps.id")
    user_id: Mapped[int] = _fk("users.id")
    # The organisation the user chose to act for on the consent page (None: their own account).
    acting_account_id: Mapped[int | None] = mapped_column(ID, index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    scopes: Mapped[str] = mapped_column(String(1024))
    code_challenge: Mapped[str | None] = mapped_column(String(255))
    code_challenge_method: Mapped[str | None] = mapped_column(String(16))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OAuthToken(Base):
    """An access token; only its SHA-256 is stored."""

    __tablename__ = "oauth_tokens"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    app_id: Mapped[int | None] = _fk("oauth_apps.id", nullable=True)
    user_id: Mapped[int | None] = _fk("users.id", nullable=True)
    # A token of an organisation's member acting as the organisation (None: as the user's own account). No
    # foreign key (SQLite cannot add one to an existing table): leaving the organisation revokes the token.
    acting_account_id: Mapped[int | None] = mapped_column(ID, index=True)
    scopes: Mapped[str] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # The authorization code it was issued for: reusing that code revokes it (RFC 6749 §4.1.2).
    code_hash: Mapped[str | None] = mapped_column(String(128), index=True)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("account_id", "key"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    account_id: Mapped[int] = _fk("accounts.id")
    key: Mapped[str] = mapped_column(String(255))
    status_id: Mapped[int] = _fk("statuses.id")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginAttempt(Base):
    """Failed logins per key (username or address) for rate limiting."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    key: Mapped[str] = mapped_column(String(320), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustomEmoji(Base):
    """A custom emoji: local (domain NULL, image files under `<data_dir>/media/emojis/`, added with the CLI)
    or remote (its server's host and image URL, from the `Emoji` tags of received Notes and actors; Plein
    links the image and never fetches it). The same shortcode on two hosts is two emojis."""

    __tablename__ = "custom_emojis"
    __table_args__ = (UniqueConstraint("shortcode", "domain"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    shortcode: Mapped[str] = mapped_column(String(128))
    domain: Mapped[str | None] = mapped_column(String(255))
    uri: Mapped[str | None] = mapped_column(String(2048))  # the Emoji's ActivityPub id (remote)
    image_url: Mapped[str | None] = mapped_column(String(2048))  # remote
    file_path: Mapped[str | None] = mapped_column(String(255))  # local: `<id>_<secret>/original.<ext>`
    content_type: Mapped[str | None] = mapped_column(String(64))
    visible_in_picker: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Relay(Base):
    """A relay this server subscribes to (Mastodon's `relays`): our instance actor's `Follow` went to its
    inbox; once accepted, our public posts are sent there and what it relays reaches the federated timeline."""

    __tablename__ = "relays"

    id: Mapped[int] = mapped_column(ID, primary_key=True, default=new_id)
    inbox_url: Mapped[str] = mapped_column(String(2048), unique=True)
    follow_uri: Mapped[str] = mapped_column(String(2048), unique=True)  # our Follow's id, matched by Accept
    actor_uri: Mapped[str | None] = mapped_column(String(2048), index=True)  # learnt from its Accept
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | accepted | rejected
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_received_at: Mapped[datetime | None]
    received_count: Mapped[int] = mapped_column(BigInteger, default=0)  # relayed activities taken in
    sent_count: Mapped[int] = mapped_column(BigInteger, default=0)  # our activities queued for it
