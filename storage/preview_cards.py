"""Preview cards in the database: the `cards` queue's jobs, which card a status shows, the cards' image files.

A status that may get a card (an eligible link, no media: `wants_card`) gets a `fetch_card` job in the
transaction that stores or edits it (the handler, which fetches, is `webfinger.link_cards`). Cards are shared
by URL: a card younger than `CARD_FRESH_FOR` is linked to the next status with that link without a fetch.
Card images are files of their own, `<data_dir>/media/cards/<card id>_<secret>/{original,small}.<ext>`,
served at `/media/cards/…` (web/media); a card no status links to any more is deleted, with its files, by
`purge_unreferenced_cards` (the daily maintenance job), so a deleted status leaves no orphaned image.
"""

from __future__ import annotations

import hmac
import shutil
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import anyio.to_thread
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.hosts import host_of
from apub.link_details import card_link, opted_out_links
from storage.context import Context
from storage.media import media_file_url, media_root, parse_stored_path, preview_path
from storage.models import Account, MediaAttachment, Mention, PreviewCard, Quote, Status, StatusCard
from storage.queue import enqueue, enqueue_many, job_row

CARDS_QUEUE = "cards"
FETCH_CARD = "fetch_card"
CARD_FOLDER = "cards"
CARD_FRESH_FOR = timedelta(days=14)  # Mastodon refetches a card two weeks old
UNREFERENCED_KEPT_FOR = timedelta(days=1)  # a card just made may not be linked yet


def local_host(ctx: Context) -> str:
    """This server's canonical host: links to it get no card."""
    return host_of(ctx.base_url) or ""


def card_root(data_dir: Path) -> Path:
    """The folder of the cards' image files."""
    return media_root(data_dir) / CARD_FOLDER


def card_image_url(base_url: str, image_file: str) -> str:
    """The public URL of a card's image."""
    return media_file_url(base_url, f"{CARD_FOLDER}/{image_file}")


def card_file_for(root: Path, card: PreviewCard, requested: str) -> Path | None:
    """The file on disk a request names if it is this card's image or its preview (secret compared in
    constant time); built from the stored path, never from the request."""
    wanted, stored = parse_stored_path(requested), parse_stored_path(card.image_file or "")
    if wanted is None or stored is None or stored.media_id != card.id or stored.extension != wanted.extension:
        return None
    if not hmac.compare_digest(stored.folder.encode(), wanted.folder.encode()):
        return None
    assert card.image_file is not None
    return root / (card.image_file if wanted.variant == "original" else preview_path(card.image_file))


def remove_card_files(root: Path, image_file: str) -> None:
    """Delete a card image's folder. Blocking: call it in a thread."""
    stored = parse_stored_path(image_file)
    if stored is not None:
        shutil.rmtree(root / stored.folder, ignore_errors=True)


async def mention_urls(session: AsyncSession, status_id: int) -> set[str]:
    """The profile URLs (and ids) of the accounts a status mentions: links to them are no card."""
    rows = await session.execute(
        select(Account.url, Account.uri)
        .join(Mention, Mention.account_id == Account.id)
        .where(Mention.status_id == status_id)
    )
    return {url for row in rows for url in row if url}


async def link_of_status(session: AsyncSession, status: Status, local_host: str) -> str | None:
    """The link of `status` that gets a card (`apub.link_details.card_link`), or None — also for a boost, a
    status with media or a quote, and a deleted one."""
    if status.reblog_of_id is not None or status.deleted_at is not None or "<a" not in status.content:
        return None
    with_media = exists().where(MediaAttachment.status_id == status.id)
    quoting = exists().where(Quote.status_id == status.id)
    if await session.scalar(select(with_media | quoting)):
        return None  # media, or the quoted post, are the preview (Mastodon shows no card beside them)
    return card_link(
        status.content,
        local_host=local_host,
        mention_urls=await mention_urls(session, status.id),
        opted_out=opted_out_links(status.text) if status.local else set(),
    )


