"""Accounts, ids, domain policy and migrations on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.accounts import (
    AccountError,
    account_by_acct,
    create_local_account,
    ensure_instance_actor,
    local_account_by_username,
    signing_keys,
)
from storage.db import Database
from storage.domains import BlockTerms, allow_domain, block_domain, policy_for_host
from storage.ids import new_id
from storage.migrate import pending_revisions
from storage.models import Account, LocalKey
from storage.urls import LocalUrls

URLS = LocalUrls("https://gov.example")


async def test_create_local_account_with_keys(db: Database) -> None:
    async with db.transaction() as session:
        account = await create_local_account(session, URLS, username="Alice", password_hash="x", role="admin")
    async with db.read() as session:
        found = await local_account_by_username(session, "alice")
        assert found is not None and found.id == account.id
        assert found.uri == "https://gov.example/users/Alice"
        assert found.public_key_pem and "BEGIN PUBLIC KEY" in found.public_key_pem
        keys = await signing_keys(session, found)
        assert "PRIVATE KEY" in keys.rsa_private_pem and "PRIVATE KEY" in keys.ed25519_private_pem
        assert keys.rsa_key_id == "https://gov.example/users/Alice#main-key"
        assert await account_by_acct(session, "ALICE", None) is not None


async def test_username_is_unique_case_insensitively(db: Database) -> None:
    async with db.transaction() as session:
        await create_local_account(session, URLS, username="bob", password_hash="x")
    with pytest.raises(AccountError):
        async with db.transaction() as session:
            await create_local_account(session, URLS, username="BOB", password_hash="x")
    async with db.read() as session:
        assert len((await session.execute(select(Account).where(Account.domain.is_(None)))).all()) == 1


@pytest.mark.parametrize("username", ["", "a b", "x" * 31, "admin", "dot.ted", "é"])
async def test_invalid_usernames_are_refused(db: Database, username: str) -> None:
    with pytest.raises(AccountError):
        async with db.transaction() as session:
            await create_local_account(session, URLS, username=username, password_hash="x")


async def test_instance_actor_is_created_once(db: Database) -> None:
    async with db.transaction() as session:
        first = await ensure_instance_actor(session, URLS)
    async with db.transaction() as session:
        second = await ensure_instance_actor(session, URLS)
    assert first.id == second.id and first.actor_type == "Application"
    async with db.read() as session:
        assert await session.get(LocalKey, first.id) is not None


async def test_big_ids_round_trip(db: Database) -> None:
    big_id = new_id()
    assert big_id > 2**53  # beyond JavaScript's safe integers: why the client API sends strings
    async with db.transaction() as session:
        session.add(
            Account(id=big_id, username="remote", domain="other.example", uri="https://other.example/u/1")
        )
    async with db.read() as session:
        assert (await session.get(Account, big_id)) is not None


async def test_domain_policy_covers_subdomains_and_allowlist(db: Database) -> None:
    async with db.transaction() as session:
        await block_domain(session, "Bad.Example", BlockTerms(severity="suspend"))
        await block_domain(session, "noisy.example", BlockTerms(severity="silence", reject_media=True))
        await allow_domain(session, "friend.example")
    async with db.read() as session:
        assert (await policy_for_host(session, "social.bad.example", allowlist_mode=False)).suspended
        noisy = await policy_for_host(session, "noisy.example", allowlist_mode=False)
        assert noisy.silenced and noisy.reject_media and not noisy.suspended
        assert not (await policy_for_host(session, "good.example", allowlist_mode=False)).suspended
        assert (await policy_for_host(session, "a.friend.example", allowlist_mode=True)).allowed
        assert not (await policy_for_host(session, "stranger.example", allowlist_mode=True)).allowed


async def test_schema_is_fully_migrated(db: Database) -> None:
    assert await pending_revisions(db) == []
