"""The `cards` queue's handler (`storage.preview_cards`): a status's preview card, fetched through the
federation client (SSRF guard with redirects re-checked, 30 s, no cookies).

The linked page is fetched as HTML (`text/html` with a 200 only, 1 MiB at most: the client's cap), read by
`apub.link_details`; its announced oEmbed endpoint (JSON, same limits) is asked next. A page with neither a
title nor an embed makes no card. The card's image is fetched up to `limits.max_media_bytes` (not from a
host whose media are rejected), re-encoded by `storage.images` to fit 640×640, and stored with the card. A
`fediverse:creator` account (resolved through WebFinger) is credited when the page's host is one of its
attribution domains. Once the card is attached, the status's readers get `status.update`.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable

import anyio.to_thread
import orjson

from apub.errors import FetchError
from apub.hosts import host_of
from apub.link_details import LinkDetails, link_details, oembed_details
from storage.context import Context
from storage.ids import new_id
from storage.images import ImageRejected, ProcessedImage, process_image
from storage.media import write_media_files
from storage.models import PreviewCard, Status
from storage.preview_cards import (
    FETCH_CARD,
    attach_card,
    card_by_url,
    card_domain_matches,
    card_root,
    is_fresh,
    link_of_status,
    local_host,
    remove_card_files,
)
from storage.queue import ClaimedJob
from storage.stream_events import reach_events
from storage.types import utcnow
from webfinger.fetch import federation_client
from webfinger.resolve import ResolveError, domain_policy, find_account_by_acct

logger = logging.getLogger(__name__)

CARD_IMAGE_SIDE = 640  # Mastodon's `640x640>` for card images
_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _media_type(content_type: str) -> tuple[str, str | None]:
    media_type, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            charset = value.strip().strip('"') or None
    return media_type.strip().lower(), charset


def _decode(body: bytes, charset: str | None) -> str:
    """The page as text: the header's charset, else the page's own `<meta charset>`, else UTF-8."""
    if charset is None and (found := _META_CHARSET.search(body[:4096])) is not None:
        charset = found[1].decode("ascii")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


async def _page(ctx: Context, url: str) -> LinkDetails | None:
    try:
        response = await federation_client(ctx).get(url, headers={"Accept": "text/html"})
    except FetchError as error:
        logger.info("no card for %s: %s", url, error)
        return None
    media_type, charset = _media_type(response.headers.get("content-type", ""))
    if response.status_code != 200 or media_type != "text/html":
        logger.info("no card for %s: HTTP %d %s", url, response.status_code, media_type or "-")
        return None
    return await _with_oembed(ctx, link_details(str(response.url), _decode(response.body, charset)))


async def _with_oembed(ctx: Context, details: LinkDetails) -> LinkDetails:
    if details.oembed_url is None:
        return details
    try:
        response = await federation_client(ctx).get(
            details.oembed_url, headers={"Accept": "application/json"}
        )
        answer = orjson.loads(response.body) if response.status_code == 200 else None
    except (FetchError, orjson.JSONDecodeError) as error:
        logger.info("oEmbed %s not read: %s", details.oembed_url, error)
        return details
    return oembed_details(details, details.oembed_url, answer)


async def _image(ctx: Context, url: str | None) -> ProcessedImage | None:
    host = host_of(url)
    if url is None or host is None:
        return None
    async with ctx.db.read() as session:
        if (await domain_policy(ctx, session, host)).reject_media:
            return None
    try:
        response = await federation_client(ctx).get(
            url, headers={"Accept": "image/*"}, max_bytes=ctx.settings.limits.max_media_bytes
        )
    except FetchError as error:
        logger.info("card image %s not stored: %s", url, error)
        return None
    if response.status_code != 200:
        logger.info("card image %s not stored: HTTP %d", url, response.status_code)
        return None
    try:
        process = functools.partial(process_image, response.body, fit_within=CARD_IMAGE_SIDE)
        return await anyio.to_thread.run_sync(process)
    except ImageRejected as error:
        logger.info("card image %s not stored: %s", url, error)
        return None


async def _credited_account(ctx: Context, details: LinkDetails, page_url: str) -> int | None:
    """The account `fediverse:creator` names, when it lists the page's host among its attribution domains."""
    if not details.creator:
        return None
    try:
        account = await find_account_by_acct(ctx, details.creator, resolve=True)
    except (FetchError, ResolveError) as error:
        logger.info("fediverse:creator %s not resolved: %s", details.creator, error)
        return None
    if account is None or not card_domain_matches(page_url, account.attribution_domains or ()):
        return None
    return account.id


