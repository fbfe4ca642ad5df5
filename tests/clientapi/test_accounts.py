"""Account endpoints through the live app, validated against the OpenAPI description."""

from __future__ import annotations

from pathlib import Path

from checked import call

from storage.models import StatusPin
from support.databases import sqlite_url
from support.instance import RunningInstance, make_settings, serve_in_process
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity


async def test_verify_credentials_carries_source_and_role(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        body = await call(client, "GET", "/api/v1/accounts/verify_credentials")
    validate_entity("CredentialAccount", body, all_properties=True)
    validate_entity("Account", body, all_properties=True)
    assert body["username"] == body["acct"] == "alice"
    assert body["url"] == f"{instance.base_url}/@alice"
    assert body["avatar"] == f"{instance.base_url}/avatars/original/missing.png"
    assert body["source"]["privacy"] == "public"
    assert body["source"]["follow_requests_count"] == 0
    assert isinstance(body["id"], str)
    assert body["created_at"].endswith("T00:00:00.000Z")


async def test_scopes_are_checked_with_parent_expansion(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    profile_only = await make_token(instance.ctx, "alice", "profile")
    statuses_only = await make_token(instance.ctx, "alice", "read:statuses")
    read_accounts = await make_token(instance.ctx, "alice", "read:accounts")
    read = await make_token(instance.ctx, "alice", "read")
    async with instance.client() as client:
        path = "/api/v1/accounts/verify_credentials"
        assert (await client.get(path, headers=bearer(profile_only))).status_code == 200
        assert (await client.get(path, headers=bearer(read_accounts))).status_code == 200
        assert (await client.get(path, headers=bearer(read))).status_code == 200
        refused = await call(client, "GET", path, expect=403, headers=bearer(statuses_only))
        assert refused["error"]
        await call(client, "GET", path, expect=401)
        write_refused = await client.patch(
            "/api/v1/accounts/update_credentials", data={"display_name": "x"}, headers=bearer(read)
        )
        assert write_refused.status_code == 403
        preferences_refused = await client.get("/api/v1/preferences", headers=bearer(profile_only))
        assert preferences_refused.status_code == 403


async def test_update_credentials_from_form_and_json(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    async with instance.client(headers=bearer(token)) as client:
        body = await call(
            client,
            "PATCH",
            "/api/v1/accounts/update_credentials",
            data={
                "display_name": "Alice A.",
                "note": "Hello <world> #civil",
                "locked": "true",
                "discoverable": "0",
                "fields_attributes[0][name]": "Site",
                "fields_attributes[0][value]": "https://alice.example",
                "fields_attributes[1][name]": "Desk",
                "fields_attributes[1][value]": "3rd floor",
                "source[privacy]": "private",
                "source[sensitive]": "on",
                "source[language]": "fr",
            },
        )
        validate_entity("CredentialAccount", body, all_properties=True)
        assert body["display_name"] == "Alice A."
        assert body["locked"] is True and body["discoverable"] is False
        assert "&lt;world&gt;" in body["note"]
        assert body["source"]["note"] == "Hello <world> #civil"
        assert [field["name"] for field in body["fields"]] == ["Site", "Desk"]
        assert 'href="https://alice.example"' in body["fields"][0]["value"]
        assert body["source"]["fields"][0]["value"] == "https://alice.example"
        assert (body["source"]["privacy"], body["source"]["sensitive"], body["source"]["language"]) == (
            "private",
            True,
            "fr",
        )
        again = await call(
            client,
            "PATCH",
            "/api/v1/accounts/update_credentials",
            json={"locked": False, "fields_attributes": [{"name": "Only", "value": "one"}]},
        )
        assert again["locked"] is False and again["display_name"] == "Alice A."
        assert [field["name"] for field in again["fields"]] == ["Only"]
        preferences = await call(client, "GET", "/api/v1/preferences")
        assert preferences["posting:default:visibility"] == "private"
        assert preferences["posting:default:sensitive"] is True
        bad = await client.patch("/api/v1/accounts/update_credentials", data={"source[privacy]": "secret"})
        assert bad.status_code == 422 and "privacy" in bad.json()["error"]
        bad_bool = await client.patch("/api/v1/accounts/update_credentials", data={"locked": "perhaps"})
        assert bad_bool.status_code == 422


async def test_get_account_and_lookup(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    bob = await make_user(instance.ctx, "bob")
    async with instance.client() as client:
        body = await call(client, "GET", f"/api/v1/accounts/{bob.id}")
        validate_entity("Account", body, all_properties=True)
        assert body["id"] == str(bob.id)
        for acct in ("bob", "@bob", f"bob@{instance.ctx.domain}", "BOB"):
            found = await call(client, "GET", "/api/v1/accounts/lookup", params={"acct": acct})
            assert found["id"] == str(bob.id)
        await call(client, "GET", "/api/v1/accounts/lookup", params={"acct": "nobody"}, expect=404)
        await call(client, "GET", "/api/v1/accounts/999999", expect=404)
        missing = await client.get("/api/v1/accounts/not-a-number")
    assert missing.status_code == 404


async def test_follow_unfollow_and_lists_with_pagination(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    alice_token = await make_token(instance.ctx, "alice")
    bob = await make_user(instance.ctx, "bob")
    followers = []
    for name in ("carol", "dave", "erin"):
        token = await make_token(instance.ctx, name)
        async with instance.client(headers=bearer(token)) as client:
            relationship = await call(client, "POST", f"/api/v1/accounts/{bob.id}/follow")
        assert relationship["following"] is True
        followers.append(name)
    async with instance.client(headers=bearer(alice_token)) as client:
        relationship = await call(
            client, "POST", f"/api/v1/accounts/{bob.id}/follow", data={"reblogs": "false", "notify": "true"}
        )
        validate_entity("Relationship", relationship, all_properties=True)
        assert relationship["following"] and not relationship["showing_reblogs"] and relationship["notifying"]

        first = await client.get(f"/api/v1/accounts/{bob.id}/followers", params={"limit": 2})
        assert first.status_code == 200
        validate_entity("Account", first.json(), all_properties=True)
        assert [account["username"] for account in first.json()] == ["alice", "erin"]
        link = first.headers["link"]
        assert link.index('rel="next"') < link.index('rel="prev"')
        next_url = link.split(";")[0].strip("<>")
        assert next_url.startswith(f"{instance.base_url}/api/v1/accounts/{bob.id}/followers?")
        second = await client.get(next_url)
        assert [account["username"] for account in second.json()] == ["dave", "carol"]
        prev_url = second.headers["link"].split(", ")[1].split(";")[0].strip("<>")
        assert [account["username"] for account in (await client.get(prev_url)).json()] == ["alice", "erin"]

        following = await call(
            client, "GET", f"/api/v1/accounts/{(await make_user(instance.ctx, 'alice')).id}/following"
        )
        assert [account["username"] for account in following] == ["bob"]
        relationships = await call(
            client, "GET", "/api/v1/accounts/relationships", params={"id[]": [str(bob.id), "12345"]}
        )
        assert [(item["id"], item["following"]) for item in relationships] == [
            (str(bob.id), True),
            ("12345", False),
        ]
        unfollowed = await call(client, "POST", f"/api/v1/accounts/{bob.id}/unfollow")
        assert unfollowed["following"] is False
        bob_account = await call(client, "GET", f"/api/v1/accounts/{bob.id}")
    assert bob_account["followers_count"] == 3


async def test_locked_account_follow_requests(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    assert instance.ctx is not None
    bob_token = await make_token(instance.ctx, "bob")
    alice_token = await make_token(instance.ctx, "alice")
    carol_token = await make_token(instance.ctx, "carol")
    alice = await make_user(instance.ctx, "alice")
    carol = await make_user(instance.ctx, "carol")
    bob = await make_user(instance.ctx, "bob")
    async with instance.client(headers=bearer(bob_token)) as bob_client:
        await call(bob_client, "PATCH", "/api/v1/accounts/update_credentials", data={"locked": "true"})
    for token in (alice_token, carol_token):
        async with instance.client(headers=bearer(token)) as client:
            relationship = await call(client, "POST", f"/api/v1/accounts/{bob.id}/follow")
            assert relationship["requested"] is True and relationship["following"] is False
    async with instance.client(headers=bearer(bob_token)) as bob_client:
        requests = await call(bob_client, "GET", "/api/v1/follow_requests")
        assert {account["username"] for account in requests} == {"alice", "carol"}
        me = await call(bob_client, "GET", "/api/v1/accounts/verify_credentials")
        assert me["source"]["follow_requests_count"] == 2
        authorized = await call(bob_client, "POST", f"/api/v1/follow_requests/{alice.id}/authorize")
        assert authorized["followed_by"] is True and authorized["requested_by"] is False
        rejected = await call(bob_client, "POST", f"/api/v1/follow_requests/{carol.id}/reject")
        assert rejected["followed_by"] is False and rejected["requested_by"] is False
        assert await call(bob_client, "GET", "/api/v1/follow_requests") == []
        removed = await call(bob_client, "POST", f"/api/v1/accounts/{alice.id}/remove_from_followers")
        assert removed["followed_by"] is False


async def test_account_statuses_filters_and_visibility(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    bob_token = await make_token(instance.ctx, "bob")
    alice_token = await make_token(instance.ctx, "alice")
    bob = await make_user(instance.ctx, "bob")
    async with instance.client(headers=bearer(bob_token)) as bob_client:
        first = await call(bob_client, "POST", "/api/v1/statuses", data={"status": "first post"})
        await call(
            bob_client,
            "POST",
            "/api/v1/statuses",
            data={"status": "self reply", "in_reply_to_id": first["id"]},
        )
        secret = await call(
            bob_client, "POST", "/api/v1/statuses", data={"status": "followers only", "visibility": "private"}
        )
        await call(bob_client, "POST", f"/api/v1/statuses/{first['id']}/reblog")
    async with instance.ctx.db.transaction() as session:
        session.add(StatusPin(account_id=bob.id, status_id=int(first["id"])))
    path = f"/api/v1/accounts/{bob.id}/statuses"
    async with instance.client(headers=bearer(alice_token)) as client:
        everything = await call(client, "GET", path)
        validate_entity("Status", everything)
        assert secret["id"] not in [status["id"] for status in everything]  # alice does not follow bob
        assert len(everything) == 3
        no_boosts = await call(client, "GET", path, params={"exclude_reblogs": "true"})
        assert all(status["reblog"] is None for status in no_boosts) and len(no_boosts) == 2
        no_replies = await call(client, "GET", path, params={"exclude_replies": "1"})
        assert len(no_replies) == 3  # a reply to oneself is a thread, kept as Mastodon does
        pinned = await call(client, "GET", path, params={"pinned": "true"})
        assert [status["id"] for status in pinned] == [first["id"]]
        assert await call(client, "GET", path, params={"only_media": "true"}) == []
        await call(client, "POST", f"/api/v1/accounts/{bob.id}/follow")
        with_private = await call(client, "GET", path)
        paged = await client.get(path, params={"limit": 1})
    assert secret["id"] in [status["id"] for status in with_private]
    assert len(paged.json()) == 1 and 'rel="next"' in paged.headers["link"]


async def test_account_search(instance: RunningInstance) -> None:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, "alice")
    for name in ("bob", "bobby", "carol"):
        await make_user(instance.ctx, name)
    async with instance.client(headers=bearer(token)) as client:
        found = await call(client, "GET", "/api/v1/accounts/search", params={"q": "bob"})
        none_followed = await call(
            client, "GET", "/api/v1/accounts/search", params={"q": "bob", "following": "true"}
        )
        await call(client, "GET", "/api/v1/accounts/search", expect=401, headers={"Authorization": ""})
    assert [account["username"] for account in found] == ["bob", "bobby"]
    assert none_followed == []


async def test_lookup_resolves_a_remote_account_and_follows_it(tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first_settings = make_settings(first_dir, database_url=sqlite_url(str(first_dir)))
    second_settings = make_settings(second_dir, database_url=sqlite_url(str(second_dir)))
    async with serve_in_process(first_settings) as first, serve_in_process(second_settings) as second:
        assert first.ctx is not None and second.ctx is not None
        token = await make_token(first.ctx, "alice")
        await make_user(second.ctx, "zoe")
        address = f"zoe@{second.ctx.domain}"
        async with first.client(headers=bearer(token)) as client:
            remote = await call(client, "GET", "/api/v1/accounts/lookup", params={"acct": address})
            validate_entity("Account", remote, all_properties=True)
            assert remote["acct"] == address
            assert remote["uri"] == f"{second.base_url}/users/zoe"
            searched = await call(
                client, "GET", "/api/v1/accounts/search", params={"q": f"@{address}", "resolve": "true"}
            )
            assert [account["id"] for account in searched] == [remote["id"]]
            relationship = await call(client, "POST", f"/api/v1/accounts/{remote['id']}/follow")
    assert relationship["requested"] is True  # a remote follow waits for the Accept
