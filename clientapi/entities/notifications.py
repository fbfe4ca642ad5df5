"""Notification (with the AccountWarning of a `moderation_warning`), Marker, StatusEdit and StatusSource
entities."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from apub.emojis import shortcodes_in
from clientapi.entities.accounts import account_to_entity
from clientapi.entities.common import format_time
from clientapi.entities.emojis import emoji_to_entity
from clientapi.entities.statuses import statuses_to_entities
from outbox.actions.status_languages import variants_to_maps
from storage.appeals import appeal_state, appeals_of_warnings
from storage.context import Context
from storage.filter_matching import ViewerFilters
from storage.models import Account, AccountWarning, Appeal, Marker, Notification, Status, StatusEdit
from storage.status_variants import Variant, variants_of_snapshot

# Types whose notification carries the status it is about.
STATUS_NOTIFICATION_TYPES = frozenset(
    {"mention", "status", "reblog", "favourite", "poll", "update", "quote", "quoted_update"}
)


async def accounts_and_statuses(
    session: AsyncSession,
    ctx: Context,
    account_ids: set[int],
    status_ids: set[int],
    viewer_id: int,
    *,
    filters: ViewerFilters | None = None,
) -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The Account entities of these accounts (by id; suspended ones left out) and the Status entities of
    those of these statuses the viewer may see and its `notifications` filters do not hide (by their string
    id), in a fixed number of queries."""
    statement = select(Account).where(Account.id.in_(account_ids), Account.suspended_at.is_(None))
    accounts = {
        account.id: account_to_entity(account, ctx)
        for account in (await session.execute(statement)).scalars()
    }
    statuses: dict[str, dict[str, Any]] = {}
    if status_ids:
        rows = (await session.execute(select(Status).where(Status.id.in_(status_ids)))).scalars().all()
        statuses = {
            entity["id"]: entity
            for entity in await statuses_to_entities(
                session, ctx, rows, viewer_id, context="notifications", filters=filters
            )
        }
    return accounts, statuses


def appeal_to_entity(appeal: Appeal | None) -> dict[str, Any] | None:
    """Mastodon's Appeal entity: the account's text and where the appeal stands (null when none was made)."""
    return {"text": appeal.text, "state": appeal_state(appeal)} if appeal is not None else None


def account_warning_to_entity(
    warning: AccountWarning, target_account: dict[str, Any], appeal: Appeal | None = None
) -> dict[str, Any]:
    """Mastodon 4.3's AccountWarning entity, with the account's appeal against it (`moderation.appeals`)."""
    return {
        "id": str(warning.id),
        "action": warning.action,
        "text": warning.text,
        "status_ids": [str(status_id) for status_id in warning.status_ids or []],
        "target_account": target_account,
        "appeal": appeal_to_entity(appeal),
        "created_at": format_time(warning.created_at),
    }


