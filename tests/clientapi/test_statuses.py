"""`/api/v1/statuses`: posting, reading, interactions, edits and deletion through the real endpoints, each
response validated against the Mastodon OpenAPI description."""

from __future__ import annotations

from typing import Any

from checked import call
from sqlalchemy import event, select

from clientapi.entities.statuses import statuses_to_entities
from storage.models import Status
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity


async def _post(client: Any, text: str, **fields: Any) -> dict[str, Any]:
    return await call(client, "POST", "/api/v1/statuses", data={"status": text, **fields})


async def test_post_get_and_every_field(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        posted = await _post(
            client, "hello #Plein", spoiler_text="cw", visibility="unlisted", language="en", sensitive="true"
        )
        validate_entity("Status", posted, all_properties=True)
        assert posted["visibility"] == "unlisted" and posted["spoiler_text"] == "cw" and posted["sensitive"]
        assert posted["language"] == "en" and posted["tags"][0]["name"] == "plein"
        assert posted["favourited"] is False and posted["application"]["name"]
        fetched = await call(client, "GET", f"/api/v1/statuses/{posted['id']}")
        assert fetched["content"] == posted["content"]
    async with instance.client() as anonymous:
        public_view = await call(anonymous, "GET", f"/api/v1/statuses/{posted['id']}")
        validate_entity("Status", public_view, all_properties=True)
        assert public_view["favourited"] is None
        await call(anonymous, "POST", "/api/v1/statuses", data={"status": "x"}, expect=401)
        await call(anonymous, "GET", "/api/v1/statuses/12345", expect=404)


async def test_idempotency_key_returns_the_same_status(instance: RunningInstance) -> None:
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        headers = {"Idempotency-Key": "abc-123"}
        first = await call(client, "POST", "/api/v1/statuses", data={"status": "once"}, headers=headers)
        second = await call(client, "POST", "/api/v1/statuses", data={"status": "once"}, headers=headers)
        other = await _post(client, "once")
    assert first["id"] == second["id"] != other["id"]


async def test_scopes_are_checked(instance: RunningInstance) -> None:
    reader = await make_token(instance.ctx, "alice", scopes="read")
    async with instance.client(headers=bearer(reader)) as client:
        await call(client, "POST", "/api/v1/statuses", data={"status": "no"}, expect=403)
        await call(client, "GET", "/api/v1/timelines/home")


async def test_reply_context_and_private_visibility(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        root = await _post(a, "root")
        reply = await call(
            b, "POST", "/api/v1/statuses", json={"status": "reply", "in_reply_to_id": root["id"]}
        )
        assert reply["in_reply_to_id"] == root["id"]
        assert reply["in_reply_to_account_id"] == root["account"]["id"]
        nested = await _post(a, "nested", in_reply_to_id=reply["id"])
        context = await call(a, "GET", f"/api/v1/statuses/{reply['id']}/context")
        assert [s["id"] for s in context["ancestors"]] == [root["id"]]
        assert [s["id"] for s in context["descendants"]] == [nested["id"]]
        whole = await call(a, "GET", f"/api/v1/statuses/{root['id']}/context")
        assert [s["id"] for s in whole["descendants"]] == [reply["id"], nested["id"]]
        private = await _post(a, "followers only", visibility="private")
        await call(b, "GET", f"/api/v1/statuses/{private['id']}", expect=404)
        await call(a, "GET", f"/api/v1/statuses/{private['id']}")


async def test_favourite_boost_bookmark_round_trips(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        status = await _post(a, "like me")
        sid = status["id"]
        liked = await call(b, "POST", f"/api/v1/statuses/{sid}/favourite")
        assert liked["favourited"] is True and liked["favourites_count"] == 1
        boost = await call(b, "POST", f"/api/v1/statuses/{sid}/reblog")
        validate_entity("Status", boost, all_properties=True)
        assert boost["reblog"]["id"] == sid and boost["reblog"]["reblogged"] is True
        assert boost["account"]["username"] == "bob" and boost["content"] == ""
        marked = await call(b, "POST", f"/api/v1/statuses/{sid}/bookmark")
        assert marked["bookmarked"] is True
        fans = await call(a, "GET", f"/api/v1/statuses/{sid}/favourited_by")
        boosters = await call(a, "GET", f"/api/v1/statuses/{sid}/reblogged_by")
        assert [x["username"] for x in fans] == [x["username"] for x in boosters] == ["bob"]
        seen_by_bob = await call(b, "GET", f"/api/v1/statuses/{sid}")
        assert (seen_by_bob["favourited"], seen_by_bob["reblogged"], seen_by_bob["bookmarked"]) == (
            True,
            True,
            True,
        )
        unliked = await call(b, "POST", f"/api/v1/statuses/{sid}/unfavourite")
        unboosted = await call(b, "POST", f"/api/v1/statuses/{sid}/unreblog")
        unmarked = await call(b, "POST", f"/api/v1/statuses/{sid}/unbookmark")
        assert unliked["favourited"] is False and unliked["favourites_count"] == 0
        assert unboosted["id"] == sid and unboosted["reblogged"] is False and unboosted["reblogs_count"] == 0
        assert unmarked["bookmarked"] is False
        assert await call(a, "GET", f"/api/v1/statuses/{sid}/favourited_by") == []


async def test_edit_history_source_and_delete(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        status = await _post(a, "first draft")
        sid = status["id"]
        edited = await call(
            a, "PUT", f"/api/v1/statuses/{sid}", data={"status": "second draft", "spoiler_text": "cw"}
        )
        assert "second draft" in edited["content"] and edited["edited_at"] is not None
        await call(b, "PUT", f"/api/v1/statuses/{sid}", data={"status": "hijack"}, expect=403)
        history = await call(a, "GET", f"/api/v1/statuses/{sid}/history")
        validate_entity("StatusEdit", history, all_properties=True)
        assert ["first draft" in h["content"] for h in history] == [True, False]
        assert history[-1]["spoiler_text"] == "cw"
        source = await call(a, "GET", f"/api/v1/statuses/{sid}/source")
        assert source == {"id": sid, "text": "second draft", "spoiler_text": "cw"}
        await call(b, "GET", f"/api/v1/statuses/{sid}/source", expect=404)
        await call(b, "DELETE", f"/api/v1/statuses/{sid}", expect=403)
        deleted = await call(a, "DELETE", f"/api/v1/statuses/{sid}")
        assert deleted["id"] == sid and deleted["text"] == "second draft"
        await call(a, "GET", f"/api/v1/statuses/{sid}", expect=404)


async def test_rendering_a_page_takes_a_constant_number_of_queries(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    bob = bearer(await make_token(instance.ctx, "bob"))
    async with instance.client(headers=alice) as a, instance.client(headers=bob) as b:
        bob_status = await _post(b, "a post by bob #tag")
        await call(a, "POST", f"/api/v1/statuses/{bob_status['id']}/reblog")
        for number in range(20):
            await _post(a, f"post {number} #tag @bob")
    ctx = instance.ctx
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = ctx.db.read_engine.sync_engine
    async with ctx.db.read() as session:
        rows = list((await session.execute(select(Status).order_by(Status.id.desc()))).scalars())
        account_id = rows[0].account_id
        event.listen(engine, "before_cursor_execute", count)
        try:
            await statuses_to_entities(session, ctx, rows[:1], account_id)
            one = len(statements)
            statements.clear()
            entities = await statuses_to_entities(session, ctx, rows, account_id)
            many = len(statements)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(entities) == 22 and any(entity["reblog"] for entity in entities)
    assert many <= one + 1, statements  # the boosted originals are one more query, whatever the page size
