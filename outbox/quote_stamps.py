"""GET {actor}/quote_authorizations/{id}: the approval stamp (`QuoteAuthorization`, FEP-044f) of a quote
of one of the actor's statuses, dereferenceable so that any server can verify the quote.

It is served while the quote stays approved, the quote post exists and the quoted status can be seen by the one who asks (with
authorized fetch, signed requests only, as for the status itself); a revoked stamp answers 404, as
Mastodon's does, and that is how a server that missed the `Delete` learns of the revocation.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from apub.quotes import quote_authorization
from outbox.objects import activity_response, not_found, requester_id
from storage.accounts import local_account_by_username
from storage.context import Context
from storage.ids import parse_id
from storage.models import Quote, Status
from storage.statuses import can_see
from storage.urls import LocalUrls


async def quote_stamp(request: Request) -> Response:
    """The `QuoteAuthorization` document, or 404."""
    ctx: Context = request.state.ctx
    viewer_id = await requester_id(request, ctx)
    quote_id = parse_id(request.path_params["quote_id"])
    if quote_id is None:
        return not_found()
    urls = LocalUrls(ctx.base_url)
    async with ctx.db.read() as session:
        author = await local_account_by_username(session, request.path_params["username"])
        quote = await session.get(Quote, quote_id)
        if author is None or quote is None or quote.state != "accepted" or quote.quoted_status_id is None:
            return not_found()
        quoted = await session.get(Status, quote.quoted_status_id)
        quoting = await session.get(Status, quote.status_id)
        stamp_uri = urls.quote_authorization(author.username, quote.id)
        if (
            quoted is None
            or quoting is None
            or quoting.deleted_at is not None
            or quoted.account_id != author.id
            or quote.approval_uri != stamp_uri
            or not await can_see(session, viewer_id, quoted)
        ):
            return not_found()
    return activity_response(quote_authorization(stamp_uri, author.uri, quoting.uri, quoted.uri))
