"""A user's own domain blocks through the real endpoints, on both backends: the list (paged), block and
unblock through the canonical host, the domain hidden from the user's home, public timelines and
notifications, its followers turned away with a federated `Reject`, and `domain_blocking` in the
Relationship. Responses validated against the Mastodon OpenAPI description."""

from __future__ import annotations

from checked import call
from sqlalchemy import select

from storage.models import Account, Activity, Follow, HomeFeedEntry, Status
from storage.notify import notify
from support.accounts import stored_remote_account
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user

REMOTE = "remote.example"


async def _remote(instance: RunningInstance, username: str, domain: str = REMOTE) -> Account:
    return await stored_remote_account(instance.ctx, username, domain)


async def _remote_status(instance: RunningInstance, author: Account, text: str) -> int:
    async with instance.ctx.db.transaction() as session:
        status = Status(
            uri=f"https://{author.domain}/notes/{text.replace(' ', '-')}",
            account_id=author.id,
            local=False,
            content=f"<p>{text}</p>",
        )
        session.add(status)
        await session.flush()
        return status.id


async def test_domain_block_hides_the_domain_and_turns_its_followers_away(
    instance_on_each_backend: RunningInstance,
) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    alice_token, carol_token = await make_token(ctx, "alice"), await make_token(ctx, "carol")
    alice = await make_user(ctx, "alice")
    zed, yan = await _remote(instance, "zed"), await _remote(instance, "yan")
    other = await _remote(instance, "olga", "other.example")
    zed_post = await _remote_status(instance, zed, "zed says")
    other_post = await _remote_status(instance, other, "olga says")
    async with ctx.db.transaction() as session:
        session.add(Follow(account_id=zed.id, target_account_id=alice.id, uri="https://remote.example/f/1"))
        session.add(Follow(account_id=alice.id, target_account_id=yan.id, uri=None))
        session.add_all(HomeFeedEntry(account_id=alice.id, status_id=s) for s in (zed_post, other_post))
        await session.flush()
        assert await notify(session, alice.id, zed.id, "follow") is not None
        assert await notify(session, alice.id, other.id, "follow") is not None
    async with (
        instance.client(headers=bearer(alice_token)) as a,
        instance.client(headers=bearer(carol_token)) as c,
    ):
        assert await call(a, "POST", "/api/v1/domain_blocks", data={"domain": "REMOTE.example."}) == {}
        assert await call(a, "GET", "/api/v1/domain_blocks") == [REMOTE]
        home = await call(a, "GET", "/api/v1/timelines/home")
        assert [s["account"]["acct"] for s in home] == ["olga@other.example"]  # the other domain stays
        public = await call(a, "GET", "/api/v1/timelines/public")
        assert [s["account"]["acct"] for s in public] == ["olga@other.example"]
        assert len(await call(c, "GET", "/api/v1/timelines/public")) == 2  # carol blocks nothing
        notifications = await call(a, "GET", "/api/v1/notifications")
        assert [n["account"]["acct"] for n in notifications] == ["olga@other.example"]
        relationships = await call(
            a, "GET", "/api/v1/accounts/relationships", params=[("id[]", zed.id), ("id[]", other.id)]
        )
        assert [(r["domain_blocking"], r["followed_by"]) for r in relationships] == [
            (True, False),
            (False, False),
        ]
        (to_yan,) = await call(a, "GET", "/api/v1/accounts/relationships", params={"id[]": yan.id})
        assert to_yan["following"] is True and to_yan["domain_blocking"] is True  # her own follows stay
        async with ctx.db.read() as session:
            assert await session.scalar(select(Follow).where(Follow.account_id == zed.id)) is None
            rejects = (await session.execute(select(Activity.activity_type))).scalars().all()
            assert "Reject" in rejects
            assert await notify(session, alice.id, zed.id, "follow") is None  # new ones are dropped too

        assert await call(a, "DELETE", "/api/v1/domain_blocks", params={"domain": REMOTE}) == {}
        assert await call(a, "GET", "/api/v1/domain_blocks") == []
        (again,) = await call(a, "GET", "/api/v1/accounts/relationships", params={"id[]": zed.id})
        assert again["domain_blocking"] is False
        assert len(await call(a, "GET", "/api/v1/timelines/public")) == 2


async def test_domain_blocks_page_and_refuse_bad_input(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, "alice")
    reader = await make_token(ctx, "alice", "read")
    async with instance.client(headers=bearer(token)) as client:
        for n in range(3):
            await call(client, "POST", "/api/v1/domain_blocks", json={"domain": f"d{n}.example"})
        first = await client.get("/api/v1/domain_blocks", params={"limit": 2})
        assert first.json() == ["d2.example", "d1.example"] and 'rel="next"' in first.headers["link"]
        for body in ({}, {"domain": ""}, {"domain": "bad host/../x"}, {"domain": instance.ctx.domain}):
            response = await client.post("/api/v1/domain_blocks", json=body)
            assert response.status_code == 422 and "error" in response.json(), body
        assert len(await call(client, "GET", "/api/v1/domain_blocks")) == 3
    async with instance.client(headers=bearer(reader)) as client:
        assert (await client.post("/api/v1/domain_blocks", json={"domain": "x.example"})).status_code == 403
    async with instance.client() as anonymous:
        assert (await anonymous.get("/api/v1/domain_blocks")).status_code == 401
