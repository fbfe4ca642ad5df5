"""Lists through the real endpoints: CRUD, members (only followed accounts), the lists holding an account,
and the list timeline fed by the fan-out (local posts and a remote post through the inbox), with
`replies_policy`, `exclusive`, member removal, unfollow and status deletion; responses validated against
the Mastodon OpenAPI description."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from checked import call
from sqlalchemy import exists, select

from outbox import actions
from plein.admin import account_command
from storage.models import Account, ListFeedEntry, Status
from support.inbox_world import build_world
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


def _ids(statuses: list[dict[str, Any]]) -> list[str]:
    return [status["id"] for status in statuses]


async def _list_feed_holds(instance: RunningInstance, status_id: int) -> bool:
    async with instance.ctx.db.read() as session:
        return bool(await session.scalar(select(exists().where(ListFeedEntry.status_id == status_id))))


async def test_list_crud_members_and_refusals(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    alice = bearer(await make_token(ctx, "alice"))
    mallory = bearer(await make_token(ctx, "mallory"))
    read_only = bearer(await make_token(ctx, "alice", scopes="read:statuses"))
    bob, carol = await make_user(ctx, "bob"), await make_user(ctx, "carol")
    await actions.follow(ctx, await make_user(ctx, "alice"), bob)
    async with instance.client(headers=alice) as a, instance.client(headers=mallory) as m:
        assert await call(a, "GET", "/api/v1/lists") == []
        created = await call(a, "POST", "/api/v1/lists", data={"title": "Civil servants"})
        assert created == {
            "id": created["id"],
            "title": "Civil servants",
            "replies_policy": "list",
            "exclusive": False,
        }
        path = f"/api/v1/lists/{created['id']}"
        updated = await call(
            a, "PUT", path, json={"title": "Colleagues", "replies_policy": "none", "exclusive": True}
        )
        assert updated == {**created, "title": "Colleagues", "replies_policy": "none", "exclusive": True}
        assert await call(a, "GET", path) == updated
        assert await call(a, "GET", "/api/v1/lists") == [updated]

        await call(a, "POST", f"{path}/accounts", data={"account_ids[]": [str(bob.id)]})
        members = await call(a, "GET", f"{path}/accounts")
        assert [member["id"] for member in members] == [str(bob.id)]
        assert await call(a, "GET", f"/api/v1/accounts/{bob.id}/lists") == [updated]
        assert await call(a, "GET", f"/api/v1/accounts/{carol.id}/lists") == []
        # A mute hides bob from home but keeps him in the list (only an unfollow or a block takes him out).
        await call(a, "POST", f"/api/v1/accounts/{bob.id}/mute")
        assert [member["id"] for member in await call(a, "GET", f"{path}/accounts")] == [str(bob.id)]
        await call(a, "POST", f"/api/v1/accounts/{bob.id}/unmute")

        # Refusals: nothing changes.
        await call(a, "POST", f"{path}/accounts", data={"account_ids[]": [str(carol.id)]}, expect=422)
        await call(a, "POST", f"{path}/accounts", data={"account_ids[]": [str(bob.id)]}, expect=422)
        await call(a, "POST", f"{path}/accounts", data={"account_ids[]": ["999999"]}, expect=404)
        await call(a, "POST", f"{path}/accounts", data={}, expect=422)
        await call(a, "POST", f"{path}/accounts", data={"account_ids[]": ["abc"]}, expect=422)
        await call(
            a, "POST", f"{path}/accounts", json={"account_ids": [str(n) for n in range(81)]}, expect=422
        )
        await call(a, "POST", "/api/v1/lists", data={"title": "  "}, expect=422)
        await call(a, "POST", "/api/v1/lists", data={"title": "x" * 300}, expect=422)
        await call(a, "POST", "/api/v1/lists", data={"title": "t", "replies_policy": "all"}, expect=422)
        await call(a, "PUT", path, json={"replies_policy": "everyone"}, expect=422)
        await call(a, "GET", "/api/v1/lists/nope", expect=404)
        await call(a, "GET", "/api/v1/timelines/list/123456789", expect=404)
        for method, suffix in (("GET", ""), ("PUT", ""), ("DELETE", ""), ("GET", "/accounts")):
            await call(m, method, f"{path}{suffix}", json={"title": "mine now"}, expect=404)
        await call(m, "DELETE", f"{path}/accounts", json={"account_ids": [str(bob.id)]}, expect=404)
        await call(m, "GET", f"/api/v1/timelines/list/{created['id']}", expect=404)
        assert await call(m, "GET", "/api/v1/lists") == []
        response = await a.post("/api/v1/lists", data={"title": "t"}, headers=read_only)
        assert response.status_code == 403 and "error" in response.json()
        assert (await a.get("/api/v1/lists", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert await call(a, "GET", path) == updated
        assert [member["id"] for member in await call(a, "GET", f"{path}/accounts")] == [str(bob.id)]

        assert await call(a, "DELETE", f"{path}/accounts", json={"account_ids": [str(bob.id)]}) == {}
        assert await call(a, "GET", f"{path}/accounts") == []
        assert await call(a, "DELETE", path) == {}
        await call(a, "GET", path, expect=404)
        assert await call(a, "GET", "/api/v1/lists") == []
        # At most 50 lists, as in Mastodon.
        for number in range(50):
            await call(a, "POST", "/api/v1/lists", data={"title": f"list {number}"})
        await call(a, "POST", "/api/v1/lists", data={"title": "one too many"}, expect=422)
        assert len(await call(a, "GET", "/api/v1/lists")) == 50


async def test_list_timeline_is_fed_by_fan_out(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    alice_account = await make_user(ctx, "alice")
    names = ("alice", "bob", "carol", "dave")
    tokens = {name: bearer(await make_token(ctx, name)) for name in names}
    accounts = {name: await make_user(ctx, name) for name in names}
    for name in ("bob", "carol"):
        await actions.follow(ctx, alice_account, accounts[name])
    async with (
        instance.client(headers=tokens["alice"]) as a,
        instance.client(headers=tokens["bob"]) as b,
        instance.client(headers=tokens["carol"]) as c,
        instance.client(headers=tokens["dave"]) as d,
    ):
        listed = await call(a, "POST", "/api/v1/lists", data={"title": "Bob"})
        timeline = f"/api/v1/timelines/list/{listed['id']}"
        await call(
            a,
            "POST",
            f"/api/v1/lists/{listed['id']}/accounts",
            data={"account_ids[]": [str(accounts["bob"].id)]},
        )
        bobs = [
            (await call(b, "POST", "/api/v1/statuses", data={"status": f"bob {n}"}))["id"] for n in range(3)
        ]
        carols = (await call(c, "POST", "/api/v1/statuses", data={"status": "carol"}))["id"]
        assert _ids(await call(a, "GET", timeline)) == bobs[::-1]
        assert _ids(await call(a, "GET", timeline, params={"limit": 2})) == bobs[:0:-1]
        assert _ids(await call(a, "GET", timeline, params={"max_id": bobs[2], "limit": 1})) == [bobs[1]]
        assert _ids(await call(a, "GET", timeline, params={"min_id": bobs[0], "limit": 1})) == [bobs[1]]

        # replies_policy "list": bob's reply to carol (not a member) stays out, his reply to alice is in.
        dave_post = (await call(d, "POST", "/api/v1/statuses", data={"status": "dave"}))["id"]
        to_carol = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@carol yes", "in_reply_to_id": carols}
        )
        alice_post = (await call(a, "POST", "/api/v1/statuses", data={"status": "question"}))["id"]
        to_alice = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@alice yes", "in_reply_to_id": alice_post}
        )
        to_dave = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@dave hi", "in_reply_to_id": dave_post}
        )
        shown = _ids(await call(a, "GET", timeline))
        assert to_alice["id"] in shown and to_carol["id"] not in shown and to_dave["id"] not in shown
        # "followed": replies to accounts alice follows (carol) pass, to dave (unfollowed) not.
        await call(a, "PUT", f"/api/v1/lists/{listed['id']}", json={"replies_policy": "followed"})
        followed_reply = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@carol again", "in_reply_to_id": carols}
        )
        dave_reply = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@dave again", "in_reply_to_id": dave_post}
        )
        shown = _ids(await call(a, "GET", timeline))
        assert followed_reply["id"] in shown and dave_reply["id"] not in shown
        # "none": no replies to others.
        await call(a, "PUT", f"/api/v1/lists/{listed['id']}", json={"replies_policy": "none"})
        silent = await call(
            b, "POST", "/api/v1/statuses", data={"status": "@carol third", "in_reply_to_id": carols}
        )
        assert silent["id"] not in _ids(await call(a, "GET", timeline))

        # exclusive: bob's new posts reach the list but no longer alice's home; carol's still do.
        home = "/api/v1/timelines/home"
        before = (await call(b, "POST", "/api/v1/statuses", data={"status": "before"}))["id"]
        assert before in _ids(await call(a, "GET", home))
        await call(a, "PUT", f"/api/v1/lists/{listed['id']}", json={"exclusive": True})
        after = (await call(b, "POST", "/api/v1/statuses", data={"status": "after"}))["id"]
        carol_after = (await call(c, "POST", "/api/v1/statuses", data={"status": "carol after"}))["id"]
        home_ids = _ids(await call(a, "GET", home))
        assert after not in home_ids and carol_after in home_ids
        assert _ids(await call(a, "GET", timeline, params={"limit": 1})) == [after]

        # A suspended member's statuses leave the list, and come back when the suspension is lifted.
        shown = _ids(await call(a, "GET", timeline))
        for action in ("suspend", "unsuspend"):
            command = argparse.Namespace(action=action, username="bob", text="", dry_run=False)
            assert await account_command(ctx, command) == 0
            if action == "suspend":
                assert await call(a, "GET", timeline) == []
        # Put back under today's replies_policy ("none"): the reply to carol stays out, the one to alice not.
        assert _ids(await call(a, "GET", timeline)) == [s for s in shown if s != followed_reply["id"]]
        b.headers.update(bearer(await make_token(ctx, "bob")))  # the suspension revoked bob's tokens
        # A deleted status leaves the list.
        await call(b, "DELETE", f"/api/v1/statuses/{after}")
        assert after not in _ids(await call(a, "GET", timeline))
        assert not await _list_feed_holds(instance, int(after))  # pages take feed rows before statuses
        # Removing the member empties the list of its posts; adding it back shows new posts only.
        await call(
            a,
            "DELETE",
            f"/api/v1/lists/{listed['id']}/accounts",
            json={"account_ids": [str(accounts["bob"].id)]},
        )
        assert await call(a, "GET", timeline) == []
        await call(
            a,
            "POST",
            f"/api/v1/lists/{listed['id']}/accounts",
            json={"account_ids": [str(accounts["bob"].id)]},
        )
        again = (await call(b, "POST", "/api/v1/statuses", data={"status": "again"}))["id"]
        assert _ids(await call(a, "GET", timeline)) == [again]
        # Unfollowing takes bob out of alice's lists, with his posts.
        await call(a, "POST", f"/api/v1/accounts/{accounts['bob'].id}/unfollow")
        assert await call(a, "GET", f"/api/v1/lists/{listed['id']}/accounts") == []
        assert await call(a, "GET", timeline) == []
        assert await call(a, "GET", f"/api/v1/accounts/{accounts['bob'].id}/lists") == []


async def test_remote_post_through_the_inbox_lands_in_the_list(tmp_path: Path, database_url: str) -> None:
    async for world in build_world(tmp_path, database_url):
        ctx = world.ctx
        await world.follow_locally(world.alice, world.ann)
        await world.follow_locally(world.alice, world.ben)
        alice = bearer(await make_token(ctx, "alice"))
        note = world.ann.note("<p>from ann</p>")
        other_note = world.ben.note("<p>from ben</p>")
        async with world.instance.client(headers=alice) as a:
            ann_id = await world.scalar(select(Account.id).where(Account.uri == world.ann.uri))
            listed = await call(a, "POST", "/api/v1/lists", json={"title": "Ann", "exclusive": True})
            await call(
                a, "POST", f"/api/v1/lists/{listed['id']}/accounts", json={"account_ids": [str(ann_id)]}
            )
            for activity, signer in (
                (world.ann.activity("Create", note), world.ann),
                (world.ben.activity("Create", other_note), world.ben),
            ):
                response = await world.deliver(activity, signer)
                assert response.status_code == 202, response.text
            await world.drain()
            ann_status = await world.scalar(select(Status.id).where(Status.uri == note["id"]))
            ben_status = await world.scalar(select(Status.id).where(Status.uri == other_note["id"]))
            assert _ids(await call(a, "GET", f"/api/v1/timelines/list/{listed['id']}")) == [str(ann_status)]
            # The list is exclusive: ann's post stays out of home, ben's arrives there.
            assert _ids(await call(a, "GET", "/api/v1/timelines/home")) == [str(ben_status)]
            response = await world.deliver(
                world.ann.activity("Delete", {"id": note["id"], "type": "Tombstone"}), world.ann
            )
            assert response.status_code == 202
            await world.drain()
            assert await call(a, "GET", f"/api/v1/timelines/list/{listed['id']}") == []
            assert not await _list_feed_holds(world.instance, ann_status)
