"""Quote posts between Plein and a real Fedify 2 server (tests/fedify2, whose vocabulary has FEP-044f's
`quote`, `QuoteRequest` and `QuoteAuthorization`; authorized fetch on both sides): a quote made on Fedify,
with its `QuoteRequest`, is approved by Plein and shows as a quote in Plein's client API; a quote made on
Plein of a Fedify note is approved by Fedify with a stamp Plein fetches and checks, and Fedify's own
vocabulary reads our quote post (`quote`, `quoteUrl` form aside, `quoteAuthorization`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from peers.fedify import FedifyPeer, JsonObject, fedify2_peer_fixture  # noqa: F401  (provides "fedify2_peer")
from storage.models import Quote, Status
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from support.oauth import bearer, make_token
from support.openapi import validate_response
from webfinger.resolve import resolve_status


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    settings = make_settings(tmp_path / "plein", **{"federation.authorized_fetch": True})
    async with serve_in_process(settings) as running:
        yield Instance(running)


async def _call(plein: Instance, token: str, method: str, path: str, **options: Any) -> Any:
    async with httpx.AsyncClient(base_url=plein.ctx.base_url, timeout=30) as client:
        response = await client.request(method, path, headers=bearer(token), **options)
    assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
    body = response.json()
    validate_response(path, method, 200, body)
    return body


async def _quote_of(plein: Instance, quoting_uri: str) -> Quote | None:
    async with plein.ctx.db.read() as session:
        return (
            await session.execute(
                select(Quote).join(Status, Status.id == Quote.status_id).where(Status.uri == quoting_uri)
            )
        ).scalar_one_or_none()


async def test_a_fedify_quote_of_a_plein_post_is_approved_and_shown(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    token = await make_token(plein.ctx, "carol")
    posted = await _call(plein, token, "POST", "/api/v1/statuses", json={"status": "Quote me, Fedify"})

    made = await peer.quote(posted["uri"], "<p>Fedify agrees</p>")

    async def approved() -> Quote | None:
        quote = await _quote_of(plein, made["id"])
        return quote if quote is not None and quote.state == "accepted" else None

    quote = await until(plein, approved, what="Plein approves Fedify's QuoteRequest")
    assert quote.approval_uri is not None and quote.approval_uri.startswith(plein.ctx.base_url)

    async def accepted() -> JsonObject | None:
        return next(
            (item for item in await peer.inbox() if item["type"] == "Accept" and item["result"]), None
        )

    accept = await until(plein, accepted, what="Fedify 2 receives the Accept with its stamp")
    assert accept["result"] == quote.approval_uri and accept["object_id"] == made["request_id"]

    stored = await plein.status(made["id"])
    assert stored is not None
    shown = await _call(plein, token, "GET", f"/api/v1/statuses/{stored.id}")
    assert shown["quote"]["state"] == "accepted" and shown["quote"]["quoted_status"]["id"] == posted["id"]
    notes = await _call(plein, token, "GET", "/api/v1/notifications", params={"types[]": "quote"})
    assert [n["status"]["uri"] for n in notes] == [made["id"]]
    assert await peer.errors() == []


async def test_a_plein_quote_of_a_fedify_note_is_approved_and_read_by_fedify(
    plein: Instance, fedify2_peer: FedifyPeer
) -> None:
    peer = fedify2_peer
    await peer.reset()
    token = await make_token(plein.ctx, "carol")
    note = await peer.post_note("<p>Quotable</p>", to="public")
    copy = await resolve_status(plein.ctx, note["id"])
    assert copy.quote_policy == "public"  # Fedify's interactionPolicy.canQuote, read

    quoting = await _call(
        plein,
        token,
        "POST",
        "/api/v1/statuses",
        json={"status": "Quoting Fedify", "quoted_status_id": str(copy.id)},
    )
    assert quoting["quote"]["state"] == "pending"

    async def approved() -> Quote | None:
        quote = await _quote_of(plein, quoting["uri"])
        return quote if quote is not None and quote.state == "accepted" else None

    quote = await until(plein, approved, what="Fedify 2 approves and Plein checks the stamp")
    assert quote.approval_uri is not None and quote.approval_uri.startswith(peer.base_url)

    async def read_by_fedify() -> JsonObject | None:
        for item in await peer.inbox():
            if item["type"] == "Update" and item["quote"] and item["quote"]["quote_authorization"]:
                return item["quote"]
        return None

    seen = await until(plein, read_by_fedify, what="Fedify 2 reads the quote post with its stamp")
    assert seen["quote"] == note["id"] and seen["quote_authorization"] == quote.approval_uri
    requests = [item for item in await peer.inbox() if item["type"] == "QuoteRequest"]
    assert [item["object_id"] for item in requests] == [note["id"]]
    shown = await _call(plein, token, "GET", f"/api/v1/statuses/{quoting['id']}")
    assert shown["quote"]["quoted_status"]["uri"] == note["id"]
    assert await peer.errors() == []
