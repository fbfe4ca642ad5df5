"""Delivery targets stay on the remote actor's own host: a follower whose actor document names a shared inbox
(or whose stored row names an inbox) on another host never makes Plein deliver there. Driven end to end: a
signed Follow from a fake remote, posts through the client API, the delivery worker drained."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from storage.models import Account, Follow
from support.inbox_remote import RemoteActor
from support.inbox_world import InboxWorld, build_world, rsa_pem
from support.oauth import bearer, make_token


def _posts(world: InboxWorld, server_name: str) -> list[tuple[str, str]]:
    server = world.remote if server_name == "remote" else world.other
    return [(path, body.decode()) for method, path, body in server.requests if method == "POST"]


async def _follow(world: InboxWorld, follower: RemoteActor) -> None:
    response = await world.deliver(follower.activity("Follow", world.alice.uri), follower)
    assert response.status_code == 202, response.text
    await world.drain()
    async with world.ctx.db.read() as session:
        account = await session.scalar(select(Account).where(Account.uri == follower.uri))
        assert account is not None
        assert await session.scalar(
            select(Follow.id).where(
                Follow.account_id == account.id, Follow.target_account_id == world.alice.id
            )
        )


async def _post(world: InboxWorld, token: str, text: str, visibility: str) -> None:
    response = await world.client.post(
        "/api/v1/statuses", json={"status": text, "visibility": visibility}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text
    await world.drain()


async def test_a_foreign_shared_inbox_gets_nothing(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        # mal's own server names a shared inbox on the other host.
        mal = world.remote.add_actor(
            "mal", rsa_pem(3), endpoints={"sharedInbox": f"{world.other.base_url}/inbox"}
        )
        await _follow(world, mal)
        token = await make_token(world.ctx, "alice")
        await _post(world, token, "public hello", "public")
        await _post(world, token, "followers-only hello", "private")
        # Both posts (and the Accept of the follow) went to mal's personal inbox on mal's own host ...
        delivered = [path for path, _ in _posts(world, "remote")]
        assert delivered.count("/users/mal/inbox") == 3, delivered
        assert any("followers-only hello" in body for _, body in _posts(world, "remote"))
        # ... and nothing to the host mal's document pointed at.
        assert _posts(world, "other") == []
        async with world.ctx.db.read() as session:
            stored = await session.scalar(select(Account).where(Account.uri == mal.uri))
        assert stored is not None and stored.shared_inbox_url is None


def _remote_row(world: InboxWorld, username: str, inbox: str, shared_inbox: str) -> Account:
    """An account row of the remote host, stored as it is (not through the actor converter)."""
    return Account(
        username=username,
        domain=world.remote.host,
        uri=f"{world.remote.base_url}/users/{username}",
        actor_type="Person",
        display_name="",
        note="",
        note_source="",
        fields=[],
        inbox_url=inbox,
        shared_inbox_url=shared_inbox,
    )


async def test_stored_rows_with_foreign_inboxes_get_no_delivery(tmp_path: Path, database_url: str) -> None:
    """Rows stored before the rule (or by any other path) are held to it when deliveries are queued."""
    async for world in build_world(tmp_path, database_url):
        ann = world.ann
        await _follow(world, ann)  # positive control: ann's shared inbox is on her own host
        foreign = f"{world.other.base_url}/inbox"
        async with world.ctx.db.transaction() as session:
            old = _remote_row(world, "old", f"{world.other.base_url}/users/old/inbox", foreign)
            shared_elsewhere = _remote_row(
                world, "shared", f"{world.remote.base_url}/users/shared/inbox", foreign
            )
            session.add_all([old, shared_elsewhere])
            await session.flush()
            session.add_all(
                [
                    Follow(account_id=old.id, target_account_id=world.alice.id),
                    Follow(account_id=shared_elsewhere.id, target_account_id=world.alice.id),
                ]
            )
        token = await make_token(world.ctx, "alice")
        await _post(world, token, "hello followers", "private")
        delivered = sorted(path for path, body in _posts(world, "remote") if "hello followers" in body)
        assert delivered == ["/inbox", "/users/shared/inbox"]
        assert _posts(world, "other") == []