def _fill(card: PreviewCard, details: LinkDetails, author_account_id: int | None) -> None:
    card.canonical_url = details.url
    card.title, card.description = details.title, details.description
    card.card_type, card.html = details.card_type, details.html
    card.width, card.height = details.width, details.height
    card.author_name, card.author_url = details.author_name, details.author_url
    card.provider_name, card.provider_url = details.provider_name, details.provider_url
    card.embed_url, card.language, card.published_at = (
        details.embed_url,
        details.language,
        details.published_at,
    )
    card.image_remote_url, card.image_description = details.image_url, details.image_description
    card.author_account_id = author_account_id
    card.fetched_at = utcnow()


async def _store(
    ctx: Context,
    status_id: int,
    link: str,
    details: LinkDetails,
    image: ProcessedImage | None,
    author: int | None,
    card_id: int,
) -> None:
    """Store the card of `link` (row `card_id`, or a new row with that id) and attach it to the status."""
    root = card_root(ctx.settings.server.data_dir)
    # Files first, outside the write transaction; the folder carries the card's id.
    written = await anyio.to_thread.run_sync(write_media_files, root, card_id, image) if image else None
    unused: list[str] = []
    events = []
    async with ctx.db.transaction() as session:
        status = await session.get(Status, status_id)
        card = await card_by_url(session, link)
        if status is None or await link_of_status(session, status, local_host(ctx)) != link:
            unused.append(written or "")  # edited or deleted meanwhile: its own job (if any) decides
            status = None
        elif card is not None and card.id != card_id:
            unused.append(written or "")  # another job stored this link's card meanwhile: use that one
            await attach_card(session, status_id, card.id)
        else:
            if card is None:
                card = PreviewCard(id=card_id, url=link)
                session.add(card)
            _fill(card, details, author)
            if image is not None and written is not None:
                unused.append(card.image_file or "")
                card.image_file = written
                card.image_width, card.image_height, card.blurhash = image.width, image.height, image.blurhash
                if details.card_type != "video":
                    card.width, card.height = image.width, image.height  # as Mastodon: the image's size
            await session.flush()
            await attach_card(session, status_id, card.id)
        if status is not None:
            await session.flush()
            events = await reach_events(session, status, "status.update")
    ctx.bus.publish_all(events)
    for path in filter(None, unused):
        await anyio.to_thread.run_sync(remove_card_files, root, path)


async def _attach_stored(ctx: Context, status_id: int, card_id: int) -> None:
    """Show an already stored card on the status (unless it was deleted meanwhile) and tell its readers."""
    events = []
    async with ctx.db.transaction() as session:
        status = await session.get(Status, status_id)
        if status is not None and status.deleted_at is None:
            await attach_card(session, status_id, card_id)
            await session.flush()
            events = await reach_events(session, status, "status.update")
    ctx.bus.publish_all(events)


async def fetch_card(ctx: Context, status_id: int) -> None:
    """Give `status_id` the card of its link (see the module docstring)."""
    async with ctx.db.read() as session:
        status = await session.get(Status, status_id)
        link = await link_of_status(session, status, local_host(ctx)) if status else None
        known = await card_by_url(session, link) if link else None
    if link is None:
        return
    if known is not None and is_fresh(known, utcnow()):
        await _attach_stored(ctx, status_id, known.id)
        return
    details = await _page(ctx, link)
    if details is None or not details.usable:
        if known is not None:  # the page is gone or changed for the worse: its last card still stands
            await _attach_stored(ctx, status_id, known.id)
        return
    image = await _image(ctx, details.image_url)
    author = await _credited_account(ctx, details, link)
    await _store(ctx, status_id, link, details, image, author, known.id if known is not None else new_id())


def cards_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `cards` queue's handler, bound to `ctx`."""

    async def handle(job: ClaimedJob) -> None:
        status_id = job.payload.get("status_id")
        if job.payload.get("job") != FETCH_CARD or not isinstance(status_id, int):
            logger.warning("cards job %d has an unknown payload: %r", job.id, job.payload)
            return
        await fetch_card(ctx, status_id)

    return handle
