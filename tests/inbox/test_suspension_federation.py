"""A local suspension tells the account's followers' servers, as Mastodon's SuspendAccountService: `Update`
of its actor with `suspended: true` (the actor is still served, flagged, with nothing of the profile), and
lifting it sends the actor again without the flag; a self-deletion request suspends the same way."""

from __future__ import annotations

import argparse

from sqlalchemy import update

from outbox.actions import cancel_account_deletion, request_account_deletion
from plein.admin import account_command
from storage.models import Account
from support.inbox_world import InboxWorld

AS2 = {"Accept": "application/activity+json"}


def _actor_updates(world: InboxWorld) -> list[dict]:
    return [
        activity["object"]
        for path in ("/inbox", "/users/ann/inbox")
        for activity in world.remote.posted_to(path)
        if activity["type"] == "Update" and activity["object"].get("type") == "Person"
    ]


async def test_suspension_and_its_lifting_reach_the_followers(any_world: InboxWorld) -> None:
    world = any_world
    response = await world.deliver(world.ann.activity("Follow", world.alice.uri), world.ann)
    assert response.status_code == 202
    await world.drain()
    async with world.ctx.db.transaction() as session:
        await session.execute(
            update(Account)
            .where(Account.id == world.alice.id)
            .values(display_name="Alice", note="<p>bio</p>")
        )

    suspend = argparse.Namespace(action="suspend", username="alice", text="", dry_run=False)
    assert await account_command(world.ctx, suspend) == 0
    await world.drain()
    [suspended] = _actor_updates(world)
    assert suspended["id"] == world.alice.uri and suspended["suspended"] is True
    assert suspended["name"] == "alice" and suspended["summary"] == ""
    served = await world.client.get("/users/alice", headers=AS2)
    page = await world.client.get("/users/alice", headers={"Accept": "text/html"})
    assert served.status_code == 200 and served.json()["suspended"] is True
    assert "suspended" in str(served.json()["@context"])
    assert page.status_code == 404

    lift = argparse.Namespace(action="unsuspend", username="alice", text="", dry_run=False)
    assert await account_command(world.ctx, lift) == 0
    await world.drain()
    [_, lifted] = _actor_updates(world)
    assert "suspended" not in lifted and lifted["name"] == "Alice" and lifted["summary"] == "<p>bio</p>"
    served = await world.client.get("/users/alice", headers=AS2)
    assert "suspended" not in served.json()


async def test_a_deletion_request_suspends_and_its_cancelling_lifts(world: InboxWorld) -> None:
    response = await world.deliver(world.ann.activity("Follow", world.alice.uri), world.ann)
    assert response.status_code == 202
    await world.drain()
    await request_account_deletion(world.ctx, world.alice.id, actor="account:alice")
    await world.drain()
    await cancel_account_deletion(world.ctx, "alice", actor="cli:test")
    await world.drain()
    assert [update.get("suspended") for update in _actor_updates(world)] == [True, None]
