"""The Mastodon admin API (issue 14 part 4): domain blocks and allows for admins, accounts and reports for
moderators and admins; a normal user's token — or a staff token without the admin scope — is refused.
Each action is the CLI's moderation function, so its effect and its audit entry (naming the acting user)
are checked here, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
from mastodon import Mastodon
from sqlalchemy import select

from storage.accounts import user_for_account
from storage.models import Account, AuditEntry, DomainBlock
from support.accounts import stored_remote_account
from support.instance import RunningInstance
from support.openapi import validate_entity
from support.staff import role_bearer


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
    admin = await role_bearer(instance, "ada", role="admin")
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
    admin = await role_bearer(instance, "ada", role="admin")
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
    moderator = await role_bearer(instance, "mo", role="moderator")
    user = await role_bearer(instance, "someone", role="user")
    unscoped = await role_bearer(instance, "ada", role="admin", scopes="read write")
    narrow = await role_bearer(instance, "bea", role="admin", scopes="admin:read:domain_allows")
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


async def test_moderators_find_and_moderate_accounts(instance_on_each_backend: RunningInstance):
    instance = instance_on_each_backend
    assert instance.ctx is not None
    moderator = await role_bearer(instance, "mo", role="moderator")
    target_token = await role_bearer(instance, "clerk", role="user", scopes="read")
    remote = await stored_remote_account(instance.ctx, "troll", "far.example", display_name="Loud Troll")
    async with instance.client() as http:
        everyone = (await http.get("/api/v1/admin/accounts", headers=moderator)).json()
        validate_entity("AdminAccount", everyone, all_properties=True)
        assert {item["username"] for item in everyone} == {"mo", "clerk", "troll"}
        remote_only = (await http.get("/api/v1/admin/accounts?remote=true", headers=moderator)).json()
        assert [item["id"] for item in remote_only] == [str(remote.id)]
        assert remote_only[0]["domain"] == "far.example"
        staff = (await http.get("/api/v2/admin/accounts?permissions=staff", headers=moderator)).json()
        assert [item["username"] for item in staff] == ["mo"]
        by_name = await http.get("/api/v2/admin/accounts?display_name=loud&origin=remote", headers=moderator)
        assert [item["username"] for item in by_name.json()] == ["troll"]
        clerk = next(item for item in everyone if item["username"] == "clerk")
        shown = (await http.get(f"/api/v1/admin/accounts/{clerk['id']}", headers=moderator)).json()
        assert (shown["username"], shown["suspended"]) == ("clerk", False)
        _json_error(await http.get("/api/v1/admin/accounts/99999", headers=moderator), 404)
        _json_error(await http.get("/api/v1/admin/accounts/nope", headers=moderator), 404)

        for account_id, bad in ((clerk["id"], {"type": "explode"}), (remote.id, {"type": "disable"})):
            answer = await http.post(
                f"/api/v1/admin/accounts/{account_id}/action", json=bad, headers=moderator
            )
            _json_error(answer, 422)  # a remote account has no login to disable
        warned = await http.post(
            f"/api/v1/admin/accounts/{clerk['id']}/action",
            json={"type": "none", "text": "be nice"},
            headers=moderator,
        )
        assert (warned.status_code, warned.json()) == (200, {})
        suspended = await http.post(
            f"/api/v1/admin/accounts/{clerk['id']}/action", json={"type": "suspend"}, headers=moderator
        )
        assert suspended.status_code == 200, suspended.text
        # The suspended user's token is revoked (as `plein account suspend` does).
        assert (
            await http.get("/api/v1/accounts/verify_credentials", headers=target_token)
        ).status_code == 401
        listed = (await http.get("/api/v1/admin/accounts?suspended=true", headers=moderator)).json()
        assert [item["username"] for item in listed] == ["clerk"]
        again = await http.post(
            f"/api/v1/admin/accounts/{clerk['id']}/action", json={"type": "suspend"}, headers=moderator
        )
        _json_error(again, 422)
        lifted = await http.post(f"/api/v1/admin/accounts/{clerk['id']}/unsuspend", headers=moderator)
        assert lifted.status_code == 200 and lifted.json()["suspended"] is False
        validate_entity("AdminAccount", lifted.json(), all_properties=True)

        silenced = await http.post(
            f"/api/v1/admin/accounts/{remote.id}/action",
            json={"type": "silence", "text": "spam"},
            headers=moderator,
        )
        assert silenced.status_code == 200
        assert (await _account(instance, remote.id)).silenced_at is not None
        unsilenced = await http.post(f"/api/v1/admin/accounts/{remote.id}/unsilence", headers=moderator)
        assert unsilenced.json()["silenced"] is False
        _json_error(await http.post(f"/api/v1/admin/accounts/{remote.id}/unsilence", headers=moderator), 422)
        _json_error(await http.post(f"/api/v1/admin/accounts/{remote.id}/enable", headers=moderator), 422)
        _json_error(
            await http.post(f"/api/v1/admin/accounts/{remote.id}/unsensitive", headers=moderator), 422
        )
        _json_error(await http.delete(f"/api/v1/admin/accounts/{clerk['id']}", headers=moderator), 422)
    assert await _audit(instance) == [
        ("account.silence", "@mo", f"account:{remote.id}"),
        ("account.suspend", "@mo", f"account:{clerk['id']}"),
        ("account.unsilence", "@mo", f"account:{remote.id}"),
        ("account.unsuspend", "@mo", f"account:{clerk['id']}"),
        ("account.warn", "@mo", f"account:{clerk['id']}"),
    ]


async def test_an_admin_deletes_a_suspended_local_account(instance: RunningInstance):
    assert instance.ctx is not None
    admin = await role_bearer(instance, "ada", role="admin")
    await role_bearer(instance, "gone", role="user")
    async with instance.client() as http:
        found = (await http.get("/api/v1/admin/accounts?username=gon", headers=admin)).json()
        assert [item["username"] for item in found] == ["gone"]
        target = found[0]["id"]
        await http.post(f"/api/v1/admin/accounts/{target}/action", json={"type": "suspend"}, headers=admin)
        deleted = await http.delete(f"/api/v1/admin/accounts/{target}", headers=admin)
        assert deleted.status_code == 200, deleted.text
    assert (await _account(instance, int(target))).gone_at is not None
    assert [action for action, actor, _ in await _audit(instance) if actor == "@ada"] == [
        "account.delete",
        "account.suspend",
    ]


async def test_accounts_are_for_staff_holding_the_scope(instance: RunningInstance):
    user = await role_bearer(instance, "someone", role="user")
    unscoped = await role_bearer(instance, "mo", role="moderator", scopes="read write")
    reader = await role_bearer(instance, "bea", role="admin", scopes="admin:read:accounts")
    async with instance.client() as http:
        target = (await http.get("/api/v1/admin/accounts", headers=reader)).json()[0]["id"]
        for headers in (user, unscoped):
            _json_error(await http.get("/api/v1/admin/accounts", headers=headers), 403)
        for headers in (user, unscoped, reader):
            posted = await http.post(
                f"/api/v1/admin/accounts/{target}/action", json={"type": "suspend"}, headers=headers
            )
            _json_error(posted, 403)
    assert await _audit(instance) == []


async def _reported(instance: RunningInstance, http: httpx.AsyncClient) -> tuple[str, str]:
    """A report by @rep about a status of @spammer: (report id, status id)."""
    spammer = await role_bearer(instance, "spammer", role="user", scopes="read write")
    reporter = await role_bearer(instance, "rep", role="user", scopes="read write")
    status = (await http.post("/api/v1/statuses", json={"status": "buy now"}, headers=spammer)).json()
    target = (await http.get("/api/v1/accounts/verify_credentials", headers=spammer)).json()["id"]
    report = await http.post(
        "/api/v1/reports",
        json={"account_id": target, "status_ids": [status["id"]], "comment": "spam"},
        headers=reporter,
    )
    assert report.status_code == 200, report.text
    return report.json()["id"], status["id"]


async def test_moderators_resolve_and_reopen_reports(instance_on_each_backend: RunningInstance):
    instance = instance_on_each_backend
    moderator = await role_bearer(instance, "mo", role="moderator")
    user = await role_bearer(instance, "someone", role="user", scopes="read write admin:read admin:write")
    async with instance.client() as http:
        report_id, status_id = await _reported(instance, http)
        _json_error(await http.get("/api/v1/admin/reports", headers=user), 403)
        _json_error(await http.post(f"/api/v1/admin/reports/{report_id}/resolve", headers=user), 403)
        listed = (await http.get("/api/v1/admin/reports", headers=moderator)).json()
        validate_entity("AdminReport", listed, all_properties=True)
        assert [item["id"] for item in listed] == [report_id]
        report = listed[0]
        assert (report["account"]["username"], report["target_account"]["username"]) == ("rep", "spammer")
        assert [status["id"] for status in report["statuses"]] == [status_id]
        _json_error(await http.get("/api/v1/admin/reports/99999", headers=moderator), 404)
        assert report["assigned_account"] is None
        taken = await http.post(f"/api/v1/admin/reports/{report_id}/assign_to_self", headers=moderator)
        assert taken.status_code == 200 and taken.json()["assigned_account"]["username"] == "mo"
        validate_entity("AdminReport", taken.json(), all_properties=True)
        left = await http.post(f"/api/v1/admin/reports/{report_id}/unassign", headers=moderator)
        assert left.status_code == 200 and left.json()["assigned_account"] is None
        _json_error(await http.post("/api/v1/admin/reports/99999/assign_to_self", headers=moderator), 404)
        resolved = await http.post(
            f"/api/v1/admin/reports/{report_id}/resolve", json={"note": "warned"}, headers=moderator
        )
        assert resolved.status_code == 200 and resolved.json()["action_taken"] is True
        validate_entity("AdminReport", resolved.json(), all_properties=True)
        _json_error(await http.post(f"/api/v1/admin/reports/{report_id}/resolve", headers=moderator), 422)
        assert (await http.get("/api/v1/admin/reports", headers=moderator)).json() == []
        done = (await http.get("/api/v1/admin/reports?resolved=true", headers=moderator)).json()
        assert [item["id"] for item in done] == [report_id]
        reopened = await http.post(f"/api/v1/admin/reports/{report_id}/reopen", headers=moderator)
        assert reopened.status_code == 200 and reopened.json()["action_taken"] is False
        _json_error(await http.post(f"/api/v1/admin/reports/{report_id}/reopen", headers=moderator), 422)
    assert await _audit(instance) == [
        ("report.assign", "@mo", f"report:{report_id}"),
        ("report.reopen", "@mo", f"report:{report_id}"),
        ("report.resolve", "@mo", f"report:{report_id}"),
        ("report.unassign", "@mo", f"report:{report_id}"),
    ]


async def test_an_action_with_a_report_id_is_the_reports_action(instance: RunningInstance):
    assert instance.ctx is not None
    moderator = await role_bearer(instance, "mo", role="moderator")
    await role_bearer(instance, "bystander", role="user", scopes="read")
    async with instance.client() as http:
        report_id, _ = await _reported(instance, http)
        spammer = (await http.get("/api/v1/admin/accounts?username=spammer", headers=moderator)).json()[0][
            "id"
        ]
        other = (await http.get("/api/v1/admin/accounts?username=bystander", headers=moderator)).json()[0][
            "id"
        ]
        action = f"/api/v1/admin/accounts/{spammer}/action"
        for report in ("99999", "nope"):
            missing = await http.post(
                action, json={"type": "suspend", "report_id": report}, headers=moderator
            )
            _json_error(missing, 422)
        elsewhere = await http.post(
            f"/api/v1/admin/accounts/{other}/action",
            json={"type": "suspend", "report_id": report_id},
            headers=moderator,
        )
        _json_error(elsewhere, 422)
        assert (await _account(instance, int(spammer))).suspended_at is None
        done = await http.post(
            action, json={"type": "suspend", "report_id": report_id, "text": "spam"}, headers=moderator
        )
        assert (done.status_code, done.json()) == (200, {})
        report = (await http.get(f"/api/v1/admin/reports/{report_id}", headers=moderator)).json()
        assert report["action_taken"] is True
    assert (await _account(instance, int(spammer))).suspended_at is not None
    assert await _audit(instance) == [("report.suspend", "@mo", f"report:{report_id}")]


async def test_roles_and_second_factors_through_the_admin_api(instance: RunningInstance):
    assert instance.ctx is not None
    admin = await role_bearer(instance, "ada", role="admin")
    moderator = await role_bearer(instance, "mo", role="moderator")
    await role_bearer(instance, "clerk", role="user", scopes="read")
    async with instance.client() as http:
        listed = (await http.get("/api/v1/admin/accounts", headers=admin)).json()
        ids = {item["username"]: item["id"] for item in listed}
        clerk_role = f"/api/v1/admin/accounts/{ids['clerk']}/role"
        _json_error(await http.post(clerk_role, json={"role": "admin"}, headers=moderator), 403)
        _json_error(await http.post(clerk_role, json={"role": "owner"}, headers=admin), 422)
        promoted = await http.post(clerk_role, json={"role": "moderator"}, headers=admin)
        assert promoted.status_code == 200 and promoted.json()["role"]["name"].lower() == "moderator"
        # A moderator may not act against an admin.
        on_admin = await http.post(
            f"/api/v1/admin/accounts/{ids['ada']}/action", json={"type": "silence"}, headers=moderator
        )
        _json_error(on_admin, 403)
        reset = f"/api/v1/admin/accounts/{ids['clerk']}/reset_second_factor"
        _json_error(await http.post(reset, headers=moderator), 422)  # none set up
        async with instance.ctx.db.transaction() as session:
            user = await user_for_account(session, int(ids["clerk"]))
            assert user is not None
            user.totp_secret, user.totp_enabled_at = "JBSWY3DPEHPK3PXP", user.created_at
        assert (await http.post(reset, headers=moderator)).status_code == 200
    async with instance.ctx.db.read() as session:
        user = await user_for_account(session, int(ids["clerk"]))
        assert user is not None and user.role == "moderator"
        assert (user.totp_secret, user.totp_enabled_at) == (None, None)
    assert (await _account(instance, int(ids["ada"]))).silenced_at is None
    assert await _audit(instance) == [
        ("account.reset_second_factor", "@mo", f"account:{ids['clerk']}"),
        ("account.role", "@ada", f"account:{ids['clerk']}"),
    ]


async def test_mastodon_py_admin_methods(instance: RunningInstance):
    """Mastodon.py's admin_* methods against the live server (it is synchronous: run in a thread)."""
    admin_headers = await role_bearer(instance, "ada", role="admin")
    async with instance.client() as http:
        report_id, _ = await _reported(instance, http)
    api = Mastodon(
        api_base_url=instance.base_url,
        access_token=admin_headers["Authorization"].split(" ", 1)[1],
        version_check_mode="none",
    )
    block = await asyncio.to_thread(
        api.admin_create_domain_block, "evil.example", severity="silence", private_comment="x"
    )
    assert (block["domain"], block["severity"]) == ("evil.example", "silence")
    blocks = await asyncio.to_thread(api.admin_domain_blocks)
    assert [item["domain"] for item in blocks] == ["evil.example"]
    await asyncio.to_thread(api.admin_delete_domain_block, block["id"])
    assert await asyncio.to_thread(api.admin_domain_blocks) == []
    reports = await asyncio.to_thread(api.admin_reports)
    assert [str(item["id"]) for item in reports] == [report_id]
    spammer = reports[0]["target_account"]["id"]
    await asyncio.to_thread(api.admin_account_moderate, spammer, action="silence", text="calm down")
    assert (await asyncio.to_thread(api.admin_account, spammer))["silenced"] is True
    await asyncio.to_thread(api.admin_account_unsilence, spammer)
    resolved = await asyncio.to_thread(api.admin_report_resolve, report_id)
    assert resolved["action_taken"] is True
    accounts = await asyncio.to_thread(api.admin_accounts_v2, origin="local", permissions="staff")
    assert [item["username"] for item in accounts] == ["ada"]
