"""Posts as the pages show them: each status with its author, its media (with alt text), its custom emojis,
and for a boost, the boosted post — loaded for a whole page at once (a few queries, none per post)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from apub.languages import accepted_language_tags, language_tag
from storage.accounts import media_forced_sensitive
from storage.context import Context
from storage.custom_emojis import emojis_of_statuses
from storage.media import media_file_url, preview_path, profile_image_urls
from storage.models import Account, MediaAttachment, Status
from storage.status_variants import Variant, chosen_variant, variants_of
from storage.urls import LocalUrls


@dataclass(frozen=True)
class ShownMedia:
    """One attachment: a local image shown inline, or a remote file linked (the pages' CSP loads images
    from this server only)."""

    url: str
    preview_url: str
    description: str
    local: bool
    width: int | None
    height: int | None


@dataclass(frozen=True)
class Post:
    status: Status
    author: Account
    avatar: str | None
    media: list[ShownMedia] = field(default_factory=list)
    emojis: list[dict[str, Any]] = field(default_factory=list)
    boosted_by: Account | None = None  # set when the listed row was a boost of `status`
    variants: list[Variant] = field(default_factory=list)  # its other languages (docs/MULTILINGUAL.md)
    shown: Variant | None = None  # the language shown, when not the primary

    @property
    def link(self) -> str:
        """Where the post is read: its page here for a local post, its own URL for a remote one."""
        return self.status.url or self.status.uri

    @property
    def content(self) -> str:
        return self.shown.content if self.shown else self.status.content

    @property
    def spoiler_text(self) -> str:
        return self.shown.spoiler_text if self.shown else self.status.spoiler_text

    @property
    def language(self) -> str | None:
        return self.shown.language if self.shown else self.status.language

    def media_sensitive_to(self, viewer_id: int | None) -> bool:
        """Whether the post's media are shown behind a sensitive notice: its author marked them so, or the
        moderators force its author's media sensitive — for all but the author, as the Status entity
        (`storage.accounts.media_forced_sensitive`)."""
        if not self.media:
            return False
        forced = media_forced_sensitive(self.author.sensitized_at, True) and viewer_id != self.author.id
        return self.status.sensitive or forced

    @property
    def languages(self) -> list[str]:
        """Every language of a multilingual post, the primary first; empty for a post in one language."""
        if not self.variants or not self.status.language:
            return []
        return [self.status.language, *(variant.language for variant in self.variants)]


async def reading_languages(request: Request) -> list[str]:
    """The languages a page's reader reads, most wanted first: the one picked with `?lang=` (the language
    switcher), the page's language, then the browser's."""
    picked = language_tag(request.query_params.get("lang"))
    page_language = await request.state.pages.language_of(request)
    accepted = accepted_language_tags(request.headers.get("accept-language"))
    return [language for language in (picked, page_language, *accepted) if language]


def _shown(ctx: Context, media: MediaAttachment) -> ShownMedia:
    original = media.meta.get("original", {}) if isinstance(media.meta, dict) else {}
    if media.file_path:
        return ShownMedia(
            url=media_file_url(ctx.base_url, media.file_path),
            preview_url=media_file_url(ctx.base_url, preview_path(media.file_path)),
            description=media.description or "",
            local=True,
            width=original.get("width"),
            height=original.get("height"),
        )
    remote = media.remote_url or ""
    return ShownMedia(remote, remote, media.description or "", False, None, None)


async def load_posts(
    ctx: Context, session: AsyncSession, statuses: Sequence[Status], wanted: Sequence[str] = ()
) -> list[Post]:
    """The posts of `statuses` in their order; a boost shows the boosted post with `boosted_by` set. A post
    in several languages is shown in the first of `wanted` it has (`reading_languages`), else its primary."""
    originals = {s.reblog_of_id for s in statuses if s.reblog_of_id is not None}
    boosted: dict[int, Status] = {}
    if originals:
        rows = await session.execute(
            select(Status).where(Status.id.in_(originals), Status.deleted_at.is_(None))
        )
        boosted = {status.id: status for status in rows.scalars()}
    shown = [boosted.get(s.reblog_of_id, s) if s.reblog_of_id is not None else s for s in statuses]
    account_ids = {s.account_id for s in statuses} | {s.account_id for s in shown}
    accounts = {
        account.id: account
        for account in (await session.execute(select(Account).where(Account.id.in_(account_ids)))).scalars()
    }
    status_ids = [s.id for s in shown]
    media: dict[int, list[ShownMedia]] = {}
    if status_ids:
        attachments = await session.execute(
            select(MediaAttachment)
            .where(MediaAttachment.status_id.in_(status_ids))
            .order_by(MediaAttachment.id)
        )
        for attachment in attachments.scalars():
            assert attachment.status_id is not None
            media.setdefault(attachment.status_id, []).append(_shown(ctx, attachment))
    languages = await variants_of(session, status_ids)
    texts = {
        s.id: (
            s.spoiler_text,
            s.content,
            *(t for v in languages.get(s.id, ()) for t in (v.spoiler_text, v.content)),
        )
        for s in shown
    }
    emojis = await emojis_of_statuses(session, texts, LocalUrls(ctx.base_url))
    posts = []
    for listed, status in zip(statuses, shown, strict=True):
        if listed.reblog_of_id is not None and listed.reblog_of_id not in boosted:
            continue  # a boost of a deleted post
        author = accounts[status.account_id]
        posts.append(
            Post(
                status=status,
                author=author,
                avatar=profile_image_urls(ctx.base_url, author.avatar_file, None)[0],
                media=media.get(status.id, []),
                emojis=emojis.get(status.id, []),
                boosted_by=accounts[listed.account_id] if listed.reblog_of_id is not None else None,
                variants=languages.get(status.id, []),
                shown=chosen_variant(languages.get(status.id, []), status.language, wanted),
            )
        )
    return posts
