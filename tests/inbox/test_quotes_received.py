"""Quote posts received through the real inbox, signed: a quote is shown as accepted only with a stamp by
the quoted author, from the quoted author's origin, naming exactly this quote and this quoted post; a
stamp can be revoked only by its author; a `QuoteRequest` for a post nobody may quote is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from outbox.actions import post_status
from storage.models import Account, Block, Quote, Status
from support.inbox_world import InboxWorld


async def _accepted(world: InboxWorld, activity: dict[str, Any], signer: Any) -> None:
    response = await world.deliver(activity, signer)
    assert response.status_code == 202, response.text
    await world.drain()


async def _state(world: InboxWorld, quoting_uri: str) -> Quote | None:
    return await world.scalar(
        select(Quote).join(Status, Status.id == Quote.status_id).where(Status.uri == quoting_uri)
    )


def _stamp(world: InboxWorld, author: Any, quote_uri: str, quoted_uri: str, **fields: Any) -> dict[str, Any]:
    stamp = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": author.new_id("stamps"),
        "type": "QuoteAuthorization",
        "attributedTo": author.uri,
        "interactingObject": quote_uri,
        "interactionTarget": quoted_uri,
    }
    stamp.update(fields)
    author.server.serve(stamp)
    return stamp


async def test_only_a_true_stamp_makes_a_quote_accepted(any_world: InboxWorld) -> None:
    world = any_world
    await world.follow_locally(world.alice, world.ann)
    quoted = world.ben.note("<p>ben says</p>")
    world.remote.serve(quoted)
    cases = {
        "true": lambda uri: _stamp(world, world.ben, uri, quoted["id"]),
        "another quote": lambda uri: _stamp(world, world.ben, quoted["id"] + "/x", quoted["id"]),
        "not the quoted author": lambda uri: _stamp(world, world.ann, uri, quoted["id"]),
        "another origin": lambda uri: _stamp(world, world.eve, uri, quoted["id"], attributedTo=world.ben.uri),
    }
    for case, make in cases.items():
        quote_id = world.ann.new_id("notes")
        note = world.ann.note(
            f"<p>{case}</p>", id=quote_id, quote=quoted["id"], quoteAuthorization=make(quote_id)["id"]
        )
        await _accepted(world, world.ann.activity("Create", note), world.ann)
        quote = await _state(world, quote_id)
        assert quote is not None, case
        assert quote.state == ("accepted" if case == "true" else "rejected"), case
        assert quote.quoted_status_id is not None  # the quoted post was fetched and stored
    # A Misskey-style quote without a stamp waits.
    plain = world.ann.note("<p>RE</p>", _misskey_quote=quoted["id"])
    await _accepted(world, world.ann.activity("Create", plain), world.ann)
    assert (await _state(world, plain["id"])).state == "pending"


async def test_a_stamp_is_revoked_by_its_author_only(world: InboxWorld) -> None:
    await world.follow_locally(world.alice, world.ann)
    quoted = world.ben.note("<p>ben says</p>")
    world.remote.serve(quoted)
    quote_id = world.ann.new_id("notes")
    stamp = _stamp(world, world.ben, quote_id, quoted["id"])
    note = world.ann.note("<p>q</p>", id=quote_id, quote=quoted["id"], quoteAuthorization=stamp["id"])
    await _accepted(world, world.ann.activity("Create", note), world.ann)
    assert (await _state(world, quote_id)).state == "accepted"

    await world.deliver(world.ann.activity("Delete", stamp["id"]), world.ann)  # the quoter cannot
    await world.drain()
    assert (await _state(world, quote_id)).state == "accepted"
    await _accepted(world, world.ben.activity("Delete", stamp["id"]), world.ben)
    assert (await _state(world, quote_id)).state == "revoked"


async def test_a_quote_request_for_a_post_nobody_may_quote_is_refused(world: InboxWorld) -> None:
    closed = await post_status(world.ctx, world.alice, text="mine alone", quote_policy="nobody")
    quote = world.ann.note("<p>q</p>", quote=closed.uri)
    request = world.ann.activity("QuoteRequest", closed.uri, instrument=quote)
    await _accepted(world, request, world.ann)
    assert (await _state(world, quote["id"])).state == "rejected"
    answers = world.remote.posted_to("/users/ann/inbox")
    assert [answer["type"] for answer in answers] == ["Reject"]
    assert answers[0]["object"]["id"] == request["id"] and "result" not in answers[0]

    opened = await post_status(world.ctx, world.alice, text="quote away")
    quote = world.ann.note("<p>q2</p>", quote=opened.uri)
    request = world.ann.activity("QuoteRequest", opened.uri, instrument=quote)
    await _accepted(world, request, world.ann)
    row = await _state(world, quote["id"])
    assert row.state == "accepted" and row.approval_uri is not None
    accept = world.remote.posted_to("/users/ann/inbox")[-1]
    assert accept["type"] == "Accept" and accept["result"] == row.approval_uri
    stamp = await world.client.get(
        row.approval_uri.removeprefix(world.instance.base_url),
        headers={"Accept": "application/activity+json"},
    )
    assert stamp.status_code == 200 and stamp.json()["interactingObject"] == quote["id"]


async def test_someone_the_author_blocks_may_not_quote(world: InboxWorld) -> None:
    opened = await post_status(world.ctx, world.alice, text="quote away, but not ann")
    await world.follow_locally(world.alice, world.ann)  # stores ann's account
    ann = await world.scalar(select(Account).where(Account.uri == world.ann.uri))
    async with world.ctx.db.transaction() as session:
        session.add(Block(account_id=world.alice.id, target_account_id=ann.id))
    quote = world.ann.note("<p>q</p>", quote=opened.uri)
    await _accepted(world, world.ann.activity("QuoteRequest", opened.uri, instrument=quote), world.ann)
    assert (await _state(world, quote["id"])).state == "rejected"
    assert [answer["type"] for answer in world.remote.posted_to("/users/ann/inbox")] == ["Reject"]
