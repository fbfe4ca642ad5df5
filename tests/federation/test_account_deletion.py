"""Deleting a local account: its `Delete` reaches every server that knows of it (not only followers'), which
drop its posts and follows; here it leaves a tombstone — the actor answers 410, the login, tokens and profile
are gone, followers' counts are right, and the name is never given out again. Also the `plein account delete`
command, which wants `--yes`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from outbox.actions import delete_local_account, favourite, follow, post_status
from outbox.errors import NotFound
from storage.accounts import AccountError, create_local_account
from storage.models import Account, AuditEntry, Favourite, Follow, OAuthToken, Status, User
from storage.urls import LocalUrls
from support.federation import Instance, settle
from support.instance import run_plein, write_config
from support.oauth import make_token


async def test_a_deleted_account_is_gone_everywhere(trio: tuple[Instance, Instance, Instance]) -> None:
    a, b, c = trio
    alice, dave = await a.local("alice"), await a.local("dave")
    bob, carol = await b.local("bob"), await c.local("carol")
    await make_token(a.ctx, "alice")
    alice_on_b = await b.resolve(alice, a)
    await c.resolve(alice, a)  # C knows alice without following her
    await a.resolve(carol, c)  # and A knows C
    await follow(b.ctx, bob, alice_on_b)
    await follow(a.ctx, dave, alice)
    await settle(a, b, c)  # bob's follow is accepted before alice posts
    post = await post_status(a.ctx, alice, text="Soon gone")
    daves = await post_status(a.ctx, dave, text="Stays")
    await favourite(a.ctx, alice, daves.id)
    await settle(a, b, c)
    assert await b.status(post.uri) is not None

    deleted = await delete_local_account(a.ctx, "alice", actor="cli:test")
    assert (deleted.statuses, deleted.servers) == (1, 2)
    await settle(a, b, c)

    for instance in (b, c):
        copy = await instance.account(alice.uri)
        assert copy is not None and copy.gone_at is not None, instance.domain
    copy_on_b = await b.status(post.uri)
    assert copy_on_b is not None and copy_on_b.deleted_at is not None
    assert await b.count(Follow, Follow.target_account_id == alice_on_b.id) == 0
    async with b.ctx.db.read() as session:
        assert (await session.get(Account, bob.id)).following_count == 0  # type: ignore[union-attr]

    async with a.ctx.db.read() as session:
        gone = await session.get(Account, alice.id)
        assert gone is not None and gone.gone_at is not None and gone.display_name == ""
        assert (await session.execute(select(User).where(User.account_id == alice.id))).first() is None
        assert (await session.execute(select(OAuthToken))).first() is None
        assert (await session.get(Status, post.id)).deleted_at is not None  # type: ignore[union-attr]
        assert (await session.get(Account, dave.id)).following_count == 0  # type: ignore[union-attr]
        assert (await session.execute(select(Favourite))).first() is None  # alice's favourite went
        assert (await session.get(Status, daves.id)).favourites_count == 0  # type: ignore[union-attr]
        [entry] = (await session.execute(select(AuditEntry))).scalars()
    assert (entry.action, entry.actor, entry.target) == ("account.delete", "cli:test", alice.uri)
    async with httpx.AsyncClient(base_url=a.running.base_url) as http:
        actor = await http.get("/users/alice", headers={"Accept": "application/activity+json"})
        finger = await http.get("/.well-known/webfinger", params={"resource": f"acct:alice@{a.domain}"})
    assert actor.status_code == 410 and actor.json()["type"] == "Tombstone"
    assert finger.status_code == 404
    with pytest.raises(AccountError):
        async with a.ctx.db.transaction() as session:
            await create_local_account(
                session, LocalUrls(a.ctx.base_url), username="alice", password_hash="x"
            )
    with pytest.raises(NotFound):
        await delete_local_account(a.ctx, "alice", actor="cli:test")


def test_the_command_wants_yes(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    def plein(*args: str) -> subprocess.CompletedProcess[str]:
        return run_plein(config, *args)

    assert plein("migrate").returncode == 0
    assert plein("account", "create", "erin").returncode == 0
    refused = plein("account", "delete", "erin")
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "erin" in plein("account", "list").stdout
    done = plein("account", "delete", "erin", "--yes")
    assert done.returncode == 0, done.stderr
    assert "erin deleted: 0 statuses removed" in done.stdout
    assert "erin" not in plein("account", "list").stdout
    again = plein("account", "delete", "erin", "--yes")
    assert again.returncode == 2 and "no local account" in again.stderr