async def enqueue_card_fetch(session: AsyncSession, status: Status, *, local_host: str) -> bool:
    """In the caller's transaction (which stores or edits `status`): forget the status's current card and,
    when it has a link that may get one, queue the `fetch_card` job. Returns whether a job was queued."""
    await session.execute(delete(StatusCard).where(StatusCard.status_id == status.id))
    await session.flush()
    if await link_of_status(session, status, local_host) is None:
        return False
    return await enqueue(session, CARDS_QUEUE, {"job": FETCH_CARD, "status_id": status.id})


async def enqueue_card_fetches(
    session: AsyncSession, new_statuses: Iterable[tuple[int, str, bool]], *, local_host: str
) -> int:
    """For a batch of newly received statuses — (id, content HTML, has media) — one statement queueing a
    `fetch_card` job for each that has a link that may get a card (the job checks the rest: mentions)."""
    rows = [
        job_row(CARDS_QUEUE, {"job": FETCH_CARD, "status_id": status_id})
        for status_id, content, has_media in new_statuses
        if not has_media and card_link(content, local_host=local_host) is not None
    ]
    return await enqueue_many(session, rows)


async def card_by_url(session: AsyncSession, url: str) -> PreviewCard | None:
    """The stored card of `url`, if any."""
    return (await session.execute(select(PreviewCard).where(PreviewCard.url == url))).scalar_one_or_none()


def is_fresh(card: PreviewCard, now: datetime) -> bool:
    """Whether a stored card may be used without fetching its page again."""
    return card.fetched_at > now - CARD_FRESH_FOR


async def attach_card(session: AsyncSession, status_id: int, card_id: int) -> None:
    """Make `card_id` the card `status_id` shows."""
    await session.execute(delete(StatusCard).where(StatusCard.status_id == status_id))
    session.add(StatusCard(status_id=status_id, card_id=card_id))


async def cards_of_statuses(session: AsyncSession, status_ids: list[int]) -> dict[int, PreviewCard]:
    """The card each of `status_ids` shows (one query)."""
    if not status_ids:
        return {}
    rows = await session.execute(
        select(StatusCard.status_id, PreviewCard)
        .join(PreviewCard, PreviewCard.id == StatusCard.card_id)
        .where(StatusCard.status_id.in_(status_ids))
    )
    return {status_id: card for status_id, card in rows.all()}


def card_domain_matches(page_url: str, attribution_domains: Iterable[str]) -> bool:
    """Whether a page may credit an account: its host (without port) is one of the account's attribution
    domains or below one of them (Mastodon's `can_be_attributed_from?`)."""
    host = host_of(page_url)
    if host is None:
        return False
    name = host.rpartition(":")[0] if host.count(":") == 1 else host
    labels = name.split(".")
    variants = {".".join(labels[index:]) for index in range(len(labels))}
    return any(str(domain).lower() in variants for domain in attribution_domains)


async def purge_unreferenced_cards(session: AsyncSession, *, now: datetime) -> list[str]:
    """Delete the cards no status shows any more (older than a day, so a card being attached is safe);
    returns their image files, to be removed once the transaction commits (`remove_card_images`). A deleted
    status (a tombstone row) lets go of its card here."""
    await session.execute(
        delete(StatusCard).where(
            StatusCard.status_id.in_(select(Status.id).where(Status.deleted_at.is_not(None)))
        )
    )
    unreferenced = (
        select(PreviewCard.id, PreviewCard.image_file)
        .where(~exists().where(StatusCard.card_id == PreviewCard.id))
        .where(PreviewCard.fetched_at < now - UNREFERENCED_KEPT_FOR)
    )
    rows = (await session.execute(unreferenced)).all()
    if rows:
        await session.execute(delete(PreviewCard).where(PreviewCard.id.in_([row[0] for row in rows])))
    return [image_file for _, image_file in rows if image_file]


async def remove_card_images(data_dir: Path, image_files: Iterable[str]) -> None:
    """Delete the files of purged cards' images."""
    root = card_root(data_dir)
    for image_file in image_files:
        await anyio.to_thread.run_sync(remove_card_files, root, image_file)
