"""Custom emoji rows: the local ones an admin adds, the remote ones received in `Emoji` tags, and which of
them a text uses (Mastodon's `CustomEmoji.from_text`: `:code:` looked up among the emojis of the author's
own server, so the same shortcode on two hosts is two emojis).

Statuses find their emojis when they are rendered (`emojis_of_statuses`, one query a page), so removing a
local emoji takes it out of every post at once. Accounts carry theirs on the row (`Account.emojis`), which
`refresh_local_profiles` keeps in step when a local emoji comes or goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Text, and_, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from apub.builders import iso_datetime, parse_datetime
from apub.emojis import emoji_facts, is_shortcode, shortcodes_in
from storage.db import dialect_insert
from storage.emoji_files import emoji_file_url, static_path
from storage.models import Account, CustomEmoji, Status
from storage.types import utcnow
from storage.urls import LocalUrls

Reader = AsyncSession | AsyncConnection
EMOJI_COLUMNS = tuple(CustomEmoji.__table__.columns)


def facts_of(emoji: Any, urls: LocalUrls) -> dict[str, Any]:
    """An emoji row (ORM object or plain row) as `apub.emojis.emoji_facts`."""
    if emoji.domain is None:
        url = emoji_file_url(urls.base_url, emoji.file_path)
        static_url = emoji_file_url(urls.base_url, static_path(emoji.file_path))
        uri = urls.emoji(emoji.id)
    else:
        url = static_url = emoji.image_url  # remote images are linked, never copied or converted
        uri = emoji.uri
    return emoji_facts(
        shortcode=emoji.shortcode,
        url=url,
        static_url=static_url,
        uri=uri,
        updated=iso_datetime(emoji.updated_at),
        media_type=emoji.content_type,
        visible_in_picker=emoji.visible_in_picker,
        category=emoji.category,
    )


async def local_emojis(session: AsyncSession) -> list[CustomEmoji]:
    """This server's emojis, by shortcode (apps group them by category themselves)."""
    statement = select(CustomEmoji).where(CustomEmoji.domain.is_(None)).order_by(CustomEmoji.shortcode)
    return list((await session.execute(statement)).scalars())


async def local_emoji(session: AsyncSession, shortcode: str) -> CustomEmoji | None:
    """The local emoji `shortcode`, if there is one."""
    statement = select(CustomEmoji).where(CustomEmoji.domain.is_(None), CustomEmoji.shortcode == shortcode)
    return (await session.execute(statement)).scalar_one_or_none()


async def local_emojis_named(session: AsyncSession, shortcodes: Iterable[str]) -> dict[str, CustomEmoji]:
    """The local emojis among `shortcodes`, by shortcode (reactions name them bare, without colons)."""
    wanted = {code for code in shortcodes if is_shortcode(code)}
    if not wanted:
        return {}
    statement = select(CustomEmoji).where(CustomEmoji.domain.is_(None), CustomEmoji.shortcode.in_(wanted))
    return {emoji.shortcode: emoji for emoji in (await session.execute(statement)).scalars()}


async def emoji_by_id(session: AsyncSession, emoji_id: int) -> CustomEmoji | None:
    """The emoji row `emoji_id`."""
    return await session.get(CustomEmoji, emoji_id)


async def emoji_rows_in(
    session: AsyncSession, domain: str | None, texts: Iterable[str | None]
) -> list[CustomEmoji]:
    """The emojis of `domain` (None: local) that `texts` use, in order of first use."""
    codes = shortcodes_in(texts)
    if not codes:
        return []
    statement = select(CustomEmoji).where(
        CustomEmoji.shortcode.in_(codes), CustomEmoji.domain.is_not_distinct_from(domain)
    )
    found = {emoji.shortcode: emoji for emoji in (await session.execute(statement)).scalars()}
    return [found[code] for code in codes if code in found]


async def emojis_in(
    session: AsyncSession, domain: str | None, texts: Iterable[str | None], urls: LocalUrls
) -> list[dict[str, Any]]:
    """`emoji_rows_in` as `emoji_facts`."""
    return [facts_of(emoji, urls) for emoji in await emoji_rows_in(session, domain, texts)]


