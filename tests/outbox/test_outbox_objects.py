"""ActivityPub GET endpoints of statuses, activities and the outbox, through a real server: content
negotiation, visibility (signed requests from followers), tombstones, authorized fetch."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from apub.httpsig import SchemeMemory, SignatureAuth
from apub.keys import load_private_key
from outbox.actions import delete_status, edit_status, post_status
from storage.accounts import create_local_account, signing_keys
from storage.context import Context
from storage.models import Account, Follow
from storage.urls import LocalUrls
from support.instance import RunningInstance, make_settings, serve_in_process

AS2 = {"Accept": "application/activity+json"}


@dataclass
class Pair:
    home: RunningInstance  # serves the objects (on the parametrised database)
    peer: RunningInstance  # where the signed readers live

    @property
    def ctx(self) -> Context:
        assert self.home.ctx is not None
        return self.home.ctx


async def _local(instance: RunningInstance, username: str) -> Account:
    assert instance.ctx is not None
    async with instance.ctx.db.transaction() as session:
        return await create_local_account(
            session, LocalUrls(instance.base_url), username=username, password_hash="x"
        )


async def _remote_copy(
    home: RunningInstance, account: Account, *, following: Account | None = None
) -> Account:
    """What `home` stores about a peer's account (and, optionally, that it follows `following`)."""
    assert home.ctx is not None
    async with home.ctx.db.transaction() as session:
        copy = Account(
            username=account.username,
            domain=account.uri.split("/")[2],
            uri=account.uri,
            inbox_url=account.inbox_url,
            public_key_id=account.public_key_id,
            public_key_pem=account.public_key_pem,
        )
        session.add(copy)
        await session.flush()
        if following is not None:
            session.add(Follow(account_id=copy.id, target_account_id=following.id))
    return copy


async def _signed_client(instance: RunningInstance, account: Account) -> httpx.AsyncClient:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        keys = await signing_keys(session, account)
    rsa_key, ed_key = load_private_key(keys.rsa_private_pem), load_private_key(keys.ed25519_private_pem)
    assert isinstance(rsa_key, rsa.RSAPrivateKey) and isinstance(ed_key, ed25519.Ed25519PrivateKey)
    auth = SignatureAuth(
        keys.rsa_key_id,
        rsa_key,
        scheme_memory=SchemeMemory(),
        ed25519_key_id=keys.ed25519_key_id,
        ed25519_private_key=ed_key,
    )
    return httpx.AsyncClient(auth=auth, headers=AS2, timeout=30)


@pytest.fixture
async def pair(database_url: str, tmp_path: Path) -> AsyncIterator[Pair]:
    async with AsyncExitStack() as stack:
        home = await stack.enter_async_context(
            serve_in_process(make_settings(tmp_path / "home", database_url=database_url))
        )
        peer = await stack.enter_async_context(serve_in_process(make_settings(tmp_path / "peer")))
        yield Pair(home, peer)


async def test_public_status_as_note_html_and_activity(pair: Pair):
    alice = await _local(pair.home, "alice")
    status = await post_status(pair.ctx, alice, text="Hello #fediverse", language="en")
    async with pair.home.client() as client:
        note = await client.get(status.uri, headers=AS2)
        assert note.status_code == 200
        assert note.headers["content-type"].startswith("application/activity+json")
        body = note.json()
        assert body["id"] == status.uri and body["type"] == "Note" and body["attributedTo"] == alice.uri
        assert body["contentMap"] == {"en": status.content}
        assert body["replies"]["id"] == f"{status.uri}/replies"

        browser = await client.get(status.uri, headers={"Accept": "text/html"})
        assert browser.status_code == 302 and browser.headers["location"] == status.url
        page = await client.get(status.url)
        assert page.status_code == 200 and re.search(r'class="[^"]*\bh-entry\b', page.text)
        assert "fediverse" in page.text

        create = await client.get(f"{status.uri}/activity", headers=AS2)
        assert create.json()["type"] == "Create" and create.json()["object"]["id"] == status.uri

        outbox = (await client.get(alice.outbox_url, headers=AS2)).json()
        assert outbox["totalItems"] == 1
        page_one = (await client.get(outbox["first"], headers=AS2)).json()
        assert [item["id"] for item in page_one["orderedItems"]] == [f"{status.uri}/activity"]


