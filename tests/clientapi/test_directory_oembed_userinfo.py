"""The profile directory (with Mastodon.py), oEmbed for our statuses and `/oauth/userinfo` (with
Mastodon.py), through the real endpoints of a live instance; responses validated against the Mastodon
OpenAPI description, bad input answered with the right status and a JSON error."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from checked import call
from mastodon import Mastodon
from sqlalchemy import update

from storage.models import Account
from storage.types import utcnow
from support.accounts import stored_remote_account
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user
from support.openapi import validate_entity

REMOTE = "remote.example"


async def _remote(instance: RunningInstance, username: str, **columns: Any) -> Account:
    return await stored_remote_account(instance.ctx, username, REMOTE, **columns)


async def test_directory_lists_discoverable_accounts(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    now = utcnow()
    tokens = {name: await make_token(instance.ctx, name) for name in ("alice", "bob", "carol", "dave")}
    await _remote(instance, "ann", last_status_at=now - timedelta(hours=1))
    await _remote(instance, "ben", discoverable=False)
    await _remote(instance, "eve", silenced_at=now)
    async with instance.ctx.db.transaction() as session:
        await session.execute(update(Account).where(Account.username == "dave").values(suspended_at=now))
    async with (
        instance.client(headers=bearer(tokens["carol"])) as c,
        instance.client(headers=bearer(tokens["bob"])) as b,
    ):
        await call(c, "PATCH", "/api/v1/accounts/update_credentials", data={"discoverable": "false"})
        await call(b, "POST", "/api/v1/statuses", data={"status": "bob was here"})
        alice_id = str((await make_user(instance.ctx, "alice")).id)
        await call(b, "POST", f"/api/v1/accounts/{alice_id}/block")

    anonymous = Mastodon(api_base_url=instance.base_url)
    active = await asyncio.to_thread(anonymous.directory)
    assert [account.acct for account in active] == ["bob", f"ann@{REMOTE}", "alice"]
    newest = await asyncio.to_thread(anonymous.directory, order="new")
    assert [account.acct for account in newest] == [f"ann@{REMOTE}", "bob", "alice"]
    local = await asyncio.to_thread(anonymous.directory, local=True)
    assert [account.acct for account in local] == ["bob", "alice"]
    paged = await asyncio.to_thread(anonymous.directory, offset=1, limit=1)
    assert [account.acct for account in paged] == [f"ann@{REMOTE}"]
    # bob blocks alice: neither sees the other in the directory.
    bob = Mastodon(access_token=tokens["bob"], api_base_url=instance.base_url)
    assert [account.acct for account in await asyncio.to_thread(bob.directory)] == ["bob", f"ann@{REMOTE}"]
    async with instance.client() as client:
        body = await call(client, "GET", "/api/v1/directory", params={"order": "popular"}, expect=422)
        assert body["details"]["order"][0]["error"] == "ERR_INCLUSION"
        await call(client, "GET", "/api/v1/directory", params={"offset": "-1"}, expect=422)
        everyone = await call(client, "GET", "/api/v1/directory", params={"limit": "500"})
        validate_entity("Account", everyone, all_properties=True)
        assert len(everyone) == 3


async def test_oembed_describes_public_statuses_only(instance: RunningInstance) -> None:
    alice = bearer(await make_token(instance.ctx, "alice"))
    async with instance.client(headers=alice) as a, instance.client() as anonymous:
        await call(a, "PATCH", "/api/v1/accounts/update_credentials", data={"display_name": "Alice <Admin>"})
        public = await call(a, "POST", "/api/v1/statuses", data={"status": "<script>x</script> hello #embed"})
        unlisted = await call(
            a, "POST", "/api/v1/statuses", data={"status": "quiet", "visibility": "unlisted"}
        )
        private = await call(
            a, "POST", "/api/v1/statuses", data={"status": "secret", "visibility": "private"}
        )
        deleted = await call(a, "POST", "/api/v1/statuses", data={"status": "gone soon"})
        await call(a, "DELETE", f"/api/v1/statuses/{deleted['id']}")

        described = await call(anonymous, "GET", "/api/oembed", params={"url": public["url"]})
        validate_entity("OEmbedResponse", described, all_properties=True)
        assert described["type"] == "rich" and described["width"] == 400 and described["height"] is None
        assert described["author_name"] == "Alice <Admin>"
        assert described["author_url"] == f"{instance.base_url}/@alice"
        assert described["provider_url"] == f"{instance.base_url}/"
        embed = described["html"]
        assert "<script" not in embed and "&lt;script&gt;" in embed and "hello" in embed
        assert "Alice &lt;Admin&gt;" in embed and f'href="{public["url"]}"' in embed
        # The object URL works too, and a narrower frame.
        by_uri = await call(anonymous, "GET", "/api/oembed", params={"url": public["uri"], "maxwidth": "250"})
        assert by_uri["width"] == 250 and by_uri["html"] == embed.replace(
            "max-width: 400px", "max-width: 250px"
        )
        assert (
            "quiet" in (await call(anonymous, "GET", "/api/oembed", params={"url": unlisted["url"]}))["html"]
        )
        for url in (
            private["url"],
            deleted["url"],
            f"{instance.base_url}/@bob/{public['id']}",  # not bob's
            f"{instance.base_url}/@alice/{public['id']}0",
            f"{instance.base_url}/@alice/x{public['id']}",
            f"https://elsewhere.example/@alice/{public['id']}",
            "not a url",
        ):
            await call(anonymous, "GET", "/api/oembed", params={"url": url}, expect=404)
        missing = await call(anonymous, "GET", "/api/oembed", expect=422)
        assert missing["details"]["url"][0]["error"] == "ERR_BLANK"


async def test_userinfo_answers_for_profile_tokens(instance: RunningInstance) -> None:
    await make_user(instance.ctx, "alice")
    async with instance.client() as client:
        metadata = await call(client, "GET", "/.well-known/oauth-authorization-server")
        assert metadata["userinfo_endpoint"] == f"{instance.base_url}/oauth/userinfo"
    token = await make_token(instance.ctx, "alice", "profile")
    # (Mastodon.py's `oauth_userinfo` insists on https, which this test server does not speak.)
    async with instance.client(headers=bearer(token)) as a:
        info = await call(a, "GET", "/oauth/userinfo")
        assert info == {
            "iss": f"{instance.base_url}/",
            "sub": f"{instance.base_url}/users/alice",
            "name": "alice",
            "preferred_username": "alice",
            "profile": f"{instance.base_url}/@alice",
            "picture": info["picture"],
        }
        assert info["picture"].startswith(instance.base_url)
        assert (await a.post("/oauth/userinfo")).json() == info  # OpenID Connect allows POST too
    # Only the profile scope lets a token in, as Mastodon; no token at all is a 401.
    broad = bearer(await make_token(instance.ctx, "alice", "read write"))
    async with instance.client(headers=broad) as b, instance.client() as anonymous:
        await call(b, "GET", "/oauth/userinfo", expect=403)
        await call(anonymous, "GET", "/oauth/userinfo", expect=401)