async def moderation_warnings(
    session: AsyncSession, notifications: Sequence[Notification], accounts: dict[int, dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The AccountWarning entities of the page's `moderation_warning` notifications, by notification id
    (two queries, none without such notifications); `accounts` holds the warned accounts' entities."""
    wanted = {n.account_warning_id: n.id for n in notifications if n.account_warning_id is not None}
    if not wanted:
        return {}
    rows = await session.execute(select(AccountWarning).where(AccountWarning.id.in_(wanted)))
    appeals = await appeals_of_warnings(session, wanted)
    return {
        wanted[warning.id]: account_warning_to_entity(
            warning, accounts[warning.target_account_id], appeals.get(warning.id)
        )
        for warning in rows.scalars()
        if warning.target_account_id in accounts
    }


def is_shown(notification_type: str, status: dict[str, Any] | None, warning: dict[str, Any] | None) -> bool:
    """Whether a notification can still be shown: what it is about (a status, a warning) is there."""
    if notification_type in STATUS_NOTIFICATION_TYPES:
        return status is not None
    if notification_type == "moderation_warning":
        return warning is not None
    return True


async def notifications_to_entities(
    session: AsyncSession,
    ctx: Context,
    notifications: Sequence[Notification],
    viewer_id: int,
    *,
    filters: ViewerFilters | None = None,
) -> list[dict[str, Any]]:
    """Notification entities for a page, in a fixed number of queries; one whose account or status can no
    longer be shown is left out, and so is one whose status the viewer's `notifications` filters hide
    (`filters`: the viewer's compiled filters, read here when not given)."""
    if not notifications:
        return []
    accounts, statuses = await accounts_and_statuses(
        session,
        ctx,
        {notification.from_account_id for notification in notifications},
        {n.status_id for n in notifications if n.status_id is not None},
        viewer_id,
        filters=filters,
    )
    warnings = await moderation_warnings(session, notifications, accounts)
    entities = []
    for notification in notifications:
        account = accounts.get(notification.from_account_id)
        status = statuses.get(str(notification.status_id)) if notification.status_id is not None else None
        warning = warnings.get(notification.id)
        if account is None or not is_shown(notification.notification_type, status, warning):
            continue
        entities.append(
            {
                "id": str(notification.id),
                "type": notification.notification_type,
                "group_key": notification.group_key or f"ungrouped-{notification.id}",
                "created_at": format_time(notification.created_at),
                "account": account,
                "status": status,
                "report": None,
                "event": None,
                "moderation_warning": warning,
                "collection": None,
                "fallback": None,
            }
        )
    return entities


def marker_to_entity(marker: Marker) -> dict[str, Any]:
    """The Marker entity (one timeline's read position)."""
    return {
        "last_read_id": marker.last_read_id,
        "version": marker.version,
        "updated_at": format_time(marker.updated_at),
    }


def status_source_to_entity(status: Status, variants: Sequence[Variant] = ()) -> dict[str, Any]:
    """The StatusSource entity: the plain text a local status was typed as; for a post in several
    languages also its `language` and the other languages' texts as `status_map` / `spoiler_text_map`, the
    parameters an edit takes back (docs/MULTILINGUAL.md)."""
    source: dict[str, Any] = {"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text}
    if variants:
        source["language"] = status.language
        source.update(variants_to_maps(variants))
    return source


def status_edits_to_entities(
    status: Status,
    edits: Sequence[StatusEdit],
    account: dict[str, Any],
    media: list[dict[str, Any]],
    emojis: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """The StatusEdit history, oldest first, ending with the current revision (added when the stored
    revisions do not already end with it). Past revisions' media are not kept, so only the current one
    lists media. `emojis` (`apub.emojis.emoji_facts`) are those any revision uses; each lists its own."""
    by_code = {facts["shortcode"]: facts for facts in emojis}

    def used(spoiler_text: str, content: str) -> list[dict[str, Any]]:
        codes = shortcodes_in((spoiler_text, content)) if by_code else []
        return [emoji_to_entity(by_code[code]) for code in codes if code in by_code]

    def revision(
        content: str, spoiler_text: str, sensitive: bool, created_at: Any, with_media: bool
    ) -> dict[str, Any]:
        return {
            "content": content,
            "spoiler_text": spoiler_text,
            "sensitive": sensitive,
            "created_at": format_time(created_at),
            "account": account,
            "poll": None,
            "quote": None,
            "media_attachments": media if with_media else [],
            "emojis": used(spoiler_text, content),
        }

    revisions = [revision(e.content, e.spoiler_text, e.sensitive, e.created_at, False) for e in edits]
    for entry, edit in zip(revisions, edits, strict=True):
        others = variants_of_snapshot(edit.variants)
        if others:  # the revision's other languages (Plein's extension, docs/MULTILINGUAL.md)
            entry["plein_content_map"] = {v.language: v.content for v in others}
    current = (status.content, status.spoiler_text, status.sensitive)
    last = (edits[-1].content, edits[-1].spoiler_text, edits[-1].sensitive) if edits else None
    if last == current:
        revisions[-1]["media_attachments"] = media
    else:
        revisions.append(revision(*current, status.edited_at or status.created_at, True))
    return revisions
