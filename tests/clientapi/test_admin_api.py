"""The Mastodon admin API (issue 14 part 4): domain blocks and allows for admins, accounts and reports for
moderators and admins; a normal user's token — or a staff token without the admin scope — is refused.
Each action is the CLI's moderation function, so its effect and its audit entry (naming the acting user)
are checked here, on SQLite and PostgreSQL."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from storage.accounts import local_account_by_username, user_for_account
from storage.models import Account, AuditEntry, DomainBlock
from support.accounts import stored_remote_account
from support.instance import RunningInstance
from support.oauth import bearer, make_token
from support.openapi import validate_entity

ADMIN_SCOPES = "read write admin:read admin:write"


async def _token(
    instance: RunningInstance, username: str, *, role: str, scopes: str = ADMIN_SCOPES
) -> dict[str, str]:
    assert instance.ctx is not None
    token = await make_token(instance.ctx, username, scopes=scopes)
    async with instance.ctx.db.transaction() as session:
        account = await local_account_by_username(session, username)
        assert account is not None
        user = await user_for_account(session, account.id)
        assert user is not None
        user.role = role
    return bearer(token)


async def _audit(instance: RunningInstance) -> list[tuple[str, str, str]]:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        rows = await session.execute(select(AuditEntry.action, AuditEntry.actor, AuditEntry.target))
        return sorted((action, actor, target) for action, actor, target in rows.all())


async def _account(instance: RunningInstance, account_id: int) -> Account:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return account


async def _inbox_post_from(http: httpx.AsyncClient, host: str) -> int:
    """The status of an inbox POST whose signature names a key on `host` (the policy is read first)."""
    signature = (
        f'keyId="https://{host}/users/x#main-key",algorithm="rsa-sha256",headers="date",signature="AA=="'
    )
    response = await http.post(
        "/inbox",
        content=b"{}",
        headers={"content-type": "application/activity+json", "signature": signature},
    )
    return response.status_code


def _json_error(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert isinstance(response.json().get("error"), str)


async def test_an_admin_blocks_changes_and_lifts_a_domain_block(instance_on_each_backend: RunningInstance):
    instance = instance_on_each_backend
    assert instance.ctx is not None
    admin = await _token(instance, "ada", role="admin")
    remote = await stored_remote_account(instance.ctx, "troll", "bad.example")
    async with instance.client() as http:
        assert await _inbox_post_from(http, "bad.example") != 403
        created = await http.post(
            "/api/v1/admin/domain_blocks",
            json={"domain": "Bad.Example", "severity": "suspend", "private_comment": "spam wave"},
            headers=admin,
        )
        assert created.status_code == 200, created.text
        block = created.json()
        validate_entity("AdminDomainBlock", block, all_properties=True)
        assert (block["domain"], block["severity"], block["private_comment"]) == (
            "bad.example",
            "suspend",
            "spam wave",
        )
        assert (await _account(instance, remote.id)).suspended_at is not None
        assert await _inbox_post_from(http, "bad.example") == 403

        again = await http.post("/api/v1/admin/domain_blocks", json={"domain": "bad.example"}, headers=admin)
        _json_error(again, 422)
        for bad in ({"domain": "bad..example"}, {"domain": "ok.example", "severity": "nuke"}, {}):
            _json_error(await http.post("/api/v1/admin/domain_blocks", json=bad, headers=admin), 422)
        _json_error(await http.get("/api/v1/admin/domain_blocks/none.example", headers=admin), 404)

        listed = (await http.get("/api/v1/admin/domain_blocks", headers=admin)).json()
        validate_entity("AdminDomainBlock", listed)
        assert [item["id"] for item in listed] == [block["id"]]
        shown = (await http.get(f"/api/v1/admin/domain_blocks/{block['id']}", headers=admin)).json()
        assert shown == block

        changed = await http.put(
            f"/api/v1/admin/domain_blocks/{block['id']}", json={"severity": "silence"}, headers=admin
        )
        assert changed.status_code == 200, changed.text
        assert (changed.json()["severity"], changed.json()["private_comment"]) == ("silence", "spam wave")
        stored = await _account(instance, remote.id)
        assert stored.suspended_at is None and stored.silenced_at is not None

        deleted = await http.delete(f"/api/v1/admin/domain_blocks/{block['id']}", headers=admin)
        assert (deleted.status_code, deleted.json()) == (200, {})
        _json_error(await http.delete(f"/api/v1/admin/domain_blocks/{block['id']}", headers=admin), 404)
        assert (await _account(instance, remote.id)).silenced_at is None
    async with instance.ctx.db.read() as session:
        assert list((await session.execute(select(DomainBlock))).scalars()) == []
    assert await _audit(instance) == [
        ("domain.block", "@ada", "bad.example"),
        ("domain.block", "@ada", "bad.example"),
        ("domain.unblock", "@ada", "bad.example"),
    ]


async def test_an_admin_keeps_the_allow_list(instance: RunningInstance):
    admin = await _token(instance, "ada", role="admin")
    async with instance.client() as http:
        created = await http.post(
            "/api/v1/admin/domain_allows", json={"domain": "good.example"}, headers=admin
        )
        assert created.status_code == 200, created.text
        allow = created.json()
        validate_entity("AdminDomainAllow", allow, all_properties=True)
        listed = (await http.get("/api/v1/admin/domain_allows", headers=admin)).json()
        assert listed == [allow]
        assert (await http.get(f"/api/v1/admin/domain_allows/{allow['id']}", headers=admin)).json() == allow
        _json_error(
            await http.post("/api/v1/admin/domain_allows", json={"domain": "x y"}, headers=admin), 422
        )
        deleted = await http.delete(f"/api/v1/admin/domain_allows/{allow['id']}", headers=admin)
        assert deleted.status_code == 200
        _json_error(await http.get(f"/api/v1/admin/domain_allows/{allow['id']}", headers=admin), 404)
    assert await _audit(instance) == [
        ("domain.allow", "@ada", "good.example"),
        ("domain.disallow", "@ada", "good.example"),
    ]


async def test_domain_policy_is_for_admins_holding_the_scope(instance: RunningInstance):
    moderator = await _token(instance, "mo", role="moderator")
    user = await _token(instance, "someone", role="user")
    unscoped = await _token(instance, "ada", role="admin", scopes="read write")
    narrow = await _token(instance, "bea", role="admin", scopes="admin:read:domain_allows")
    async with instance.client() as http:
        for headers in (moderator, user, unscoped, narrow):
            _json_error(await http.get("/api/v1/admin/domain_blocks", headers=headers), 403)
            posted = await http.post(
                "/api/v1/admin/domain_blocks", json={"domain": "bad.example"}, headers=headers
            )
            _json_error(posted, 403)
        assert (await http.get("/api/v1/admin/domain_allows", headers=narrow)).status_code == 200
        _json_error(
            await http.post("/api/v1/admin/domain_allows", json={"domain": "x.example"}, headers=narrow), 403
        )
    assert await _audit(instance) == []
