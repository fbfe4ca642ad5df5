"""RSS 2.0 and Atom feeds (feedgen) of public local posts: per account (`/@name.rss`, `/@name.atom`) and per
hashtag (`/tags/name.rss`, `/tags/name.atom`), the newest `FEED_SIZE`. They list what the HTML pages list:
public, original, not deleted posts of accounts neither suspended nor silenced.

A post in several languages keeps them all (feeds have one content per entry): the primary language's HTML,
then each other language's, each in a `<div lang="…">` headed by the language's name; a content warning
lists every language's warning (docs/MULTILINGUAL.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from feedgen.feed import FeedGenerator
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from storage.accounts import local_account_by_username
from storage.context import Context
from storage.instance_profile import read_instance_profile
from storage.models import Account, Status
from storage.status_variants import Variant, variants_of
from storage.tags import tag_by_name, tag_name_from_input, tagged_public_statuses
from web.i18n import language_name
from web.pages import public_local_statuses

FEED_SIZE = 20
MEDIA_TYPES = {"rss": "application/rss+xml; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def _title_of(status: Status) -> str:
    text = status.spoiler_text or status.text or ""
    return text if len(text) <= 80 else f"{text[:79]}…"


def _every_language_html(status: Status, variants: Sequence[Variant], feed_language: str) -> str:
    """The HTML of every language of a post, the primary first, each marked with its `lang`."""
    if not variants or not status.language:
        return status.content
    sections = [(status.language, status.content), *((v.language, v.content) for v in variants)]
    return "".join(
        f'<div lang="{escape(code)}"><p><em>{escape(language_name(code, feed_language))}</em></p>{html}</div>'
        for code, html in sections
    )


def _every_warning(status: Status, variants: Sequence[Variant]) -> str:
    return " · ".join(text for text in (status.spoiler_text, *(v.spoiler_text for v in variants)) if text)


def statuses_to_feed(
    *,
    title: str,
    link: str,
    self_url: str,
    description: str,
    language: str,
    statuses: Sequence[Status],
    variants: Mapping[int, Sequence[Variant]],
) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(link)
    feed.title(title)
    feed.link(href=link, rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.description(description or title)
    feed.language(language)
    for status in reversed(statuses):  # feedgen puts each new entry first
        item = feed.add_entry()
        item.id(status.uri)
        item.guid(status.uri, permalink=True)
        item.title(_title_of(status))
        item.link(href=status.url or status.uri)
        others = variants.get(status.id, ())
        if status.spoiler_text:
            item.summary(_every_warning(status, others))
        else:
            content = _every_language_html(status, others, language)
            item.content(content, type="html")
            item.description(content)
        item.published(status.created_at)
        item.updated(status.edited_at or status.created_at)
    return feed


def _answer(feed: FeedGenerator, kind: str) -> Response:
    body = feed.rss_str(pretty=False) if kind == "rss" else feed.atom_str(pretty=False)
    return Response(
        body,
        media_type=MEDIA_TYPES[kind],
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


def _kind(request: Request) -> str:
    return "atom" if request.url.path.endswith(".atom") else "rss"


def _not_found() -> Response:
    return PlainTextResponse("Not found", status_code=404)


async def account_feed(request: Request) -> Response:
    ctx: Context = request.state.ctx
    kind = _kind(request)
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, request.path_params["username"])
        if account is None or account.suspended_at is not None or account.silenced_at is not None:
            return _not_found()
        statement = public_local_statuses().where(Status.account_id == account.id)
        statuses = list(
            (await session.execute(statement.order_by(Status.id.desc()).limit(FEED_SIZE))).scalars()
        )
        variants = await variants_of(session, [status.id for status in statuses])
    self_url = f"{ctx.base_url}/@{account.username}.{kind}"
    feed = statuses_to_feed(
        title=f"{account.display_name or account.username} (@{account.username}@{ctx.domain})",
        link=account.url or account.uri,
        self_url=self_url,
        description=account.note,
        language=ctx.settings.instance.default_language,
        statuses=statuses,
        variants=variants,
    )
    return _answer(feed, kind)


async def tag_feed(request: Request) -> Response:
    ctx: Context = request.state.ctx
    kind = _kind(request)
    name = tag_name_from_input(request.path_params["name"])
    async with ctx.db.read() as session:
        tag = await tag_by_name(session, name) if name is not None else None
        if tag is None:
            return _not_found()
        statement = (
            select(Status)
            .join(Account, Account.id == Status.account_id)
            .where(
                tagged_public_statuses(tag.id, local_only=True, account_id=None),
                Account.suspended_at.is_(None),
                Account.silenced_at.is_(None),
            )
            .order_by(Status.id.desc())
            .limit(FEED_SIZE)
        )
        statuses = list((await session.execute(statement)).scalars())
        variants = await variants_of(session, [status.id for status in statuses])
    feed = statuses_to_feed(
        title=f"#{tag.name} · {(await read_instance_profile(ctx)).name}",
        link=f"{ctx.base_url}/tags/{tag.name}",
        self_url=f"{ctx.base_url}/tags/{tag.name}.{kind}",
        description=f"#{tag.name}",
        language=ctx.settings.instance.default_language,
        statuses=statuses,
        variants=variants,
    )
    return _answer(feed, kind)


# Before the pages' routes: `/@{username}` would take `alice.rss` as a name.
routes = [
    Route("/@{username}.rss", account_feed, methods=["GET"]),
    Route("/@{username}.atom", account_feed, methods=["GET"]),
    Route("/tags/{name}.rss", tag_feed, methods=["GET"]),
    Route("/tags/{name}.atom", tag_feed, methods=["GET"]),
]
