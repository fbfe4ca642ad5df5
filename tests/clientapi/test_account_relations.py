"""Notes, endorsements, familiar followers and the multi-gets of accounts and statuses, through the real
endpoints on both backends, driven by Mastodon.py (`account_note_set`, `account_pin`, `endorsements`,
`account_familiar_followers`, `accounts`, `statuses`) and checked against the OpenAPI description."""

from __future__ import annotations

import asyncio

from checked import call
from mastodon import Mastodon

from outbox import actions
from storage.context import Context
from storage.models import Account
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def _users(instance: RunningInstance, *names: str) -> tuple[Context, str, list[Account], Mastodon]:
    """The instance's context, a token of the first user, the users' accounts, Mastodon.py with the token."""
    ctx = instance.ctx
    assert ctx is not None
    token = await make_token(ctx, names[0])
    accounts = [await make_user(ctx, name) for name in names]
    return ctx, token, accounts, Mastodon(access_token=token, api_base_url=instance.base_url)


async def test_notes_and_endorsements(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx, token, (alice, bob, carol), client = await _users(instance, "alice", "bob", "carol")
    await actions.follow(ctx, alice, bob)

    noted = await asyncio.to_thread(client.account_note_set, bob.id, "met at the budget meeting")
    assert noted["note"] == "met at the budget meeting"
    async with instance.client(headers=bearer(token)) as api:
        relationship = (await call(api, "GET", "/api/v1/accounts/relationships", params={"id[]": bob.id}))[0]
        assert relationship["note"] == "met at the budget meeting" and relationship["endorsed"] is False
        too_long = await api.post(f"/api/v1/accounts/{bob.id}/note", data={"comment": "x" * 2001})
        assert too_long.status_code == 422 and "error" in too_long.json()
        cleared = await call(api, "POST", f"/api/v1/accounts/{bob.id}/note", data={"comment": ""})
        assert cleared["note"] == ""

        # Only followed accounts can be featured (422 as Mastodon); both the 4.4 and the older path work.
        refused = await api.post(f"/api/v1/accounts/{carol.id}/endorse")
        assert refused.status_code == 422 and "error" in refused.json()
        pinned = await asyncio.to_thread(client.account_pin, bob.id)
        assert pinned["endorsed"] is True
        await actions.follow(ctx, alice, carol)
        endorsed = await call(api, "POST", f"/api/v1/accounts/{carol.id}/endorse")
        assert endorsed["endorsed"] is True
        mine = await asyncio.to_thread(client.endorsements)
        assert [account["username"] for account in mine] == ["carol", "bob"]  # newest first, as Mastodon
        first_page = await api.get("/api/v1/endorsements", params={"limit": 1})
        assert [account["username"] for account in first_page.json()] == ["carol"]
        assert 'rel="next"' in first_page.headers["link"]
        public = await call(api, "GET", f"/api/v1/accounts/{alice.id}/endorsements")
        assert [account["username"] for account in public] == ["carol", "bob"]
        async with instance.client() as anonymous:
            listed = await anonymous.get(f"/api/v1/accounts/{alice.id}/endorsements")
            assert [account["username"] for account in listed.json()] == ["carol", "bob"]
            assert (await anonymous.get("/api/v1/endorsements")).status_code == 401

        unendorsed = await call(api, "POST", f"/api/v1/accounts/{carol.id}/unpin")
        assert unendorsed["endorsed"] is False
        # Unfollowing ends the endorsement; following again does not bring it back.
        await actions.unfollow(ctx, alice, bob)
        assert await call(api, "GET", "/api/v1/endorsements") == []
        await actions.follow(ctx, alice, bob)
        assert await call(api, "GET", "/api/v1/endorsements") == []
        relationship = (await call(api, "GET", "/api/v1/accounts/relationships", params={"id[]": bob.id}))[0]
        assert relationship["endorsed"] is False


async def test_familiar_followers(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx, token, (alice, bob, carol, dave, erin), client = await _users(
        instance, "alice", "bob", "carol", "dave", "erin"
    )
    for followed in (bob, carol):
        await actions.follow(ctx, alice, followed)
    await actions.follow(ctx, bob, dave)
    await actions.follow(ctx, carol, dave)
    await actions.follow(ctx, erin, dave)  # alice does not follow erin: not familiar
    await actions.follow(ctx, carol, erin)
    answer = await asyncio.to_thread(client.account_familiar_followers, [dave.id, erin.id, bob.id])
    familiar = {item["id"]: [account["username"] for account in item["accounts"]] for item in answer}
    assert familiar == {str(dave.id): ["bob", "carol"], str(erin.id): ["carol"], str(bob.id): []}
    async with instance.client(headers=bearer(token)) as api:
        checked = await call(
            api, "GET", "/api/v1/accounts/familiar_followers", params={"id[]": [str(dave.id), "123"]}
        )
        assert [item["id"] for item in checked] == [str(dave.id)]  # an unknown id is left out


async def test_multi_gets(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    ctx, _, (alice, bob, carol), client = await _users(instance, "alice", "bob", "carol")
    public = await actions.post_status(ctx, bob, text="public words")
    private = await actions.post_status(ctx, bob, text="for followers", visibility="private")
    own = await actions.post_status(ctx, alice, text="mine", visibility="private")

    accounts = await asyncio.to_thread(client.accounts, [carol.id, alice.id, 999, carol.id])
    assert [account["username"] for account in accounts] == ["carol", "alice"]
    # Visibility applies to each status: bob's followers-only post is left out until alice follows him.
    statuses = await asyncio.to_thread(client.statuses, [private.id, public.id, own.id])
    assert [status["content"] for status in statuses] == ["<p>public words</p>", "<p>mine</p>"]
    await actions.follow(ctx, alice, bob)
    statuses = await asyncio.to_thread(client.statuses, [private.id, public.id])
    assert [status["id"] for status in statuses] == [str(private.id), str(public.id)]
    async with instance.client() as anonymous:
        seen = await call(
            anonymous, "GET", "/api/v1/statuses", params={"id[]": [str(private.id), str(public.id)]}
        )
        assert [status["id"] for status in seen] == [str(public.id)]
        listed = await call(anonymous, "GET", "/api/v1/accounts", params={"id[]": [str(bob.id)]})
        assert [account["username"] for account in listed] == ["bob"]
        # Mastodon's limits: 20 statuses, 40 accounts a request.
        too_many = await anonymous.get("/api/v1/statuses", params={"id[]": [str(n) for n in range(1, 22)]})
        assert too_many.status_code == 422 and "error" in too_many.json()
        too_many = await anonymous.get("/api/v1/accounts", params={"id[]": [str(n) for n in range(1, 42)]})
        assert too_many.status_code == 422 and "error" in too_many.json()
