"""Quote posts between two real Plein instances (FEP-044f, as Mastodon 4.5 federates them): a quote of a
status on the other server is pending until that server's `Accept` brings a stamp it then serves, the
quoted author is notified and may revoke the quote (`Delete` of the stamp); a status nobody may quote
cannot be quoted; local quotes follow the same policy without the network. Client API answers are checked
against Mastodon's OpenAPI description."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from storage.models import Activity, Quote, Status
from support.federation import Instance, settle
from support.oauth import bearer, make_token
from support.openapi import validate_response
from webfinger.resolve import resolve_status


async def _call(
    instance: Instance, token: str, method: str, path: str, *, expect: int = 200, **options: Any
) -> Any:
    async with httpx.AsyncClient(base_url=instance.ctx.base_url, timeout=30) as client:
        response = await client.request(method, path, headers=bearer(token), **options)
    assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
    body = response.json()
    validate_response(path, method, response.status_code, body)
    return body


async def _quote_row(instance: Instance, quoting_uri: str) -> Quote:
    async with instance.ctx.db.read() as session:
        return (
            await session.execute(
                select(Quote).join(Status, Status.id == Quote.status_id).where(Status.uri == quoting_uri)
            )
        ).scalar_one()


async def test_a_quote_across_servers_is_approved_then_revoked(trio) -> None:
    a, b, _ = trio
    alice_token, bob_token = await make_token(a.ctx, "alice"), await make_token(b.ctx, "bob")
    original = await _call(a, alice_token, "POST", "/api/v1/statuses", json={"status": "Quote me"})
    assert original["quote_approval"] == {"automatic": ["public"], "manual": [], "current_user": "automatic"}
    copy = await resolve_status(b.ctx, original["uri"])
    assert copy.quote_policy == "public"  # read from the Note's interactionPolicy.canQuote

    quoting = await _call(
        b,
        bob_token,
        "POST",
        "/api/v1/statuses",
        json={"status": "Well said", "quoted_status_id": str(copy.id)},
    )
    assert quoting["quote"]["state"] == "pending" and quoting["quote"]["quoted_status"] is None
    await settle(a, b)

    # A approved by its policy and serves the stamp; B checked it and shows the quote.
    theirs, ours = await _quote_row(a, quoting["uri"]), await _quote_row(b, quoting["uri"])
    assert theirs.state == ours.state == "accepted"
    assert ours.approval_uri == theirs.approval_uri and ours.approval_uri.startswith(a.ctx.base_url)
    async with httpx.AsyncClient(timeout=30) as client:
        stamp = (await client.get(ours.approval_uri, headers={"Accept": "application/activity+json"})).json()
    assert stamp["type"] == "QuoteAuthorization"
    assert stamp["interactingObject"] == quoting["uri"] and stamp["interactionTarget"] == original["uri"]
    shown = await _call(b, bob_token, "GET", f"/api/v1/statuses/{quoting['id']}")
    assert shown["quote"]["state"] == "accepted"
    assert shown["quote"]["quoted_status"]["uri"] == original["uri"]
    # B sent the quote post again with its stamp (Update), to A among others: no edit there.
    assert await b.count(Activity, Activity.activity_type == "Update") == 1
    copy_on_a = await a.status(quoting["uri"])
    assert copy_on_a is not None and copy_on_a.edited_at is None

    notes = await _call(a, alice_token, "GET", "/api/v1/notifications", params={"types[]": "quote"})
    assert [n["type"] for n in notes] == ["quote"] and notes[0]["status"]["uri"] == quoting["uri"]
    on_a = await a.status(quoting["uri"])
    assert on_a is not None
    listed = await _call(a, alice_token, "GET", f"/api/v1/statuses/{original['id']}/quotes")
    assert [s["uri"] for s in listed] == [quoting["uri"]]
    counted = await _call(a, alice_token, "GET", f"/api/v1/statuses/{original['id']}")
    assert counted["quotes_count"] == 1

    revoked = await _call(
        a, alice_token, "POST", f"/api/v1/statuses/{original['id']}/quotes/{on_a.id}/revoke"
    )
    assert revoked["quote"]["state"] == "revoked"
    await settle(a, b)
    assert (await _quote_row(b, quoting["uri"])).state == "revoked"
    after = await _call(b, bob_token, "GET", f"/api/v1/statuses/{quoting['id']}")
    assert after["quote"] == {"state": "revoked", "quoted_status": None}
    async with httpx.AsyncClient(timeout=30) as client:
        gone = await client.get(ours.approval_uri, headers={"Accept": "application/activity+json"})
    assert gone.status_code == 404


async def test_a_status_nobody_may_quote_is_refused_here_and_there(trio) -> None:
    a, b, _ = trio
    alice_token, bob_token = await make_token(a.ctx, "alice"), await make_token(b.ctx, "bob")
    closed = await _call(
        a, alice_token, "POST", "/api/v1/statuses", json={"status": "Mine", "quote_approval_policy": "nobody"}
    )
    assert closed["quote_approval"]["automatic"] == []
    copy = await resolve_status(b.ctx, closed["uri"])
    assert copy.quote_policy == "nobody"
    seen = await _call(b, bob_token, "GET", f"/api/v1/statuses/{copy.id}")
    assert seen["quote_approval"]["current_user"] == "denied"
    await _call(
        b,
        bob_token,
        "POST",
        "/api/v1/statuses",
        expect=422,
        json={"status": "x", "quoted_status_id": str(copy.id)},
    )
    # A local account of A is held to the same policy, without the network; its author may quote it.
    carol_token = await make_token(a.ctx, "carol")
    await _call(
        a,
        carol_token,
        "POST",
        "/api/v1/statuses",
        expect=422,
        json={"status": "x", "quoted_status_id": closed["id"]},
    )
    own = await _call(
        a,
        alice_token,
        "POST",
        "/api/v1/statuses",
        json={"status": "me again", "quoted_status_id": closed["id"]},
    )
    assert own["quote"]["state"] == "accepted" and own["quote"]["quoted_status"]["id"] == closed["id"]

    # Opening it up later (interaction_policy) goes out as an Update that B reads.
    opened = await _call(
        a,
        alice_token,
        "PUT",
        f"/api/v1/statuses/{closed['id']}/interaction_policy",
        json={"quote_approval_policy": "public"},
    )
    assert opened["quote_approval"]["automatic"] == ["public"]


async def test_a_local_quote_is_approved_at_once_notifies_and_shows_a_deleted_original(trio) -> None:
    a, _, _ = trio
    alice_token, carol_token = await make_token(a.ctx, "alice"), await make_token(a.ctx, "carol")
    posted = await _call(a, alice_token, "POST", "/api/v1/statuses", json={"status": "Local words"})
    quoting = await _call(
        a,
        carol_token,
        "POST",
        "/api/v1/statuses",
        json={"status": "Indeed", "quoted_status_id": posted["id"]},
    )
    assert quoting["quote"]["state"] == "accepted" and quoting["quote"]["quoted_status"]["id"] == posted["id"]
    row = await _quote_row(a, quoting["uri"])
    assert row.approval_uri is not None  # our own stamp, for other servers to check
    assert await a.count(Activity, Activity.activity_type == "QuoteRequest") == 0
    notes = await _call(a, alice_token, "GET", "/api/v1/notifications", params={"types[]": "quote"})
    assert [n["status"]["id"] for n in notes] == [quoting["id"]]

    # An edit of the quoted status tells the quoter (quoted_update).
    await _call(a, alice_token, "PUT", f"/api/v1/statuses/{posted['id']}", json={"status": "Local words!"})
    updates = await _call(a, carol_token, "GET", "/api/v1/notifications", params={"types[]": "quoted_update"})
    assert [n["status"]["id"] for n in updates] == [posted["id"]]

    await _call(a, alice_token, "DELETE", f"/api/v1/statuses/{posted['id']}")
    shown = await _call(a, carol_token, "GET", f"/api/v1/statuses/{quoting['id']}")
    assert shown["quote"] == {"state": "deleted", "quoted_status": None}


async def test_a_followers_only_self_quote_shows_its_original_to_followers(trio) -> None:
    a, _, _ = trio
    alice_token, dora_token = await make_token(a.ctx, "alice"), await make_token(a.ctx, "dora")
    alice = await _call(a, alice_token, "GET", "/api/v1/accounts/verify_credentials")
    await _call(a, dora_token, "POST", f"/api/v1/accounts/{alice['id']}/follow")
    await settle(a)
    private = await _call(
        a, alice_token, "POST", "/api/v1/statuses", json={"status": "ours", "visibility": "private"}
    )
    assert private["quote_approval"]["automatic"] == []  # followers-only: its author alone may quote it
    again = await _call(
        a,
        alice_token,
        "POST",
        "/api/v1/statuses",
        json={"status": "still ours", "visibility": "private", "quoted_status_id": private["id"]},
    )
    seen = await _call(a, dora_token, "GET", f"/api/v1/statuses/{again['id']}")
    assert seen["quote"]["state"] == "accepted" and seen["quote"]["quoted_status"]["id"] == private["id"]
    await _call(
        a,
        dora_token,
        "POST",
        "/api/v1/statuses",
        expect=422,
        json={"status": "x", "quoted_status_id": private["id"]},
    )
