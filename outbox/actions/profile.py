"""Profile changes: `Update` of the actor to followers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from apub.builders import build_activity
from apub.errors import InvalidHost
from apub.hosts import canonical_host, host_name
from apub.vocab import PUBLIC
from outbox.actions._unit import Effects, after_commit, record_activity, urls_of
from outbox.actors import account_to_actor
from outbox.addressing import DeliveryTargets
from outbox.content import text_to_html
from outbox.errors import NotFound, Unprocessable, ValidationCode
from storage.accounts import ed25519_public_pem
from storage.context import Context
from storage.custom_emojis import emojis_in, profile_texts
from storage.media import (
    PROFILE_IMAGE_SIZES,
    StoredImage,
    add_image_row,
    media_id_of,
    media_root,
    remove_media_files,
)
from storage.models import Account, MediaAttachment
from storage.profile_jobs import enqueue_link_verification, keep_verifications, needs_verification

MAX_FIELDS = 4
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
MAX_FIELD_NAME = 255
MAX_FIELD_VALUE = 2047
MAX_ATTRIBUTION_DOMAINS = 250  # Mastodon's limit


def _clean_attribution_domains(domains: list[str]) -> list[str]:
    """The hosts as stored: canonical (any spelling accepted, a URL too), without ports, in the order typed,
    once each; 422 for one that is not a host name."""
    if len(domains) > MAX_ATTRIBUTION_DOMAINS:
        raise Unprocessable(
            f"Validation failed: at most {MAX_ATTRIBUTION_DOMAINS} attribution domains",
            field="attribution_domains",
            code=ValidationCode.TOO_LONG,
        )
    cleaned: list[str] = []
    for domain in domains:
        try:
            host = host_name(canonical_host(domain.strip())) if domain.strip() else ""
        except InvalidHost:
            host = ""
        if not host:
            raise Unprocessable(
                f"Validation failed: {domain!r} is not a domain name",
                field="attribution_domains",
                code=ValidationCode.INVALID,
            )
        if host not in cleaned:
            cleaned.append(host)
    return cleaned


def _clean_fields(fields: list[dict[str, Any]], *, previous: list[Any]) -> list[dict[str, Any]]:
    """The fields as stored; a value that was verified before keeps its `verified_at` (as Mastodon)."""
    if len(fields) > MAX_FIELDS:
        raise Unprocessable(
            f"Validation failed: at most {MAX_FIELDS} profile fields",
            field="fields_attributes",
            code=ValidationCode.TOO_LONG,
        )
    cleaned = []
    for field in fields:
        name, value = str(field.get("name", "")).strip(), str(field.get("value", "")).strip()
        if len(name) > MAX_FIELD_NAME or len(value) > MAX_FIELD_VALUE:
            raise Unprocessable(
                f"Validation failed: a profile field's name is at most {MAX_FIELD_NAME} characters"
                f" and its value {MAX_FIELD_VALUE}",
                field="fields_attributes",
                code=ValidationCode.TOO_LONG,
            )
        if name or value:
            cleaned.append({"name": name, "value": value, "verified_at": None})
    return keep_verifications(cleaned, previous)


async def send_actor_update(session: AsyncSession, effects: Effects, ctx: Context, account: Account) -> None:
    """Store and enqueue `Update(actor)` to the account's remote followers."""
    moved_to = (
        await session.get(Account, account.moved_to_account_id) if account.moved_to_account_id else None
    )
    actor_document = account_to_actor(
        account,
        urls_of(ctx),
        ed25519_public_pem=await ed25519_public_pem(session, account.id),
        moved_to_uri=moved_to.uri if moved_to else None,
    )
    embedded = {key: value for key, value in actor_document.items() if key != "@context"}
    targets = DeliveryTargets()
    targets.add_followers_of(account.id)
    await record_activity(
        session,
        effects,
        ctx=ctx,
        actor=account,
        activity_type="Update",
        build=lambda uri: build_activity(
            "Update", uri, account.uri, embedded, to=[PUBLIC], cc=[account.followers_url or ""]
        ),
        targets=targets,
    )


async def update_profile(
    ctx: Context,
    account: Account,
    *,
    display_name: str | None = None,
    note: str | None = None,
    locked: bool | None = None,
    discoverable: bool | None = None,
    fields: list[dict[str, Any]] | None = None,
    images: Mapping[str, StoredImage | None] | None = None,
    attribution_domains: list[str] | None = None,
) -> Account:
    """Change what was given (None leaves a value as it is) and tell followers with `Update`.

    `images` maps "avatar" / "header" to a new stored image (its files written, its row saved here), or to
    None to remove it; the files of replaced images are deleted after the commit."""
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise Unprocessable(
            f"Validation failed: display name longer than {MAX_DISPLAY_NAME} characters",
            field="display_name",
            code=ValidationCode.TOO_LONG,
        )
    if note is not None and len(note) > MAX_NOTE:
        raise Unprocessable(
            f"Validation failed: note longer than {MAX_NOTE} characters",
            field="note",
            code=ValidationCode.TOO_LONG,
        )
    domains = _clean_attribution_domains(attribution_domains) if attribution_domains is not None else None
    effects = Effects()
    async with ctx.db.transaction() as session:
        row = await session.get(Account, account.id)
        if row is None or row.domain is not None:
            raise NotFound("Record not found")
        if domains is not None:
            row.attribution_domains = domains
        if display_name is not None:
            row.display_name = display_name
        if note is not None:
            row.note_source = note
            row.note = text_to_html(note, mentions={}, tag_url=urls_of(ctx).tag_page)
        if locked is not None:
            row.locked = locked
        if discoverable is not None:
            row.discoverable = discoverable
        if fields is not None:
            row.fields = _clean_fields(fields, previous=row.fields or [])
            if needs_verification(row.fields, local=True):
                await enqueue_link_verification(session, row.id)
        replaced = [await _set_image(session, row, kind, image) for kind, image in (images or {}).items()]
        row.emojis = await emojis_in(session, None, profile_texts(row), urls_of(ctx))
        await session.flush()
        await send_actor_update(session, effects, ctx, row)
    after_commit(ctx, effects)
    root = media_root(ctx.settings.server.data_dir)
    for file_path in filter(None, replaced):
        await anyio.to_thread.run_sync(remove_media_files, root, file_path)
    return row


async def _set_image(
    session: AsyncSession, account: Account, kind: str, image: StoredImage | None
) -> str | None:
    """Make `image` the account's avatar or header (`kind`), or remove it (None); returns the replaced file's
    path, whose row is deleted here."""
    if kind not in PROFILE_IMAGE_SIZES:
        raise ValueError(f"not a profile image: {kind}")
    if image is not None:
        add_image_row(
            session,
            media_id=image.media_id,
            account_id=account.id,
            file_path=image.file_path,
            image=image.image,
            description=None,
            focus=None,
            media_type=kind,
        )
    old_file: str | None = getattr(account, f"{kind}_file")
    setattr(account, f"{kind}_file", image.file_path if image is not None else None)
    setattr(account, f"{kind}_url", None)  # a local account's image is its stored file only
    old_id = media_id_of(old_file) if old_file else None
    if old_id is not None:
        await session.execute(delete(MediaAttachment).where(MediaAttachment.id == old_id))
    return old_file
