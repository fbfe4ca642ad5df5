"""The `profile` queue: work a profile change leaves to do, enqueued in the transaction of the change.

    verify_links   fetch the https links of an account's profile fields and mark those that link back
                   with rel="me" (`verified_at`): a local account's, and a remote one's as Mastodon does
    cache_images   fetch a remote account's avatar and header into our media store
    fetch_featured read a remote account's `featured` collection into its pinned statuses
    remove_files   delete the files of profile images whose rows a transaction deleted (moderation)

The handler lives in `webfinger.profiles` (it fetches through the federation client)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from apub.relme import sole_link
from storage.media import PROFILE_IMAGE_SIZES
from storage.models import Account, MediaAttachment
from storage.queue import enqueue
from storage.types import utcnow

PROFILE_QUEUE = "profile"
VERIFY_LINKS = "verify_links"
CACHE_IMAGES = "cache_images"
REMOVE_FILES = "remove_files"
FETCH_FEATURED = "fetch_featured"
MAX_VERIFIED_URL = 2047  # a field value's own limit


def field_link(value: str, *, local: bool) -> str | None:
    """The link of a profile field that verification checks: a local field's value typed as one https URL,
    a remote field's value (HTML) when it is one such link and nothing else (Mastodon's rule); else None."""
    link = value if local else sole_link(value)
    return link if link is not None and verifiable_link(link) else None


def keep_verifications(fields: list[Any], previous: list[Any]) -> list[Any]:
    """`fields` with the `verified_at` of each value that was verified before (a profile saved again, or a
    remote actor fetched again, does not lose what was checked)."""
    verified = {
        str(field.get("value")): field.get("verified_at")
        for field in previous
        if isinstance(field, dict) and field.get("verified_at")
    }
    return [
        {**field, "verified_at": verified.get(str(field.get("value")))} if isinstance(field, dict) else field
        for field in fields
    ]


def needs_verification(fields: list[Any], *, local: bool) -> bool:
    """Whether any field has a link not verified yet."""
    return any(
        isinstance(field, dict)
        and not field.get("verified_at")
        and field_link(str(field.get("value", "")), local=local) is not None
        for field in fields
    )


def verifiable_link(value: str) -> bool:
    """Whether a local field's value is a link Plein checks: one https URL and nothing else (Mastodon
    verifies https links only)."""
    return (
        value.startswith("https://")
        and len(value) <= MAX_VERIFIED_URL
        and not any(c.isspace() for c in value)
    )


async def enqueue_link_verification(session: AsyncSession, account_id: int) -> None:
    """Have the links of `account_id`'s profile fields checked for a rel="me" link back."""
    await enqueue(session, PROFILE_QUEUE, {"job": VERIFY_LINKS, "account_id": account_id})


async def enqueue_image_caching(session: AsyncSession, account_id: int) -> None:
    """Have `account_id`'s remote avatar and header fetched and stored."""
    await enqueue(session, PROFILE_QUEUE, {"job": CACHE_IMAGES, "account_id": account_id})


async def enqueue_featured_fetch(session: AsyncSession, account_id: int) -> None:
    """Have `account_id`'s featured collection read; once an hour at most (its server's `Add` and `Remove`
    keep the pins current in between)."""
    hour = utcnow().strftime("%Y-%m-%dT%H")
    await enqueue(
        session,
        PROFILE_QUEUE,
        {"job": FETCH_FEATURED, "account_id": account_id},
        dedupe_key=f"featured {account_id} {hour}",
    )


async def forget_profile_images(session: AsyncSession, accounts: ColumnElement[bool]) -> None:
    """Stop showing our copies of the avatars and headers of the accounts matching `accounts` (a condition
    on Account), and have their files deleted once the transaction commits. The caller deletes the rows
    (with the accounts' other media), so nothing points at a removed file."""
    account_ids = select(Account.id).where(accounts).scalar_subquery()
    paths: list[Any] = list(
        (
            await session.execute(
                select(MediaAttachment.file_path).where(
                    MediaAttachment.account_id.in_(account_ids),
                    MediaAttachment.media_type.in_(tuple(PROFILE_IMAGE_SIZES)),
                    MediaAttachment.file_path.is_not(None),
                )
            )
        ).scalars()
    )
    await session.execute(
        update(Account)
        .where(accounts, (Account.avatar_file.is_not(None)) | (Account.header_file.is_not(None)))
        .values(avatar_file=None, header_file=None)
        .execution_options(synchronize_session=False)
    )
    if paths:
        await enqueue(session, PROFILE_QUEUE, {"job": REMOVE_FILES, "paths": paths})