async def emojis_of_statuses(
    reader: Reader, texts: Mapping[int, Iterable[str | None]], urls: LocalUrls
) -> dict[int, list[dict[str, Any]]]:
    """For each status id, the emojis of its author's server that its `texts` use; one query for them all,
    and none when no text has a `:code:`."""
    codes = {status_id: shortcodes_in(parts) for status_id, parts in texts.items()}
    codes = {status_id: used for status_id, used in codes.items() if used}
    if not codes:
        return {}
    statement = (
        select(Status.id.label("emoji_status_id"), *EMOJI_COLUMNS)
        .join(Account, Account.id == Status.account_id)
        .join(
            CustomEmoji,
            and_(
                CustomEmoji.shortcode.in_({code for used in codes.values() for code in used}),
                CustomEmoji.domain.is_not_distinct_from(Account.domain),
            ),
        )
        .where(Status.id.in_(list(codes)))
    )
    found: dict[int, dict[str, Any]] = {}
    for row in (await reader.execute(statement)).all():
        found.setdefault(row.emoji_status_id, {})[row.shortcode] = row
    return {
        status_id: [facts_of(rows[code], urls) for code in codes[status_id] if code in rows]
        for status_id, rows in found.items()
    }


async def add_local_emoji(
    session: AsyncSession,
    *,
    emoji_id: int,
    shortcode: str,
    file_path: str,
    content_type: str,
    category: str | None,
    visible_in_picker: bool,
) -> CustomEmoji:
    """Insert a local emoji whose files are already written."""
    emoji = CustomEmoji(
        id=emoji_id,
        shortcode=shortcode,
        domain=None,
        file_path=file_path,
        content_type=content_type,
        category=category,
        visible_in_picker=visible_in_picker,
    )
    session.add(emoji)
    await session.flush()
    return emoji


async def delete_emoji(session: AsyncSession, emoji: CustomEmoji) -> None:
    """Delete an emoji row."""
    await session.execute(delete(CustomEmoji).where(CustomEmoji.id == emoji.id))


def profile_texts(account: Account) -> list[str]:
    """The texts of a profile that may use emojis: display name, note, field names and values."""
    texts = [account.display_name, account.note]
    for field in account.fields or []:
        if isinstance(field, dict):
            texts += [str(field.get("name", "")), str(field.get("value", ""))]
    return texts


async def refresh_local_profiles(session: AsyncSession, shortcode: str, urls: LocalUrls) -> int:
    """Recompute `emojis` of the local accounts whose profile mentions `:shortcode:` (after that emoji was
    added or removed); returns how many there were."""
    needle = f":{shortcode}:"
    statement = select(Account).where(
        Account.domain.is_(None),
        or_(
            Account.display_name.contains(needle, autoescape=True),
            Account.note.contains(needle, autoescape=True),
            cast(Account.fields, Text).contains(needle, autoescape=True),
        ),
    )
    accounts = list((await session.execute(statement)).scalars())
    for account in accounts:
        account.emojis = await emojis_in(session, None, profile_texts(account), urls)
    return len(accounts)


async def forget_remote_emojis(session: AsyncSession, hosts: Sequence[str]) -> int:
    """Delete the custom emojis of `hosts` and take them off those hosts' accounts (their server is cut
    off, or its media are rejected); returns how many emojis were deleted."""
    if not hosts:
        return 0
    result = await session.execute(
        delete(CustomEmoji).where(CustomEmoji.domain.in_(hosts)).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Account)
        .where(Account.domain.in_(hosts), cast(Account.emojis, Text) != "[]")
        .values(emojis=[])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)


async def upsert_remote_emojis(session: AsyncSession, domain: str, emojis: Sequence[dict[str, Any]]) -> None:
    """Store the emojis (`emoji_facts`) a remote server announced in `Emoji` tags. A known one takes the new
    image unless the tag says it is older than what is stored (a replayed old post changes nothing)."""
    rows: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for facts in emojis:
        rows[facts["shortcode"]] = {
            "shortcode": facts["shortcode"],
            "domain": domain,
            "uri": facts.get("uri"),
            "image_url": facts["url"],
            "content_type": facts.get("media_type"),
            "visible_in_picker": True,
            "updated_at": parse_datetime(facts.get("updated")) or now,
        }
    if not rows:
        return
    insert = dialect_insert(session.bind.dialect.name)(CustomEmoji)
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=[CustomEmoji.shortcode, CustomEmoji.domain],
        set_={
            "uri": excluded.uri,
            "image_url": excluded.image_url,
            "content_type": excluded.content_type,
            "updated_at": excluded.updated_at,
        },
        where=and_(CustomEmoji.updated_at <= excluded.updated_at, CustomEmoji.domain.is_not(None)),
    )
    for values in rows.values():  # a handful per post; one statement each keeps ON CONFLICT simple
        await session.execute(statement, values)
