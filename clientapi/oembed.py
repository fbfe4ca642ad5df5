"""`/api/oembed?url=`: the oEmbed description of one of our statuses, for sites that embed it.

Only a status anyone may read is described (a local public or unlisted original whose author is not
suspended: `storage.statuses.can_see` with no viewer); any other URL is a 404. The `html` is a self-contained
quotation of the post — its sanitised text, the author and a link to the post — with no script and no frame,
so no embeddable page is needed and this server's pages keep refusing to be framed.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from apub.html import sanitize_html
from clientapi.errors import NotFound
from clientapi.params import read_params
from clientapi.responses import api_response
from storage.accounts import local_account_by_username
from storage.context import Context
from storage.models import Account, Status
from storage.statuses import can_see
from storage.urls import LocalUrls

DEFAULT_WIDTH = 400
MAX_WIDTH = 4_000
CACHE_AGE = 86_400  # seconds, as Mastodon


def _embed_html(urls: LocalUrls, domain: str, account: Account, status: Status, width: int) -> str:
    page = html.escape(urls.status_page(account.username, status.id), quote=True)
    author = html.escape(account.display_name or account.username)
    handle = html.escape(f"@{account.username}@{domain}")
    published = html.escape(status.created_at.date().isoformat())
    # Embedded in other sites' pages: the text is sanitised once more, whatever produced it.
    text = sanitize_html(status.content)
    warning = f"<p><strong>{html.escape(status.spoiler_text)}</strong></p>" if status.spoiler_text else ""
    return (
        f'<blockquote class="plein-embed" cite="{page}" style="max-width: {width}px; margin: 0;">'
        f"{warning}{text}"
        f'<p>— {author} ({handle}) <a href="{page}" target="_blank" rel="noopener">{published}</a></p>'
        "</blockquote>"
    )


async def oembed(request: Request) -> Response:
    ctx: Context = request.state.ctx
    params = await read_params(request)
    url = params.require_str("url")
    width = (
        params.get_int("maxwidth", DEFAULT_WIDTH, minimum=1, maximum=MAX_WIDTH, clamp=True) or DEFAULT_WIDTH
    )
    urls = LocalUrls(ctx.base_url)
    found = urls.status_in_url(url)
    if found is None:
        raise NotFound()
    username, status_id = found
    async with ctx.db.read() as session:
        account = await local_account_by_username(session, username)
        status = await session.get(Status, status_id)
        if (
            account is None
            or status is None
            or status.account_id != account.id
            or status.reblog_of_id is not None
            or not await can_see(session, None, status)
        ):
            raise NotFound()
    description: dict[str, Any] = {
        "type": "rich",
        "version": "1.0",
        "title": f"New status by {account.username}",
        "author_name": account.display_name or account.username,
        "author_url": urls.profile_page(account.username),
        "provider_name": ctx.domain,
        "provider_url": f"{ctx.base_url}/",
        "cache_age": CACHE_AGE,
        "html": _embed_html(urls, ctx.domain, account, status, width),
        "width": width,
        "height": None,
    }
    return api_response(description)


routes = [Route("/api/oembed", oembed, methods=["GET"])]
