"""A Lemmy community as its members' servers see it, played by the Fedify peer's group `club` relaying raw
Lemmy-shaped JSON (`FedifyPeer.group_relay`, signed by the group): a `Page` thread shows with its title,
an announced `Like` counts as a favourite (its `Undo` takes it back) and a `Dislike` is logged and ignored, an `Update` is believed
only from the post's own origin and author, a moderator's `Lock` makes Plein refuse its people's replies
(422) until the `Undo(Lock)` (a `Page` with `commentsEnabled: false` arrives locked), a moderator's `Remove` takes the post out, and an author's own `Delete` is believed once the post's origin
serves a `Tombstone`. Forgeries (an act by alicia,
who moderates nothing; an edit of alice's post by alicia) are dropped and change nothing."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from outbox.actions import follow
from peers.fedify import FedifyPeer, fedify_peer_fixture  # noqa: F401  (provides the fixture "fedify_peer")
from storage.models import Favourite, Follow, HomeFeedEntry, Status
from support.federation import Instance, until
from support.instance import make_settings, serve_in_process
from support.oauth import bearer, make_token
from webfinger.resolve import resolve_actor

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
LEMMY_CONTEXT = ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]


@pytest.fixture
async def plein(tmp_path: Path) -> AsyncIterator[Instance]:
    async with serve_in_process(make_settings(tmp_path / "plein")) as running:
        yield Instance(running)


def page(peer: FedifyPeer, number: int, *, title: str, content: str) -> dict[str, Any]:
    """A Lemmy post of alice's in the community `club`, as Lemmy 0.19 federates one."""
    return {
        "@context": LEMMY_CONTEXT,
        "id": f"{peer.base_url}/users/alice/posts/{number}",
        "type": "Page",
        "attributedTo": peer.actor_url,
        "to": [peer.group_url, PUBLIC],
        "cc": [],
        "audience": peer.group_url,
        "name": title,
        "content": content,
        "mediaType": "text/html",
        "commentsEnabled": True,
        "sensitive": False,
        "published": "2026-12-06T04:00:00Z",
    }


def act(peer: FedifyPeer, kind: str, name: str, by: str, shared: Any, **extra: Any) -> dict[str, Any]:
    """A member's or moderator's activity as Lemmy writes one, with an id on its actor's origin."""
    actor = f"{peer.base_url}/users/{by}"
    return {
        "id": f"{actor}#activities/{name}",
        "type": kind,
        "actor": actor,
        "object": shared,
        "to": [PUBLIC],
        "cc": [peer.group_url],
        "audience": peer.group_url,
        **extra,
    }


