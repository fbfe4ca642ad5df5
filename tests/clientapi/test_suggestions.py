"""Follow suggestions through Mastodon.py: accounts the staff endorse (`featured`), accounts followed by
the accounts one follows (`friends_of_friends`) and the most followed local accounts, never oneself, the
followed, the blocked, the undiscoverable or the dismissed."""

from __future__ import annotations

import asyncio

from checked import call
from mastodon import Mastodon
from sqlalchemy import update

from outbox.actions import block, follow
from storage.account_pins import endorse
from storage.models import Account, User
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def test_suggestions_and_their_sources(instance: RunningInstance) -> None:
    ctx = instance.ctx
    assert ctx is not None
    names = ("me", "staffer", "ministry", "friend", "friends_pick", "popular", "fan", "hidden", "blocked")
    accounts = {name: await make_user(ctx, name) for name in names}
    token = await make_token(ctx, "me")
    async with ctx.db.transaction() as session:
        await session.execute(
            update(User).where(User.account_id == accounts["staffer"].id).values(role="admin")
        )
        await session.execute(
            update(Account).where(Account.id == accounts["hidden"].id).values(discoverable=False)
        )
    await follow(ctx, accounts["staffer"], accounts["ministry"])
    async with ctx.db.transaction() as session:
        await endorse(session, accounts["staffer"].id, accounts["ministry"].id)  # the staff's pick
    await follow(ctx, accounts["me"], accounts["friend"])
    await follow(ctx, accounts["friend"], accounts["friends_pick"])
    await follow(ctx, accounts["friend"], accounts["hidden"])
    for fan in ("fan", "friend", "staffer"):
        await follow(ctx, accounts[fan], accounts["popular"])
    await follow(ctx, accounts["fan"], accounts["blocked"])
    await block(ctx, accounts["me"], accounts["blocked"])
    client = Mastodon(api_base_url=instance.base_url, access_token=token)

    found = await asyncio.to_thread(client.suggestions_v2)
    by_name = {suggestion.account.username: list(suggestion.sources) for suggestion in found}
    assert by_name["ministry"][0] == "featured"
    assert by_name["friends_pick"][0] == "friends_of_friends"
    assert "friends_of_friends" in by_name["popular"] and "most_followed" in by_name["popular"]
    assert not {"me", "friend", "hidden", "blocked"} & set(by_name)  # self, followed, undiscoverable, blocked
    assert [account.username for account in await asyncio.to_thread(client.suggestions_v1)] == list(by_name)

    await asyncio.to_thread(client.suggestion_delete, accounts["popular"].id)
    await asyncio.to_thread(client.suggestion_delete, accounts["popular"].id)  # twice is once
    async with instance.client() as http:
        after = await call(http, "GET", "/api/v2/suggestions", headers=bearer(token), params={"limit": 80})
        assert "popular" not in [suggestion["account"]["username"] for suggestion in after]
        assert (
            len(await call(http, "GET", "/api/v1/suggestions", headers=bearer(token), params={"limit": 1}))
            == 1
        )
        missing = await http.delete("/api/v1/suggestions/999999", headers=bearer(token))
        assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}
        assert (await http.get("/api/v2/suggestions")).status_code == 401
