"""Authors of timeline pages are rendered once per distinct account state and reused: a change to the
account must show on the very next page."""

from __future__ import annotations

from sqlalchemy import update

from outbox import actions
from storage.models import Account
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def test_changed_author_shows_at_once(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx = instance.ctx
    access_token = await make_token(ctx, "alice")
    bob = await make_user(ctx, "bob")
    await actions.follow(ctx, await make_user(ctx, "alice"), bob)
    await actions.post_status(ctx, bob, text="hello")
    async with instance.client(headers=bearer(access_token)) as client:
        before = [(await client.get("/api/v1/timelines/home")).json()[0]["account"] for _ in range(2)]
        async with ctx.db.transaction() as session:
            await session.execute(
                update(Account)
                .where(Account.id == bob.id)
                .values(display_name="Bob, renamed", followers_count=41, fields=[{"name": "a", "value": "b"}])
            )
        after = (await client.get("/api/v1/timelines/home")).json()[0]["account"]
    assert before[0] == before[1]
    assert after["display_name"] == "Bob, renamed"
    assert after["followers_count"] == 41
    assert [(f["name"], f["value"]) for f in after["fields"]] == [("a", "b")]
