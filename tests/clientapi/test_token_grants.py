"""The caller's own lists (home, bookmarks, favourites) answer from a remembered token grant: a token that
dies after it was remembered — revoked, its password changed, its account suspended or its user no longer
approved — must still be refused at the very next request, on both backends."""

from __future__ import annotations

import argparse
from datetime import timedelta

import httpx
from sqlalchemy import update

from outbox import actions
from plein.admin import account_command
from storage.models import Account, OAuthToken, User
from storage.oauth import secret_digest
from storage.types import utcnow
from support.instance import RunningInstance
from support.oauth import bearer, make_token, make_user

OWN_LISTS = ("/api/v1/timelines/home", "/api/v1/bookmarks", "/api/v1/favourites")


async def _remembered(instance: RunningInstance, username: str, *, with_post: bool = True) -> str:
    """A token of `username` that has read every own list once (so its grant is remembered); with
    `with_post`, each list holds a status of someone else (followed, bookmarked and favourited), so the
    lists' guarded queries — not an empty page's fresh check — are what must notice a dead token."""
    ctx = instance.ctx
    access_token = await make_token(ctx, username)
    async with instance.client(headers=bearer(access_token)) as client:
        if with_post:
            author = await make_user(ctx, "author")
            await actions.follow(ctx, await make_user(ctx, username), author)
            status = await actions.post_status(ctx, author, text="hello")
            for action in ("bookmark", "favourite"):
                assert (await client.post(f"/api/v1/statuses/{status.id}/{action}")).status_code == 200
        for path in OWN_LISTS:
            listed = await client.get(path)
            assert listed.status_code == 200 and len(listed.json()) == (1 if with_post else 0)
    return access_token


async def _statuses(instance: RunningInstance, access_token: str) -> list[httpx.Response]:
    async with instance.client(headers=bearer(access_token)) as client:
        return [await client.get(path) for path in OWN_LISTS]


async def test_revoked_token_fails_at_once(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    access_token = await _remembered(instance, "alice")
    async with instance.ctx.db.transaction() as session:
        await session.execute(
            update(OAuthToken)
            .where(OAuthToken.token_hash == secret_digest(access_token))
            .values(revoked_at=utcnow())
        )
    responses = await _statuses(instance, access_token)
    assert [r.status_code for r in responses] == [401, 401, 401]
    assert responses[0].json() == {"error": "The access token is invalid"}


async def test_password_change_fails_at_once(instance: RunningInstance) -> None:
    access_token = await _remembered(instance, "alice")
    await account_command(
        instance.ctx,
        argparse.Namespace(action="password", username="alice", password="another password", dry_run=False),
    )
    assert [r.status_code for r in await _statuses(instance, access_token)] == [401, 401, 401]


async def test_password_changed_after_issue_without_revocation_fails(instance: RunningInstance) -> None:
    # A password change alone (no revocation sweep) is enough: tokens older than it are dead.
    access_token = await _remembered(instance, "alice")
    account = await make_user(instance.ctx, "alice")
    async with instance.ctx.db.transaction() as session:
        await session.execute(
            update(User)
            .where(User.account_id == account.id)
            .values(password_changed_at=utcnow() + timedelta(seconds=1))
        )
    assert [r.status_code for r in await _statuses(instance, access_token)] == [401, 401, 401]


async def test_suspended_account_fails_at_once(instance_on_each_backend: RunningInstance) -> None:
    instance = instance_on_each_backend
    access_token = await _remembered(instance, "alice")
    account = await make_user(instance.ctx, "alice")
    async with instance.ctx.db.transaction() as session:
        # Suspended without revoking its tokens: the account state alone must shut the door.
        await session.execute(update(Account).where(Account.id == account.id).values(suspended_at=utcnow()))
    responses = await _statuses(instance, access_token)
    assert [r.status_code for r in responses] == [403, 403, 403]
    assert responses[0].json() == {"error": "Your login is currently disabled"}


async def test_unapproved_user_fails_at_once(instance: RunningInstance) -> None:
    access_token = await _remembered(instance, "alice")
    account = await make_user(instance.ctx, "alice")
    async with instance.ctx.db.transaction() as session:
        await session.execute(update(User).where(User.account_id == account.id).values(approved=False))
    assert [r.status_code for r in await _statuses(instance, access_token)] == [403, 403, 403]


async def test_empty_lists_of_a_live_token_stay_empty(instance: RunningInstance) -> None:
    # Nothing posted: every list is empty, which must not be mistaken for a dead token (nor the reverse).
    access_token = await _remembered(instance, "alice", with_post=False)
    responses = await _statuses(instance, access_token)
    assert [(r.status_code, r.json()) for r in responses] == [(200, []), (200, []), (200, [])]


async def test_remembered_grant_keeps_its_scopes(instance: RunningInstance) -> None:
    ctx = instance.ctx
    statuses_only = await make_token(ctx, "alice", scopes="read:statuses")
    async with instance.client(headers=bearer(statuses_only)) as client:
        home = [await client.get("/api/v1/timelines/home") for _ in range(2)]
        bookmarks = [await client.get("/api/v1/bookmarks") for _ in range(2)]
    assert [r.status_code for r in home] == [200, 200]
    assert [r.status_code for r in bookmarks] == [403, 403]


async def test_app_token_is_refused(instance: RunningInstance) -> None:
    async with instance.client() as client:
        app = (
            await client.post(
                "/api/v1/apps", data={"client_name": "A", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}
            )
        ).json()
        granted = await client.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "read",
            },
        )
        app_token = granted.json()["access_token"]
        response = await client.get("/api/v1/timelines/home", headers=bearer(app_token))
    assert response.status_code == 422