async def test_a_lemmy_community_thread_votes_edits_lock_and_removal(
    plein: Instance, fedify_peer: FedifyPeer, caplog: pytest.LogCaptureFixture
):
    await fedify_peer.reset()
    caplog.set_level(logging.INFO)
    bob, carol = await plein.local("bob"), await plein.local("carol")
    club = await resolve_actor(plein.ctx, fedify_peer.group_url)
    for member in (bob, carol):
        await follow(plein.ctx, member, club)

    async def joined() -> bool:
        return await plein.count(Follow, Follow.target_account_id == club.id) == 2

    await until(plein, joined, what="the group accepts both Follows")

    # A new thread: Lemmy's Announce(Create(Page)). The Page is fetched from alice's origin.
    thread = page(fedify_peer, 1, title="Straatfeest op 12 juni", content="<p>Wie helpt opbouwen?</p>")
    await fedify_peer.serve("/users/alice/posts/1", thread)
    relayed = await fedify_peer.group_relay(act(fedify_peer, "Create", "create-1", "alice", thread))
    assert set(relayed["statuses"]) == {202}

    async def shared() -> Status | None:
        async with plein.ctx.db.read() as session:
            post = (
                await session.execute(select(Status).where(Status.uri == thread["id"]))
            ).scalar_one_or_none()
            if post is None:
                return None
            boost = select(Status.id).where(Status.account_id == club.id, Status.reblog_of_id == post.id)
            seen = select(HomeFeedEntry).where(
                HomeFeedEntry.account_id == carol.id, HomeFeedEntry.status_id.in_(boost)
            )
            return post if (await session.execute(seen)).first() is not None else None

    post = await until(plein, shared, what="the group's Announce(Create(Page)) reaches carol's home timeline")
    assert post.object_type == "Page" and post.title == "Straatfeest op 12 juni"
    token = await make_token(plein.ctx, "carol")
    async with httpx.AsyncClient(base_url=plein.ctx.base_url, timeout=30) as client:
        shown = (await client.get(f"/api/v1/statuses/{post.id}", headers=bearer(token))).json()
    assert "Straatfeest op 12 juni" in shown["content"] and "Wie helpt opbouwen?" in shown["content"]

    # Votes: alicia's Dislike is logged and ignored; alice's Like is a favourite.
    await fedify_peer.group_relay(act(fedify_peer, "Dislike", "dislike-1", "alicia", thread["id"]))
    await until(plein, lambda: _logged(caplog, "Dislike of"), what="the Dislike is logged")
    await fedify_peer.group_relay(act(fedify_peer, "Like", "like-1", "alice", thread["id"]))

    async def favourited() -> bool:
        return await plein.count(Favourite, Favourite.status_id == post.id) == 1

    await until(plein, favourited, what="the announced Like counts as a favourite")
    assert (await plein.status(thread["id"])).favourites_count == 1
    like = act(fedify_peer, "Like", "like-2", "alicia", thread["id"])
    await fedify_peer.group_relay(like)

    async def favourited_twice() -> bool:
        return await plein.count(Favourite, Favourite.status_id == post.id) == 2

    await until(plein, favourited_twice, what="alicia's Like")
    await fedify_peer.group_relay(act(fedify_peer, "Undo", "unlike-2", "alicia", like))

    await until(plein, favourited, what="alicia's Undo(Like) takes her favourite back")

    # Edits: alicia's Update of alice's post is dropped; alice's is read from her origin, not the embed.
    edited = {
        **thread,
        "content": "<p>Wie helpt opbouwen? Start 9 uur.</p>",
        "updated": "2026-12-06T05:00:00Z",
    }
    await fedify_peer.serve("/users/alice/posts/1", edited)
    forged = await fedify_peer.group_relay(act(fedify_peer, "Update", "update-0", "alicia", edited))
    await until(plein, lambda: _logged(caplog, f"dropped Announce {forged['id']}"), what="the forged Update")
    assert "9 uur" not in (await plein.status(thread["id"])).content
    embedded = {**edited, "content": "<p>Iets anders dan de bron</p>"}
    await fedify_peer.group_relay(act(fedify_peer, "Update", "update-1", "alice", embedded))

    async def updated() -> bool:
        return "Start 9 uur" in (await plein.status(thread["id"])).content

    await until(plein, updated, what="alice's announced Update, as her origin serves the post")
    assert "Iets anders" not in (await plein.status(thread["id"])).content

    # A lock by alicia (no moderator) is a forgery; alice's makes Plein refuse carol's reply until undone.
    lock = act(fedify_peer, "Lock", "lock-1", "alice", thread["id"])
    await fedify_peer.group_relay(act(fedify_peer, "Lock", "lock-0", "alicia", thread["id"]))
    await until(plein, lambda: _logged(caplog, "forged group moderation: Lock"), what="the forged Lock")
    assert (await plein.status(thread["id"])).locked_at is None
    await fedify_peer.group_relay(lock)

    async def locked() -> bool:
        return (await plein.status(thread["id"])).locked_at is not None

    await until(plein, locked, what="the moderator's Lock")
    reply = {"status": "Ik help mee!", "in_reply_to_id": str(post.id)}
    async with httpx.AsyncClient(base_url=plein.ctx.base_url, timeout=30) as client:
        refused = await client.post("/api/v1/statuses", data=reply, headers=bearer(token))
        assert refused.status_code == 422
        assert "locked" in refused.json()["error"]
        assert await plein.count(Status, Status.in_reply_to_id == post.id) == 0
        await fedify_peer.group_relay(act(fedify_peer, "Undo", "unlock-1", "alice", lock))

        async def unlocked() -> bool:
            return (await plein.status(thread["id"])).locked_at is None

        await until(plein, unlocked, what="the moderator's Undo(Lock)")
        answered = await client.post("/api/v1/statuses", data=reply, headers=bearer(token))
        assert answered.status_code == 200, answered.text

    # An author's own Delete (alicia's thread; she moderates nothing): believed once her origin serves a
    # Tombstone, not while it still serves the post.
    second = {
        **page(fedify_peer, 2, title="Fietsen te koop", content="<p>Twee stuks</p>"),
        "attributedTo": fedify_peer.new_actor_url,
    }
    second["id"] = f"{fedify_peer.base_url}/users/alicia/posts/2"
    second["commentsEnabled"] = False  # a thread Lemmy locked before it reached Plein
    await fedify_peer.serve("/users/alicia/posts/2", second)
    await fedify_peer.group_relay(act(fedify_peer, "Create", "create-2", "alicia", second))

    async def second_shared() -> bool:
        return await plein.status(second["id"]) is not None

    await until(plein, second_shared, what="alicia's thread")
    assert (await plein.status(second["id"])).locked_at is not None
    deletion = act(fedify_peer, "Delete", "delete-2", "alicia", second["id"])
    early = await fedify_peer.group_relay(deletion)
    still_served = (
        f"dropped Announce {early['id']}: announced Delete of {second['id']}, which its origin still"
    )
    await until(plein, lambda: _logged(caplog, still_served), what="the early Delete")
    assert (await plein.status(second["id"])).deleted_at is None
    await fedify_peer.serve(
        "/users/alicia/posts/2", {"@context": LEMMY_CONTEXT, "id": second["id"], "type": "Tombstone"}
    )
    await fedify_peer.group_relay({**deletion, "id": f"{deletion['id']}-again"})

    async def second_deleted() -> bool:
        return (await plein.status(second["id"])).deleted_at is not None

    await until(plein, second_deleted, what="alicia's Delete of her own thread, gone from her origin")

    # A moderator's Remove takes the thread out for everyone here, the group's boost with it.
    await fedify_peer.group_relay(
        act(fedify_peer, "Remove", "remove-1", "alice", thread["id"], target=club.uri)
    )

    async def removed() -> bool:
        return (await plein.status(thread["id"])).deleted_at is not None

    await until(plein, removed, what="the moderator's announced Remove")
    assert await plein.count(HomeFeedEntry, HomeFeedEntry.account_id == bob.id) == 0  # carol has her reply
    assert await fedify_peer.errors() == []


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> Any:
    async def check() -> bool:
        return any(text in record.getMessage() for record in caplog.records)

    return check()
