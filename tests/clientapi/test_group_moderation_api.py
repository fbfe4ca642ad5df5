"""Plein's client API extension for group moderators (`/api/v1/plein/groups/:id/…`), through the real
endpoints on SQLite and PostgreSQL: the moderators listed; a moderator takes a member's post out of the group
and bans and unbans an account; a member who is no moderator, a token without the scope and a non-group
are refused with the right status and a JSON error, changing nothing; so are the join-request endpoints of a
private group (no token, a token without `write:follows`, a non-group, no such request)."""

from __future__ import annotations

from sqlalchemy import func, select

from plein.jobs import job_handlers
from storage.groups import add_moderator, create_group
from storage.models import AuditEntry, Block, Follow, FollowRequest, Status
from storage.urls import LocalUrls
from storage.worker import drain
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user


async def _count(instance: RunningInstance, model: type, *conditions: object) -> int:
    assert instance.ctx is not None
    async with instance.ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)


async def test_a_moderator_removes_bans_and_unbans_through_the_api(instance_on_each_backend):
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(ctx.base_url), "raad")
    mod, alice, piet = [await make_user(ctx, name) for name in ("voorzitter", "alice", "piet")]
    async with ctx.db.transaction() as session:
        await add_moderator(session, group, mod)
        session.add_all([Follow(account_id=alice.id, target_account_id=group.id, uri="urn:f:1")])
    mod_token, alice_token = await make_token(ctx, "voorzitter"), await make_token(ctx, "alice")
    reader_token = await make_token(ctx, "voorzitter", scopes="read")
    base = f"/api/v1/plein/groups/{group.id}"

    async with instance.client(headers=bearer(alice_token)) as as_alice:
        posted = (await as_alice.post("/api/v1/statuses", json={"status": "@raad agenda"})).json()
    await drain(ctx.db, job_handlers(ctx))
    assert await _count(instance, Status, Status.account_id == group.id, Status.deleted_at.is_(None)) == 1

    async with instance.client() as anonymous:
        listed = await anonymous.get(f"{base}/moderators")
        assert listed.status_code == 200 and [entry["username"] for entry in listed.json()] == ["voorzitter"]
        not_a_group = await anonymous.get(f"/api/v1/plein/groups/{alice.id}/moderators")
        assert not_a_group.status_code == 404 and "error" in not_a_group.json()
        unauthenticated = await anonymous.delete(f"{base}/statuses/{posted['id']}")
        assert unauthenticated.status_code == 401

    async with instance.client(headers=bearer(alice_token)) as as_alice:
        refused = await as_alice.delete(f"{base}/statuses/{posted['id']}")
        assert refused.status_code == 403 and "does not moderate" in refused.json()["error"]
        refused_ban = await as_alice.post(f"{base}/bans/{piet.id}")
        assert refused_ban.status_code == 403 and "error" in refused_ban.json()
    async with instance.client(headers=bearer(reader_token)) as as_reader:
        assert (await as_reader.delete(f"{base}/statuses/{posted['id']}")).status_code == 403
    assert await _count(instance, Status, Status.account_id == group.id, Status.deleted_at.is_(None)) == 1
    assert await _count(instance, Block) == 0

    async with instance.client(headers=bearer(mod_token)) as as_mod:
        too_long = await as_mod.delete(f"{base}/statuses/{posted['id']}", params={"reason": "x" * 1001})
        assert too_long.status_code == 422 and "reason" in too_long.json()["error"]
        removed = await as_mod.delete(f"{base}/statuses/{posted['id']}", params={"reason": "off topic"})
        assert removed.status_code == 200, removed.text
        assert removed.json() == {"group_id": str(group.id), "status_id": posted["id"], "deleted": True}
        assert (await as_mod.delete(f"{base}/statuses/{posted['id']}")).status_code == 404
        assert (await as_mod.post(f"{base}/statuses/{posted['id']}")).status_code == 405

        banned = await as_mod.post(f"{base}/bans/{alice.id}", json={"reason": "spam"})
        assert banned.status_code == 200 and banned.json()["banned"] is True
        assert (
            await _count(instance, Block, Block.account_id == group.id, Block.target_account_id == alice.id)
            == 1
        )
        assert await _count(instance, Follow, Follow.account_id == alice.id) == 0
        moderator_ban = await as_mod.post(f"{base}/bans/{mod.id}")
        assert moderator_ban.status_code == 403 and "error" in moderator_ban.json()

        lifted = await as_mod.delete(f"{base}/bans/{alice.id}")
        assert lifted.status_code == 200 and lifted.json()["banned"] is False
        assert await _count(instance, Block) == 0
    assert await _count(instance, Status, Status.uri == posted["uri"], Status.deleted_at.is_not(None)) == 1
    assert (
        await _count(
            instance, AuditEntry, AuditEntry.action.in_(["group.remove", "group.ban", "group.unban"])
        )
        == 3
    )
    async with ctx.db.read() as session:
        reasons = {
            entry.action: entry.details["reason"]
            for entry in (await session.execute(select(AuditEntry))).scalars()
            if entry.action.startswith("group.")
        }
    assert reasons == {"group.remove": "off topic", "group.ban": "spam", "group.unban": ""}


async def test_join_requests_answer_401_403_404_with_json_errors(instance_on_each_backend):
    instance = instance_on_each_backend
    ctx = instance.ctx
    assert ctx is not None
    async with ctx.db.transaction() as session:
        group = await create_group(session, LocalUrls(ctx.base_url), "besloten", private=True)
    mod, alice = await make_user(ctx, "voorzitter"), await make_user(ctx, "alice")
    async with ctx.db.transaction() as session:
        await add_moderator(session, group, mod)
        session.add(FollowRequest(account_id=alice.id, target_account_id=group.id, uri="urn:f:alice"))
    mod_token, reader_token = await make_token(ctx, "voorzitter"), await make_token(ctx, "voorzitter", "read")
    base = f"/api/v1/plein/groups/{group.id}/join_requests"

    async with instance.client() as anonymous:
        assert (await anonymous.get(base)).status_code == 401
        assert (await anonymous.post(f"{base}/{alice.id}/authorize")).status_code == 401
    async with instance.client(headers=bearer(reader_token)) as as_reader:
        assert [entry["username"] for entry in (await as_reader.get(base)).json()] == ["alice"]
        wrong_scope = await as_reader.post(f"{base}/{alice.id}/authorize")
        assert wrong_scope.status_code == 403 and "error" in wrong_scope.json()
    async with instance.client(headers=bearer(mod_token)) as as_mod:
        not_a_group = await as_mod.get(f"/api/v1/plein/groups/{alice.id}/join_requests")
        assert not_a_group.status_code == 404 and "error" in not_a_group.json()
        nobody = await as_mod.post(f"{base}/{mod.id}/authorize")
        assert nobody.status_code == 404 and "error" in nobody.json()
        assert (await as_mod.post(f"{base}/99999/reject")).status_code == 404
    assert await _count(instance, Follow) == 0 and await _count(instance, FollowRequest) == 1
    assert await _count(instance, AuditEntry, AuditEntry.action.like("group.join.%")) == 0