async def test_an_edited_status_is_served_as_it_is_now(pair: Pair):
    alice = await _local(pair.home, "alice")
    status = await post_status(pair.ctx, alice, text="First draft")
    edited = await edit_status(pair.ctx, alice, status.id, text="Second thoughts")
    assert edited.edited_at is not None
    async with pair.home.client() as client:
        note = (await client.get(status.uri, headers=AS2)).json()
        create = (await client.get(f"{status.uri}/activity", headers=AS2)).json()
        outbox = (await client.get(f"{alice.outbox_url}?page=true", headers=AS2)).json()
    assert "Second thoughts" in note["content"] and note["updated"]
    assert create["id"] == f"{status.uri}/activity" and create["type"] == "Create"
    assert create["object"]["content"] == note["content"] and create["object"]["updated"] == note["updated"]
    [item] = outbox["orderedItems"]
    assert item["type"] == "Update" and item["id"] != create["id"]
    assert item["updated"] == note["updated"] and item["published"] == note["updated"]
    assert item["object"]["content"] == note["content"] and item["object"]["updated"] == note["updated"]
    assert "@context" not in item and "@context" not in item["object"]
    async with pair.home.client() as client:  # the Update is served at its own id
        update = await client.get(item["id"], headers=AS2)
    assert update.status_code == 200 and update.json()["type"] == "Update"


async def test_followers_only_status_is_served_to_signed_followers_only(pair: Pair):
    alice = await _local(pair.home, "alice")
    bob, carol = await _local(pair.peer, "bob"), await _local(pair.peer, "carol")
    await _remote_copy(pair.home, bob, following=alice)
    status = await post_status(pair.ctx, alice, text="just for friends", visibility="private")

    async with pair.home.client() as anonymous:
        assert (await anonymous.get(status.uri, headers=AS2)).status_code == 404
        assert (await anonymous.get(f"{status.uri}/activity", headers=AS2)).status_code == 404
        assert (await anonymous.get(status.url)).status_code == 404
    async with await _signed_client(pair.peer, bob) as follower:
        response = await follower.get(status.uri)
        assert response.status_code == 200 and response.json()["content"] == status.content
    async with await _signed_client(pair.peer, carol) as stranger:
        assert (await stranger.get(status.uri)).status_code == 404
    async with pair.home.client() as anonymous:
        outbox = (await anonymous.get(f"{alice.outbox_url}?page=true", headers=AS2)).json()
        assert outbox["orderedItems"] == []


async def test_deleted_status_answers_410_with_a_tombstone(pair: Pair):
    alice = await _local(pair.home, "alice")
    status = await post_status(pair.ctx, alice, text="soon gone")
    await delete_status(pair.ctx, alice, status.id)
    async with pair.home.client() as client:
        response = await client.get(status.uri, headers=AS2)
        assert response.status_code == 410
        assert response.json()["type"] == "Tombstone" and response.json()["id"] == status.uri
        assert (await client.get(status.url)).status_code == 410
        assert (await client.get(alice.outbox_url, headers=AS2)).json()["totalItems"] == 0


async def test_replies_collection_and_activity_ids(pair: Pair):
    alice, bob = await _local(pair.home, "alice"), await _local(pair.home, "bob")
    parent = await post_status(pair.ctx, alice, text="thread")
    reply = await post_status(pair.ctx, bob, text="reply", in_reply_to_id=parent.id)
    await post_status(pair.ctx, bob, text="secret reply", in_reply_to_id=parent.id, visibility="private")
    async with pair.home.client() as client:
        head = (await client.get(f"{parent.uri}/replies", headers=AS2)).json()
        assert head["type"] == "OrderedCollection" and head["totalItems"] == 2
        page = (await client.get(head["first"], headers=AS2)).json()
        assert page["orderedItems"] == [reply.uri]
        assert (await client.get(f"{pair.home.base_url}/activities/1", headers=AS2)).status_code == 404
        assert (
            await client.get(f"{pair.home.base_url}/users/alice/statuses/nope", headers=AS2)
        ).status_code == 404
        # the status of someone else under alice's name is not found
        assert (
            await client.get(f"{pair.home.base_url}/users/alice/statuses/{reply.id}", headers=AS2)
        ).status_code == 404


async def test_authorized_fetch_requires_a_signature(database_url: str, tmp_path: Path):
    settings = make_settings(
        tmp_path / "home", database_url=database_url, **{"federation.authorized_fetch": True}
    )
    async with serve_in_process(settings) as home, serve_in_process(make_settings(tmp_path / "peer")) as peer:
        alice = await _local(home, "alice")
        bob = await _local(peer, "bob")
        assert home.ctx is not None
        status = await post_status(home.ctx, alice, text="members only club")
        async with home.client() as anonymous:
            assert (await anonymous.get(status.uri, headers=AS2)).status_code == 401
            assert (await anonymous.get(alice.outbox_url, headers=AS2)).status_code == 401
        async with await _signed_client(peer, bob) as signed:
            response = await signed.get(status.uri)
            assert response.status_code == 200 and response.json()["id"] == status.uri
