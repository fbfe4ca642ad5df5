"""Mutes through the real endpoints, on both backends: mute / unmute with `notifications` and `duration`,
the paged `/api/v1/mutes` list with `mute_expires_at`, the Relationship's `muting` fields, and the mute
applied where Mastodon applies it (home feed, notifications), ended by its expiry without a job. Every
response validated against the Mastodon OpenAPI description."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from checked import call
from sqlalchemy import update

from outbox import actions
from storage.models import Account, Mute
from storage.types import utcnow
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


@contextlib.asynccontextmanager
async def _clients(
    instance: RunningInstance, *names: str
) -> AsyncIterator[tuple[list[Account], list[httpx.AsyncClient]]]:
    """Local users `names`, and an API client holding a token of each."""
    assert instance.ctx is not None
    tokens = [await make_token(instance.ctx, name) for name in names]
    accounts = [await make_user(instance.ctx, name) for name in names]
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(instance.client(headers=bearer(token))) for token in tokens
        ]
        yield accounts, clients


async def _home_texts(client: object) -> list[str]:
    statuses = await call(client, "GET", "/api/v1/timelines/home")  # type: ignore[arg-type]
    return [re.sub(r"<[^>]+>", "", status["content"]) for status in statuses]


async def _notifying_accounts(client: object) -> list[str]:
    notifications = await call(client, "GET", "/api/v1/notifications")  # type: ignore[arg-type]
    return [notification["account"]["username"] for notification in notifications]


async def test_mute_hides_home_and_notifications_until_unmuted(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with _clients(instance, "alice", "bob", "carol") as ((alice, bob, carol), (a, b, c)):
        await actions.follow(ctx, alice, bob)
        await actions.follow(ctx, alice, carol)
        before = await call(b, "POST", "/api/v1/statuses", data={"status": "bob before @alice"})
        await call(b, "POST", f"/api/v1/statuses/{before['id']}/reblog")
        assert "bob before @alice" in await _home_texts(a)
        assert "bob" in await _notifying_accounts(a)

        muted = await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute")
        assert (
            muted["muting"] is True and muted["muting_notifications"] is True and muted["following"] is True
        )
        # What bob wrote or boosted leaves alice's home, and the notifications he caused go.
        assert await _home_texts(a) == []
        assert "bob" not in await _notifying_accounts(a)
        await call(b, "POST", "/api/v1/statuses", data={"status": "bob during @alice"})
        await call(c, "POST", "/api/v1/statuses", data={"status": "carol during"})
        assert await _home_texts(a) == ["carol during"]  # the control: others still reach alice
        assert "bob" not in await _notifying_accounts(a)
        listed = await call(a, "GET", "/api/v1/mutes")
        assert [(account["username"], account["mute_expires_at"]) for account in listed] == [("bob", None)]
        relationship = (await call(a, "GET", "/api/v1/accounts/relationships", params={"id[]": bob.id}))[0]
        assert relationship["muting"] is True

        unmuted = await call(a, "POST", f"/api/v1/accounts/{bob.id}/unmute")
        assert unmuted["muting"] is False and unmuted["muting_notifications"] is False
        assert await call(a, "GET", "/api/v1/mutes") == []
        await call(b, "POST", "/api/v1/statuses", data={"status": "bob after @alice"})
        assert (await _home_texts(a))[0] == "bob after @alice"
        assert "bob" in await _notifying_accounts(a)


async def test_mute_without_notifications_keeps_them(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with _clients(instance, "alice", "bob") as ((alice, bob), (a, b)):
        await actions.follow(ctx, alice, bob)
        muted = await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute", json={"notifications": False})
        assert muted["muting"] is True and muted["muting_notifications"] is False
        await call(b, "POST", "/api/v1/statuses", data={"status": "hello @alice"})
        assert await _home_texts(a) == []
        assert await _notifying_accounts(a) == ["bob"]


async def test_a_mute_with_a_duration_ends_by_itself(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with _clients(instance, "alice", "bob") as ((alice, bob), (a, b)):
        await actions.follow(ctx, alice, bob)
        muted = await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute", data={"duration": "3600"})
        assert muted["muting"] is True
        (listed,) = await call(a, "GET", "/api/v1/mutes")
        assert listed["mute_expires_at"] is not None and listed["mute_expires_at"].endswith("Z")
        await call(b, "POST", "/api/v1/statuses", data={"status": "while muted"})
        assert await _home_texts(a) == []
        # The hour passes: the end is moved into the past, as the clock would; no job runs.
        async with ctx.db.transaction() as session:
            await session.execute(update(Mute).values(expires_at=utcnow() - timedelta(seconds=1)))
        assert await call(a, "GET", "/api/v1/mutes") == []
        relationship = (await call(a, "GET", "/api/v1/accounts/relationships", params={"id[]": bob.id}))[0]
        assert relationship["muting"] is False
        await call(b, "POST", "/api/v1/statuses", data={"status": "after the hour @alice"})
        assert await _home_texts(a) == ["after the hour @alice"]
        assert await _notifying_accounts(a) == ["bob"]


async def test_mutes_page_with_link_headers(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    targets = [await make_user(ctx, f"user{n}") for n in range(3)]
    async with instance.client(headers=bearer(token)) as client:
        for target in targets:
            await call(client, "POST", f"/api/v1/accounts/{target.id}/mute")
        first = await client.get("/api/v1/mutes", params={"limit": 2})
        assert [account["username"] for account in first.json()] == ["user2", "user1"]
        following = re.search(r'<([^>]+)>; rel="next"', first.headers["link"])
        assert following is not None
        rest = await call(client, "GET", following.group(1).replace(instance.base_url, ""))
        assert [account["username"] for account in rest] == ["user0"]


async def test_mute_refuses_bad_input_and_checks_scopes(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    reader = await make_token(ctx, "alice", "read")
    legacy = await make_token(ctx, "alice", "follow")
    alice, bob = await make_user(ctx, "alice"), await make_user(ctx, "bob")
    async with instance.client(headers=bearer(token)) as client:
        for body in ({"duration": "-1"}, {"duration": "soon"}, {"notifications": "maybe"}):
            response = await client.post(f"/api/v1/accounts/{bob.id}/mute", data=body)
            assert response.status_code == 422 and "error" in response.json(), body
        own = await client.post(f"/api/v1/accounts/{alice.id}/mute")
        assert own.status_code == 422 and "error" in own.json()
        missing = await client.post("/api/v1/accounts/999999999/mute")
        assert missing.status_code == 404 and "error" in missing.json()
        assert await call(client, "GET", "/api/v1/mutes") == []
    async with instance.client() as anonymous:
        assert (await anonymous.post(f"/api/v1/accounts/{bob.id}/mute")).status_code == 401
    async with instance.client(headers=bearer(reader)) as client:
        assert (await client.post(f"/api/v1/accounts/{bob.id}/mute")).status_code == 403
        assert (await client.get("/api/v1/mutes")).status_code == 200
    async with instance.client(headers=bearer(legacy)) as client:
        assert (await call(client, "POST", f"/api/v1/accounts/{bob.id}/mute"))["muting"] is True
        assert (await call(client, "POST", f"/api/v1/accounts/{bob.id}/unmute"))["muting"] is False


async def test_muted_authors_leave_the_muters_public_timelines_and_threads(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with _clients(instance, "alice", "bob", "carol") as ((alice, bob, carol), (a, b, c)):
        root = await call(c, "POST", "/api/v1/statuses", data={"status": "carol asks #budget"})
        await call(
            b,
            "POST",
            "/api/v1/statuses",
            data={"status": "bob answers #budget", "in_reply_to_id": root["id"]},
        )
        await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute")
        for path in ("/api/v1/timelines/public", "/api/v1/timelines/tag/budget"):
            assert [s["account"]["username"] for s in await call(a, "GET", path)] == ["carol"], path
            # The control: carol, who mutes nobody, sees bob's post, as does an anonymous reader.
            assert [s["account"]["username"] for s in await call(c, "GET", path)] == ["bob", "carol"], path
        assert (await call(a, "GET", f"/api/v1/statuses/{root['id']}/context"))["descendants"] == []
        assert len((await call(c, "GET", f"/api/v1/statuses/{root['id']}/context"))["descendants"]) == 1
    async with instance.client() as anonymous:
        assert len(await call(anonymous, "GET", "/api/v1/timelines/public")) == 2


async def test_boosts_of_a_muted_account_leave_home_too(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with _clients(instance, "alice", "bob", "carol") as ((alice, bob, carol), (a, b, c)):
        await actions.follow(ctx, alice, carol)
        first = await call(b, "POST", "/api/v1/statuses", data={"status": "bob one"})
        second = await call(b, "POST", "/api/v1/statuses", data={"status": "bob two"})
        await call(c, "POST", f"/api/v1/statuses/{first['id']}/reblog")
        assert [
            s["reblog"]["account"]["username"] for s in await call(a, "GET", "/api/v1/timelines/home")
        ] == ["bob"]
        await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute")
        assert await call(a, "GET", "/api/v1/timelines/home") == []
        await call(c, "POST", f"/api/v1/statuses/{second['id']}/reblog")
        await call(c, "POST", "/api/v1/statuses", data={"status": "carol own"})
        assert await _home_texts(a) == ["carol own"]
