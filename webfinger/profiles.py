"""The `profile` queue's handler (`storage.profile_jobs`): what a profile links to, fetched through the
federation client (SSRF guard, redirects re-checked, time and size limits).

- `verify_links`: each profile field not yet verified whose value is an https URL (a local account's value as
  typed; a remote one's when its HTML is that one link and nothing else, as Mastodon reads it) is fetched as
  HTML (1 MiB at most, the client's cap, as Mastodon's `body_with_limit`); when the page has an
  `<a rel="me">` or `<link rel="me">` whose href is the account's profile URL (or its actor id), or whose
  first such link answers a HEAD with a redirect there, the field gets `verified_at`, as Mastodon's
  VerifyLinkService does. A page that cannot be fetched verifies nothing. A local account's verified-agency
  website (`storage.agency`) is checked the same way.
- `cache_images`: a remote account's avatar and header are fetched (up to `limits.max_media_bytes`),
  cleaned and sized like an upload (`storage.images`, Mastodon's 400×400 and 1500×500), and stored; the
  Account entity then shows our copy. An image that cannot be fetched or read leaves the remote URL shown.
- `fetch_featured`: a remote account's `featured` collection becomes its pinned statuses (`webfinger.featured`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from sqlalchemy import delete, select

from apub.errors import FetchError
from apub.relme import rel_me_links
from storage.context import Context
from storage.images import ImageRejected, ProcessedImage, process_image
from storage.media import (
    PROFILE_IMAGE_SIZES,
    add_image_row,
    media_root,
    new_media_id,
    remove_media_files,
    write_media_files,
)
from storage.models import Account, MediaAttachment
from storage.profile_jobs import CACHE_IMAGES, FETCH_FEATURED, REMOVE_FILES, VERIFY_LINKS, field_link
from storage.queue import ClaimedJob
from storage.types import utcnow
from webfinger.featured import fetch_featured
from webfinger.fetch import federation_client
from webfinger.resolve import domain_policy

logger = logging.getLogger(__name__)


async def _links_back(ctx: Context, url: str, profile_urls: set[str]) -> bool:
    try:
        response = await federation_client(ctx).get(url, headers={"Accept": "text/html"})
    except FetchError as error:
        logger.info("profile link %s not verified: %s", url, error)
        return False
    if response.status_code != 200:
        logger.info("profile link %s not verified: HTTP %d", url, response.status_code)
        return False
    # The profile URL is ASCII, which every ASCII-compatible charset (nearly all the web) spells as UTF-8 does.
    page = response.body.decode("utf-8", errors="replace")
    links = rel_me_links(page)
    if any(link.lower() in profile_urls for link in links):
        return True
    # As Mastodon: the page's first rel="me" link may be a short link that redirects to the profile.
    return bool(links) and await _redirects_back(ctx, links[0], profile_urls)


async def _redirects_back(ctx: Context, url: str, profile_urls: set[str]) -> bool:
    if not url.startswith(("https://", "http://")):
        return False
    try:
        response = await federation_client(ctx).head(url)
    except FetchError as error:
        logger.info("rel=me link %s not followed: %s", url, error)
        return False
    return response.headers.get("location", "").lower() in profile_urls


async def _official_site_links_back(ctx: Context, account: Account, profile_urls: set[str]) -> bool:
    """Whether a local account's verified-agency website, not verified yet, links back to it."""
    website = account.government_website
    if account.domain is not None or not website or account.government_website_verified_at is not None:
        return False
    return field_link(website, local=True) is not None and await _links_back(ctx, website, profile_urls)


async def verify_links(ctx: Context, account_id: int) -> None:
    """Mark the account's field links that link back with rel="me" (see the module docstring), and a local
    account's verified-agency website (`storage.agency`) the same way."""
    async with ctx.db.read() as session:
        account = await session.get(Account, account_id)
    if account is None:
        return
    profile_urls = {url.lower() for url in (account.url, account.uri) if url}
    verified = set()
    for field in account.fields or []:
        value = str(field.get("value", ""))
        link = field_link(value, local=account.domain is None)
        if not field.get("verified_at") and link is not None and await _links_back(ctx, link, profile_urls):
            verified.add(value)
    official_site = await _official_site_links_back(ctx, account, profile_urls)
    if not verified and not official_site:
        return
    now = utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    async with ctx.db.transaction() as session:
        row = await session.get(Account, account_id)
        if row is None:
            return
        # As for the fields below: only the website still set is marked.
        if official_site and row.government_website == account.government_website:
            row.government_website_verified_at = utcnow()
        # The fields may have changed while the pages were fetched: only a value still there is marked.
        row.fields = [
            {**field, "verified_at": now}
            if str(field.get("value", "")) in verified and not field.get("verified_at")
            else field
            for field in row.fields or []
        ]


async def _fetch_image(ctx: Context, url: str, kind: str) -> ProcessedImage | None:
    limit = ctx.settings.limits.max_media_bytes
    try:
        response = await federation_client(ctx).get(url, headers={"Accept": "image/*"}, max_bytes=limit)
    except FetchError as error:
        logger.info("%s %s not cached: %s", kind, url, error)
        return None
    if response.status_code != 200:
        logger.info("%s %s not cached: HTTP %d", kind, url, response.status_code)
        return None
    try:
        fill = PROFILE_IMAGE_SIZES[kind]
        return await anyio.to_thread.run_sync(functools.partial(process_image, response.body, fill=fill))
    except ImageRejected as error:
        logger.info("%s %s not cached: %s", kind, url, error)
        return None


async def _cache_image(ctx: Context, account_id: int, kind: str, url: str | None) -> None:
    root = media_root(ctx.settings.server.data_dir)
    image = await _fetch_image(ctx, url, kind) if url else None
    media_id = new_media_id()
    file_path = await anyio.to_thread.run_sync(write_media_files, root, media_id, image) if image else None
    async with ctx.db.transaction() as session:
        account = await session.get(Account, account_id)
        current = account is not None and getattr(account, f"{kind}_url") == url
        if account is not None and current and image is not None and file_path is not None:
            media = add_image_row(
                session,
                media_id=media_id,
                account_id=account_id,
                file_path=file_path,
                image=image,
                description=None,
                focus=None,
                media_type=kind,
            )
            media.remote_url = url
            setattr(account, f"{kind}_file", file_path)
        kept = getattr(account, f"{kind}_file", None) if account is not None else None
        # Every other stored copy of this kind is stale: an older image, or one the actor replaced since.
        stale = (
            await session.execute(
                select(MediaAttachment.id, MediaAttachment.file_path).where(
                    MediaAttachment.account_id == account_id,
                    MediaAttachment.media_type == kind,
                    MediaAttachment.file_path.is_distinct_from(kept),
                )
            )
        ).all()
        if stale:
            await session.execute(
                delete(MediaAttachment).where(MediaAttachment.id.in_([row[0] for row in stale]))
            )
    unused = [path for _, path in stale if path]
    if file_path is not None and not current:
        unused.append(file_path)
    for path in unused:
        await anyio.to_thread.run_sync(remove_media_files, root, path)


async def cache_images(ctx: Context, account_id: int) -> None:
    """Store the remote account's current avatar and header (see the module docstring)."""
    async with ctx.db.read() as session:
        account = await session.get(Account, account_id)
        if account is None or account.domain is None:
            return
        if (await domain_policy(ctx, session, account.domain)).reject_media:
            return  # moderators refuse this host's media: its images stay remote links
    for kind in PROFILE_IMAGE_SIZES:
        if getattr(account, f"{kind}_file") is None:
            await _cache_image(ctx, account_id, kind, getattr(account, f"{kind}_url"))


async def remove_files(ctx: Context, paths: list[Any]) -> None:
    """Delete the files of profile images whose rows are gone."""
    root = media_root(ctx.settings.server.data_dir)
    for path in paths:
        if isinstance(path, str):
            await anyio.to_thread.run_sync(remove_media_files, root, path)


def profile_handler(ctx: Context) -> Callable[[ClaimedJob], Awaitable[None]]:
    """The `profile` queue's handler, bound to `ctx`."""
    jobs = {VERIFY_LINKS: verify_links, CACHE_IMAGES: cache_images, FETCH_FEATURED: fetch_featured}

    async def handle(job: ClaimedJob) -> None:
        if job.payload.get("job") == REMOVE_FILES:
            await remove_files(ctx, list(job.payload.get("paths") or []))
            return
        run = jobs.get(str(job.payload.get("job")))
        account_id = job.payload.get("account_id")
        if run is None or not isinstance(account_id, int):
            logger.warning("profile job %d has an unknown payload: %r", job.id, job.payload)
            return
        await run(ctx, account_id)

    return handle
